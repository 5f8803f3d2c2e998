// What the benchmarks share: the team's measurement method (alternating pairs, the ratio
// taken pair by pair, its median), the machine line (engine, builder, load), and what a
// pull must download (an image's layers from the registry, an index followed to the
// platform's manifest), and how a bench runs the scripts (from this checkout's sources or
// through the packed package, installed).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Run a command without blocking the event loop: the benchmarks' proxy that counts the
 * bytes a pull downloads runs in this process, and a synchronous child would stall it
 * (every registry request through it would time out while the child waits on it).
 * Resolves with stdout and stderr; rejects with the tail of stderr when it fails.
 */
export function exec(cmd: string, argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout: stdout.trim(), stderr })
      else reject(new Error(`${cmd} ${argv.join(' ')} failed (${code ?? signal}): ${stderr.slice(-2000)}`))
    })
  })
}

/**
 * The fresh-runner benches' flags: --runs (pairs), --compute-mb (the expensive step's MiB of
 * SHA-256) and --tools-mb (the MiB of random results it leaves), each a positive whole number.
 */
export function fixtureFlags(args: Record<string, unknown>): { runs: number; computeMb: number; toolsMb: number } {
  const runs = Number(args.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, not ${args.runs}`)
  const [computeMb, toolsMb] = (['compute-mb', 'tools-mb'] as const).map((flag) => {
    const v = Number(args[flag])
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${flag} must be a positive whole number of MiB, not ${args[flag]}`)
    return v
  })
  return { runs, computeMb, toolsMb }
}

/** The middle value (the upper middle for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error('median of nothing')
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
}

/**
 * `a[i] / b[i]` for each pair measured back to back (A B A B ...), and their median.
 * Load that lands on one pair hits both of its sides; a median of each side separately
 * can pair A's quiet run with B's loaded one (a median of 3 once gave 1.53x where pairs gave 1.07x).
 */
export function pairRatios(a: number[], b: number[]): { ratios: number[]; median: number } {
  if (a.length !== b.length || a.length === 0) throw new Error(`pairs need as many A runs as B runs (got ${a.length} and ${b.length})`)
  const ratios = a.map((x, i) => x / b[i])
  return { ratios, median: median(ratios) }
}

/** `uptime`'s load averages (1, 5, 15 minutes), as a report line. */
export function loadLine(): string {
  return `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`
}

/** The builder `docker build` uses in this environment. */
export function builderName(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_BUILDKIT === '0' ? 'legacy builder (DOCKER_BUILDKIT=0)' : 'BuildKit'
}

/** Engine, builder, machine, date and load: the line every reported figure stands beside. */
export function machineLine(env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' })
  const engine = r.status === 0 ? `Docker Engine ${r.stdout.trim()}` : 'Docker Engine ?'
  return `${engine}, ${builderName(env)}; ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${loadLine()}`
}

interface Descriptor {
  digest: string
  size: number
  mediaType?: string
  platform?: { os?: string; architecture?: string }
}

interface Manifest {
  mediaType?: string
  layers?: Descriptor[]
  manifests?: Descriptor[]
}

/** Node's `process.arch` as an OCI architecture. */
export function ociArchitecture(arch: string = process.arch): string {
  return ({ x64: 'amd64', ia32: '386', arm: 'arm' } as Record<string, string>)[arch] ?? arch
}

/**
 * The layers of `repository:reference`, as a pull on this machine would fetch them: an
 * image index (an OCI index or a Docker manifest list, what a multi-platform or attested
 * push stores) is followed to the manifest for linux/<this architecture>.
 * `api` is a GET against the registry that sends the manifest Accept headers.
 */
export async function imageLayers(
  api: (pathname: string) => Promise<Response>,
  repository: string,
  reference: string,
  architecture: string = ociArchitecture(),
): Promise<Descriptor[]> {
  const get = async (ref: string): Promise<Manifest> => {
    const res = await api(`/v2/${repository}/manifests/${ref}`)
    if (!res.ok) throw new Error(`the registry answered HTTP ${res.status} for the manifest of ${repository}:${ref}: ${(await res.text()).slice(0, 300)}`)
    return (await res.json()) as Manifest
  }
  let manifest = await get(reference)
  if (manifest.manifests) {
    const child = manifest.manifests.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === architecture)
    if (!child) {
      const listed = manifest.manifests.map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`).join(', ')
      throw new Error(`${repository}:${reference} is an index without a linux/${architecture} image (it lists ${listed})`)
    }
    manifest = await get(child.digest)
  }
  if (!manifest.layers) throw new Error(`the registry's manifest of ${repository}:${reference} (${manifest.mediaType ?? 'no mediaType'}) lists no layers: ${JSON.stringify(manifest).slice(0, 300)}`)
  return manifest.layers
}

/** How many layers an image shares with its base: the ones a runner with the base image cached does not download. */
export function layerCount(image: string): number {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{len .RootFS.Layers}}', image], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`docker image inspect ${image} failed: ${r.stderr.trim()}`)
  return Number(r.stdout.trim())
}

/**
 * An adopter's environment: `env` without this repository's tsx loader (NODE_OPTIONS, set
 * from its .npmrc under `npm run`) and without npm's run-script variables.
 */
export function adopterEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'INIT_CWD' && !/^npm_/i.test(k)))
}

/** How a bench runs a script, and what that way pays at start-up before the script's first line. */
export interface ScriptRunner {
  /** How the tables name the way, and its start-up measure. */
  label: string
  startupLabel: string
  cwd: string
  env: NodeJS.ProcessEnv
  /** The command line that runs `script` with `args`. */
  command(script: string, args: string[]): [string, ...string[]]
  /** The command line of the start-up measure for `script`. */
  startup(script: string): [string, ...string[]]
}

/**
 * From this checkout's sources (`npx zx scripts/<name>.mts` in `checkout`, tsx loaded by its
 * .npmrc; start-up `npx zx -e 0`), or, given `installed`, through an installed package's bin
 * (`<bin> <name>`: the built JavaScript in one Node process, with an adopter's environment;
 * start-up `<bin> <name> --help`, which imports the script and all it imports, then prints).
 */
export function scriptRunner(checkout: string, env: NodeJS.ProcessEnv, installed?: { bin: string; project: string }): ScriptRunner {
  if (!installed) {
    return {
      label: 'npx zx scripts/<name>.mts (this checkout, tsx)',
      startupLabel: 'npx zx -e 0',
      cwd: checkout,
      env,
      command: (script, args) => ['npx', 'zx', `scripts/${script}.mts`, ...args],
      startup: () => ['npx', 'zx', '-e', '0'],
    }
  }
  const { bin, project } = installed
  return {
    label: 'node_modules/.bin/ci-build-scripts <name> (the packed package, installed)',
    startupLabel: 'ci-build-scripts <name> --help',
    cwd: project,
    env: adopterEnv(env),
    command: (script, args) => [bin, script, ...args],
    startup: (script) => [bin, script, '--help'],
  }
}

/**
 * `npm pack` of `checkout` (its prepack builds the JavaScript) into `work`, then
 * `npm install` of the tarball into `project` (a directory holding a package.json), from
 * npm's cache where it has the dependencies. Returns the installed bin's path.
 */
export async function installPackage(checkout: string, work: string, project: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: checkout, env })
  const tarball = (JSON.parse(stdout) as Array<{ filename: string }>)[0].filename
  fs.copyFileSync(path.join(work, tarball), path.join(project, tarball))
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--save-dev', `./${tarball}`], { cwd: project, env })
  return path.join(project, 'node_modules', '.bin', 'ci-build-scripts')
}
