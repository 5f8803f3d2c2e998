// Run a script the way a user or a CI step does: as a child process, through zx,
// from any directory. Returns what it printed and its exit code; never throws on exit != 0.
//
// Every run is also a secrets check: the value of every env var whose name looks like a
// secret (PASSWORD, TOKEN, SECRET: the suite sets REGISTRY_PASSWORD and GITHUB_TOKEN for
// all tests, see vitest.config.mts, and tests add their own) must appear in no line the
// script printed and in no command line of its process tree, sampled through /proc while
// it runs. A leak rejects the run's promise, so the test fails saying where it leaked.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { inject } from 'vitest'
import { watchDescendants } from './proc.mts'

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const require = createRequire(import.meta.url)
const ZX_CLI = path.join(path.dirname(require.resolve('zx/package.json')), 'build/cli.js')
// An absolute loader URL: `--import=tsx` would be resolved from the child's cwd.
const TSX = pathToFileURL(require.resolve('tsx')).href

export interface RunResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Every command line seen in the script's process tree while it ran (sampled: very short-lived ones may be missed). */
  commands: string[]
}

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  input?: string
  /** Called with the child once it has started (to send it a signal, say). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
  /** Run as this user and group (the caller must be root): a test of file ownership. */
  uid?: number
  gid?: number
  /** Called with each chunk of stderr as it arrives. */
  onStderr?: (text: string, child: import('node:child_process').ChildProcess) => void
  /** A run still going after this long is a hang: it is killed and the run rejects (default RUN_TIMEOUT_MS). */
  timeoutMs?: number
}

/**
 * No script run in the suite takes this long unless it hangs (a cold build that downloads
 * a toolchain passes its own timeoutMs). Shorter than vitest's testTimeout, so a hang
 * fails with the script's last words instead of a bare "test timed out", and the hung
 * process tree is gone before the next test: nothing keeps the worker, or CI, waiting.
 */
export const RUN_TIMEOUT_MS = 100_000
/** After SIGTERM, how long the script gets to clean up before its process group is killed. */
const KILL_GRACE_MS = 10_000

/** Env var names whose values are secrets: never printed, never in argv. */
export const SECRET_NAME = /PASSWORD|TOKEN|SECRET/i
/** Shorter values ("x", "ci") would match innocent text; no real secret is this short. */
const MIN_SECRET_LENGTH = 6
/** How often the process tree's command lines are sampled: cheap, and long enough to catch docker/git children. */
const SAMPLE_MS = 50

/** The secret values in an env, by name. */
export function secretsIn(env: NodeJS.ProcessEnv): Array<{ name: string; value: string }> {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= MIN_SECRET_LENGTH)
    .map(([name, value]) => ({ name, value: value! }))
}

/**
 * Where secrets leaked: one description per leak, the value replaced by its name. The one
 * line allowed to hold a secret is GitHub Actions' `::add-mask::<value>` on stderr, which
 * asks the runner to mask it.
 */
export function findLeaks(
  secrets: Array<{ name: string; value: string }>,
  captured: { stdout: string; stderr: string; argv: string[] },
): string[] {
  const leaks: string[] = []
  const hide = (text: string) => secrets.reduce((t, s) => t.split(s.value).join(`<${s.name}>`), text)
  for (const { name, value } of secrets) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = captured[stream].split('\n').filter((l) => l.includes(value) && !(stream === 'stderr' && l === `::add-mask::${value}`))
      for (const line of lines) leaks.push(`${name} in ${stream}: ${hide(line).slice(0, 300)}`)
    }
    for (const command of captured.argv.filter((c) => c.includes(value))) leaks.push(`${name} in a child's argv: ${hide(command).slice(0, 300)}`)
  }
  return leaks
}

/**
 * `runScript('image-tag', ['--json'], { cwd: repo })` runs `zx scripts/image-tag.mts --json`
 * as `npx zx` would: zx's command line, the script's flags after it. The script is the run's
 * compiled one (tests/helpers/script-build.mts) when the suite's global setup made them,
 * else its source through tsx.
 */
export function runScript(name: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
  const built = inject('scriptsDir')
  const script = built ? path.join(built, 'scripts', `${name}.mjs`) : path.join(PROJECT_ROOT, 'scripts', `${name}.mts`)
  // Compiled, a script needs no loader, and neither does any node it starts.
  const loader = built ? {} : { NODE_OPTIONS: `--import=${TSX}` }
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...loader, ...options.env }
  if (built && options.env?.NODE_OPTIONS === undefined) delete env.NODE_OPTIONS
  return runCommand(name, [process.execPath, ZX_CLI, script, ...args], { ...options, env }, args)
}

/**
 * Run any command (`['npx', 'ci-build-scripts', 'init']`) with the same checks as
 * runScript: the hang deadline, and the secrets check of its output and process tree.
 * `options.env` is the child's whole environment (default: this process's).
 */
export function runCommand(label: string, argv: string[], options: RunOptions = {}, shownArgs = argv.slice(1)): Promise<RunResult> {
  const env = options.env ?? process.env
  const name = label
  const args = shownArgs
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd ?? PROJECT_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a hung run's descendants can all be killed, even those
    // started after the deadline or left orphaned by a script that died.
    detached: true,
    uid: options.uid,
    gid: options.gid,
  })
  const watch = child.pid ? watchDescendants(child.pid, SAMPLE_MS) : undefined
  options.onSpawn?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => {
    stderr += d
    options.onStderr?.(String(d), child)
  })
  child.stdin.end(options.input ?? '')
  const timeoutMs = options.timeoutMs ?? RUN_TIMEOUT_MS
  // A hang: SIGTERM (the script's own clean-up runs), then SIGKILL for its whole process
  // group, so no descendant, not even one orphaned by a script that died, outlives the test.
  let hung = false
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  let killer: NodeJS.Timeout | undefined
  const timer = setTimeout(() => {
    hung = true
    child.kill('SIGTERM')
    killer = setTimeout(killGroup, KILL_GRACE_MS)
  }, timeoutMs)
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer)
      watch?.stop()
      reject(error)
    })
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer)
      clearTimeout(killer)
      const argv = watch?.stop() ?? []
      if (hung) {
        killGroup()
        const tail = stderr.trimEnd().split('\n').slice(-15).join('\n  ')
        reject(new Error(`${name} ${args.join(' ')}: still running after ${timeoutMs / 1000} s, killed (exit ${exitCode ?? signal}); its last stderr:\n  ${tail}`))
        return
      }
      const leaks = findLeaks(secretsIn(env), { stdout, stderr, argv })
      if (leaks.length) {
        reject(new Error(`${name} ${args.join(' ')}: a secret leaked (exit ${exitCode ?? signal}):\n  ${leaks.join('\n  ')}`))
        return
      }
      resolve({ exitCode, signal, stdout, stderr, commands: argv })
    })
  })
}

/**
 * The environment of a project that is not this repository (an adopter, a fixture's own
 * npm): this repository's npm and tsx set-up removed (its .npmrc registers tsx through
 * NODE_OPTIONS, which npm passes to everything it starts).
 */
export function adopterEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k === 'INIT_CWD' || /^npm_/i.test(k)) continue
    env[k] = v
  }
  return { ...env, FORCE_COLOR: '0', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', ...extra }
}
