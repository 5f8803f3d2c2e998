// Run steps in ONE container (one start, warm caches: test and build as one step):
//
//   docker run --rm --name <unique> ... <image> sh -c <runner> <marker> test '<argv>' build '<argv>'
//
// The runner (a few lines of POSIX sh) runs the steps in order and stops at the first
// failure, printing a marker line before and after each step; we time the steps
// by those markers and take each step's exit code from them. One `docker run`, not
// run -d + exec per step + rm: three docker round trips fewer on every commit.
// On SIGINT/SIGTERM the container is removed (`docker rm -f`) before we exit 130/143.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { $, type ProcessOutput, type ProcessPromise } from 'zx'
import { endGroupCommand, groupCommand, onGitHubActions } from '../core/ci-runner.mts'
import { WorkError } from '../core/cli.mts'
import { interrupted, onInterrupt } from '../core/interrupts.mts'
import { sleep } from '../core/retries.mts'
import { removeContainer, tail } from '../image/docker.mts'
import { git } from '../core/git.mts'
import { failure, info, redact, seconds, success } from '../core/log.mts'
import { LABELS } from '../image/labels.mts'

/**
 * One command to run in the container: a one-word name (for the markers and the logs),
 * its argv, and the names of the env vars it gets. test-and-build's StepPlan is one.
 */
export interface ContainerStep {
  name: string
  command: string[]
  env: string[]
}

/** A step's exit code (null: it did not run) and duration. */
export interface ContainerStepResult<Name extends string = string> {
  name: Name
  exitCode: number | null
  durationMs: number
}

/** HOME inside the container: a tmpfs owned by the user, since the image's own home is not. */
export const CONTAINER_HOME = '/home/ci-build'

export interface ContainerSpec {
  image: string
  /** The repository root: mounted at the same path, and the working directory. */
  root: string
  /** Extra host directories mounted at the same path (a worktree's git common dir). */
  mounts?: string[]
  /** Host directories mounted read-only at the same path (a Plug'n'Play checkout's package cache). */
  readOnlyMounts?: string[]
  /** `uid:gid`; default: the invoking user's. */
  user?: string
  /** Pass the host's Docker Engine through (config `steps.docker`). */
  docker?: boolean
}

/**
 * `docker run` arguments that let the steps drive the host's Docker Engine: its socket
 * (and the socket's group, so a non-root uid may use it), the host network (a registry
 * on the host's 127.0.0.1 is reachable), and the temp directory at its own path (a bind
 * mount of a temp dir made inside names a host path that exists).
 */
export function hostDockerArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  const host = env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  if (!host.startsWith('unix://')) {
    throw new WorkError(`steps.docker needs a local Docker socket; DOCKER_HOST is ${host}`)
  }
  const socket = host.slice('unix://'.length)
  const gid = fs.statSync(socket, { throwIfNoEntry: false })?.gid
  if (gid === undefined) throw new WorkError(`steps.docker: no Docker socket at ${socket}`)
  const tmp = os.tmpdir()
  return [
    '--volume', `${socket}:/var/run/docker.sock`,
    '--group-add', String(gid),
    '--network', 'host',
    '--volume', `${tmp}:${tmp}`,
    '--env', `TMPDIR=${tmp}`,
  ]
}

/** Where a checkout's git data lives when it is not under the root (a `git worktree`). */
export async function gitDirsOutside(root: string): Promise<string[]> {
  const out = await git(root)`git rev-parse --path-format=absolute --git-common-dir`.nothrow()
  if (out.exitCode !== 0) return []
  const common = out.stdout.trim()
  const rel = path.relative(root, common)
  return rel.startsWith('..') || path.isAbsolute(rel) ? [common] : []
}

export function invokingUser(): string {
  return `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`
}

/** Quote one word for POSIX sh: `'...'`, with `'` written as `'\''`. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

// $1 is the marker; then pairs of (step name, quoted argv). Each step runs in a subshell
// (`exec`: the step is that process) with stderr joined to stdout, so its output and the
// marker lines arrive in one stream, in order.
export const RUNNER = [
  'm=$1; shift',
  'while [ $# -ge 2 ]; do',
  '  echo "$m start $1"',
  '  (eval "exec $2") 2>&1',
  '  rc=$?',
  '  echo "$m end $1 $rc"',
  '  [ "$rc" -eq 0 ] || exit "$rc"',
  '  shift 2',
  'done',
].join('\n')

/**
 * `docker run` arguments: the host's uid:gid, the repo at its own path, a writable HOME,
 * git's safe.directory, env vars by name only (values stay in our env, out of argv).
 */
export function runArgs(name: string, spec: ContainerSpec, plans: ContainerStep[], marker: string): string[] {
  const args = containerArgs(name, spec, plans.flatMap((p) => p.env))
  args.push('--entrypoint', 'sh', spec.image, '-c', RUNNER, 'sh', marker)
  for (const plan of plans) args.push(plan.name, plan.command.map(shQuote).join(' '))
  return args
}

/** `docker run` arguments up to (not including) the image: the same for every container we start. */
function containerArgs(name: string, spec: ContainerSpec, envNames: string[]): string[] {
  const user = spec.user ?? invokingUser()
  const [uid, gid] = user.split(':')
  const args = ['run', '--name', name, '--label', `${LABELS.container}=${spec.root}`, '--user', user]
  for (const dir of [spec.root, ...(spec.mounts ?? [])]) args.push('--volume', `${dir}:${dir}`)
  for (const dir of spec.readOnlyMounts ?? []) args.push('--volume', `${dir}:${dir}:ro`)
  if (spec.docker) args.push(...hostDockerArgs())
  args.push('--workdir', spec.root)
  args.push('--tmpfs', `${CONTAINER_HOME}:exec,uid=${uid},gid=${gid},mode=0755`, '--env', `HOME=${CONTAINER_HOME}`)
  // git refuses a repository owned by another uid unless it is a safe.directory; the
  // GIT_CONFIG_* variables set it as command-line config, without writing any file.
  args.push('--env', 'GIT_CONFIG_COUNT=1', '--env', 'GIT_CONFIG_KEY_0=safe.directory', '--env', `GIT_CONFIG_VALUE_0=${spec.root}`)
  for (const n of [...new Set(envNames)]) args.push('--env', n)
  return args
}

interface ContainerRun {
  out: ProcessOutput
  /** The container's stdout from its log, when `docker run` printed none of it. */
  missed?: string
}

/**
 * Run `docker <args>` (a `docker run --name <name> ...`) to its end, docker's own
 * stderr passed on as it comes; `watch` sees the process as it starts (to read its
 * stdout). The container is gone on every exit path: removed once `docker run` has
 * returned, and on an interrupt until then, since a removal that came before the daemon
 * created it would miss it. The removal is registered before `docker run` starts, so no
 * interrupt can fall between the two.
 *
 * `docker run` can return without a line of a container that ended at once (seen on a
 * loaded machine: no output at all, the exit code right), so the container is not
 * started with `--rm`: when its stdout came back empty, its log is read before removal.
 */
async function runContainer(name: string, args: string[], watch: (run: ProcessPromise) => void = () => undefined): Promise<ContainerRun> {
  let settled = false
  let run: ProcessPromise | undefined
  const stop = onInterrupt(async () => {
    for (let i = 0; i < 50 && !settled; i++) {
      await removeContainer(name).catch(() => undefined)
      await Promise.race([run, sleep(200)])
    }
    await removeContainer(name)
  })
  run = $({ quiet: true, nothrow: true })`docker ${args}`
  void run.finally(() => (settled = true))
  run.stderr.on('data', (d: Buffer) => process.stderr.write(redact(String(d))))
  watch(run)
  try {
    const out = await run
    if (out.stdout !== '' || interrupted()) return { out }
    const log = await $({ quiet: true, nothrow: true })`docker logs ${name}`
    return log.exitCode === 0 && log.stdout !== '' ? { out, missed: log.stdout } : { out }
  } finally {
    await stop()
  }
}

/**
 * Run the steps in order in one container, stopping at the first failure. Each step's
 * output goes to stderr; its exit code and duration are returned (exitCode null: it did
 * not run). The container is gone on every exit path, SIGINT/SIGTERM included.
 */
export async function runSteps<S extends ContainerStep>(spec: ContainerSpec, plans: S[]): Promise<Array<ContainerStepResult<S['name']>>> {
  const name = `ci-steps-${randomBytes(6).toString('hex')}`
  const marker = `::ci-step-${randomBytes(8).toString('hex')}::`
  const results: Array<ContainerStepResult<S['name']>> = plans.map((p) => ({ name: p.name, exitCode: null, durationMs: 0 }))
  const startedAt = new Map<string, number>()

  // The steps' output (stdout and stderr joined) by line, the marker lines taken out.
  let pending = ''
  const onLine = (line: string) => {
    const at = line.indexOf(marker)
    if (at < 0) return void process.stderr.write(redact(line) + '\n')
    if (at > 0) process.stderr.write(redact(line.slice(0, at)) + '\n') // output without a final newline
    const [, event, step, rc] = line.slice(at).split(' ')
    const result = results.find((r) => r.name === step)!
    const command = plans.find((p) => p.name === step)!.command.join(' ')
    const grouped = onGitHubActions()
    if (event === 'start') {
      startedAt.set(step, performance.now())
      info(grouped ? groupCommand(step) : `── ${step}: ${command}`)
      return
    }
    if (grouped) info(endGroupCommand())
    result.exitCode = Number(rc)
    result.durationMs = performance.now() - startedAt.get(step)!
    const took = `(${seconds(result.durationMs)})`
    if (result.exitCode === 0) success(`${step}: ${command} ${took}`)
    else failure(`${step} failed with exit code ${result.exitCode}: ${command} ${took}`)
  }
  // Output comes in chunks: whole lines go to onLine, a partial one waits for the rest.
  const feed = (text: string) => {
    pending += text
    const lines = pending.split('\n')
    pending = lines.pop()!
    lines.forEach(onLine)
  }
  const { out, missed } = await runContainer(name, runArgs(name, spec, plans, marker), (run) => run.stdout.on('data', (d: Buffer) => feed(String(d))))
  if (missed !== undefined) feed(missed)
  if (pending) onLine(pending)
  // Interrupted: the cleanup removed the container and is about to exit 130/143.
  if (interrupted()) return results

  // A step that started but never ended: the container died under it (OOM, a kill).
  for (const r of results) {
    if (startedAt.has(r.name) && r.exitCode === null) {
      r.exitCode = out.exitCode || 1
      r.durationMs = performance.now() - startedAt.get(r.name)!
      failure(`${r.name} ended with the container (exit code ${r.exitCode})`)
    }
  }
  if (startedAt.size === 0 && out.exitCode !== 0) {
    throw new WorkError(`could not start a container from ${spec.image}: ${tail(out, 2)}`)
  }
  return results
}

/**
 * Run one command in a container of the image (same mounts, user and env rules as the
 * steps) and return what it printed on stdout; its stderr goes to ours. The command is
 * an argv given to the image's entrypoint-less exec, never a shell string. Exit code
 * not 0: a WorkError naming `what`. The container is removed on every exit path.
 */
export async function outputInContainer(spec: ContainerSpec, command: string[], env: string[], what: string): Promise<string> {
  const name = `ci-list-${randomBytes(6).toString('hex')}`
  const { out, missed } = await runContainer(name, [...containerArgs(name, spec, env), '--entrypoint', command[0], spec.image, ...command.slice(1)])
  if (out.exitCode !== 0) throw new WorkError(`${what} failed in ${spec.image} (exit code ${out.exitCode}): ${command.join(' ')}`)
  return missed ?? out.stdout
}
