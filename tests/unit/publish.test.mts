import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../lib/core/config.mts'
import { retrySettings } from '../../lib/core/retries.mts'
import { decideAction, describePlan, finalImage, isBuildOf, refusalMessage, type PlanEntry, type Target } from '../../lib/publish/publish-plan.mts'
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
  const image = (labels: Record<string, string>): PublishedImage => ({ ...existing(OTHER), configDigest: OTHER, labels })
  const expected = { revision: 'abc', version: '1.2.3' }
  it('is true only when revision and version both match', () => {
    expect(isBuildOf(image({ 'org.opencontainers.image.revision': 'abc', 'org.opencontainers.image.version': '1.2.3' }), expected)).toBe(true)
    expect(isBuildOf(image({ 'org.opencontainers.image.revision': 'abc', 'org.opencontainers.image.version': '1.2.4' }), expected)).toBe(false)
    expect(isBuildOf(image({ 'org.opencontainers.image.revision': 'def', 'org.opencontainers.image.version': '1.2.3' }), expected)).toBe(false)
    expect(isBuildOf(image({}), expected)).toBe(false)
    expect(isBuildOf(null, expected)).toBe(false)
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

  it('explains a refusal and what to do', () => {
    const message = refusalMessage([plan[1]])
    expect(message).toContain('refused to overwrite release tag r.example/app:version (the registry has image bbbbbbbbbbbb, this build is aaaaaaaaaaaa)')
    expect(message).toContain('--allow-overwrite')
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
    expect(() => finalImage(config({ registry: 'r.example' }))).toThrow(/^image: required/)
    expect(() => finalImage(config({ registry: 'r.example', image: { name: 'App' } }))).toThrow(/image\.name: expected a lowercase image name/)
  })

  it('retrySettings reads REGISTRY_RETRIES and REGISTRY_RETRY_DELAY_MS, ignoring nonsense', () => {
    expect(retrySettings({})).toEqual({ retries: 3, baseDelayMs: 1000 })
    expect(retrySettings({ REGISTRY_RETRIES: '0', REGISTRY_RETRY_DELAY_MS: '50' })).toEqual({ retries: 0, baseDelayMs: 50 })
    expect(retrySettings({ REGISTRY_RETRIES: 'many', REGISTRY_RETRY_DELAY_MS: '-1' })).toEqual({ retries: 3, baseDelayMs: 1000 })
  })
})
