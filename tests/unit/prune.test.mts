// The prune plan (lib/publish/prune.mts), the `prune` config key and the ls-remote parser:
// pure functions, no registry.
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../lib/core/config.mts'
import type { ManifestNode } from '../../lib/image/registry.mts'
import { CONTENT_TAG, parseLsRemote, planPrune, type RegistryView, type TagInfo } from '../../lib/publish/prune.mts'

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

describe('parseLsRemote', () => {
  it('branches, tags peeled to their commits, the HEAD branch; odd lines ignored', () => {
    const text = [
      'ref: refs/heads/main\tHEAD',
      `${h('1')}\tHEAD`,
      `${h('1')}\trefs/heads/main`,
      `${h('2')}\trefs/heads/release/1.x`,
      `${h('3')}\trefs/tags/v1.0.0`,
      `${h('4')}\trefs/tags/v1.0.0^{}`,
      `${h('5')}\trefs/tags/light`,
      `${h('6')}\trefs/pull/1/head`,
      'garbage',
    ].join('\n')
    const refs = parseLsRemote(text)
    expect(refs.head).toBe('main')
    expect([...refs.heads]).toEqual([['main', h('1')], ['release/1.x', h('2')]])
    expect([...refs.tags]).toEqual([['v1.0.0', h('4')], ['light', h('5')]])
  })
})

describe('the prune config key', () => {
  const base = { buildImage: { name: 'x', inputs: ['a'] } }
  it('defaults: keep 20 recent, 14 days, not the final image', () => {
    expect(validateConfig(base).prune).toEqual({ keepRecent: 20, graceDays: 14, finalImage: false })
    expect(validateConfig({ ...base, prune: { keepRecent: 0 } }).prune).toEqual({ keepRecent: 0, graceDays: 14, finalImage: false })
  })
  it.each([
    [{ keepRecent: -1 }, 'prune.keepRecent: expected a whole number, 0 or more, got the number -1'],
    [{ graceDays: '14' }, 'prune.graceDays: expected a whole number, 0 or more, got the string "14"'],
    [{ graceDays: 1.5 }, 'prune.graceDays: expected a whole number'],
    [{ finalImage: 'yes' }, 'prune.finalImage: expected true or false'],
    [{ keep: 3 }, 'prune.keep: unknown key (known keys here: keepRecent, graceDays, finalImage)'],
  ])('%j is refused', (prune, message) => {
    expect(() => validateConfig({ ...base, prune })).toThrow(message)
  })
})
