// Concurrency: several CI jobs building the same new build image at once (a push to main
// and the pull requests based on it, say). Every run stays green, the registry ends up
// with the one content tag, complete; a run that finds the tag appeared while it was
// building does not push over it.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/core/config.mts'
import { repoInfo } from '../../lib/core/git.mts'
import { computeBuildImageTag } from '../../lib/image/content-tag.mts'
import { canExportCache, currentBuilder } from '../../lib/image/docker.mts'
import { makeBuildRepo } from '../helpers/build-image.mts'
import { leftInTmp, scriptTmpDir } from '../helpers/leftovers.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

const ENV = { REGISTRY_USERNAME: '', REGISTRY_RETRIES: '2', REGISTRY_RETRY_DELAY_MS: '100', CI: '', GITHUB_ACTIONS: '' }

interface Outcome {
  ref: string
  tag: string
  outcome: string
  digest?: string
  pushSkipped?: string
}

describe('concurrent pull-or-build --push', () => {
  const scene = useRegistryScene()
  const { registry, name } = scene

  const parse = (r: RunResult): Outcome => JSON.parse(r.stdout) as Outcome

  it('four runs for the same new tag at once: all exit 0, one complete tag in the registry', async () => {
    const n = name('rel-conc')
    const repo = makeBuildRepo({ name: n })
    const tmps = [0, 1, 2, 3].map(() => scriptTmpDir())
    const results = await Promise.all(tmps.map((tmp) => runScript('pull-or-build', ['--push', '--json'], { cwd: repo, env: { ...ENV, REGISTRY: registry.host, TMPDIR: tmp } })))
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0)
    const outcomes = results.map(parse)
    const tag = outcomes[0].tag
    for (const o of outcomes) {
      expect(o.tag).toBe(tag)
      // Pushed, or found in the registry (before building: pulled; after: not pushed over).
      expect(o.outcome === 'pushed' || o.outcome === 'pulled' || o.pushSkipped === 'already in the registry', JSON.stringify(o)).toBe(true)
    }
    expect(outcomes.some((o) => o.outcome === 'pushed')).toBe(true)
    // Beside it, where the engine exports one, the builds' full registry cache (any of them may write it: it is a cache).
    const exports = await canExportCache(await currentBuilder())
    expect((await registry.tags(n)).sort()).toEqual(exports ? [tag, `${tag}-cache`] : [tag])
    expect(await registry.tagState(n, tag)).toBe('complete')
    // What the registry serves is what one of the runs pushed.
    const served = await registry.digest(n, tag)
    expect(outcomes.filter((o) => o.digest).map((o) => o.digest)).toContain(served)
    for (const tmp of tmps) expect(leftInTmp(tmp)).toEqual([])
  })

  it('the tag appears in the registry while a run builds: it re-checks before pushing and pushes nothing', async () => {
    const n = name('rel-conc-race')
    // A step unique to this test: the build really runs (no build cache, under either builder).
    const repo = makeBuildRepo({ name: n, dockerfile: `FROM busybox:latest\nCOPY tools /opt/tools\nRUN echo ${n} > /race && sleep 1\n` })
    const { tag } = await computeBuildImageTag(await repoInfo(repo), await loadConfig({ root: repo, env: { REGISTRY: registry.host } }))
    // The run reaches the registry through a proxy in this process: while the test pushes
    // (synchronously, below), no request of the run is answered, so its re-check comes after.
    const proxy = await scene.proxy()
    let raced = false
    let other: string | null = null
    const result = await runScript('pull-or-build', ['--push', '--json'], {
      cwd: repo,
      env: { ...ENV, REGISTRY: proxy.host },
      onStderr: (text) => {
        // The build's first step (legacy: `Step 1/3 : FROM`; BuildKit: `#5 [1/3] FROM`).
        if (raced || !/Step 1\/\d+ : |\[1\/\d+\] FROM /.test(text)) return
        raced = true
        // Another job pushes the same tag (with another image: the same inputs built elsewhere).
        const direct = `${registry.host}/${n}:${tag}`
        execFileSync('sh', ['-c', 'docker tag busybox:latest "$1" && docker push -q "$1" && docker rmi "$1"', 'sh', direct], { stdio: 'ignore', timeout: 120_000 })
        other = direct
      },
    })
    expect(raced).toBe(true)
    expect(result.exitCode, result.stderr).toBe(0)
    const o = parse(result)
    expect(o.tag).toBe(tag)
    expect(other).toBe(`${registry.host}/${n}:${tag}`)
    expect(o).toMatchObject({ outcome: 'built', pushSkipped: 'already in the registry' })
    expect(result.stderr).toMatch(/not pushing \S+: the registry already has it \(sha256:[0-9a-f]{64}\), pushed by a concurrent run/)
    expect(result.stderr).not.toMatch(/The push refers to repository/)
    // Nothing written: or, where the engine exports a full registry cache, that cache alone
    // (its blobs, and the one manifest <tag>-cache), written by the build before the re-check.
    const writes = proxy.requests.filter((r) => r.method === 'PUT' || r.method === 'PATCH' || r.method === 'POST')
    if (await canExportCache(await currentBuilder())) {
      expect(writes.filter((r) => r.url.includes('/manifests/')).map((r) => r.url.split('?')[0])).toEqual([`/v2/${n}/manifests/${tag}-cache`])
      expect(writes.filter((r) => !r.url.includes('/manifests/') && !r.url.startsWith(`/v2/${n}/blobs/uploads/`))).toEqual([])
      expect((await registry.tags(n)).sort()).toEqual([o.tag, `${o.tag}-cache`])
    } else {
      expect(writes).toEqual([])
      expect(await registry.tags(n)).toEqual([o.tag])
    }
  })
})
