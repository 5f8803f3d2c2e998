// prune-images where the registry refuses the registry API's DELETE, as ghcr.io does,
// and deletion goes through GitHub's Packages API: the real distribution registry
// serves the images (behind a proxy that answers DELETE with 405, as ghcr.io does), the
// GitHub stand-in serves the Packages API over the same repository (a version per
// manifest), and the script drives it with the real Octokit. Real git remotes, the
// script run as a process.
import { afterAll, describe, expect, it } from 'vitest'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.mts'
import { servePackages, type PackagesOptions } from '../helpers/github-packages.mts'
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.mts'
import { OLD, parse, prune, randomTag, REPO, scene, verdicts } from '../helpers/prune-scene.mts'
import { pushAttestedIndex, pushCosignTag, pushImage, pushReferrer } from '../helpers/registry-images.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'

const TOKEN = 'ghp_packagesdeletetoken0000000000000000'
const stops: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const stop of stops.splice(0)) await stop()
})

interface Ghcr {
  reg: TestRegistry
  /** What the script sees as the registry: reads pass, DELETE answers 405. */
  front: FaultProxy
  gh: GitHubServer
  packages: ReturnType<typeof servePackages>
  env: NodeJS.ProcessEnv
}

async function ghcr(options: PackagesOptions = {}): Promise<Ghcr> {
  const reg = await startRegistry()
  stops.push(() => reg.stop())
  const front = await startFaultProxy(reg.host)
  stops.push(() => front.stop())
  front.setPlan({ status: { code: 405, match: (q) => q.method === 'DELETE' } })
  const gh = await startGitHubServer({ tokens: { [TOKEN]: 'ci-bot' } })
  stops.push(() => gh.close())
  const packages = servePackages(gh, reg, options)
  return { reg, front, gh, packages, env: { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: gh.apiUrl, REGISTRY_RETRIES: '1' } }
}

const BACKEND = { keepRecent: 2, backend: 'github-packages' }
const versionsOf = (g: Ghcr) => g.packages.versions(REPO)
const deletesSentToRegistry = (g: Ghcr) => g.front.requests.filter((q) => q.method === 'DELETE')

describe('prune-images on GHCR (GitHub Packages API)', () => {
  it('a multi-platform index with attestations stays whole; an unneeded one goes whole with its signature and referrers, as package versions', async () => {
    const g = await ghcr()
    const s = await scene(g.front.host, BACKEND)
    const images = []
    for (const tag of s.tags.slice(0, 4)) images.push(await pushImage(g.reg, REPO, [tag]))
    // main's tag: an index with two images and their attestations, signed and with an SBOM referrer.
    const kept = await pushAttestedIndex(g.reg, REPO, s.tags[4])
    const keptSig = await pushCosignTag(g.reg, REPO, kept.index)
    const keptSbom = await pushReferrer(g.reg, REPO, kept.index)
    // An unneeded content tag: the same shape, signed (.sig and .att), a referrer of one child.
    const orphanTag = randomTag()
    const orphan = await pushAttestedIndex(g.reg, REPO, orphanTag, { created: OLD })
    const orphanSig = await pushCosignTag(g.reg, REPO, orphan.index)
    const orphanAtt = await pushCosignTag(g.reg, REPO, orphan.index, 'att')
    const childSbom = await pushReferrer(g.reg, REPO, orphan.children[0])
    const before = versionsOf(g)
    // GitHub lists every manifest as a version: the children and attestations untagged.
    expect(before.find((v) => v.name === kept.index)?.metadata?.container?.tags).toEqual([s.tags[4]])
    for (const d of [...kept.children, ...orphan.children, keptSbom, childSbom]) expect(before.find((v) => v.name === d)?.metadata?.container?.tags, d).toEqual([])

    const dry = parse(await prune(s.clone, ['--json'], { env: g.env }))
    const v = verdicts(dry)
    expect(v[s.tags[4]]).toBe('keep: branch main')
    expect(v[`sha256-${kept.index.slice(7)}.sig`]).toBe(`keep: signature of an image kept tag ${s.tags[4]} needs`)
    expect(v[orphanTag]).toMatch(/^delete: needed by no branch/)
    expect(v[`sha256-${orphan.index.slice(7)}.att`]).toMatch(/^delete: attestation of /)
    // Referrers first (in tag order), then the index, then each child after its own referrers; then main~2's image.
    expect(dry.repositories[0].deletions.map((d) => d.digest)).toEqual([orphanAtt, orphanSig, orphan.index, childSbom, ...orphan.children, images[2].digest])
    expect(versionsOf(g)).toEqual(before)

    const done = parse(await prune(s.clone, ['--delete', '--json'], { env: g.env }))
    expect(done.deleted.map((d) => d.outcome)).toEqual(Array(9).fill('deleted'))
    // Through the Packages API only: the registry's DELETE (405 on ghcr.io) was never tried.
    expect(deletesSentToRegistry(g)).toEqual([])
    expect(g.packages.deleted).toEqual(done.deleted.map((d) => `${REPO}@${d.digest}`))
    const after = new Set(versionsOf(g).map((v) => v.name))
    for (const d of [orphan.index, ...orphan.children, orphanSig, orphanAtt, childSbom]) expect(after.has(d), d).toBe(false)
    for (const d of [kept.index, ...kept.children, keptSig, keptSbom]) expect(after.has(d), d).toBe(true)
    expect(await g.reg.tagState(REPO, s.tags[4])).toBe('complete')
    expect(await g.reg.tagState(REPO, `sha256-${kept.index.slice(7)}.sig`)).toBe('complete')
    for (const tag of s.tags.slice(0, 4)) expect(await g.reg.tagState(REPO, tag), tag).toBe(tag === s.tags[2] ? 'absent' : 'complete')
  })

  it("GitHub's rate limit stops the run cleanly, says how far it got and when to carry on; a re-run finishes (a user's package)", async () => {
    const g = await ghcr({ owners: { acme: 'users' } })
    const s = await scene(g.front.host, BACKEND)
    for (const tag of s.tags) await pushImage(g.reg, REPO, [tag])
    const orphans = Array.from({ length: 5 }, randomTag)
    for (const tag of orphans) await pushImage(g.reg, REPO, [tag], { created: OLD })
    const before = await g.reg.tags(REPO)
    g.packages.limitDeletions(2)

    const stopped = await prune(s.clone, ['--delete', '--json'], { env: g.env })
    expect(stopped.exitCode).toBe(1)
    expect(stopped.stderr).toMatch(/Error: GitHub's rate limit stopped GitHub API DELETE \/users\/acme\/packages\/container\/acme-build\/versions\/\d+ until \d\d:\d\d UTC \(in about 30 min\): run prune-images again after that to carry on/)
    expect(stopped.stderr).toContain('deleted 2 of 6 manifest(s) before the error')
    expect((JSON.parse(stopped.stdout) as { deleted: unknown[] }).deleted).toHaveLength(2)
    const states = await Promise.all(before.map(async (t) => [t, await g.reg.tagState(REPO, t)] as const))
    expect(states.filter(([, st]) => st === 'absent')).toHaveLength(2)
    for (const [tag, state] of states) expect(['complete', 'absent'], tag).toContain(state)

    g.packages.limitDeletions(undefined)
    const rest = parse(await prune(s.clone, ['--delete', '--json'], { env: g.env }))
    expect(rest.deleted).toHaveLength(4)
    expect((await g.reg.tags(REPO)).sort()).toEqual(s.tags.filter((_, i) => i !== 2).sort())
    expect(deletesSentToRegistry(g)).toEqual([])
  })

  it('a package of more versions than one page: the oldest, on the last page, are found and deleted with their referrers', async () => {
    const g = await ghcr()
    const s = await scene(g.front.host, BACKEND)
    for (const tag of s.tags) await pushImage(g.reg, REPO, [tag])
    // Pushed first, so listed last (GitHub lists the newest first, 100 a page at most).
    const orphanTag = randomTag()
    const orphan = await pushImage(g.reg, REPO, [orphanTag], { created: OLD, layerBytes: 16 })
    const sbom = await pushReferrer(g.reg, REPO, orphan.digest)
    // 100 untagged manifests pushed later fill the first page; they are no tag's and stay.
    for (let i = 0; i < 100; i++) await pushImage(g.reg, REPO, [], { layerBytes: 16 })
    const listed = versionsOf(g).map((v) => v.name)
    expect(listed.length).toBeGreaterThan(100)
    expect(listed.indexOf(sbom)).toBeGreaterThanOrEqual(100)
    expect(listed.indexOf(orphan.digest)).toBeGreaterThanOrEqual(100)

    const done = parse(await prune(s.clone, ['--delete', '--json'], { env: g.env }))
    expect(done.deleted.map((d) => [d.digest, d.outcome])).toEqual([
      [sbom, 'deleted'],
      [orphan.digest, 'deleted'],
      [expect.any(String), 'deleted'], // main~2's image
    ])
    const after = new Set(versionsOf(g).map((v) => v.name))
    expect(after.has(sbom)).toBe(false)
    expect(after.has(orphan.digest)).toBe(false)
    expect(after.size).toBe(listed.length - 3)
    expect(deletesSentToRegistry(g)).toEqual([])
  })

  it('a token GitHub refuses: exit 1 with what the token needs; nothing deleted', async () => {
    const g = await ghcr()
    const s = await scene(g.front.host, BACKEND)
    for (const tag of s.tags) await pushImage(g.reg, REPO, [tag])
    await pushImage(g.reg, REPO, [randomTag()], { created: OLD })
    const before = versionsOf(g)
    const r = await prune(s.clone, ['--delete'], { env: { ...g.env, GITHUB_TOKEN: 'ghp_notatoken' } })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/GitHub refused to list the versions of the package acme\/acme-build \(HTTP 401\): set GITHUB_TOKEN to a token with read:packages and delete:packages/)
    expect(r.stderr).not.toContain('ghp_notatoken')
    expect(versionsOf(g)).toEqual(before)
  })
})
