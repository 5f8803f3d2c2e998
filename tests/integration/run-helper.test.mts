// runScript's bound on a hang (tests/helpers/run.mts): a script that never ends must fail
// its test with what it last printed, and leave no process behind. Without it, one stuck
// `docker push` keeps a vitest worker, and so CI, waiting until the job is killed.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { gitShim, pausedGit } from '../helpers/git-shim.mts'
import { makeRepo, tempDir } from '../helpers/repo.mts'
import { PROJECT_ROOT, runScript } from '../helpers/run.mts'

/** Running, not gone or a zombie waiting for a parent that was killed to be reaped. */
const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

const CONFIG = { buildImage: { name: 'run-helper', inputs: ['Dockerfile.build'] } }

describe('runScript', () => {
  it('kills a script still running after timeoutMs, with its whole process tree, and says where it was', async () => {
    const repo = makeRepo({ 'Dockerfile.build': 'FROM busybox:latest\n' }, CONFIG)
    const shim = gitShim()
    const pause = path.join(tempDir(), 'paused')
    // image-tag's first git command parks in `sleep 60`: a hang, as far as the test can tell.
    const run = runScript('image-tag', ['--manifest'], {
      cwd: repo,
      env: { PATH: `${shim.bin}:${process.env.PATH}`, GIT_ARGV_LOG: shim.log, GIT_SHIM_PAUSE: pause, GIT_SHIM_PAUSE_ON: 'rev-parse' },
      timeoutMs: 15_000, // well after image-tag's first git command, even on a loaded machine
    })
    const started = Date.now()
    await expect(run).rejects.toThrow(/^image-tag --manifest: still running after 15 s, killed \(exit/)
    expect(Date.now() - started).toBeLessThan(40_000) // not the sleep's 60 s
    const parked = pausedGit(pause)
    expect(parked).toBeDefined()
    // SIGKILL is delivered asynchronously: give the kernel a moment (the parked git would
    // live for its whole 60 s sleep without the kill, so this still fails without it).
    for (let i = 0; i < 50 && alive(parked!.pid); i++) await new Promise((r) => setTimeout(r, 100))
    expect(alive(parked!.pid)).toBe(false)
    expect(fs.readFileSync(shim.log, 'utf8')).toMatch(/^git rev-parse/)
  })

  it('leaves a run that ends in time alone', async () => {
    const repo = makeRepo({ 'Dockerfile.build': 'FROM busybox:latest\n' }, CONFIG)
    const result = await runScript('image-tag', [], { cwd: repo, timeoutMs: 60_000 })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^[0-9a-f]{40}\n$/)
  })
})

describe("the scripts the suite runs: this run's compiled ones", () => {
  it('every script is compiled, with the CI templates beside their reader, and runScript runs that build', async () => {
    const built = inject('scriptsDir')
    if (process.env.CBS_SCRIPTS === 'source') return void expect(built).toBeUndefined()
    expect(built).toBeDefined()
    const sources = fs.readdirSync(path.join(PROJECT_ROOT, 'scripts')).filter((f) => f.endsWith('.mts'))
    expect(sources.length).toBeGreaterThan(5)
    for (const f of sources) expect(fs.existsSync(path.join(built!, 'scripts', f.replace(/\.mts$/, '.mjs'))), f).toBe(true)
    expect(fs.readdirSync(path.join(built!, 'lib/init/ci-templates')).sort()).toEqual(fs.readdirSync(path.join(PROJECT_ROOT, 'lib/init/ci-templates')).sort())
    const repo = makeRepo({ 'Dockerfile.build': 'FROM busybox:latest\n' }, CONFIG)
    const result = await runScript('image-tag', ['--help'], { cwd: repo })
    expect(result.exitCode, result.stderr).toBe(0)
    const own = result.commands.find((c) => c.includes('image-tag'))
    expect(own).toContain(path.join(built!, 'scripts', 'image-tag.mjs'))
  })
})
