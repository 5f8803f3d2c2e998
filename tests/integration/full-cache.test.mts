// The full registry cache of a multi-stage build image, against the real engine and the
// real registry, under whichever image store and builder this pass runs (the classic store
// in `npm test`, the containerd store in `npm run test:containerd-store`, the legacy
// builder in `npm run test:legacy-builder`). The builder stage's expensive step writes a
// random stamp: on a fresh runner after a lockfile change, an image carrying commit 1's
// stamp reused that step. Where the engine can export a full cache (mode=max), it must;
// where it cannot, the log must say which stage a fresh runner rebuilds, and it does.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canExportCache, currentBuilder } from '../../lib/image/docker.mts'
import { FULL_CACHE_FIX } from '../../lib/image/full-cache.mts'
import { makeBuildRepo, removeImagesNamed } from '../helpers/build-image.mts'
import { cacheRecords, forgetBuildCache } from '../helpers/build-cache.mts'
import { docker, requireDocker, uniqueName, imageFile } from '../helpers/docker.mts'
import { startFaultProxy } from '../helpers/fault-proxy.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { git } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

const LEGACY = process.env.DOCKER_BUILDKIT === '0'
const FAST = { REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '10', REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '', GITHUB_BASE_REF: '' }

interface Json {
  ref: string
  outcome: string
  cache?: {
    image: { ref: string; cacheRef?: string } | null
    export?: { outcome: string; ref?: string; stages?: string[]; note?: string }
  }
}

describe('the full registry cache of a multi-stage build image', () => {
  let registry: TestRegistry
  let exports: boolean
  const names: string[] = []
  beforeAll(async () => {
    requireDocker(['busybox:latest'])
    registry = await startRegistry()
    exports = await canExportCache(await currentBuilder())
  })
  afterAll(async () => {
    removeImagesNamed(...names)
    await registry?.stop()
  })

  async function pullOrBuild(repo: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
    const result = await runScript('pull-or-build', ['--json', ...args], { cwd: repo, env: { ...FAST, REGISTRY: registry.host, ...env } })
    expect(result.exitCode, result.stderr).toBe(0)
    return { ...result, json: JSON.parse(result.stdout) as Json }
  }

  /** Stage `tools` runs the expensive step, then copies the lockfile (tools/version); the last stage copies from it. */
  function multiStage(prefix: string) {
    const n = uniqueName(prefix)
    names.push(n)
    const marker = `fullcache-${n}`
    const dockerfile = [
      'FROM busybox:latest AS tools',
      `RUN echo ${marker} > /marker && cat /proc/sys/kernel/random/uuid > /stamp`,
      'COPY tools /opt/tools',
      'FROM busybox:latest',
      'COPY --from=tools /stamp /stamp',
      'COPY --from=tools /opt/tools /opt/tools',
      '',
    ].join('\n')
    return { n, marker, repo: makeBuildRepo({ name: n, dockerfile }) }
  }

  const stamp = (ref: string) => imageFile(ref, '/stamp')

  /** Commit 2 changes the lockfile; the daemon then has none of the fixture's images or build cache records. */
  function lockfileChangeOnFreshRunner(f: { n: string; marker: string; repo: string }) {
    fs.writeFileSync(path.join(f.repo, 'tools/version'), '2\n')
    git(f.repo, 'commit', '-qam', 'lockfile 2')
    removeImagesNamed(f.n)
    forgetBuildCache(f.marker)
    expect(cacheRecords().filter((r) => r.description.includes(f.marker))).toEqual([])
  }

  it('the pushing job exports the full cache where the engine can, and a fresh runner reuses the builder stage after a lockfile change; where it cannot, the log names the stage it will rebuild', async () => {
    const f = multiStage('cbs-fullcache')
    const first = await pullOrBuild(f.repo, ['--push'])
    expect(first.json.outcome).toBe('pushed')
    const stamp1 = stamp(first.json.ref)
    const tag1 = first.json.ref.slice(first.json.ref.lastIndexOf(':') + 1)

    if (exports) {
      expect(first.json.cache?.export).toEqual({ outcome: 'exported', ref: `${first.json.ref}-cache` })
      expect(first.stderr).toContain(`, exporting the full registry cache ${first.json.ref}-cache`)
      expect(await registry.tags(f.n)).toEqual(expect.arrayContaining([tag1, `${tag1}-cache`]))
    } else {
      expect(first.json.cache?.export).toMatchObject({ outcome: 'unsupported', stages: ['tools'] })
      const said = first.stderr.split('\n').filter((l) => l.includes("inline cache holds its last stage's layers only"))
      expect(said).toHaveLength(1)
      expect(said[0]).toContain('a fresh runner rebuilds stage tools;')
      expect(said[0]).toContain(FULL_CACHE_FIX)
      expect(first.json.cache?.export?.note).toContain('stage tools')
      expect(await registry.tags(f.n)).toEqual([tag1])
    }

    lockfileChangeOnFreshRunner(f)
    const second = await pullOrBuild(f.repo)
    expect(second.json.outcome).toBe('built')
    expect(imageFile(second.json.ref, '/opt/tools/version')).toBe('2')
    if (exports) {
      // The expensive step's layer came from commit 1's full cache: its stamp survived the lockfile change.
      expect(second.json.cache?.image?.cacheRef).toBe(`${first.json.ref}-cache`)
      expect(second.stderr).toContain(`cache: with that commit's full registry cache ${first.json.ref}-cache`)
      expect(stamp(second.json.ref)).toBe(stamp1)
    } else {
      // What the log said: the builder stage ran again.
      expect(second.json.cache?.image?.cacheRef).toBeUndefined()
      expect(stamp(second.json.ref)).not.toBe(stamp1)
    }
  })

  it('a full cache ref the lookup finds but the build cannot read is a warning, and the build goes on with the image\'s inline cache', async () => {
    const proxy = await startFaultProxy(registry.host, {}, 5 * 60_000)
    try {
      const f = multiStage('cbs-fullcache-bad')
      const first = await pullOrBuild(f.repo, ['--push'], { REGISTRY: proxy.host })
      const tag1 = first.json.ref.slice(first.json.ref.lastIndexOf(':') + 1)
      const full = `${first.json.ref}-cache`
      // An engine that cannot export one gets a `-cache` tag all the same (an image, pushed by hand): the lookup must find one.
      if (!exports) {
        const direct = `${registry.host}/${f.n}:${tag1}-cache`
        docker('tag', 'busybox:latest', direct)
        docker('push', '-q', direct)
        docker('rmi', direct)
      }
      const digest = await registry.digest(f.n, `${tag1}-cache`)
      expect(digest).toMatch(/^sha256:/)
      // The lookup's HEAD finds it; every read of it (by tag or by digest) fails.
      proxy.setPlan({ status: { code: 503, match: (req) => req.method === 'GET' && (req.url.includes(`/manifests/${tag1}-cache`) || req.url.includes(`/manifests/${digest}`)) } })
      lockfileChangeOnFreshRunner(f)

      const second = await pullOrBuild(f.repo, [], { REGISTRY: proxy.host })
      expect(second.json.outcome).toBe('built')
      expect(imageFile(second.json.ref, '/opt/tools/version')).toBe('2')
      expect(second.json.cache?.image?.ref).toBe(first.json.ref)
      expect(second.json.cache?.image?.cacheRef).toBeUndefined()
      if (LEGACY) expect(second.stderr).not.toContain(full) // the legacy builder reads images only
      else {
        expect(second.stderr).toContain(`cache: with that commit's full registry cache ${full}`)
        expect(second.stderr).toContain(`cache: BuildKit could not read the full registry cache ${full} (see its error above): built with the image's inline cache alone`)
      }
    } finally {
      await proxy.stop()
    }
  })
})
