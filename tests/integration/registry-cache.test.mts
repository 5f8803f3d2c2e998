// The nearest earlier build image as cache on a fresh runner, against the real
// engine and the real registry, under BuildKit and (test:legacy-builder) the legacy builder.
// The fixture's early layer records a random value: an image that carries commit 1's
// value at commit 2 reused that layer; one that carries a new value re-ran it.
// "A fresh runner": the test's images removed and the build cache records of its own
// layers forgotten (their steps carry a marker no one else uses), never a global prune.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeBuildRepo, removeImagesNamed } from '../helpers/build-image.mts'
import { cacheRecords, forgetBuildCache, layerDownloaded } from '../helpers/build-cache.mts'
import { docker, dockerMaybe, requireDocker, uniqueName, imageFile } from '../helpers/docker.mts'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { git, tempDir } from '../helpers/repo.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

const LEGACY = process.env.DOCKER_BUILDKIT === '0'
// Which commit's image is the cache is read from git, not from the engine: the pass on the
// containerd image store (npm run test:containerd-store) leaves those cases to the others.
const GIT_ONLY = it.skipIf(process.env.CBS_ENGINE_PASS === 'containerd-store')
// Fast retries, no credentials (the suite's REGISTRY_PASSWORD alone means none).
const FAST = { REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '10', REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '', GITHUB_BASE_REF: '' }

interface CacheJson {
  image: { ref: string; source: 'local' | 'registry'; commit?: string; distance?: number; via?: string } | null
  note?: string
  commits: number
  asked: number
  shallow: boolean
  durationMs: number
  export?: { outcome: string; ref?: string }
}
interface Outcome {
  ref: string
  tag: string
  outcome: string
  reason?: string
  cache?: CacheJson
}

async function pullOrBuild(repo: string, registry: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult & { json: Outcome }> {
  const result = await runScript('pull-or-build', ['--json', ...args], { cwd: repo, env: { ...FAST, REGISTRY: registry, ...env } })
  expect(result.exitCode, result.stderr).toBe(0)
  return { ...result, json: JSON.parse(result.stdout) as Outcome }
}

const stamp = (ref: string) => imageFile(ref, '/stamp')

describe('the registry as cache: the nearest earlier build image', () => {
  const names: string[] = []
  const proxies: FaultProxy[] = []
  let registry: TestRegistry
  beforeAll(async () => {
    requireDocker(['busybox:latest'])
    registry = await startRegistry()
  })
  afterAll(async () => {
    for (const p of proxies) await p.stop()
    removeImagesNamed(...names)
    await registry?.stop()
  })

  /**
   * A repository whose build image's early layer writes a random stamp (the expensive
   * toolchain) and whose last layer copies tools/ (the input that changes). Commit 1 is
   * built and pushed to `host`; returns its ref and stamp.
   */
  async function pushedFixture(prefix: string, host = registry.host, config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) {
    const n = uniqueName(prefix)
    names.push(n)
    const marker = `regcache-${n}`
    const dockerfile = `FROM busybox:latest\nRUN echo ${marker} > /marker && cat /proc/sys/kernel/random/uuid > /stamp\nCOPY tools /opt/tools\n`
    const repo = makeBuildRepo({ name: n, dockerfile, config })
    const first = await pullOrBuild(repo, host, ['--push'], env)
    expect(first.json.outcome).toBe('pushed')
    // Where the engine exports a full registry cache (the containerd store), the pushing job
    // wrote <tag>-cache beside the image (full-cache.test checks that it does), and the lookup names it too.
    const fullCache = first.json.cache?.export?.outcome === 'exported' ? { cacheRef: `${first.json.ref}-cache` } : {}
    return { n, marker, repo, ref1: first.json.ref, commit1: git(repo, 'rev-parse', 'HEAD'), stamp1: stamp(first.json.ref), fullCache }
  }

  /** Change the late layer's input and commit it. */
  function commitInputChange(repo: string, version = '2'): string {
    fs.writeFileSync(path.join(repo, 'tools/version'), `${version}\n`)
    git(repo, 'commit', '-qam', `tools ${version}`)
    return git(repo, 'rev-parse', 'HEAD')
  }

  /** The daemon as on a fresh CI runner: none of this fixture's images, no build cache of its layers. */
  function freshRunner(n: string, marker: string): void {
    removeImagesNamed(n)
    forgetBuildCache(marker) // BuildKit's records of our layers only; none under the legacy builder
    expect(docker('image', 'ls', '--format', '{{.Repository}}').split('\n').filter((r) => r === n || r.endsWith(`/${n}`))).toEqual([])
    expect(cacheRecords().filter((r) => r.description.includes(marker))).toEqual([])
  }

  /** pushedFixture, then commit 2 changing the late layer's input, on a daemon like a fresh runner's. */
  async function changedOnFreshRunner(prefix: string, host = registry.host, config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) {
    const f = await pushedFixture(prefix, host, config, env)
    const commit2 = commitInputChange(f.repo)
    freshRunner(f.n, f.marker)
    return { ...f, commit2 }
  }

  /** A fault proxy in front of the registry (no faults until its plan is set), stopped after the file. */
  async function registryProxy(): Promise<FaultProxy> {
    const proxy = await startFaultProxy(registry.host, {}, 5 * 60_000)
    proxies.push(proxy)
    return proxy
  }

  it('a fresh runner reuses the early layer of the parent commit\'s image from the registry, and says which image, which commit, how far back', async () => {
    const f = await changedOnFreshRunner('cbs-regcache')

    const { json, stderr } = await pullOrBuild(f.repo, registry.host)
    expect(json.outcome).toBe('built')
    expect(json.ref).not.toBe(f.ref1)
    // The early layer was reused (commit 1's stamp), not re-run; the late one has the new input.
    expect(stamp(json.ref)).toBe(f.stamp1)
    expect(imageFile(json.ref, '/opt/tools/version')).toBe('2')
    expect(json.cache?.image).toEqual({ ref: f.ref1, source: 'registry', commit: f.commit1, distance: 1, via: 'first-parent', ...f.fullCache })
    expect(json.cache?.shallow).toBe(false)
    expect(stderr).toContain(`cache: ${f.ref1} (the image of commit ${f.commit1.slice(0, 12)}, 1 commit back)`)
    // Under BuildKit the layer came from the registry through the inline cache, with no full pull of the image first.
    if (!LEGACY) {
      expect(stderr).not.toContain(`pull ${f.ref1}`)
      expect(layerDownloaded(stderr, '[2/3] RUN echo regcache-'), stderr).toBe(true)
    } else expect(stderr).toContain(`pull ${f.ref1} (cache for the legacy builder)`)
  })

  it('a local earlier build still wins over the registry; --no-cache-from turns the cache off (the early layer re-runs)', async () => {
    const f = await pushedFixture('cbs-regcache-local')
    commitInputChange(f.repo)
    // Commit 1's image is still local: no registry lookup, the local image is the cache.
    const local = await pullOrBuild(f.repo, registry.host)
    expect(local.json.cache?.image).toEqual({ ref: f.ref1, source: 'local' })
    expect(local.stderr).toContain(`cache: ${f.ref1} (an earlier build in the local daemon)`)
    expect(stamp(local.json.ref)).toBe(f.stamp1)

    commitInputChange(f.repo, '3')
    freshRunner(f.n, f.marker)
    const off = await pullOrBuild(f.repo, registry.host, ['--no-cache-from'])
    expect(off.json.outcome).toBe('built')
    expect(off.json.cache?.image).toBeNull()
    expect(off.stderr).toContain('cache: none (--no-cache-from)')
    expect(stamp(off.json.ref)).not.toBe(f.stamp1)
  })

  it('no earlier image anywhere: a plain build, and the log says none was found', async () => {
    const n = uniqueName('cbs-regcache-none')
    names.push(n)
    const repo = makeBuildRepo({ name: n })
    commitInputChange(repo)
    const { json, stderr } = await pullOrBuild(repo, registry.host)
    expect(json.outcome).toBe('built')
    expect(json.cache?.image).toBeNull()
    // HEAD and its parent have two distinct tags, neither in the registry.
    expect(json.cache).toMatchObject({ commits: 2, asked: 1 })
    expect(stderr).toContain('cache: none (none of 2 earlier commits (1 distinct tag) has an image in the registry)')
  })

  it('a registry that fails while the earlier images are looked up: a warning, and the build goes on without the cache', async () => {
    const proxy = await registryProxy()
    const f = await changedOnFreshRunner('cbs-regcache-fault', proxy.host)
    // The current tag's HEAD passes (404: build); every request about commit 1's image fails.
    const tag1 = f.ref1.slice(f.ref1.lastIndexOf(':') + 1)
    proxy.setPlan({ status: { code: 503, match: (req) => req.url.includes(tag1) } })

    const { json, stderr } = await pullOrBuild(f.repo, proxy.host)
    expect(json.outcome).toBe('built')
    expect(json.cache?.image).toBeNull()
    expect(stderr).toMatch(/cache lookup: could not ask [^\n]* for earlier commits' images \(registry [^\n]* is unavailable[^\n]*HTTP 503\): building without a registry cache/)
    expect(proxy.requests.filter((r) => r.url.includes(tag1) && r.status === 503).length).toBe(2) // the first try and one retry
    expect(stamp(json.ref)).not.toBe(f.stamp1)
  })

  it('a cache image found but not readable (its manifest GET fails): a warning, and the build goes on without it', async () => {
    const proxy = await registryProxy()
    const f = await changedOnFreshRunner('cbs-regcache-noread', proxy.host)
    // The lookup's HEAD finds commit 1's image; reading it (the legacy pull, BuildKit's cache
    // import: manifests by tag or digest, blobs) fails. Nothing else GETs from the registry here.
    proxy.setPlan({ status: { code: 503, match: (req) => req.method === 'GET' && req.url.startsWith(`/v2/${f.n}/`) } })

    const { json, stderr } = await pullOrBuild(f.repo, proxy.host)
    expect(json.outcome).toBe('built')
    expect(json.cache?.image ?? null).toBeNull()
    if (LEGACY) expect(stderr).toContain(`cache: ${f.ref1} could not be pulled (`)
    else expect(stderr).toContain(`cache: BuildKit could not read ${f.ref1} (see its error above): built without it`)
    expect(json.cache?.note).toMatch(/could not (be pulled|read)/)
    expect(stamp(json.ref)).not.toBe(f.stamp1)
  })

  it('a registry that needs credentials: REGISTRY_USERNAME/_PASSWORD reach the cache read too (BuildKit through a temporary login), and ~/.docker is not written', async () => {
    const auth = { username: 'cache-reader', password: `regcache-secret-${uniqueName('pw')}` }
    const locked = await startRegistry({ auth })
    try {
      const creds = { REGISTRY_USERNAME: auth.username, REGISTRY_PASSWORD: auth.password }
      const f = await changedOnFreshRunner('cbs-regcache-auth', locked.host, {}, creds)
      const home = tempDir('cbs-home-')
      const { json, stderr } = await pullOrBuild(f.repo, locked.host, [], { ...creds, HOME: home, DOCKER_CONFIG: '' })
      expect(json.cache?.image).toMatchObject({ ref: f.ref1, source: 'registry', commit: f.commit1 })
      expect(stderr).not.toContain('could not read')
      expect(stamp(json.ref)).toBe(f.stamp1)
      expect(fs.existsSync(path.join(home, '.docker/config.json'))).toBe(false)
    } finally {
      await locked.stop()
    }
  })

  GIT_ONLY('a shallow clone: depth 1 searches only HEAD and says so; depth 2 finds the parent\'s image', async () => {
    const f = await changedOnFreshRunner('cbs-regcache-shallow')

    const one = path.join(tempDir('cbs-shallow-'), 'repo')
    git(path.dirname(one), 'clone', '-q', '--depth', '1', `file://${f.repo}`, one)
    const d1 = await pullOrBuild(one, registry.host)
    expect(d1.json.outcome).toBe('built')
    expect(d1.json.cache).toMatchObject({ image: null, shallow: true, commits: 1 })
    expect(d1.stderr).toContain('shallow clone: searched the 1 commit of history it has')
    expect(d1.stderr).toContain('fetch-depth')

    freshRunner(f.n, f.marker)
    const two = path.join(tempDir('cbs-shallow-'), 'repo')
    git(path.dirname(two), 'clone', '-q', '--depth', '2', `file://${f.repo}`, two)
    expect(git(two, 'rev-parse', 'HEAD')).toBe(f.commit2)
    const d2 = await pullOrBuild(two, registry.host)
    expect(d2.json.cache?.image).toEqual({ ref: f.ref1, source: 'registry', commit: f.commit1, distance: 1, via: 'first-parent', ...f.fullCache })
    expect(d2.json.cache?.shallow).toBe(true)
    expect(stamp(d2.json.ref)).toBe(f.stamp1)
  })

  GIT_ONLY('a config change between the commits: the earlier commit\'s tag is computed from its own config', async () => {
    const f = await pushedFixture('cbs-regcache-config')
    // Commit 2 changes only the config (a build arg is part of the tag): with commit 2's
    // config, commit 1's tag would be another, absent from the registry.
    const file = path.join(f.repo, 'build.config.json')
    const config = JSON.parse(fs.readFileSync(file, 'utf8'))
    config.buildImage.buildArgs = { FLAVOR: 'b' }
    fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n')
    git(f.repo, 'commit', '-qam', 'a build arg')
    freshRunner(f.n, f.marker)

    const { json, stderr } = await pullOrBuild(f.repo, registry.host)
    expect(json.outcome).toBe('built')
    expect(json.cache?.image).toEqual({ ref: f.ref1, source: 'registry', commit: f.commit1, distance: 1, via: 'first-parent', ...f.fullCache })
    expect(stderr).toContain(`cache: ${f.ref1}`)
    expect(stamp(json.ref)).toBe(f.stamp1)
  })

  GIT_ONLY('the merge-base with the default branch: a branch whose own history is longer than the search finds main\'s image', async () => {
    const f = await pushedFixture('cbs-regcache-mb')
    git(f.repo, 'checkout', '-qb', 'topic')
    for (let i = 0; i < 3; i++) commitInputChange(f.repo, `t${i}`)
    freshRunner(f.n, f.marker)
    // A search of 1 first-parent ancestor does not reach commit 1; the merge-base with main does.
    const result = await runScript('pull-or-build', ['--json'], { cwd: f.repo, env: { ...FAST, REGISTRY: registry.host, GITHUB_BASE_REF: 'main', CBS_CACHE_DEPTH: '1' } })
    expect(result.exitCode, result.stderr).toBe(0)
    const json = JSON.parse(result.stdout) as Outcome
    expect(json.cache?.image).toEqual({ ref: f.ref1, source: 'registry', commit: f.commit1, distance: 3, via: 'merge-base', ...f.fullCache })
    expect(result.stderr).toContain('3 commits back, the merge-base with the default branch')
    expect(stamp(json.ref)).toBe(f.stamp1)
  })

  it('test-and-build carries the cache in its timing table and --report', async () => {
    const f = await changedOnFreshRunner('cbs-regcache-tab', registry.host, { steps: { test: ['cat', '/stamp'] } })
    const result = await runScript('test-and-build', ['--report', 'reports/timing.json'], { cwd: f.repo, env: { ...FAST, REGISTRY: registry.host } })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toContain(f.stamp1) // the test step printed commit 1's stamp
    expect(result.stderr).toMatch(new RegExp(`image \\(built\\)\\s+\\S+\\s+ok \\(not in the registry yet; cache: commit ${f.commit1.slice(0, 8)}, 1 back\\)`))
    const report = JSON.parse(fs.readFileSync(path.join(f.repo, 'reports/timing.json'), 'utf8'))
    expect(report.image.cache).toMatchObject({ image: { ref: f.ref1, source: 'registry', commit: f.commit1, distance: 1, via: 'first-parent' }, shallow: false })
    expect(report.image.cache.lookupMs).toBeGreaterThanOrEqual(0)
    expect(dockerMaybe('image', 'inspect', f.ref1) === null || LEGACY).toBe(true) // BuildKit: no full pull of the cache image
  })
})
