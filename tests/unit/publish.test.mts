import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../lib/core/config.mts'
import { retrySettings } from '../../lib/core/retries.mts'
import {
  decideAction,
  describeLocalOnly,
  describePlan,
  finalImage,
  imagesToSign,
  isBuildOf,
  localOnlyImages,
  mayReuse,
  publishedSummary,
  publishFailure,
  publishJson,
  refusalMessage,
  type PlanEntry,
  type PublishResult,
  type Target,
} from '../../lib/publish/publish-plan.mts'
import { imageContent } from '../../lib/image/image-content.mts'
import type { ManifestInfo, PublishedImage } from '../../lib/image/registry.mts'

const ID = 'sha256:' + 'a'.repeat(64)
const OTHER = 'sha256:' + 'b'.repeat(64)
const existing = (configDigest: string | undefined): ManifestInfo => ({
  digest: 'sha256:' + 'd'.repeat(64),
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  configDigest,
})
const target = (kind: Target['kind']): Target => ({ ref: `r.example/app:${kind}`, kind, imageId: ID })

describe('decideAction', () => {
  it('creates a missing tag, whatever its kind', () => {
    for (const kind of ['version', 'latest', 'sha', 'branch', 'build-image'] as const) expect(decideAction(target(kind), null)).toBe('create')
  })

  it('leaves a tag that already holds this image unchanged', () => {
    for (const kind of ['version', 'latest', 'sha', 'branch', 'build-image'] as const) expect(decideAction(target(kind), existing(ID))).toBe('unchanged')
  })

  it('also recognises the image by its manifest digest (the containerd image store\'s id)', () => {
    expect(decideAction({ ...target('version'), imageId: existing(OTHER).digest }, existing(OTHER))).toBe('unchanged')
  })

  it('under the containerd store (ids are manifest digests a push may rewrite): the same layers, build time and settings are the same image', () => {
    // The registry's config blob, and `docker image inspect` of the local image: the same image, written two ways.
    const layers = ['sha256:' + '1'.repeat(64), 'sha256:' + '2'.repeat(64)]
    const registry = imageContent({ diffIds: layers, created: '2026-12-03T08:39:41.7523Z', config: { Cmd: ['sh'], Labels: { a: '1' } } })
    const local = imageContent({ diffIds: layers, created: '2026-12-03T08:39:41.752300000Z', config: { Cmd: ['sh'], Labels: { a: '1' }, Entrypoint: null, User: '', WorkingDir: '' } })
    const found = { ...existing(OTHER), content: registry }
    const mine = { ...target('version'), imageId: 'sha256:' + 'c'.repeat(64), content: local }
    expect(decideAction(mine, found)).toBe('unchanged')
    // Another build time (a rebuild), other layers, another label or command: another image.
    expect(decideAction({ ...mine, content: { ...local, created: '2026-12-03T08:39:42.000000000Z' } }, found)).toBe('refuse')
    expect(decideAction({ ...mine, content: imageContent({ diffIds: layers.slice(0, 1), created: '2026-12-03T08:39:41.7523Z', config: { Cmd: ['sh'], Labels: { a: '1' } } }) }, found)).toBe('refuse')
    expect(decideAction({ ...mine, content: imageContent({ diffIds: layers, created: '2026-12-03T08:39:41.7523Z', config: { Cmd: ['sh'], Labels: { a: '2' } } }) }, found)).toBe('refuse')
    expect(decideAction({ ...mine, content: imageContent({ diffIds: layers, created: '2026-12-03T08:39:41.7523Z', config: { Cmd: ['id'], Labels: { a: '1' } } }) }, found)).toBe('refuse')
    // Nothing known on either side is never "the same".
    expect(decideAction({ ...mine, content: imageContent({}) }, { ...found, content: imageContent({}) })).toBe('refuse')
  })

  it('refuses a release version holding another image, unless overwriting is allowed', () => {
    expect(decideAction(target('version'), existing(OTHER))).toBe('refuse')
    expect(decideAction(target('version'), existing(OTHER), true)).toBe('overwrite')
    // An index (multi-platform list) has no config digest: another image too.
    expect(decideAction(target('version'), existing(undefined))).toBe('refuse')
  })

  it('moves latest, branch and sha- tags', () => {
    for (const kind of ['latest', 'sha', 'branch'] as const) expect(decideAction(target(kind), existing(OTHER))).toBe('update')
  })

  it('never moves a build image content tag: the same inputs built elsewhere stay', () => {
    expect(decideAction(target('build-image'), existing(OTHER), true)).toBe('unchanged')
  })
})

describe('isBuildOf', () => {
  const image = (labels: Record<string, string>): PublishedImage => ({ ...existing(OTHER), configDigest: OTHER, labels, content: imageContent({}) })
  const expected = { revision: 'abc', version: '1.2.3' }
  it('is true only when revision and version both match', () => {
    expect(isBuildOf(image({ 'org.opencontainers.image.revision': 'abc', 'org.opencontainers.image.version': '1.2.3' }), expected)).toBe(true)
    expect(isBuildOf(image({ 'org.opencontainers.image.revision': 'abc', 'org.opencontainers.image.version': '1.2.4' }), expected)).toBe(false)
    expect(isBuildOf(image({ 'org.opencontainers.image.revision': 'def', 'org.opencontainers.image.version': '1.2.3' }), expected)).toBe(false)
    expect(isBuildOf(image({}), expected)).toBe(false)
    expect(isBuildOf(null, expected)).toBe(false)
  })
})

describe('mayReuse', () => {
  const labels = { 'org.opencontainers.image.revision': 'abc', 'org.opencontainers.image.version': '1.2.3' }
  const image: PublishedImage = { ...existing(OTHER), configDigest: OTHER, labels, content: imageContent({}) }
  const ask = { revision: 'abc', version: '1.2.3', dirty: false, allowOverwrite: false }
  it('reuses this commit\'s published image only from a clean tree without --allow-overwrite', () => {
    expect(mayReuse(image, ask)).toBe(true)
    expect(mayReuse(image, { ...ask, dirty: true })).toBe(false)
    expect(mayReuse(image, { ...ask, allowOverwrite: true })).toBe(false)
    expect(mayReuse(image, { ...ask, revision: 'def' })).toBe(false)
    expect(mayReuse(null, ask)).toBe(false)
  })
})

describe('plan output', () => {
  const plan: PlanEntry[] = [
    { ...target('build-image'), action: 'unchanged', existing: existing(OTHER) },
    { ...target('version'), action: 'refuse', existing: existing(OTHER) },
    { ...target('latest'), action: 'create', existing: null },
  ]

  it('describes each ref, its action and what the registry has', () => {
    const lines = describePlan(plan).split('\n')
    expect(lines[0]).toMatch(/^REF\s+ACTION\s+REGISTRY HAS$/)
    expect(lines[1]).toMatch(/^r\.example\/app:build-image\s+unchanged\s+sha256:d+ \(built elsewhere from the same inputs: kept\)$/)
    expect(lines[2]).toMatch(/^r\.example\/app:version\s+refuse\s+sha256:d+ \(another image: bbbbbbbbbbbb\)$/)
    expect(lines[3]).toMatch(/^r\.example\/app:latest\s+create\s+-$/)
  })

  it('shows no other image when the registry holds this one, and ? for an index without a config digest', () => {
    const same: PlanEntry = { ...target('latest'), action: 'unchanged', existing: existing(ID) }
    const index: PlanEntry = { ...target('sha'), action: 'update', existing: existing(undefined) }
    const lines = describePlan([same, index]).split('\n')
    expect(lines[1]).toMatch(/^r\.example\/app:latest\s+unchanged\s+sha256:d{64}$/)
    expect(lines[2]).toMatch(/^r\.example\/app:sha\s+update\s+sha256:d{64} \(another image: \?\)$/)
  })

  it('the --json document: the decision, and each ref with its action and digests', () => {
    const results: PublishResult[] = [
      { ...plan[2], digest: 'sha256:' + 'e'.repeat(64) },
      { ...plan[1], digest: existing(OTHER).digest },
    ]
    const ref = { kind: 'tag', name: 'v1.2.3', source: 'git' } as const
    expect(publishJson({ decision: { version: '1.2.3', reason: 'why' }, revision: 'abc', ref, dryRun: true }, results)).toEqual({
      version: '1.2.3',
      revision: 'abc',
      ref,
      reason: 'why',
      dryRun: true,
      images: [
        { ref: 'r.example/app:latest', kind: 'latest', action: 'create', digest: 'sha256:' + 'e'.repeat(64), existing: null },
        { ref: 'r.example/app:version', kind: 'version', action: 'refuse', digest: existing(OTHER).digest, existing: existing(OTHER).digest },
      ],
    })
  })

  it('names every refused tag, in the plural when there are several', () => {
    const one = refusalMessage([plan[1]])
    expect(one).toMatch(/^refused to overwrite release tag r\.example/)
    expect(one).toContain(': a release never changes once pushed. Release a new version, or pass --allow-overwrite to replace it')
    const two = refusalMessage([plan[1], { ...plan[1], ref: 'r.example/app:1.2', existing: existing(undefined) }])
    expect(two).toMatch(/^refused to overwrite release tags r\.example\/app:version \(the registry has image bbbbbbbbbbbb, this build is aaaaaaaaaaaa\), r\.example\/app:1\.2 \(the registry has image \?, this build is aaaaaaaaaaaa\): /)
  })

  it('explains a refusal and what to do', () => {
    const message = refusalMessage([plan[1]])
    expect(message).toContain('refused to overwrite release tag r.example/app:version (the registry has image bbbbbbbbbbbb, this build is aaaaaaaaaaaa)')
    expect(message).toContain('--allow-overwrite')
  })
})

describe('after the push', () => {
  const result = (kind: Target['kind'], action: PublishResult['action'], digest: string | null = 'sha256:' + 'e'.repeat(64)): PublishResult => ({
    ...target(kind),
    action,
    existing: null,
    digest,
  })

  it('sums up what was pushed, by action, then what was left unchanged or skipped', () => {
    expect(publishedSummary([result('build-image', 'create'), result('sha', 'create'), result('branch', 'update'), result('latest', 'unchanged')])).toBe(
      'pushed 3 refs (2 created, 1 updated), 1 unchanged',
    )
    expect(publishedSummary([result('version', 'overwrite')])).toBe('pushed 1 ref (1 overwritten)')
    expect(publishedSummary([result('build-image', 'create'), result('sha', 'skip')])).toBe('pushed 1 ref (1 created), 1 skipped (immutable)')
  })

  it('says nothing was pushed, and "all" only when every ref was unchanged', () => {
    expect(publishedSummary([result('build-image', 'unchanged'), result('sha', 'unchanged'), result('branch', 'unchanged')])).toBe('nothing pushed: all 3 refs unchanged')
    expect(publishedSummary([result('build-image', 'unchanged')])).toBe('nothing pushed: all 1 ref unchanged')
    expect(publishedSummary([result('build-image', 'unchanged'), result('sha', 'skip'), result('branch', 'skip')])).toBe('nothing pushed: 1 ref unchanged, 2 skipped (immutable)')
    expect(publishedSummary([])).toBe('nothing pushed: all 0 refs unchanged')
  })

  it('fails the run for refused release tags and for moves the registry refused, naming both', () => {
    const refusedTag: PlanEntry = { ...target('version'), action: 'refuse', existing: existing(OTHER) }
    const refusedMove: PublishResult = { ...result('latest', 'refuse'), refusal: 'tag invalid: immutable' }
    expect(publishFailure([], [result('sha', 'create'), result('latest', 'refuse')])).toBeUndefined()
    expect(publishFailure([refusedTag], [])).toBe(refusalMessage([refusedTag]))
    expect(publishFailure([], [result('sha', 'create'), refusedMove])).toMatch(/^ECR refused to move r\.example\/app:latest: /)
    expect(publishFailure([refusedTag], [refusedMove])).toMatch(/^refused to overwrite release tag r\.example\/app:version .*; ECR refused to move r\.example\/app:latest: /)
  })

  it('signs each published image once: the final image has one digest under all its tags', () => {
    const final = 'sha256:' + 'f'.repeat(64)
    const done = [
      result('build-image', 'create', 'sha256:' + '1'.repeat(64)),
      { ...result('sha', 'create', final), ref: 'r.example/app:sha-0123' },
      { ...result('branch', 'create', final), ref: 'r.example/app:main' },
      { ...result('latest', 'refuse', null), ref: 'r.example/other:latest' },
    ]
    expect(imagesToSign(done)).toEqual([
      { repository: 'r.example/app', digest: 'sha256:' + '1'.repeat(64) },
      { repository: 'r.example/app', digest: final },
    ])
  })

  it('a dry run in local-only mode: each ref built locally, as JSON and as a table', () => {
    const refs = [
      { ref: 'app-build:0123', kind: 'build-image' as const },
      { ref: 'app:sha-0123', kind: 'sha' as const },
    ]
    expect(localOnlyImages(refs)).toEqual([
      { ref: 'app-build:0123', kind: 'build-image', action: 'local', digest: null, existing: null },
      { ref: 'app:sha-0123', kind: 'sha', action: 'local', digest: null, existing: null },
    ])
    expect(describeLocalOnly(refs)).toBe('REF             ACTION\napp-build:0123  local only\napp:sha-0123    local only')
  })
})

describe('settings', () => {
  const config = (extra: object) => validateConfig({ buildImage: { name: 'b', inputs: ['x'] }, ...extra })

  it('finalImage needs a registry and an image with a valid name', () => {
    expect(finalImage(config({ registry: 'r.example:5000', image: { name: 'acme/app' } }))).toEqual({
      repository: 'r.example:5000/acme/app',
      name: 'acme/app',
      dockerfile: 'Dockerfile',
      context: '.',
    })
    expect(() => finalImage(config({ image: { name: 'app' } }))).toThrow(/needs a registry/)
    expect(finalImage(config({ image: { name: 'app' } }), { localOnly: true }).repository).toBe('app')
    expect(() => finalImage(config({ registry: 'r.example' }))).toThrow(/^image: required/)
    expect(() => finalImage(config({ registry: 'r.example', image: { name: 'App' } }))).toThrow(/image\.name: expected a lowercase image name/)
    for (const bad of ['-app', 'app-', 'a//b', 'acme/', 'a..b', 'app:tag']) {
      expect(() => finalImage(config({ registry: 'r.example', image: { name: bad } })), bad).toThrow(`image.name: expected a lowercase image name like "acme", got ${JSON.stringify(bad)}`)
    }
    expect(finalImage(config({ registry: 'r.example', image: { name: 'a.b_c-d/e-f/g' } })).repository).toBe('r.example/a.b_c-d/e-f/g')
    expect(() => finalImage(config({ image: { name: 'app' } }))).toThrow('push-images needs a registry: set "registry" in build.config.json, the REGISTRY env var, or --registry HOST (--dry-run works without one)')
    expect(() => finalImage(config({ registry: 'r.example' }))).toThrow('image: required to build the final image (add {"name": "..."} to build.config.json)')
  })

  it('retrySettings reads REGISTRY_RETRIES and REGISTRY_RETRY_DELAY_MS, ignoring nonsense', () => {
    expect(retrySettings({})).toEqual({ retries: 3, baseDelayMs: 1000 })
    expect(retrySettings({ REGISTRY_RETRIES: '0', REGISTRY_RETRY_DELAY_MS: '50' })).toEqual({ retries: 0, baseDelayMs: 50 })
    expect(retrySettings({ REGISTRY_RETRIES: 'many', REGISTRY_RETRY_DELAY_MS: '-1' })).toEqual({ retries: 3, baseDelayMs: 1000 })
  })
})
