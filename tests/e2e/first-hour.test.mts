// A new user's first hour: the scripts run as processes, the way the README
// says, then the mistakes newcomers make, against the real Docker Engine (BuildKit and
// the legacy builder), the real registry and real git repositories.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { makeBuildRepo } from '../helpers/build-image.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { git, makeRepo, tempDir, writeFiles } from '../helpers/repo.mts'
import { PROJECT_ROOT, runScript, type RunOptions } from '../helpers/run.mts'

// Not on CI unless a test says so: the machine running the suite may be a CI runner.
const ENV = { REGISTRY: '', CI: '', GITHUB_ACTIONS: '', REGISTRY_PASSWORD: '', REGISTRY_USERNAME: '' }
const BUILDERS = [
  ['BuildKit', {}],
  ['the legacy builder', { DOCKER_BUILDKIT: '0' }],
] as const

const run = (script: string, args: string[], options: RunOptions = {}) => runScript(script, args, { ...options, env: { ...ENV, ...options.env } })
/** No Node stack trace: every failure is a one-line error. */
const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)

describe('a new user’s first hour', () => {
  const { registry, name } = useRegistryScene()

  it('2. a positional argument is a usage error naming the flag it may have meant, not a run on the wrong repository', async () => {
    const repo = makeBuildRepo({ name: name('fh-pos'), config: { steps: { test: ['true'] } } })
    const other = makeBuildRepo({ name: name('fh-pos-other') })
    const tag = await run('image-tag', [other, '--image'], { cwd: repo })
    expect(tag.exitCode).toBe(2)
    expect(tag.stdout).toBe('')
    expect(tag.stderr.trim()).toBe(`✘   Error: unexpected argument ${JSON.stringify(other)} (did you mean --repo ${other}?)`)
    const step = await run('test-and-build', ['test'], { cwd: repo })
    expect(step.exitCode).toBe(2)
    expect(step.stderr.trim()).toBe('✘   Error: unexpected argument "test" (did you mean --only test, or --repo DIR?)')
  })

  it('12. a config that is not valid JSON is reported by line and column', async () => {
    const repo = makeRepo({ 'Dockerfile.build': 'FROM busybox:latest\n' })
    writeFiles(repo, { 'build.config.json': '{\n  "buildImage": {\n    "name": "x",\n    "inputs": ["Dockerfile.build"],\n  }\n}\n' })
    const result = await run('image-tag', [], { cwd: repo })
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/build\.config\.json: not valid JSON: line 5, column 3: /)
    expect(result.stderr).not.toMatch(/position/)
  })

  describe('test-and-build', () => {
    const n = name('fh-tab')
    let repo: string
    beforeAll(() => {
      repo = makeBuildRepo({ name: n, config: { steps: { test: ['sh', '-c', 'test ! -e fail || { echo test-broke; exit 2; }'], build: ['true'] } } })
    })

    it('1. --report reports/x.json from another directory: written in the repository, its directory created', async () => {
      const result = await run('test-and-build', ['--repo', repo, '--report', 'reports/x.json'], { cwd: tempDir() })
      expect(result.exitCode, result.stderr).toBe(0)
      noStack(result.stderr)
      expect(JSON.parse(fs.readFileSync(path.join(repo, 'reports/x.json'), 'utf8'))).toMatchObject({ exitCode: 0, failed: null })
    })

    it('1. a report that cannot be written is one line saying the steps passed, exit 1', async () => {
      const result = await run('test-and-build', ['--report', 'README.md/x.json'], { cwd: repo })
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toMatch(/^total\s+\d\d:\d\d\s+ok$/m)
      expect(result.stderr).toContain(`✘   Error: could not write the report ${path.join(repo, 'README.md/x.json')} (${path.join(repo, 'README.md')} is not a directory); the steps themselves passed`)
      noStack(result.stderr)
    })

    it('3. a step exiting 2 (make\'s failed test) exits 1, not "bad usage"; its own code is in its line, the table and the report', async () => {
      fs.writeFileSync(path.join(repo, 'fail'), '')
      const result = await run('test-and-build', ['--report', 'reports/failed.json'], { cwd: repo })
      fs.rmSync(path.join(repo, 'fail'))
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toContain('test-broke')
      expect(result.stderr).toContain('✘   test failed with exit code 2: sh -c')
      expect(result.stderr).toMatch(/^test\s+\d\d:\d\d\s+failed \(exit 2\)$/m)
      expect(result.stderr).toMatch(/^total\s+\d\d:\d\d\s+failed \(test: exit 2\)$/m)
      // 12. Said once: the ✘ line and the table, no `Error:` line repeating them.
      expect(result.stderr.match(/✘/g)).toHaveLength(1)
      const report = JSON.parse(fs.readFileSync(path.join(repo, 'reports/failed.json'), 'utf8'))
      expect({ exitCode: report.exitCode, failed: report.failed, test: report.steps[0].exitCode }).toEqual({ exitCode: 1, failed: { phase: 'test', exitCode: 2 }, test: 2 })
    })
  })

  describe.each(BUILDERS)('under %s', (_builder, builderEnv) => {
    it('10, 9. a Dockerfile.build step that fails: the timing table up to the failure; on Actions an ::error:: naming the step and its lines outside the fold', async () => {
      const repo = makeBuildRepo({
        name: name('fh-fail'),
        dockerfile: 'FROM busybox:latest\nCOPY tools /opt/tools\nRUN echo out-one; echo out-two; exit 3\n',
        config: { steps: { test: ['true'], build: ['true'] } },
      })
      const result = await run('test-and-build', ['--report', 'r.json'], { cwd: repo, env: { ...builderEnv, CI: 'true', GITHUB_ACTIONS: 'true' } })
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toMatch(/^image\s+\d\d:\d\d\s+failed$/m)
      expect(result.stderr).toMatch(/^test\s+--:--\s+skipped$/m)
      expect(result.stderr).toMatch(/^total\s+\d\d:\d\d\s+failed \(image\)$/m)
      expect(JSON.parse(fs.readFileSync(path.join(repo, 'r.json'), 'utf8')).failed).toEqual({ phase: 'image', exitCode: null })
      // The build's output is folded; the failure is not.
      const lines = result.stderr.split('\n')
      const endgroup = lines.lastIndexOf('::endgroup::')
      expect(lines.findIndex((l) => l.startsWith('::group::build '))).toBeGreaterThanOrEqual(0)
      const after = lines.slice(endgroup + 1)
      // The step as the builder numbers it, the same under both builders (as in the error message).
      expect(after).toContain('::error title=Dockerfile.build failed::Dockerfile.build step [3/3] RUN echo out-one; echo out-two; exit 3: exit code 3')
      expect(after).toEqual(expect.arrayContaining(['    out-one', '    out-two']))
    })

    it('6, 8, 7. says why it builds, what the builder reused (not what it was offered), and beats while a step is silent', async () => {
      const n = name('fh-reuse')
      const repo = makeBuildRepo({
        name: n,
        dockerfile: 'FROM busybox:latest\nRUN echo expensive > /expensive\nCOPY tools /opt/tools\nRUN sleep 2; cat /opt/tools/version > /version\n',
        // Content of this run's own: BuildKit's cache is by content, so a value an earlier
        // run built would make the COPY (and the silent RUN) cached.
        files: { 'tools/version': `${n}\n` },
      })
      const env = { ...builderEnv, REGISTRY: registry.host, CI: 'true', CBS_HEARTBEAT_MS: '500' }
      const first = await run('pull-or-build', ['--json'], { cwd: repo, env })
      expect(first.exitCode, first.stderr).toBe(0)
      const tag = JSON.parse(first.stdout).tag as string
      expect(first.stderr).toContain(`not local; ${registry.host} has no ${n}:${tag.slice(0, 12)}… (404): building from Dockerfile.build, tools/link, tools/run.sh, tools/version`)
      expect(first.stderr).toMatch(/…\s+docker build: still running, \ds/)

      fs.writeFileSync(path.join(repo, 'tools/version'), `${n}-2\n`)
      const second = await run('pull-or-build', [], { cwd: repo, env })
      expect(second.exitCode, second.stderr).toBe(0)
      // The RUN before the changed COPY came from the cache; the COPY and the RUN after it did not.
      expect(second.stderr).toMatch(/✓\s+build \S+ \(1 of 3 steps from cache, \d+\.\ds\)/)
      expect(second.stderr).not.toContain('cache from')
    })
  })

  it('11. the COPY check names every missing source at once, tells a missing file from an unlisted one, and says the context is the inputs', async () => {
    const repo = makeBuildRepo({
      name: name('fh-copy'),
      dockerfile: 'FROM busybox:latest\nCOPY tools /opt/tools\nCOPY README.md notes.txt /doc/\nCOPY nowhere.txt /x\n',
      files: { 'notes.txt': 'n\n' },
    })
    const result = await run('pull-or-build', [], { cwd: repo })
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe(
      '✘   Error: Dockerfile.build copies "README.md" (line 3), "notes.txt" (line 3), which are in the repository but not in buildImage.inputs: add them to "inputs" in build.config.json; and "nowhere.txt" (line 4), which is not in the repository at all: fix the instruction, or create and commit the file',
    )

    const whole = makeBuildRepo({ name: name('fh-copy-all'), dockerfile: 'FROM busybox:latest\nCOPY . /src\n' })
    const copied = await run('pull-or-build', [], { cwd: whole })
    expect(copied.exitCode, copied.stderr).toBe(0)
    expect(copied.stderr.match(/copies the whole build context/g)).toEqual(['copies the whole build context'])
    expect(copied.stderr).toContain('Dockerfile.build line 2 copies the whole build context: it holds only buildImage.inputs (4 files), not the repository')
  })

  it('4, 12. push-images: the untracked files named in the dirty-tree warning; an all-unchanged re-run says nothing was pushed', async () => {
    const app = name('fh-app')
    const repo = makeRepo(
      {
        'Dockerfile.build': 'FROM busybox:latest\nRUN echo toolchain > /toolchain.txt\n',
        Dockerfile: 'ARG BUILD_IMAGE\nFROM ${BUILD_IMAGE}\nARG VERSION\nRUN echo "$VERSION" > /version\n',
        '.dockerignore': '.git\nbin/\n',
      },
      { buildImage: { name: name('fh-app-build'), inputs: ['Dockerfile.build'] }, image: { name: app }, defaultBranch: 'main' },
    )
    const env = { REGISTRY: registry.host }
    const first = await run('push-images', [], { cwd: repo, env })
    expect(first.exitCode, first.stderr).toBe(0)
    expect(first.stderr).toMatch(/pushed 3 refs \(3 created\) in/)
    const again = await run('push-images', [], { cwd: repo, env })
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/nothing pushed: all 3 refs unchanged in/)
    expect(again.stderr).not.toMatch(/published \d/)

    writeFiles(repo, { 'bin/app': 'built\n', 'notes.txt': 'n\n' })
    const dirty = await run('push-images', ['--dry-run'], { cwd: repo, env })
    expect(dirty.exitCode, dirty.stderr).toBe(0)
    expect(dirty.stderr).toContain('the working tree has uncommitted changes (bin/, notes.txt): ')
  })

  it('4, 5. the go-app README’s "Try it" works as written (no registry), and leaves the copy clean', async () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'examples/go-app/README.md'), 'utf8')
    const block = /## Try it[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]
    expect(block).toContain('npx zx scripts/push-images.mts --repo /tmp/go-app --dry-run')
    // The one liberty taken: a directory of its own instead of /tmp/go-app.
    const dir = path.join(tempDir('cbs-try-'), 'go-app')
    const script = block.replaceAll('/tmp/go-app', dir)
    const env = { ...process.env, ...ENV, FORCE_COLOR: '0', GIT_AUTHOR_NAME: 'New User', GIT_AUTHOR_EMAIL: 'new@example.com', GIT_COMMITTER_NAME: 'New User', GIT_COMMITTER_EMAIL: 'new@example.com' }
    let out: string
    try {
      out = execFileSync('sh', ['-ec', script], { cwd: PROJECT_ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 })
    } catch (error) {
      const e = error as { status: number; stderr: string }
      throw new Error(`the README's "Try it" failed (exit ${e.status}):\n${e.stderr.slice(-3000)}`)
    }
    // The final image's tags this run made go (the build image stays: it is the cache).
    const finalRefs = out.split('\n').map((l) => l.split(/\s+/)[0]).filter((r) => r.startsWith('go-app:'))
    if (finalRefs.length) execFileSync('docker', ['rmi', ...finalRefs], { stdio: 'ignore' })
    // On main: the default branch's tags, built in the local daemon.
    expect(finalRefs).toEqual([`go-app:sha-${git(dir, 'rev-parse', 'HEAD').slice(0, 12)}`, 'go-app:main'])
    expect(out).toMatch(/^go-app-build:[0-9a-f]{40}\s+local only$/m)
    // 4. make build wrote bin/go-app, and the tree is still clean.
    expect(fs.existsSync(path.join(dir, 'bin/go-app'))).toBe(true)
    expect(git(dir, 'status', '--porcelain')).toBe('')
  }, 1_000_000)
})
