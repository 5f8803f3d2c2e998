// Run a script the way a user or a CI step does: as a child process, through zx,
// from any directory. Returns what it printed and its exit code; never throws on exit != 0.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

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
}

/** `runScript('image-tag', ['--json'], { cwd: repo })` runs `npx zx scripts/image-tag.mts --json`. */
export function runScript(name: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
  const script = path.join(PROJECT_ROOT, 'scripts', `${name}.mts`)
  const env = { ...process.env, FORCE_COLOR: '0', NODE_OPTIONS: `--import=${TSX}`, ...options.env }
  const child = spawn(process.execPath, [ZX_CLI, script, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
  })
  options.onSpawn?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => {
    stderr += d
    options.onStderr?.(String(d), child)
  })
  child.stdin.end(options.input ?? '')
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr }))
  })
}
