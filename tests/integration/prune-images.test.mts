// prune-images against the real registry (delete enabled, or not), real git remotes and
// the script run as a process: what it keeps and why, that --delete removes exactly the
// rest by digest without breaking a kept tag or index, that garbage collection then
// frees their blobs, and how it behaves under faults, interrupts and odd input.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { CONTENT_TAG, planPrune, readRegistry } from '../../lib/publish/prune.mts'
import { startFaultProxy } from '../helpers/fault-proxy.mts'
import { OLD, parse, prune, randomTag, REPO, scene, verdicts } from '../helpers/prune-scene.mts'
import { pushImage, pushIndex } from '../helpers/registry-images.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { tempDir } from '../helpers/repo.mts'

const registries: TestRegistry[] = []
afterAll(async () => {
  for (const r of registries.splice(0)) await r.stop()
})
async function registry(options: { deleteEnabled?: boolean } = {}) {
  const r = await startRegistry(options)
  registries.push(r)
  return r
}

describe('prune-images', () => {
  it('keeps what branches, tags, recent commits and young images need; --delete removes exactly the rest; garbage-collect frees their blobs', async () => {
    const reg = await registry()
    const s = await scene(reg.host)
    const layer = 256 * 1024
    for (const tag of s.tags) await pushImage(reg, REPO, [tag], { created: OLD, layerBytes: layer })
    const orphan = randomTag()
    const young = randomTag()
    await pushImage(reg, REPO, [orphan], { created: OLD, layerBytes: layer })
    await pushImage(reg, REPO, [young], { created: new Date(), layerBytes: layer })
    await pushImage(reg, REPO, ['dev'], { created: OLD, layerBytes: layer })
    const before = (await reg.tags(REPO)).sort()

    // The dry run: the plan with its reasons, and nothing changed.
    const dry = parse(await prune(s.clone, ['--json']))
    expect(dry.dryRun).toBe(true)
    const v = verdicts(dry)
    expect(v[s.tags[0]]).toBe('keep: branch release-1')
    expect(v[s.tags[1]]).toBe('keep: release tag v1.0.0')
    expect(v[s.tags[3]]).toBe('keep: main~1 (recent)')
    expect(v[s.tags[4]]).toBe('keep: branch main')
    expect(v[young]).toMatch(/^keep: younger than 14 days/)
    expect(v.dev).toBe('keep: not a content tag (40 or 64 hex): never deleted')
    expect(v[s.tags[2]]).toMatch(/^delete: needed by no branch, tag or recent commit; built 2020-01-01/)
    expect(v[orphan]).toMatch(/^delete: /)
    expect(dry.repositories[0].deletions.flatMap((d) => d.tags).sort()).toEqual([s.tags[2], orphan].sort())
    expect((await reg.tags(REPO)).sort()).toEqual(before)

    // The text plan says the same on stdout.
    const text = await prune(s.clone)
    expect(text.exitCode, text.stderr).toBe(0)
    expect(text.stdout).toContain(`keep   ${s.tags[1]}  release tag v1.0.0`)
    expect(text.stdout).toMatch(new RegExp(`delete +${orphan}`))

    // --delete: exactly those two go, every kept tag is still whole.
    reg.garbageCollect()
    const bytesBefore = reg.storedBytes()
    const done = parse(await prune(s.clone, ['--delete', '--json']))
    expect(done.deleted.map((d) => d.outcome)).toEqual(['deleted', 'deleted'])
    const after = (await reg.tags(REPO)).sort()
    expect(after).toEqual(before.filter((t) => t !== s.tags[2] && t !== orphan).sort())
    for (const tag of after) expect(await reg.tagState(REPO, tag), tag).toBe('complete')

    // The registry's garbage collection frees their layers (and configs, manifests).
    reg.garbageCollect()
    const freed = bytesBefore - reg.storedBytes()
    console.error(`registry storage: ${bytesBefore} bytes before, ${bytesBefore - freed} after garbage-collect (${freed} freed; 2 layers of ${layer})`)
    expect(freed).toBeGreaterThanOrEqual(2 * layer)
    expect(freed).toBeLessThan(3 * layer)

    // A second run has nothing left to do.
    const again = parse(await prune(s.clone, ['--delete', '--json']))
    expect(again.deleted).toEqual([])
  })

  it('a digest a kept tag points at stays; an index stays whole with its images, or goes whole', async () => {
    const reg = await registry()
    const s = await scene(reg.host)
    // main's tag is a two-platform index; another, unneeded content tag names one of its images.
    const [m3, m4] = [await pushImage(reg, REPO, [], { platform: 'amd64' }), await pushImage(reg, REPO, [], { platform: 'arm64' })]
    await pushIndex(reg, REPO, s.tags[4], [m3.digest, m4.digest])
    const inKeptIndex = randomTag()
    await pushManifestCopy(reg, m3.digest, inKeptIndex)
    // An unneeded content tag shares its image with a tag the script never deletes.
    const shared = randomTag()
    await pushImage(reg, REPO, ['stable', shared])
    // An unneeded index: it goes, with both its images.
    const [m1, m2] = [await pushImage(reg, REPO, []), await pushImage(reg, REPO, [], { platform: 'arm64' })]
    const oldIndex = randomTag()
    const oldIndexDigest = await pushIndex(reg, REPO, oldIndex, [m1.digest, m2.digest])

    const plan = parse(await prune(s.clone, ['--json']))
    const v = verdicts(plan)
    expect(v[shared]).toBe('keep: same image as kept tag stable')
    expect(v[inKeptIndex]).toBe(`keep: listed by the image index of kept tag ${s.tags[4]}`)
    expect(v[oldIndex]).toMatch(/^delete: /)
    expect(plan.repositories[0].deletions).toEqual([
      { digest: oldIndexDigest, tags: [oldIndex], kind: 'index' },
      { digest: m1.digest, tags: [], kind: 'child' },
      { digest: m2.digest, tags: [], kind: 'child' },
    ])

    parse(await prune(s.clone, ['--delete', '--json']))
    expect(await reg.tagState(REPO, s.tags[4])).toBe('complete')
    expect(await reg.tagState(REPO, shared)).toBe('complete')
    expect(await reg.tagState(REPO, 'stable')).toBe('complete')
    expect(await reg.tagState(REPO, inKeptIndex)).toBe('complete')
    expect(await reg.tagState(REPO, oldIndex)).toBe('absent')
    for (const d of [m1.digest, m2.digest]) expect((await reg.api(`/v2/${REPO}/manifests/${d}`, { method: 'HEAD' })).status).toBe(404)
  })

  it('keepRecent and graceDays come from the config; a shallow clone is refused', async () => {
    const reg = await registry()
    const s = await scene(reg.host, { keepRecent: 4, graceDays: 10_000 })
    for (const tag of s.tags) await pushImage(reg, REPO, [tag], { created: OLD })
    const orphan = randomTag()
    await pushImage(reg, REPO, [orphan], { created: OLD })
    const v = verdicts(parse(await prune(s.clone, ['--json'])))
    // keepRecent 4: main~1 .. main~3 are kept for being recent (main~3 is also v1.0.0).
    expect(v[s.tags[2]]).toBe('keep: main~2 (recent)')
    expect(v[s.tags[1]]).toBe('keep: release tag v1.0.0; main~3 (recent)')
    // graceDays 10000: an image from 2020 is young.
    expect(v[orphan]).toMatch(/^keep: younger than 10000 days \(built 2020-01-01\)/)

    const shallow = await scene(reg.host, { keepRecent: 2 }, ['--depth', '1'])
    const r = await prune(shallow.clone, ['--delete'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/Error: this is a shallow clone: which commits the branches reach cannot be known/)
    expect((await reg.tags(REPO)).length).toBe(6)
  })

  it('a registry that does not allow deleting: exit 1, "deletion is disabled on <registry>", nothing deleted', async () => {
    const reg = await registry({ deleteEnabled: false })
    const s = await scene(reg.host)
    for (const tag of s.tags) await pushImage(reg, REPO, [tag])
    const orphans = [randomTag(), randomTag()]
    for (const tag of orphans) await pushImage(reg, REPO, [tag])
    const before = (await reg.tags(REPO)).sort()
    const r = await prune(s.clone, ['--delete'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`Error: deletion is disabled on ${reg.host} (HTTP 405 UNSUPPORTED)`)
    expect((await reg.tags(REPO)).sort()).toEqual(before)
    for (const tag of before) expect(await reg.tagState(REPO, tag)).toBe('complete')
  })

  it('prune.finalImage: sha- tags of commits no branch or tag reaches go after the grace period; releases, latest, branches stay', async () => {
    const reg = await registry()
    const s = await scene(reg.host, { keepRecent: 2, finalImage: true }, [], { image: { name: 'acme/acme' } })
    const FINAL = 'acme/acme'
    for (const tag of s.tags) await pushImage(reg, REPO, [tag])
    const sha = (c: string) => `sha-${c.slice(0, 12)}`
    const gone = `sha-${randomBytes(6).toString('hex')}` // a commit of a branch deleted since
    const goneYoung = `sha-${randomBytes(6).toString('hex')}`
    const goneShared = `sha-${randomBytes(6).toString('hex')}`
    await pushImage(reg, FINAL, [sha(s.commits[4]), 'main', 'latest'])
    await pushImage(reg, FINAL, [sha(s.commits[0])]) // on release-1 only
    await pushImage(reg, FINAL, ['1.0.0', goneShared])
    await pushImage(reg, FINAL, [gone])
    await pushImage(reg, FINAL, [goneYoung], { created: new Date() })

    const plan = parse(await prune(s.clone, ['--json']))
    expect(plan.repositories.map((r) => r.repository)).toEqual([`${reg.host}/${REPO}`, `${reg.host}/${FINAL}`])
    const v = Object.fromEntries(plan.repositories[1].tags.map((t) => [t.tag, `${t.action}: ${t.reasons.join('; ')}`]))
    expect(v[sha(s.commits[4])]).toBe('keep: commit on a branch or tag of origin')
    expect(v[sha(s.commits[0])]).toBe('keep: commit on a branch or tag of origin')
    for (const t of ['main', 'latest', '1.0.0']) expect(v[t]).toBe('keep: not a sha-<12 hex> tag: never deleted')
    expect(v[goneShared]).toBe('keep: same image as kept tag 1.0.0')
    expect(v[goneYoung]).toMatch(/^keep: younger than 14 days/)
    expect(v[gone]).toMatch(/^delete: /)

    parse(await prune(s.clone, ['--delete', '--json']))
    expect((await reg.tags(FINAL)).sort()).toEqual(['1.0.0', goneShared, goneYoung, 'latest', 'main', sha(s.commits[0]), sha(s.commits[4])].sort())
  })

  it('tag names from the registry are data: odd ones are never requested, deleted or run', async () => {
    const reg = await registry()
    const proxy = await startFaultProxy(reg.host)
    try {
      const orphan = randomTag()
      await pushImage(reg, REPO, [orphan, 'x..y'])
      const marker = `${tempDir('cbs-marker-')}/ran`
      // What a hostile or broken registry might list: shell syntax, paths, an option.
      const hostile = [`$(touch ${marker})`, `a;touch ${marker}`, '../../_catalog', '--upload-pack=touch', `x\ntouch ${marker}`]
      const repository = `${proxy.host}/${REPO}`
      const view = await readRegistry(repository, [orphan, 'x..y', ...hostile], { retries: 0 })
      expect(view.strange).toEqual(hostile)
      expect(proxy.requests.map((q) => decodeURIComponent(q.url)).filter((u) => hostile.some((h) => u.includes(h)))).toEqual([])
      const plan = planPrune({ repository, view, isCandidate: (t) => CONTENT_TAG.test(t), candidateForm: 'a content tag', keep: new Map(), graceCutoff: new Date(), graceDays: 14 })
      for (const h of hostile) expect(plan.tags.find((t) => t.tag === h)).toMatchObject({ action: 'keep', digest: null, reasons: ['not a valid tag name: never touched'] })
      // The orphan shares its image with x..y, a name the script never deletes.
      expect(plan.tags.find((t) => t.tag === orphan)?.reasons).toEqual(['same image as kept tag x..y'])
      expect(plan.deletions).toEqual([])
      expect(fs.existsSync(marker)).toBe(false)
    } finally {
      await proxy.stop()
    }
  })

  it('500s and connection resets mid-run are retried; the run completes', async () => {
    const reg = await registry()
    const proxy = await startFaultProxy(reg.host)
    try {
      const s = await scene(proxy.host)
      for (const tag of s.tags) await pushImage(reg, REPO, [tag])
      const orphans = [randomTag(), randomTag()]
      for (const tag of orphans) await pushImage(reg, REPO, [tag])
      proxy.setPlan({
        status: { code: 500, count: 2, match: (q) => q.method === 'DELETE' },
        reset: { afterBytes: 10, count: 2, match: (q) => q.method === 'GET' && /\/manifests\//.test(q.url) },
      })
      const done = parse(await prune(s.clone, ['--delete', '--json']))
      // main~2's tag and the two orphans.
      expect(done.deleted.map((d) => d.outcome)).toEqual(['deleted', 'deleted', 'deleted'])
      expect(proxy.requests.filter((q) => q.status === 500)).toHaveLength(2)
      expect(proxy.requests.filter((q) => q.status === 'reset')).toHaveLength(2)
      for (const tag of [...orphans, s.tags[2]]) expect(await reg.tagState(REPO, tag)).toBe('absent')
      for (const tag of s.tags.filter((_, i) => i !== 2)) expect(await reg.tagState(REPO, tag)).toBe('complete')
    } finally {
      await proxy.stop()
    }
  })

  it('an interrupt mid-deletion leaves every tag either whole or gone, and stops', async () => {
    const reg = await registry()
    const proxy = await startFaultProxy(reg.host)
    try {
      const s = await scene(proxy.host)
      for (const tag of s.tags) await pushImage(reg, REPO, [tag])
      const orphans = Array.from({ length: 6 }, randomTag)
      for (const tag of orphans) await pushImage(reg, REPO, [tag])
      const before = await reg.tags(REPO)
      // Slow requests, so the signal lands while deletions are under way.
      proxy.setPlan({ latencyMs: 300 })
      let sent = false
      const r = await prune(s.clone, ['--delete'], {
        onStderr: (text, child) => {
          if (!sent && /: deleted/.test(text)) {
            sent = true
            child.kill('SIGTERM')
          }
        },
      })
      expect(sent).toBe(true)
      expect(r.exitCode).toBe(143)
      const states = await Promise.all(before.map(async (t) => [t, await reg.tagState(REPO, t)] as const))
      for (const [tag, state] of states) expect(['complete', 'absent'], tag).toContain(state)
      const gone = states.filter(([, st]) => st === 'absent').map(([t]) => t)
      expect(gone.length).toBeGreaterThanOrEqual(1)
      // It stopped: not every orphan went, and nothing kept went.
      expect(gone.length).toBeLessThan(orphans.length + 1)
      for (const t of gone) expect([...orphans, s.tags[2]]).toContain(t)
    } finally {
      await proxy.stop()
    }
  })
})

/** Tag an existing manifest (by digest) under another name: the same bytes, PUT again. */
async function pushManifestCopy(reg: TestRegistry, digest: string, tag: string): Promise<void> {
  const res = await reg.api(`/v2/${REPO}/manifests/${digest}`)
  const body = Buffer.from(await res.arrayBuffer())
  const put = await reg.api(`/v2/${REPO}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': res.headers.get('content-type')! } })
  expect(put.status).toBe(201)
}
