// scripts/test-and-build.mts as CI runs it: a process, against the real Docker Engine,
// with fixture repositories whose build image comes FROM a seeded base image.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeBuildRepo, removeImagesNamed } from '../helpers/build-image.mts'
import { docker, requireDocker, uniqueName } from '../helpers/docker.mts'
import { git, tempDir } from '../helpers/repo.mts'
import { runScript, type RunOptions, type RunResult } from '../helpers/run.mts'

const LABEL = 'dev.ci-build-scripts.repo'

/** Containers test-and-build started for this checkout (running or not). */
const leftovers = (repo: string) => docker('ps', '-a', '-q', '--filter', `label=${LABEL}=${repo}`)

// Root can prove "owned by the invoking user" only by invoking as someone else: a uid
// with no name, in the group that owns the Docker socket.
const OTHER_UID = 4321
function socketGid(): number {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  return host.startsWith('unix://') ? fs.statSync(host.slice('unix://'.length)).gid : (process.getgid?.() ?? 0)
}
const asRoot = process.getuid?.() === 0

const ENV = { REGISTRY: '', CI: 'true', GITHUB_SHA: 'abc123', GITHUB_TOKEN: 'ghs_should_not_pass', MY_LISTED: 'listed-value', MY_UNLISTED: 'x' }

describe('test-and-build', () => {
  const name = uniqueName('tab-build')
  let user: { uid: number; gid: number }
  beforeAll(() => {
    requireDocker(['busybox:latest', 'node:20-bookworm-slim'])
    user = asRoot ? { uid: OTHER_UID, gid: socketGid() } : { uid: process.getuid!(), gid: process.getgid!() }
  })
  afterAll(() => {
    removeImagesNamed(name, `${name}-git`)
  })

  /** A fixture repo (owned by `user` when we are root) and a runner for the script in it. */
  function fixture(steps: Record<string, unknown>, options: { as?: 'user' | 'self'; from?: string; nameSuffix?: string } = {}) {
    const repo = makeBuildRepo({
      name: name + (options.nameSuffix ?? ''),
      dockerfile: options.from ? `FROM ${options.from}\nCOPY tools /opt/tools\n` : undefined,
      config: { steps },
    })
    const runAs: Pick<RunOptions, 'uid' | 'gid'> = {}
    const home = tempDir('cbs-home-')
    if (options.as !== 'self' && asRoot) {
      for (const dir of [repo, home]) chownTree(dir, user.uid, user.gid)
      Object.assign(runAs, user)
    }
    const run = (args: string[] = [], extra: Omit<RunOptions, 'cwd'> = {}): Promise<RunResult> =>
      runScript('test-and-build', args, { cwd: repo, ...runAs, ...extra, env: { ...ENV, HOME: home, ...extra.env } })
    return { repo, home, run }
  }

  it('runs test then build in one container as the invoking user, and prints, summarises and reports the timings', async () => {
    const step = (n: string) => [
      'sh',
      '-c',
      `hostname > ${n}-host.txt && id -u > ${n}-uid.txt && mkdir -p out/${n} && echo "CI=$CI SHA=$GITHUB_SHA TOKEN=\${GITHUB_TOKEN:-unset} LISTED=$MY_LISTED UNLISTED=\${MY_UNLISTED:-unset} HOME=$HOME" > out/${n}/env.txt && touch $HOME/writable`,
    ]
    const { repo, home, run } = fixture({ test: step('test'), build: step('build'), env: ['MY_LISTED'] })
    const summary = path.join(home, 'summary.md')
    const report = path.join(home, 'report.json')
    const result = await run(['--report', report], { env: { GITHUB_STEP_SUMMARY: summary } })
    expect(result.exitCode, result.stderr).toBe(0)

    // One container: both steps saw the same hostname (the container id).
    const read = (f: string) => fs.readFileSync(path.join(repo, f), 'utf8').trim()
    expect(read('test-host.txt')).toBe(read('build-host.txt'))
    expect(read('test-uid.txt')).toBe(String(user.uid))
    // Files the steps wrote (and the directories they made) belong to the invoking user.
    for (const f of ['test-host.txt', 'build-host.txt', 'out', 'out/test', 'out/build/env.txt']) {
      const stat = fs.statSync(path.join(repo, f))
      expect({ f, uid: stat.uid, gid: stat.gid }).toEqual({ f, uid: user.uid, gid: user.gid })
    }
    // CI's vars and the listed ones pass; a secret-looking or unlisted one does not.
    expect(read('out/test/env.txt')).toBe('CI=true SHA=abc123 TOKEN=unset LISTED=listed-value UNLISTED=unset HOME=/home/ci-build')

    // The timing table, on stderr; markdown in the step summary; JSON in the report.
    expect(result.stderr).toMatch(/phase\s+time\s+result\nimage \((built|present)\)\s+\d\d:\d\d\s+ok( \(no registry configured: local-only mode; (no cache|cache: a local earlier build)\))?\ntest\s+\d\d:\d\d\s+ok\nbuild\s+\d\d:\d\d\s+ok\ntotal\s+\d\d:\d\d\s+ok/)
    expect(fs.readFileSync(summary, 'utf8')).toMatch(/\| phase \| time \| result \|\n\| --- \| --- \| --- \|\n\| image \((built|present)\) \| \d\d:\d\d \| ok( \(no registry configured: local-only mode; (no cache|cache: a local earlier build)\))? \|/)
    // The summary's chart: the image from the start, then the two steps one after the other, each ok.
    const chart = fs.readFileSync(summary, 'utf8').match(
      /^### test-and-build\n\n```mermaid\ngantt\n  title test-and-build: ok in \d+(?:m \d\d)?s\n[^`]*  section build image\n  image \((?:built|present)\) \([^)]+\) :done, p1, 0, (\d+)\n  section steps\n  test \([^)]+\) :done, p2, (\d+), (\d+)\n  build \([^)]+\) :done, p3, (\d+), (\d+)\n```\n/,
    )
    expect(chart, fs.readFileSync(summary, 'utf8')).not.toBeNull()
    const [imageEnd, testStart, testEnd, buildStart, buildEnd] = chart!.slice(1).map(Number)
    expect(testStart).toBe(imageEnd)
    expect(buildStart).toBeGreaterThanOrEqual(testStart)
    expect(buildEnd).toBeGreaterThan(buildStart)
    expect(testEnd).toBeGreaterThan(testStart)
    const json = JSON.parse(fs.readFileSync(report, 'utf8'))
    expect(json.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['test:ok', 'build:ok'])
    expect(json.exitCode).toBe(0)
    expect(result.stdout).toBe('')
    expect(leftovers(repo)).toBe('')
  })

  it('a failing test step: exit 1, its own exit code named once in its line, the table and the report, the build step not run, no container left', async () => {
    const { repo, run } = fixture({ test: ['sh', '-c', 'echo test-output; touch test-ran; exit 3'], build: ['touch', 'build-ran'] })
    const report = path.join(repo, 'report.json')
    const result = await run(['--report', report])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('test-output')
    expect(result.stderr).toContain('test failed with exit code 3: sh -c')
    expect(result.stderr).toMatch(/^test\s+\d\d:\d\d\s+failed \(exit 3\)$/m)
    expect(result.stderr).toMatch(/^total\s+\d\d:\d\d\s+failed \(test: exit 3\)$/m)
    expect(result.stderr).toMatch(/build\s+--:--\s+skipped/)
    // Said once: one ✘ line, no extra `Error:` line repeating it.
    expect(result.stderr.match(/✘/g)).toHaveLength(1)
    expect(result.stderr).not.toContain('Error:')
    expect(fs.statSync(path.join(repo, 'test-ran')).uid).toBe(user.uid)
    expect(fs.existsSync(path.join(repo, 'build-ran'))).toBe(false)
    const json = JSON.parse(fs.readFileSync(report, 'utf8'))
    expect(json.steps[0]).toMatchObject({ name: 'test', status: 'failed', exitCode: 3 })
    expect(json.steps[1]).toMatchObject({ name: 'build', status: 'skipped' })
    expect({ exitCode: json.exitCode, failed: json.failed }).toEqual({ exitCode: 1, failed: { phase: 'test', exitCode: 3 } })
    expect(leftovers(repo)).toBe('')
  })

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s in the middle of a step ends the container and exits %i', async (signal, code) => {
    const { repo, run } = fixture({ test: ['sh', '-c', 'echo step-started; sleep 60; touch finished'], build: ['touch', 'build-ran'] })
    let sent = false
    const started = Date.now()
    const result = await run([], {
      onStderr: (text, child) => {
        if (!sent && text.includes('step-started')) {
          sent = true
          child.kill(signal)
        }
      },
    })
    expect(sent).toBe(true)
    expect(result.exitCode).toBe(code)
    expect(result.stderr).toContain(`Interrupted (${signal}); cleaning up`)
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(leftovers(repo)).toBe('')
    expect(fs.existsSync(path.join(repo, 'finished'))).toBe(false)
    expect(fs.existsSync(path.join(repo, 'build-ran'))).toBe(false)
  })

  it('SIGINT while the container is being created leaves none behind', async () => {
    const { repo, run } = fixture({ test: ['sh', '-c', 'sleep 60'] })
    let sent = false
    const result = await run([], {
      onStderr: (text, child) => {
        if (!sent && text.includes('build image ')) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    expect(sent).toBe(true)
    // 130 once the container's cleanup is registered; before that (no container yet)
    // SIGINT's default action ends the process, which a shell also reports as 130.
    expect(result.exitCode === 130 || result.signal === 'SIGINT', `exit ${result.exitCode} signal ${result.signal}`).toBe(true)
    expect(leftovers(repo)).toBe('')
  })

  it('--only runs one step; --only integration passes only integrationEnv; a missing step is exit 2', async () => {
    const integ = ['sh', '-c', 'echo "LISTED=${MY_LISTED:-unset} INTEG=${INTEG_ONLY:-unset} CI=$CI" > integ.txt']
    const { repo, run } = fixture({ test: ['touch', 'test-ran'], build: ['touch', 'build-ran'], integration: integ, env: ['MY_LISTED'], integrationEnv: ['INTEG_ONLY'] })
    const only = await run(['--only', 'build'])
    expect(only.exitCode, only.stderr).toBe(0)
    expect(fs.existsSync(path.join(repo, 'build-ran'))).toBe(true)
    expect(fs.existsSync(path.join(repo, 'test-ran'))).toBe(false)
    expect(only.stderr).not.toMatch(/^test\s/m)

    const integration = await run(['--only', 'integration'], { env: { INTEG_ONLY: 'yes' } })
    expect(integration.exitCode, integration.stderr).toBe(0)
    expect(fs.readFileSync(path.join(repo, 'integ.txt'), 'utf8').trim()).toBe('LISTED=unset INTEG=yes CI=true')

    const missing = fixture({ test: ['true'] })
    const refused = await missing.run(['--only', 'integration'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toContain('--only integration: steps.integration is not set in build.config.json')
    const bad = await missing.run(['--only', 'lint'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toContain('--only: expected one of test, build, integration, got "lint"')
  })

  it('steps.docker hands the steps the host engine: its socket (usable as the invoking user), the host network, the temp dir', async () => {
    // A server on the host's loopback: reachable from the container only on the host network.
    const http = await import('node:http')
    const server = http.createServer((_, res) => res.end('host-loopback-ok'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as import('node:net').AddressInfo).port
    try {
      const probe = [
        'sh',
        '-c',
        `{ [ -S /var/run/docker.sock ] && [ -w /var/run/docker.sock ] && echo socket-ok; ` +
          `wget -q -O- http://127.0.0.1:${port}/ ; echo; [ -d "$TMPDIR" ] && [ -w "$TMPDIR" ] && echo tmp-ok; } > probe.txt`,
      ]
      const withDocker = fixture({ test: probe, docker: true }, { nameSuffix: '-dock' })
      const r = await withDocker.run(['--only', 'test'])
      expect(r.exitCode, r.stderr).toBe(0)
      expect(fs.readFileSync(path.join(withDocker.repo, 'probe.txt'), 'utf8').split('\n').filter(Boolean)).toEqual([
        'socket-ok',
        'host-loopback-ok',
        'tmp-ok',
      ])
      // Without it: no socket, no host network.
      const without = fixture({ test: probe }, { nameSuffix: '-dock' })
      await without.run(['--only', 'test'])
      expect(fs.readFileSync(path.join(without.repo, 'probe.txt'), 'utf8')).not.toMatch(/socket-ok|host-loopback-ok/)
    } finally {
      server.close()
    }
  })

  it('git works inside the container on the mounted checkout, also a worktree owned by someone else', async () => {
    // Run as root on a checkout owned by another uid: git refuses it ("dubious
    // ownership") unless safe.directory is set, which the container does.
    const steps = { test: ['sh', '-c', 'git rev-parse HEAD > head.txt && git status --porcelain --untracked-files=no > status.txt && git log -1 --format=%s > subject.txt'] }
    const { repo } = fixture(steps, { as: 'self', from: 'node:20-bookworm-slim', nameSuffix: '-git' })
    const worktree = path.join(tempDir('cbs-wt-'), 'wt')
    git(repo, 'worktree', 'add', '-q', worktree, '-b', 'feature')
    const head = git(repo, 'rev-parse', 'HEAD')
    if (asRoot) {
      chownTree(repo, OTHER_UID, OTHER_UID)
      chownTree(worktree, OTHER_UID, OTHER_UID)
    }
    const hostGit = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' } // for the host-side git only
    for (const checkout of [repo, worktree]) {
      const result = await runScript('test-and-build', [], { cwd: checkout, env: { ...ENV, ...hostGit } })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(fs.readFileSync(path.join(checkout, 'head.txt'), 'utf8').trim()).toBe(head)
      expect(fs.readFileSync(path.join(checkout, 'subject.txt'), 'utf8').trim()).toBe('initial')
      expect(fs.readFileSync(path.join(checkout, 'status.txt'), 'utf8')).toBe('')
      expect(leftovers(checkout)).toBe('')
    }
  })
})

function chownTree(dir: string, uid: number, gid: number): void {
  fs.lchownSync(dir, uid, gid)
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) chownTree(full, uid, gid)
    else fs.lchownSync(full, uid, gid)
  }
}
