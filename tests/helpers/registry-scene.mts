// The scene the image tests share: the real Docker Engine with the seeded busybox, the
// real registry on a free port, image names unique to the run and removed after it, and
// fault proxies (tests/helpers/fault-proxy.mts) in front of the registry, stopped after it.
import { afterAll, beforeAll } from 'vitest'
import { removeImagesNamed } from './build-image.mts'
import { requireDocker, uniqueName } from './docker.mts'
import { startFaultProxy, type FaultPlan, type FaultProxy } from './fault-proxy.mts'
import { startRegistry, type TestRegistry } from './registry.mts'

export interface RegistryScene {
  /** The registry: an empty object until the scene's beforeAll has started it, then filled in. */
  registry: TestRegistry
  /** `uniqueName(prefix)`, its images removed after the file. */
  name(prefix: string): string
  /** Remove the images of a name made elsewhere (with uniqueName) after the file. */
  removeAfter(name: string): void
  /** A fault proxy in front of the registry, stopped after the file. */
  proxy(plan?: FaultPlan, lifetimeMs?: number): Promise<FaultProxy>
}

/**
 * Registers, where it is called (a file or a describe block), a beforeAll that checks
 * Docker has `images` and starts the registry (`registry`: startRegistry's options), and
 * an afterAll that stops the proxies, removes the images of every name given out, and
 * stops the registry.
 */
export function useRegistryScene(options: { images?: string[]; registry?: Parameters<typeof startRegistry>[0] } = {}): RegistryScene {
  const registry = {} as TestRegistry
  let started: TestRegistry | undefined
  const names: string[] = []
  const proxies: FaultProxy[] = []
  beforeAll(async () => {
    requireDocker(options.images ?? ['busybox:latest'])
    started = await startRegistry(options.registry)
    Object.assign(registry, started)
  })
  afterAll(async () => {
    for (const p of proxies) await p.stop()
    removeImagesNamed(...names)
    await started?.stop()
  })
  return {
    registry,
    name(prefix) {
      const n = uniqueName(prefix)
      names.push(n)
      return n
    },
    removeAfter(name) {
      names.push(name)
    },
    async proxy(plan = {}, lifetimeMs) {
      const p = await startFaultProxy(registry.host, plan, lifetimeMs)
      proxies.push(p)
      return p
    },
  }
}
