// The prune plan (lib/publish/prune.mts) and the `prune` config key: pure functions, no
// registry (the ls-remote parser: ls-remote.test.mts).
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../lib/core/config.mts'
import type { ManifestNode } from '../../lib/image/registry-cleanup.mts'
import { packageOf, pruneBackend, rateLimitWait } from '../../lib/publish/github-packages.mts'
import { CONTENT_TAG, planPrune, type RegistryView, type TagInfo } from '../../lib/publish/prune.mts'

const d = (n: number) => `sha256:${String(n).padStart(64, '0')}`
const h = (c: string) => c.repeat(40)
const OLD = new Date('2020-01-01T00:00:00Z')

function view(tags: Array<[string, number]>, indexes: Record<number, number[]> = {}, created: Date | null = OLD): RegistryView {
  const manifests = new Map<string, ManifestNode>()
  const all = new Set([...tags.map(([, n]) => n), ...Object.values(indexes).flat()])
  for (const n of all) manifests.set(d(n), { digest: d(n), mediaType: '', children: (indexes[n] ?? []).map(d) })
  const infos: TagInfo[] = tags.map(([tag, n]) => ({ tag, digest: d(n), children: (indexes[n] ?? []).map(d), created }))
  return { tags: infos, strange: [], manifests }
}
const plan = (v: RegistryView, keep: Record<string, string[]> = {}) =>
  planPrune({ repository: 'r/x', view: v, isCandidate: (t) => CONTENT_TAG.test(t), candidateForm: 'a content tag', keep: new Map(Object.entries(keep)), graceCutoff: new Date('2021-01-01'), graceDays: 14 })

describe('planPrune', () => {
  it('deletes an unneeded content tag by its digest; keeps needed, young, unknown-age and other tags', () => {
    const p = plan(view([[h('a'), 1], [h('b'), 2], ['dev', 3]]), { [h('a')]: ['branch main'] })
    expect(p.tags.map((t) => [t.tag, t.action, t.reasons.join('; ')])).toEqual([
      [h('a'), 'keep', 'branch main'],
      ['dev', 'keep', 'not a content tag: never deleted'],
      [h('b'), 'delete', 'needed by no branch, tag or recent commit; built 2020-01-01'],
    ])
    expect(p.deletions).toEqual([{ digest: d(2), tags: [h('b')], kind: 'image' }])
    expect(plan(view([[h('b'), 2]], {}, new Date('2022-01-01'))).deletions).toEqual([])
    expect(plan(view([[h('b'), 2]], {}, null)).tags[0].reasons).toEqual(['build time unknown'])
  })

  it('a digest shared with a kept tag is not deleted; two pruned tags on one digest are one deletion', () => {
    expect(plan(view([[h('a'), 1], [h('b'), 1]]), { [h('a')]: ['tag v1'] }).deletions).toEqual([])
    expect(plan(view([[h('b'), 1], [h('c'), 1]])).deletions).toEqual([{ digest: d(1), tags: [h('b'), h('c')], kind: 'image' }])
  })

  it('an index goes whole, itself first; the images a kept index lists stay', () => {
    const v = view([[h('d'), 10], [h('e'), 20], [h('f'), 11]], { 10: [11, 12], 20: [21, 12] })
    const p = plan(v, { [h('d')]: ['branch main'] })
    // 12 is listed by the kept index too: it stays; 21 goes after its index.
    expect(p.deletions).toEqual([
      { digest: d(20), tags: [h('e')], kind: 'index' },
      { digest: d(21), tags: [], kind: 'child' },
    ])
    expect(p.tags.find((t) => t.tag === h('f'))?.reasons).toEqual([`listed by the image index of kept tag ${h('d')}`])
  })
})

describe('planPrune: signatures, attestations and referrers follow their image', () => {
  const sig = (n: number, suffix = 'sig') => `sha256-${String(n).padStart(64, '0')}.${suffix}`
  it("cosign's .sig/.att tags: kept with a kept image, deleted (before it) with a deleted one", () => {
    // 1 kept (branch main), 2 unneeded; 5/6 sign and attest 2, 7 signs 1; 8 signs an image not here.
    const v = view([[h('a'), 1], [h('b'), 2], [sig(2), 5], [sig(2, 'att'), 6], [sig(1), 7], [sig(9), 8]])
    const p = plan(v, { [h('a')]: ['branch main'] })
    expect(p.deletions).toEqual([
      { digest: d(6), tags: [sig(2, 'att')], kind: 'referrer' },
      { digest: d(5), tags: [sig(2)], kind: 'referrer' },
      { digest: d(2), tags: [h('b')], kind: 'image' },
    ])
    const verdict = Object.fromEntries(p.tags.map((t) => [t.tag, `${t.action}: ${t.reasons.join('; ')}`]))
    expect(verdict[sig(1)]).toBe(`keep: signature of an image kept tag ${h('a')} needs`)
    expect(verdict[sig(2, 'att')]).toMatch(/^delete: attestation of sha256:0{12}…, which goes$/)
    expect(verdict[sig(9)]).toMatch(/^keep: signature of .*not in this repository's plan: left alone$/)
  })

  it('OCI referrers (a manifest whose subject is the image) and signatures of an index child go with the index; a kept index keeps them', () => {
    const v = view([[h('c'), 10], [h('d'), 20], [sig(12), 13], [sig(22), 23]], { 10: [11, 12], 20: [21, 22] })
    v.manifests.set(d(30), { digest: d(30), mediaType: '', children: [], subject: d(20) }) // untagged, as GHCR lists it
    v.manifests.set(d(31), { digest: d(31), mediaType: '', children: [], subject: d(10) })
    const p = plan(v, { [h('c')]: ['branch main'] })
    expect(p.deletions).toEqual([
      { digest: d(30), tags: [], kind: 'referrer' },
      { digest: d(20), tags: [h('d')], kind: 'index' },
      { digest: d(21), tags: [], kind: 'child' },
      { digest: d(23), tags: [sig(22)], kind: 'referrer' },
      { digest: d(22), tags: [], kind: 'child' },
    ])
    expect(p.tags.find((t) => t.tag === sig(12))?.action).toBe('keep')
  })
})

describe('the GHCR back end', () => {
  it('is chosen for ghcr.io, the registry API elsewhere; prune.backend overrides', () => {
    expect(pruneBackend('ghcr.io')).toBe('github-packages')
    expect(pruneBackend('GHCR.IO')).toBe('github-packages')
    expect(pruneBackend('127.0.0.1:5000')).toBe('registry')
    expect(pruneBackend('docker.io')).toBe('registry')
    expect(pruneBackend('ghcr.io.example.com')).toBe('registry')
    expect(pruneBackend('127.0.0.1:5000', 'github-packages')).toBe('github-packages')
    expect(pruneBackend('ghcr.io', 'registry')).toBe('registry')
  })

  it('a package is the owner and the rest of the path', () => {
    expect(packageOf('ghcr.io/acme/acme-build')).toEqual({ owner: 'acme', name: 'acme-build' })
    expect(packageOf('ghcr.io/acme/app/build')).toEqual({ owner: 'acme', name: 'app/build' })
    expect(() => packageOf('ghcr.io/solo')).toThrow(/needs an owner/)
  })

  it("reads GitHub's rate limits: primary (x-ratelimit-reset), secondary (retry-after, else a minute); other refusals are not", () => {
    const now = 1_000_000_000_000
    expect(rateLimitWait(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 1800) }, '', now)).toBe(1_800_000)
    expect(rateLimitWait(429, { 'retry-after': '30' }, '', now)).toBe(30_000)
    expect(rateLimitWait(403, {}, 'You have exceeded a secondary rate limit', now)).toBe(60_000)
    expect(rateLimitWait(403, { 'x-ratelimit-remaining': '12' }, 'Must have admin rights to Repository.', now)).toBeUndefined()
    expect(rateLimitWait(404, { 'retry-after': '30' }, '', now)).toBeUndefined()
  })
})

describe('planPrune: the full registry cache (<tag>-cache) goes with its build image tag', () => {
  const withCache = (v: RegistryView, keep: Record<string, string[]> = {}) =>
    planPrune({ repository: 'r/x', view: v, isCandidate: (t) => CONTENT_TAG.test(t), candidateForm: 'a content tag', keep: new Map(Object.entries(keep)), graceCutoff: new Date('2021-01-01'), graceDays: 14, companionSuffix: '-cache' })

  it('kept with a kept tag, deleted with a deleted one; never judged by its own (unknown) build time', () => {
    const v = view([[h('a'), 1], [`${h('a')}-cache`, 2], [h('b'), 3], [`${h('b')}-cache`, 4]])
    v.tags.filter((t) => t.tag.endsWith('-cache')).forEach((t) => (t.created = null))
    const p = withCache(v, { [h('a')]: ['branch main'] })
    expect(p.tags.map((t) => [t.tag, t.action, t.reasons.join('; ')])).toEqual([
      [h('a'), 'keep', 'branch main'],
      [`${h('a')}-cache`, 'keep', `the full registry cache of kept tag ${h('a')}`],
      [h('b'), 'delete', 'needed by no branch, tag or recent commit; built 2020-01-01'],
      [`${h('b')}-cache`, 'delete', `the full registry cache of ${h('b')}, which goes`],
    ])
    expect(p.deletions).toEqual([
      { digest: d(3), tags: [h('b')], kind: 'image' },
      { digest: d(4), tags: [`${h('b')}-cache`], kind: 'image' },
    ])
  })

  it('one whose image is not in the registry is judged as its image would be: needed by git, or by its age', () => {
    expect(withCache(view([[`${h('c')}-cache`, 5]]), { [h('c')]: ['tag v1'] }).tags[0]).toMatchObject({ action: 'keep', reasons: ['tag v1'] })
    expect(withCache(view([[`${h('c')}-cache`, 5]])).deletions).toEqual([{ digest: d(5), tags: [`${h('c')}-cache`], kind: 'image' }])
    expect(withCache(view([[`${h('c')}-cache`, 5]], {}, null)).tags[0].reasons).toEqual(['build time unknown'])
    // Without the suffix it is no content tag: never deleted.
    expect(plan(view([[`${h('c')}-cache`, 5]])).tags[0].reasons).toEqual(['not a content tag: never deleted'])
  })
})

describe('the prune config key', () => {
  const base = { buildImage: { name: 'x', inputs: ['a'] } }
  it('defaults: keep 20 recent, 14 days, not the final image, the back end chosen by the registry', () => {
    expect(validateConfig(base).prune).toEqual({ keepRecent: 20, graceDays: 14, finalImage: false, backend: 'auto' })
    expect(validateConfig({ ...base, prune: { keepRecent: 0 } }).prune).toEqual({ keepRecent: 0, graceDays: 14, finalImage: false, backend: 'auto' })
    expect(validateConfig({ ...base, prune: { backend: 'github-packages' } }).prune.backend).toBe('github-packages')
  })
  it.each([
    [{ keepRecent: -1 }, 'prune.keepRecent: expected a whole number, 0 or more, got the number -1'],
    [{ graceDays: '14' }, 'prune.graceDays: expected a whole number, 0 or more, got the string "14"'],
    [{ graceDays: 1.5 }, 'prune.graceDays: expected a whole number'],
    [{ finalImage: 'yes' }, 'prune.finalImage: expected true or false'],
    [{ keep: 3 }, 'prune.keep: unknown key (known keys here: keepRecent, graceDays, finalImage, backend)'],
    [{ backend: 'ghcr' }, 'prune.backend: expected "auto", "registry" or "github-packages", got the string "ghcr"'],
  ])('%j is refused', (prune, message) => {
    expect(() => validateConfig({ ...base, prune })).toThrow(message)
  })
})
