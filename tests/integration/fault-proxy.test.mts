// The fault proxy itself, against the real registry: each fault does what it says,
// so tests that rely on it test what they claim.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'

describe('fault proxy', () => {
  let registry: TestRegistry
  let proxy: FaultProxy
  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await startFaultProxy(registry.host)
  })
  afterAll(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  it('passes traffic through by default', async () => {
    proxy.setPlan({})
    expect((await fetch(`${proxy.url}/v2/`)).status).toBe(200)
  })

  it('answers the injected status for the first N matching requests only', async () => {
    proxy.setPlan({ status: { code: 429, count: 2, retryAfterSeconds: 1, match: (r) => r.url.startsWith('/v2/') } })
    const first = await fetch(`${proxy.url}/v2/`)
    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('1')
    expect((await fetch(`${proxy.url}/v2/`)).status).toBe(429)
    expect((await fetch(`${proxy.url}/v2/`)).status).toBe(200)
  })

  it('refuses connections', async () => {
    proxy.setPlan({ refuse: true })
    await expect(fetch(`${proxy.url}/v2/`)).rejects.toThrow()
    proxy.setPlan({})
  })

  it('resets a response mid-transfer', async () => {
    proxy.setPlan({ reset: { afterBytes: 1 } })
    await expect(fetch(`${proxy.url}/v2/_catalog`).then((r) => r.text())).rejects.toThrow()
    proxy.setPlan({})
    expect((await fetch(`${proxy.url}/v2/_catalog`)).status).toBe(200)
  })

  it('adds latency', async () => {
    proxy.setPlan({ latencyMs: 300 })
    const started = performance.now()
    await fetch(`${proxy.url}/v2/`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    proxy.setPlan({})
  })
})
