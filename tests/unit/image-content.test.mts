// What makes two images the same image (lib/image/image-content.mts): a registry's config
// blob and `docker image inspect` write the same image differently (the build time's
// nanoseconds, empty values as null or absent), and push-images must read them as one.
import { describe, expect, it } from 'vitest'
import { imageContent, sameContent } from '../../lib/image/image-content.mts'

const LAYERS = [`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`]
const CONFIG = { Labels: { 'org.opencontainers.image.revision': 'abc' }, Entrypoint: ['/bin/app'], Cmd: ['serve'], Env: ['PATH=/bin'], User: '1000', WorkingDir: '/app' }
const base = { diffIds: LAYERS, created: '2026-12-03T08:39:41.7523Z', config: CONFIG }

describe("an image's content", () => {
  it('the build time to the nanosecond, however many digits were written, and with none', () => {
    expect(imageContent({ created: '2026-12-03T08:39:41.7523Z' }).created).toBe('2026-12-03T08:39:41.752300000Z')
    expect(imageContent({ created: '2026-12-03T08:39:41.752346167Z' }).created).toBe('2026-12-03T08:39:41.752346167Z')
    expect(imageContent({ created: '2026-12-03T08:39:41Z' }).created).toBe('2026-12-03T08:39:41.000000000Z')
    expect(imageContent({}).created).toBe('')
    expect(imageContent({ created: null }).created).toBe('')
  })

  it('what it runs and carries, with empty values alike whether null, empty or absent', () => {
    const registry = imageContent({ ...base, config: { ...CONFIG, Labels: null, User: '', WorkingDir: '' } })
    const local = imageContent({ ...base, config: { Entrypoint: CONFIG.Entrypoint, Cmd: CONFIG.Cmd, Env: CONFIG.Env, Labels: {} } })
    expect(registry).toEqual(local)
    expect(JSON.parse(imageContent(base).config)).toEqual([CONFIG.Labels, CONFIG.Entrypoint, CONFIG.Cmd, CONFIG.Env, '1000', '/app'])
    expect(JSON.parse(imageContent({}).config)).toEqual([{}, null, null, null, null, null])
    expect(imageContent({}).diffIds).toEqual([])
  })
})

describe('the same image', () => {
  const mine = imageContent(base)
  it('the same layers, build time and settings, whichever way each was written', () => {
    expect(sameContent(mine, imageContent({ ...base, created: '2026-12-03T08:39:41.752300000Z' }))).toBe(true)
  })

  for (const [what, other] of [
    ['a layer less', { ...base, diffIds: LAYERS.slice(0, 1) }],
    ['the layers in another order', { ...base, diffIds: [...LAYERS].reverse() }],
    ['another build time', { ...base, created: '2026-12-03T08:39:42.7523Z' }],
    ['another label', { ...base, config: { ...CONFIG, Labels: { 'org.opencontainers.image.revision': 'abd' } } }],
    ['no labels', { ...base, config: { ...CONFIG, Labels: null } }],
    ['another entrypoint', { ...base, config: { ...CONFIG, Entrypoint: ['/bin/other'] } }],
    ['another command', { ...base, config: { ...CONFIG, Cmd: ['migrate'] } }],
    ['another env', { ...base, config: { ...CONFIG, Env: ['PATH=/usr/bin'] } }],
    ['another user', { ...base, config: { ...CONFIG, User: 'root' } }],
    ['another working directory', { ...base, config: { ...CONFIG, WorkingDir: '/srv' } }],
  ] as const) {
    it(`not with ${what}`, () => {
      expect(sameContent(mine, imageContent(other))).toBe(false)
      expect(sameContent(imageContent(other), mine)).toBe(false)
    })
  }

  it('never for an image whose content is unknown, or that has no layers', () => {
    expect(sameContent(mine, undefined)).toBe(false)
    expect(sameContent(undefined, mine)).toBe(false)
    expect(sameContent(undefined, undefined)).toBe(false)
    expect(sameContent(imageContent({}), imageContent({}))).toBe(false)
  })
})
