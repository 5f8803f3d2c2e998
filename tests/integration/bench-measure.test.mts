// What the benchmarks rely on to prove a row pulled (bench/measure.mts), against the real
// registry and the fault proxy: the layers of an image read through an index, and child
// processes that leave the in-process byte-counting proxy free to serve.
import { beforeAll, describe, expect, it } from 'vitest'
import { exec, imageLayers } from '../../bench/measure.mts'
import type { FaultProxy } from '../helpers/fault-proxy.mts'
import { pushImage, pushIndex } from '../helpers/registry-images.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { uniqueName } from '../helpers/docker.mts'

const scene = useRegistryScene({ images: [] })
const registry = scene.registry
let proxy: FaultProxy
beforeAll(async () => {
  proxy = await scene.proxy()
})

describe('imageLayers', () => {
  it("lists an image manifest's layers", async () => {
    const repo = uniqueName('bench-layers')
    await pushImage(registry, repo, ['one'], { layerBytes: 1234 })
    const layers = await imageLayers(registry.api, repo, 'one')
    expect(layers.map((l) => l.size)).toEqual([1234])
  })

  it("follows an index (a multi-platform or attested push) to this platform's manifest", async () => {
    const repo = uniqueName('bench-index')
    const amd = await pushImage(registry, repo, [], { layerBytes: 1111 })
    const arm = await pushImage(registry, repo, [], { layerBytes: 2222, platform: 'arm64' })
    await pushIndex(registry, repo, 'multi', [amd.digest, arm.digest])
    expect((await imageLayers(registry.api, repo, 'multi', 'amd64')).map((l) => l.size)).toEqual([1111])
    expect((await imageLayers(registry.api, repo, 'multi', 'arm64')).map((l) => l.size)).toEqual([2222])
    await expect(imageLayers(registry.api, repo, 'multi', 's390x')).rejects.toThrow(/without a linux\/s390x image \(it lists linux\/amd64, linux\/arm64\)/)
  })

  it('names the HTTP status when the tag is not there (not "no layers")', async () => {
    await expect(imageLayers(registry.api, uniqueName('bench-none'), 'missing')).rejects.toThrow(/HTTP 404 for the manifest/)
  })
})

describe('exec', () => {
  it('leaves the event loop free: a child can use a proxy served by this process', async () => {
    // curl gives up after 5 s; a synchronous child would hold the loop, and the proxy
    // could not answer it until curl had already failed.
    const { stdout } = await exec('curl', ['-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', `${proxy.url}/v2/`])
    expect(stdout).toBe('200')
    expect(proxy.requests.some((r) => r.url === '/v2/' && r.status === 200)).toBe(true)
  })

  it('rejects with the exit code and the tail of stderr', async () => {
    await expect(exec('sh', ['-c', 'echo broken-step >&2; exit 3'])).rejects.toThrow(/failed \(3\): broken-step/)
  })
})
