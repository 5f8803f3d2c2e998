// prune-images' pure parts beyond tests/unit/prune.test.mts: every reason a tag stays, the order of verdicts and deletions, the plan's text.
import { describe, expect, it } from 'vitest'
import type { ManifestNode } from '../../lib/image/registry-cleanup.mts'
import { CONTENT_TAG, describePrunePlan, planPrune, SHA_TAG, type RegistryView, type TagInfo } from '../../lib/publish/prune.mts'

const d = (n: number) => `sha256:${String(n).padStart(64, '0')}`
const h = (c: string) => c.repeat(40)
const OLD = new Date('2020-01-01T00:00:00Z')
const CUTOFF = new Date('2021-01-01T00:00:00Z')

function view(tags: Array<[string, number, Date?]>, indexes: Record<number, number[]> = {}, strange: string[] = []): RegistryView {
  const manifests = new Map<string, ManifestNode>()
  const all = new Set([...tags.map(([, n]) => n), ...Object.values(indexes).flat()])
  for (const n of all) manifests.set(d(n), { digest: d(n), mediaType: '', children: (indexes[n] ?? []).map(d) })
  const infos: TagInfo[] = tags.map(([tag, n, created]) => ({ tag, digest: d(n), children: (indexes[n] ?? []).map(d), created: created ?? OLD }))
  return { tags: infos, strange, manifests }
}
const plan = (v: RegistryView, keep: Record<string, string[]> = {}) =>
  planPrune({ repository: 'r/x', view: v, isCandidate: (t) => CONTENT_TAG.test(t), candidateForm: 'a content tag', keep: new Map(Object.entries(keep)), graceCutoff: CUTOFF, graceDays: 14 })

describe('the tags prune may delete', () => {
  it('the form of the tags it may delete', () => {
    expect(CONTENT_TAG.test(h('a'))).toBe(true)
    expect(CONTENT_TAG.test('a'.repeat(64))).toBe(true)
    for (const bad of ['a'.repeat(39), 'a'.repeat(41), `x${h('a')}`, `${h('a')}x`, 'A'.repeat(40)]) expect(CONTENT_TAG.test(bad), bad).toBe(false)
    expect(SHA_TAG.test('sha-0123456789ab')).toBe(true)
    for (const bad of ['sha-0123456789a', 'sha-0123456789abc', 'xsha-0123456789ab', 'sha-0123456789AB']) expect(SHA_TAG.test(bad), bad).toBe(false)
  })
})

describe('planPrune: reasons and order', () => {
  it('a name no registry allows stays, untouched; a young image stays with its date; the cutoff itself is old enough', () => {
    const p = plan(view([[h('a'), 1, new Date('2021-01-01T00:00:01Z')], [h('b'), 2, CUTOFF]], {}, ['bad tag']))
    expect(p.tags).toEqual([
      { tag: h('a'), digest: d(1), action: 'keep', reasons: ['younger than 14 days (built 2021-01-01)'] },
      { tag: 'bad tag', digest: null, action: 'keep', reasons: ['not a valid tag name: never touched'] },
      { tag: h('b'), digest: d(2), action: 'delete', reasons: ['needed by no branch, tag or recent commit; built 2021-01-01'] },
    ])
  })

  it('every reason git gives is kept; a non-candidate that git names keeps both reasons', () => {
    const p = plan(view([[h('a'), 1], ['dev', 2]]), { [h('a')]: ['branch main', 'tag v1'], dev: ['branch dev'] })
    expect(p.tags.map((t) => t.reasons)).toEqual([['branch main', 'tag v1'], ['not a content tag: never deleted', 'branch dev']])
    expect(p.deletions).toEqual([])
  })

  it('a tag on the same image as a kept tag stays, and says so', () => {
    const p = plan(view([[h('a'), 1], [h('b'), 1], [h('c'), 2]]), { [h('a')]: ['branch main'] })
    expect(p.tags.map((t) => [t.tag, t.action, t.reasons.join('; ')])).toEqual([
      [h('a'), 'keep', 'branch main'],
      [h('b'), 'keep', `same image as kept tag ${h('a')}`],
      [h('c'), 'delete', 'needed by no branch, tag or recent commit; built 2020-01-01'],
    ])
  })

  it('kept tags first, then deletions, each by name', () => {
    const p = plan(view([[h('c'), 3], [h('a'), 1], [h('d'), 4], [h('b'), 2]]), { [h('d')]: ['x'], [h('b')]: ['y'] })
    expect(p.tags.map((t) => [t.action, t.tag])).toEqual([
      ['keep', h('b')],
      ['keep', h('d')],
      ['delete', h('a')],
      ['delete', h('c')],
    ])
  })

  it('indexes are deleted before the images, and a tagged image an index lists goes once, after it', () => {
    // 10 lists 1 (tagged itself) and 2 (untagged); 3 is an image of its own.
    const p = plan(view([[h('a'), 1], [h('c'), 3], [h('b'), 10]], { 10: [1, 2] }))
    expect(p.deletions).toEqual([
      { digest: d(10), tags: [h('b')], kind: 'index' },
      { digest: d(1), tags: [h('a')], kind: 'image' },
      { digest: d(2), tags: [], kind: 'child' },
      { digest: d(3), tags: [h('c')], kind: 'image' },
    ])
  })

  it('two indexes listing one image: it goes once', () => {
    const p = plan(view([[h('a'), 10], [h('b'), 20]], { 10: [1], 20: [1, 2] }))
    expect(p.deletions.map((x) => [x.digest, x.kind])).toEqual([
      [d(10), 'index'],
      [d(1), 'child'],
      [d(20), 'index'],
      [d(2), 'child'],
    ])
  })

  it('an image a kept index lists through another index stays', () => {
    const p = plan(view([[h('a'), 10], [h('b'), 20]], { 10: [20], 20: [1] }), { [h('a')]: ['branch main'] })
    expect(p.deletions).toEqual([])
    expect(p.tags[1].reasons).toEqual([`listed by the image index of kept tag ${h('a')}`])
  })
})

describe('planPrune: the edges of what is needed and what goes', () => {
  const acc = (n: number, suffix?: string) => `sha256-${String(n).padStart(64, '0')}${suffix ? `.${suffix}` : ''}`

  it('a tag git keeps gives git\'s reasons alone, even with its build time unknown', () => {
    const v = view([[h('a'), 1]])
    v.tags[0].created = null
    expect(plan(v, { [h('a')]: ['branch main'] }).tags[0].reasons).toEqual(['branch main'])
  })

  it('keeps come first, by name, even when a keep is decided after a deletion', () => {
    // b is on the image of kept a, and is judged after c, which goes.
    const p = plan(view([[h('a'), 1], [h('c'), 2], [h('b'), 1]]), { [h('a')]: ['branch main'] })
    expect(p.tags.map((t) => [t.action, t.tag])).toEqual([
      ['keep', h('a')],
      ['keep', h('b')],
      ['delete', h('c')],
    ])
  })

  it('of two kept tags on one image, the first names it', () => {
    const p = plan(view([[h('a'), 1], [h('b'), 1], [h('c'), 1]]), { [h('a')]: ['branch main'], [h('b')]: ['branch dev'] })
    expect(p.tags.find((t) => t.tag === h('c'))?.reasons).toEqual([`same image as kept tag ${h('a')}`])
  })

  it('an index listed first still goes before the images', () => {
    const p = plan(view([[h('b'), 10], [h('a'), 1], [h('c'), 3]], { 10: [1, 2] }))
    expect(p.deletions.map((x) => [x.digest, x.kind])).toEqual([
      [d(10), 'index'],
      [d(1), 'image'],
      [d(2), 'child'],
      [d(3), 'image'],
    ])
  })

  it('images keep the order the registry listed them in, behind the indexes', () => {
    const p = plan(view([[h('a'), 1], [h('c'), 3], [h('b'), 10]], { 10: [2] }))
    expect(p.deletions.map((x) => x.digest)).toEqual([d(10), d(2), d(1), d(3)])
  })

  it('manifests the registry did not describe: kept tags need nothing more, deleted ones go alone', () => {
    const v = view([[h('a'), 1], [h('b'), 2]])
    v.manifests.clear()
    const p = plan(v, { [h('a')]: ['branch main'] })
    expect(p.deletions).toEqual([{ digest: d(2), tags: [h('b')], kind: 'image' }])
  })

  it('a tag on a manifest that refers to a kept image stays as part of it', () => {
    // 5 is an attestation of kept 1 (its subject), and also carries a content tag of its own.
    const v = view([[h('a'), 1], [h('b'), 5]])
    v.manifests.set(d(5), { digest: d(5), mediaType: '', children: [], subject: d(1) })
    const p = plan(v, { [h('a')]: ['branch main'] })
    expect(p.tags.find((t) => t.tag === h('b'))?.reasons).toEqual([`listed by the image index of kept tag ${h('a')}`])
    expect(p.deletions).toEqual([])
  })

  it('accessories go in name order whatever order the registry lists them in, each named by its kind', () => {
    const v = view([[h('b'), 2], [acc(2, 'sig'), 7], [acc(2), 8], [acc(2, 'sbom'), 6], [acc(2, 'att'), 5]])
    const p = plan(v)
    expect(p.deletions).toEqual([
      { digest: d(8), tags: [acc(2)], kind: 'referrer' },
      { digest: d(5), tags: [acc(2, 'att')], kind: 'referrer' },
      { digest: d(6), tags: [acc(2, 'sbom')], kind: 'referrer' },
      { digest: d(7), tags: [acc(2, 'sig')], kind: 'referrer' },
      { digest: d(2), tags: [h('b')], kind: 'image' },
    ])
    const short = `sha256:${'0'.repeat(12)}…`
    expect(p.tags.filter((t) => t.tag !== h('b')).map((t) => t.reasons[0])).toEqual([
      `referrers of ${short}, which goes`,
      `attestation of ${short}, which goes`,
      `SBOM of ${short}, which goes`,
      `signature of ${short}, which goes`,
    ])
  })

  it('an accessory of an image outside the plan is left alone, naming the image by its first twelve hex digits', () => {
    const p = plan(view([[acc(9, 'sig'), 8]]))
    expect(p.tags[0]).toEqual({ tag: acc(9, 'sig'), digest: d(8), action: 'keep', reasons: [`signature of sha256:${'0'.repeat(12)}…, which is not in this repository's plan: left alone`] })
  })
})

describe('describePrunePlan', () => {
  it('a count line, then one aligned line per tag: action, tag (escaped), reasons', () => {
    const p = plan(view([[h('a'), 1], ['dev', 2], [h('b'), 3]], {}, ['odd"tag']), { [h('a')]: ['branch main', 'tag v1'] })
    expect(describePrunePlan(p).split('\n')).toEqual([
      'r/x: keep 3, delete 1 tag(s), 1 manifest(s)',
      `  keep   ${h('a')}  branch main; tag v1`,
      `  keep   ${'dev'.padEnd(40)}  not a content tag: never deleted`,
      `  keep   ${'odd\\"tag'.padEnd(40)}  not a valid tag name: never touched`,
      `  delete ${h('b')}  needed by no branch, tag or recent commit; built 2020-01-01`,
    ])
  })

  it('an empty repository', () => {
    expect(describePrunePlan({ repository: 'r/y', tags: [], deletions: [] })).toBe('r/y: keep 0, delete 0 tag(s), 0 manifest(s)')
  })
})
