// `npm pack` of this repository, for the tests of the package as npm publishes it. Its
// prepack rebuilds dist/ in the checkout (remove, then compile), so two packs at once break
// each other: one removes the files the other is packing. A lock in the checkout makes them
// take turns, and within one `vitest run` the first pack's tarball serves every later caller.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { inject } from 'vitest'
import { tempDir } from './repo.mts'
import { adopterEnv, PROJECT_ROOT } from './run.mts'
import { packDir, TEST_BUILD_ROOT } from './script-build.mts'

const run = promisify(execFile)

export interface PackedProject {
  /** The tarball's absolute path. */
  tarball: string
  /** `npm pack --json`'s list of the files in it. */
  files: string[]
}

const LOCK = path.join(TEST_BUILD_ROOT, 'pack.lock')

/** Whether a process with this pid is running. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The pid that holds the lock: 0 while its holder has not written it yet, null when the lock is gone. */
function lockHolder(): number | null {
  try {
    return Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    return fs.existsSync(LOCK) ? 0 : null
  }
}

/** Run `fn` holding the checkout's pack lock; a lock whose holder has died is taken over. */
async function withPackLock<T>(fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  fs.mkdirSync(TEST_BUILD_ROOT, { recursive: true })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      fs.mkdirSync(LOCK)
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = lockHolder()
      if (holder === null) continue // released meanwhile: try again at once
      if (holder && !running(holder)) fs.rmSync(LOCK, { recursive: true, force: true })
      else if (Date.now() > deadline) throw new Error(`npm pack: ${LOCK} held by pid ${holder || '?'} for ${timeoutMs / 60_000} min`)
      else await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    return await fn()
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true })
  }
}

/** This repository packed as `npm publish` would pack it (once per vitest run, never two at a time). */
export async function packProject(): Promise<PackedProject> {
  const scriptsDir = inject('scriptsDir')
  const shared = scriptsDir ? packDir(scriptsDir) : undefined
  return withPackLock(async () => {
    const record = shared && path.join(shared, 'packed.json')
    if (record && fs.existsSync(record)) return JSON.parse(fs.readFileSync(record, 'utf8')) as PackedProject
    const dest = shared ?? tempDir('cbs-pack-')
    fs.mkdirSync(dest, { recursive: true })
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: PROJECT_ROOT, env: adopterEnv(), timeout: 300_000 })
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    const result = { tarball: path.join(dest, packed.filename), files: packed.files.map((f) => f.path).sort() }
    if (record) fs.writeFileSync(record, JSON.stringify(result))
    return result
  })
}
