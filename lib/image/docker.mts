// The docker CLI, through zx: quiet, every value one argument, child output on stderr
// (stdout is for results). Secrets go on stdin, never in argv, and every line we
// print passes through redact().
//
// Credentials: pull/push use whatever the Docker config has (`docker login`, credential
// helpers). `login()` writes to the Docker config given by `configDir` — callers that
// must not touch the user's ~/.docker pass a temporary directory (see withLogin) and
// hand the same `configDir` to pull/push.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { $, ProcessOutput, type ProcessPromise } from 'zx'
import { WorkError } from '../core/cli.mts'
import { onInterrupt } from '../core/interrupts.mts'
import { sleep, withRetries } from '../core/retries.mts'
import { info, redact, registerSecret, warn } from '../core/log.mts'
import { imageContent, type ImageContent } from './image-content.mts'
import { dockerConfigDir, type Credentials } from './registry.mts'
import { describeBuildFailure, failedAtExport, parseBuildFailure, type BuildFailure } from './build-output.mts'

export interface DockerOptions {
  /** A Docker config directory (DOCKER_CONFIG) for this call; default: the user's. */
  configDir?: string
  /** The environment of the docker CLI; default: this process's. */
  env?: NodeJS.ProcessEnv
}

function env(options: DockerOptions = {}): NodeJS.ProcessEnv {
  const base = options.env ?? process.env
  return options.configDir ? { ...base, DOCKER_CONFIG: options.configDir } : base
}

/** A quiet `$` for docker commands that never throws (callers look at exitCode). */
function docker(options: DockerOptions & { input?: string; timeout?: number } = {}) {
  return $({ quiet: true, nothrow: true, env: env(options), input: options.input, timeout: options.timeout })
}

/** The last lines of a failed command's stderr (then stdout), redacted, for a message. */
export function tail(out: ProcessOutput, lines = 5): string {
  const text = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-lines).join('\n')
  return redact(text || `exit code ${out.exitCode}`)
}

/** Stop a docker command that is still running (SIGTERM, as Ctrl-C would) and wait for it to end. */
async function stopCommand(p: ProcessPromise): Promise<void> {
  if (p.stage === 'fulfilled' || p.stage === 'rejected') return
  try {
    await p.kill('SIGTERM')
  } catch {
    // it ended meanwhile
  }
  await p
}

export interface StreamOptions extends DockerOptions {
  input?: string
  /** Keep the output for the result only: nothing on stderr. */
  quiet?: boolean
  /** Each chunk of output (stdout and stderr) as it arrives. */
  onOutput?: (text: string) => void
  /**
   * What SIGINT/SIGTERM does while the command runs (default: stop it). The docker CLI
   * must not go on pulling, pushing or building after we exited.
   */
  onInterrupt?: (p: ProcessPromise) => Promise<void>
}

/**
 * Run a docker command with its output streamed to stderr (redacted) as it arrives, and
 * also kept in the result for error messages. An interrupt stops the command.
 */
export async function streamed(args: string[], options: StreamOptions = {}): Promise<ProcessOutput> {
  const p = docker(options)`docker ${args}`
  const beat = options.quiet ? undefined : heartbeat(`docker ${args[0]}`)
  const forward = (d: Buffer | string) => {
    options.onOutput?.(String(d))
    beat?.output()
    if (!options.quiet) process.stderr.write(redact(String(d)))
  }
  p.stdout.on('data', forward)
  p.stderr.on('data', forward)
  // Only a command still running needs stopping (the undo step also runs when it ends).
  const done = onInterrupt(async () => {
    if (p.stage === 'running') await (options.onInterrupt ?? stopCommand)(p)
  })
  try {
    return await p
  } finally {
    beat?.stop()
    await done()
  }
}

/**
 * Progress while a command is silent (a push says nothing between "Preparing" and
 * "Pushed"): in CI and other logs, a line with the elapsed time every CBS_HEARTBEAT_MS
 * (10 s) of silence; on a terminal, one live line, rewritten each second and cleared
 * when output comes.
 */
function heartbeat(label: string): { output: () => void; stop: () => void } {
  const everyMs = Number(process.env.CBS_HEARTBEAT_MS) > 0 ? Number(process.env.CBS_HEARTBEAT_MS) : 10_000
  const live = Boolean(process.stderr.isTTY) && !process.env.CI
  const started = performance.now()
  let lastOutput = started
  let shown = false
  const elapsed = () => `${Math.round((performance.now() - started) / 1000)}s`
  const timer = setInterval(
    () => {
      if (live) {
        process.stderr.write(`\r\x1b[K  …   ${label}: ${elapsed()}`)
        shown = true
      } else if (performance.now() - lastOutput >= everyMs) {
        info(`  …   ${label}: still running, ${elapsed()}`)
        lastOutput = performance.now()
      }
    },
    live ? 1000 : Math.max(everyMs / 5, 100),
  )
  timer.unref()
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[K')
    shown = false
  }
  return {
    output: () => {
      clear()
      lastOutput = performance.now()
    },
    stop: () => {
      clearInterval(timer)
      clear()
    },
  }
}

/**
 * Fail fast when there is no daemon: `docker version` with a timeout, so a dead socket
 * or an unreachable DOCKER_HOST is an error in seconds, never a hang.
 */
export async function assertDockerAvailable(timeoutMs = 10_000): Promise<void> {
  let out: ProcessOutput
  const started = performance.now()
  try {
    out = await docker({ timeout: timeoutMs })`docker version --format ${'{{.Server.Version}}'}`
  } catch (error) {
    // ENOENT: no docker CLI at all.
    throw new WorkError(`Docker is not installed (${(error as Error).message}): install the docker CLI and start a daemon`)
  }
  if (out.exitCode === 0 && out.stdout.trim()) return
  // The timeout's SIGTERM: the CLI catches it and exits 143 itself, so `signal` may be unset.
  const timedOut = out.signal !== null || performance.now() - started >= timeoutMs
  const reason = timedOut ? `no answer within ${timeoutMs / 1000}s` : tail(out, 1)
  throw new WorkError(`Docker daemon is not reachable (${reason}): start it or set DOCKER_HOST`)
}

/** The local image id of `ref`, or null when the daemon does not have it. */
export async function imageId(ref: string): Promise<string | null> {
  const out = await docker()`docker image inspect --format ${'{{.Id}}'} ${ref}`
  return out.exitCode === 0 ? out.stdout.trim() : null
}

/**
 * What makes the local image `ref` this image (its layers, build time and runtime
 * settings), to compare with a registry's whatever the image store: under the containerd
 * store the id is a manifest digest, which a push may rewrite. Null when absent.
 */
export async function localImageContent(ref: string): Promise<ImageContent | null> {
  const out = await docker()`docker image inspect --format ${'{{json .}}'} ${ref}`
  if (out.exitCode !== 0) return null
  const image = JSON.parse(out.stdout) as { Created?: string; Config?: Record<string, unknown>; RootFS?: { Layers?: string[] } }
  return imageContent({ diffIds: image.RootFS?.Layers, created: image.Created, config: image.Config })
}

export async function imageExists(ref: string): Promise<boolean> {
  return (await imageId(ref)) !== null
}

/** Local images carrying a label (`key` or `key=value`), newest first, as `repo:tag` refs. */
export async function listImages(label: string): Promise<string[]> {
  const out = await docker()`docker image ls --filter ${`label=${label}`} --format ${'{{.Repository}}:{{.Tag}}'}`
  if (out.exitCode !== 0) throw new WorkError(`docker image ls failed: ${tail(out, 1)}`)
  return out.stdout.split('\n').filter((ref) => ref && !ref.includes('<none>'))
}

/** `docker tag source target`: one more name for a local image. */
export async function tagImage(source: string, target: string): Promise<void> {
  const out = await docker()`docker tag ${source} ${target}`
  if (out.exitCode !== 0) throw new WorkError(`docker tag ${source} ${target} failed: ${tail(out, 1)}`)
}

/** A pull or push the registry refused for lack of (valid) credentials. */
export class DockerAuthError extends WorkError {
  readonly ref: string
  constructor(ref: string, action: 'pull' | 'push', detail: string) {
    super(`docker ${action} ${ref} was refused (${detail}): set REGISTRY_USERNAME and REGISTRY_PASSWORD, or run \`docker login\``)
    this.ref = ref
  }
}

const AUTH_FAILURE = /unauthorized|denied|authentication required|no basic auth credentials|forbidden|\b403\b/i
/**
 * Whether a docker error line is a refusal for credentials. The URLs it quotes are left
 * out: the containerd image store's errors quote the upload URL, whose ids can hold
 * "403" (`.../uploads/c46c3216-b4b3-403e-...`) in a plain network failure.
 */
export function isAuthFailure(detail: string): boolean {
  return AUTH_FAILURE.test(detail.replace(/\b\w+:\/\/\S+/g, ''))
}
// Failures no retry can fix: a missing image or a malformed reference, a tag the
// registry holds immutable (ECR's `tag invalid: ... cannot be overwritten`), or a request
// the registry called bad (400: the containerd store reports ECR's refusal only so).
const PERMANENT_FAILURE = /manifest unknown|not found|does not exist|invalid reference|repository name must|tag invalid|cannot be overwritten|: 400 Bad Request/i

export interface TransferOptions extends DockerOptions {
  /** Retries after the first attempt for network/registry hiccups. Default 3. */
  retries?: number
  baseDelayMs?: number
}

async function transfer(action: 'pull' | 'push', ref: string, options: TransferOptions): Promise<ProcessOutput> {
  return withRetries(
    async () => {
      const out = await streamed([action, ref], options)
      if (out.exitCode === 0) return out
      const detail = tail(out, 1)
      if (isAuthFailure(detail)) throw new DockerAuthError(ref, action, detail)
      if (PERMANENT_FAILURE.test(detail)) throw new WorkError(`docker ${action} ${ref} failed: ${detail}`)
      throw new TransientDockerError(`docker ${action} ${ref} failed: ${detail}`)
    },
    {
      retries: options.retries ?? 3,
      baseDelayMs: options.baseDelayMs ?? 1000,
      isRetryable: (error) => error instanceof TransientDockerError,
    },
  ).catch((error) => {
    if (error instanceof TransientDockerError) throw new WorkError(error.message)
    throw error
  })
}

class TransientDockerError extends Error {}

/** `docker pull`, output on stderr, network failures retried with backoff. */
export async function pull(ref: string, options: TransferOptions = {}): Promise<void> {
  await transfer('pull', ref, options)
}

/**
 * `docker push`, output on stderr, retried with backoff. Returns the pushed manifest
 * digest (`sha256:...`). A refusal for credentials throws DockerAuthError.
 */
export async function push(ref: string, options: TransferOptions = {}): Promise<string> {
  const out = await transfer('push', ref, options)
  const printed = /digest: (sha256:[0-9a-f]{64})/.exec(out.stdout + out.stderr)?.[1]
  if (printed) return printed
  // Not printed (a future CLI?): the daemon records it as a repo digest.
  const repo = ref.slice(0, ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.lastIndexOf(':') : ref.length)
  const digests = await docker()`docker image inspect --format ${'{{json .RepoDigests}}'} ${ref}`
  const found = (JSON.parse(digests.stdout || '[]') as string[]).find((d) => d.startsWith(`${repo}@`))
  if (!found) throw new WorkError(`docker push ${ref} succeeded but printed no digest`)
  return found.slice(repo.length + 1)
}

export interface BuildOptions {
  /** The build context directory. */
  context: string
  /** The Dockerfile, absolute or relative to the context. Default: <context>/Dockerfile. */
  dockerfile?: string
  tags: string[]
  buildArgs?: Record<string, string>
  labels?: Record<string, string>
  /** Images whose layers may be reused (they must be local for the legacy builder). */
  cacheFrom?: string[]
  /** Do not stream the build output (it is still in the error message on failure). */
  quiet?: boolean
  /** The builder, when the caller asked already (default: currentBuilder()). */
  builder?: Builder
  /** A Docker config directory for this build (a temporary login for a registry --cache-from). */
  configDir?: string
  /** Also export a full (mode=max) registry cache of every stage to this ref. */
  cacheTo?: string
}

export interface BuildResult {
  /** The image id (`sha256:...`). */
  id: string
  /** Everything the build printed, for callers that explain failures. */
  output: string
}

/** A failed `docker build`: its output is kept so callers can explain it. */
export class DockerBuildError extends WorkError {
  readonly output: string
  /** The failing step and its last lines, when the output names them. */
  readonly failure?: BuildFailure
  constructor(message: string, output: string, failure?: BuildFailure) {
    super(message)
    this.output = output
    this.failure = failure
  }
}

/**
 * Which builder `docker build` runs. The legacy builder: DOCKER_BUILDKIT=0, or no buildx
 * (the CLI then falls back to it). Otherwise BuildKit through buildx's current builder
 * (`docker buildx use`, or BUILDX_BUILDER), whose driver decides where the image goes:
 * `docker` builds into the daemon's image store; any other driver (`docker-container`,
 * which docker/setup-buildx-action selects, `kubernetes`, `remote`) keeps the result in
 * its own cache unless the build is given `--load`.
 */
export type Builder = { kind: 'legacy' } | { kind: 'buildkit'; name: string; driver: string }

const FALSE = /^(0|f|false)$/i

export async function currentBuilder(env: NodeJS.ProcessEnv = process.env): Promise<Builder> {
  if (env.DOCKER_BUILDKIT !== undefined && FALSE.test(env.DOCKER_BUILDKIT)) return { kind: 'legacy' }
  const $q = $({ quiet: true, nothrow: true, env, timeout: 60_000 })
  const out = await $q`docker buildx inspect`
  if (out.exitCode !== 0) {
    // No buildx plugin: the CLI builds with the legacy builder (and says it is deprecated).
    if (/is not a docker command|unknown command/i.test(out.stderr)) return { kind: 'legacy' }
    const named = env.BUILDX_BUILDER
    if (named) throw new WorkError(`BUILDX_BUILDER=${JSON.stringify(named)} names no buildx builder (${tail(out, 1)}): create it (docker buildx create --name ${named}) or unset BUILDX_BUILDER`)
    throw new WorkError(`docker buildx inspect failed (${tail(out, 1)}): see \`docker buildx ls\``)
  }
  const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(out.stdout)?.[1] ?? ''
  return { kind: 'buildkit', name: field('Name'), driver: field('Driver') }
}

/**
 * Whether this builder can export a registry cache (`--cache-to type=registry`): any
 * buildx builder outside the daemon (docker-container, kubernetes, remote), and the
 * daemon's own (`docker` driver) under the containerd image store only; the classic
 * store refuses ("Cache export is not supported for the docker driver"), and the legacy
 * builder has no such thing.
 */
export async function canExportCache(builder: Builder): Promise<boolean> {
  if (builder.kind === 'legacy') return false
  if (builder.driver !== 'docker') return true
  const out = await docker()`docker info --format ${'{{json .DriverStatus}}'}`
  return out.exitCode === 0 && out.stdout.includes('io.containerd.snapshotter.v1')
}

/** Whether this builder's result must be loaded into the daemon for `docker run` to find it. */
export function needsLoad(builder: Builder): boolean {
  return builder.kind === 'buildkit' && builder.driver !== 'docker'
}

/** The argv of `docker build` for these options on this builder (no docker call). */
export function buildArgv(options: BuildOptions, builder: Builder, iidfile: string): string[] {
  // --force-rm: the legacy builder otherwise keeps the container of a failed step.
  const args = ['build', '--force-rm', '--iidfile', iidfile]
  // No provenance attestation: with one, the containerd image store makes every build an
  // index holding the build's time, so a fully cached rebuild is another image (another
  // id, another digest once pushed) and a re-run could not tell its image was published.
  // The classic store drops attestations anyway.
  if (builder.kind === 'buildkit') args.push('--provenance=false')
  // The registry cache of every stage's layers (mode=max), as an image manifest with OCI
  // media types (what ECR accepts), exported by the same build as the image.
  if (options.cacheTo) args.push('--cache-to', `type=registry,ref=${options.cacheTo},mode=max,image-manifest=true,oci-mediatypes=true`)
  // A builder outside the daemon (docker-container and others) keeps the image to itself otherwise.
  if (needsLoad(builder)) args.push('--load')
  if (options.dockerfile) args.push('--file', path.resolve(options.context, options.dockerfile))
  for (const tag of options.tags) args.push('--tag', tag)
  for (const [key, value] of Object.entries({ ...options.buildArgs, BUILDKIT_INLINE_CACHE: '1' })) args.push('--build-arg', `${key}=${value}`)
  for (const [key, value] of Object.entries(options.labels ?? {})) args.push('--label', `${key}=${value}`)
  for (const ref of options.cacheFrom ?? []) args.push('--cache-from', ref)
  args.push(options.context)
  return args
}

/**
 * `docker build`, output streamed to stderr. Works with the legacy builder and with
 * BuildKit: the image id comes from `--iidfile` (no output parsing), and
 * BUILDKIT_INLINE_CACHE=1 embeds cache metadata so the image can serve as a later
 * `--cache-from` under BuildKit (the legacy builder ignores it, with a one-line warning
 * that the build arg was not consumed: cheaper than guessing which builder runs).
 * A failure names the failing step, its exit code and its last lines, under both builders.
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const builder = options.builder ?? (await currentBuilder())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-iid-'))
  const removeDir = onInterrupt(() => fs.rmSync(dir, { recursive: true, force: true }))
  const iidfile = path.join(dir, 'iid')
  let output = ''
  try {
    const run = () =>
      streamed(buildArgv(options, builder, iidfile), {
        quiet: options.quiet,
        configDir: options.configDir,
        // Plain progress, whatever the user's default: the failure is read back from it.
        env: { ...process.env, BUILDKIT_PROGRESS: 'plain' },
        onOutput: (text) => (output += text),
        onInterrupt: (p) => stopBuild(p, () => output),
      })
    let out = await run()
    if (out.exitCode !== 0 && builder.kind !== 'legacy' && failedAtExport(output)) {
      warn(`${options.tags[0]}: the engine lost a blob while naming the image (every step done); building once more from the build cache`)
      output = ''
      out = await run()
    }
    if (out.exitCode !== 0) {
      // The containerd image store refuses to name an image that a concurrent build of
      // the same tag named a moment before (`image "<ref>" already exists`). The same tag
      // is the same inputs: that image is this build's result.
      const raced = /^ERROR: .*\bimage "([^"]+)": already exists/m.exec(output)?.[1]
      const theirs = raced && options.tags.some((t) => raced === t || raced.endsWith(`/${t}`)) ? await imageId(options.tags[0]) : null
      if (theirs) {
        info(`${options.tags[0]}: a concurrent build of the same tag named it first; using that image`)
        return { id: theirs, output }
      }
      // The legacy builder runs each --label as one more step after the Dockerfile's.
      const appendedSteps = builder.kind === 'legacy' ? Object.keys(options.labels ?? {}).length : 0
      const failure = parseBuildFailure(redact(output), { appendedSteps, lastLines: 20 })
      const message = failure ? describeBuildFailure({ ...failure, lines: failure.lines.slice(-5) }) : `docker build failed: ${tail(out, 3)}`
      throw new DockerBuildError(message, redact(output), failure)
    }
    return { id: fs.readFileSync(iidfile, 'utf8').trim(), output }
  } finally {
    await removeDir()
  }
}

/**
 * Stop a build on SIGINT/SIGTERM. BuildKit cancels a build whose client went away. The
 * legacy builder does not: it would run on and tag the image after we exited, its step
 * container still running. So while it runs, the container of its current step
 * (`---> Running in <id>`) is removed, which fails the build there; then the CLI is stopped.
 */
async function stopBuild(p: ProcessPromise, output: () => string): Promise<void> {
  // Earlier steps' containers are gone already: the builder removes each after its step.
  const current = () => [...output().matchAll(/Running in ([0-9a-f]{12,64})/g)].pop()?.[1]
  const remove = async () => {
    const id = current()
    if (id) await removeContainer(id).catch(() => undefined)
  }
  const legacy = /^Step \d+\/\d+ : /m.test(output())
  for (let i = 0; legacy && i < 50 && p.stage === 'running'; i++) {
    await remove()
    await Promise.race([p, sleep(200)])
  }
  await stopCommand(p)
  await remove()
}

/**
 * `docker login` with the password on stdin only. Writes to `configDir` when given
 * (a temporary one keeps ~/.docker untouched), else to the user's Docker config.
 */
export async function login(registry: string, credentials: Credentials, options: DockerOptions = {}): Promise<void> {
  registerSecret(credentials.password)
  const out = await docker({ ...options, input: credentials.password })`docker login --username ${credentials.username} --password-stdin ${registry}`
  if (out.exitCode !== 0) {
    const detail = tail(out, 1)
    if (isAuthFailure(detail)) throw new DockerAuthError(registry, 'push', detail)
    throw new WorkError(`docker login ${registry} failed: ${detail}`)
  }
}

/**
 * Run `fn` with a temporary Docker config logged in to `registry` (when credentials are
 * given; otherwise with the user's config), and remove it afterwards: the credentials
 * never land in ~/.docker. `fn` gets the options to pass on to pull/push.
 */
export async function withLogin<T>(registry: string | undefined, credentials: Credentials | undefined, fn: (options: DockerOptions) => Promise<T>): Promise<T> {
  // Credentials are for one registry (lib/image/registry.mts): never a login anywhere else
  // (nor without a registry).
  if (!credentials || credentials.registry !== registry) return fn({})
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-docker-config-'))
  // It holds the credentials: removed on Ctrl-C / SIGTERM too, not only when fn returns.
  const remove = onInterrupt(() => fs.rmSync(configDir, { recursive: true, force: true }))
  try {
    await login(registry, credentials, { configDir })
    return await fn({ configDir })
  } finally {
    await remove()
  }
}

/** A temporary Docker config still knows the user's buildx builders (`docker buildx use`, BUILDX_BUILDER). */
export function keepBuildxBuilders(configDir: string, env: NodeJS.ProcessEnv): void {
  const buildx = path.join(dockerConfigDir(env), 'buildx')
  if (fs.existsSync(buildx)) fs.symlinkSync(buildx, path.join(configDir, 'buildx'))
}

/** `docker rm -f`; a container that is already gone is fine. */
export async function removeContainer(name: string): Promise<void> {
  const out = await docker()`docker rm -f ${name}`
  if (out.exitCode !== 0 && !/no such container/i.test(out.stderr)) {
    throw new WorkError(`docker rm -f ${name} failed: ${tail(out, 1)}`)
  }
}
