// ECR's pure parts: which hosts are ECR, the `ecr` config section, which tags a
// repository's mutability lets move, the plan for an immutable repository, and the
// refusal docker push prints.
import { describe, expect, it } from 'vitest'
import { ConfigError, validateConfig } from '../../lib/core/config.mts'
import { ecrHost, ecrSettings, explainImmutablePush, IMMUTABLE_REFUSAL, isImmutableRefusal, refusedMoveMessage, skippedMoveWarning, tagMatches, tagMayMove } from '../../lib/image/ecr.mts'
import { holdImmutableTags } from '../../lib/publish/immutable-tags.mts'
import type { PlanEntry } from '../../lib/publish/publish-plan.mts'
import { WorkError } from '../../lib/core/cli.mts'

const minimal = { buildImage: { name: 'acme-build', inputs: ['Dockerfile.build'] } }

describe('ecrHost', () => {
  it('reads the account and region from a private registry host; ECR Public has neither', () => {
    expect(ecrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({ registryId: '123456789012', region: 'eu-west-1', public: false })
    expect(ecrHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toEqual({ registryId: '123456789012', region: 'us-gov-west-1', public: false })
    expect(ecrHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')?.region).toBe('cn-north-1')
    expect(ecrHost('PUBLIC.ecr.aws')).toEqual({ public: true })
  })

  it('is undefined elsewhere, and for look-alikes', () => {
    for (const host of ['ghcr.io', '127.0.0.1:5000', '12345678901.dkr.ecr.eu-west-1.amazonaws.com', '123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example', 'x123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'public.ecr.aws.example']) {
      expect(ecrHost(host), host).toBeUndefined()
    }
  })

  it('ecrSettings: the config section wins; an ECR host alone gets the defaults; elsewhere none', () => {
    const section = { createRepositories: true, tagMutability: 'IMMUTABLE' as const, moveTags: ['latest'] }
    expect(ecrSettings('127.0.0.1:5000', { ecr: section })).toBe(section)
    expect(ecrSettings('123456789012.dkr.ecr.eu-west-1.amazonaws.com', {})).toEqual({ createRepositories: false, tagMutability: 'MUTABLE', moveTags: [] })
    expect(ecrSettings('ghcr.io', {})).toBeUndefined()
  })
})

describe('the ecr config section', () => {
  it('absent: undefined; empty: the defaults; set: as given', () => {
    expect(validateConfig(minimal).ecr).toBeUndefined()
    expect(validateConfig({ ...minimal, ecr: {} }).ecr).toEqual({ createRepositories: false, tagMutability: 'MUTABLE', moveTags: [] })
    expect(validateConfig({ ...minimal, ecr: { createRepositories: true, tagMutability: 'IMMUTABLE', moveTags: ['latest', 'release-*'] } }).ecr).toEqual({
      createRepositories: true,
      tagMutability: 'IMMUTABLE',
      moveTags: ['latest', 'release-*'],
    })
  })

  it.each([
    [{ createRepositories: 'yes' }, /ecr\.createRepositories: expected true or false/],
    [{ tagMutability: 'immutable' }, /ecr\.tagMutability: expected "MUTABLE" or "IMMUTABLE", got the string "immutable"/],
    [{ moveTags: 'latest' }, /ecr\.moveTags: expected an array of strings/],
    [{ moveTags: ['feature/x'] }, /ecr\.moveTags\[0\]: expected a tag name/],
    [{ moveTags: ['a'.repeat(129)] }, /ecr\.moveTags\[0\]: expected a tag name/],
    [{ create: true }, /ecr\.create: unknown key/],
  ])('rejects ecr: %j', (ecr, message) => {
    expect(() => validateConfig({ ...minimal, ecr })).toThrow(ConfigError)
    expect(() => validateConfig({ ...minimal, ecr })).toThrow(message)
  })
})

describe('tag mutability', () => {
  it('tagMatches: `*` is any run of characters, the rest literal and anchored', () => {
    expect(tagMatches(['latest'], 'latest')).toBe(true)
    expect(tagMatches(['latest'], 'latest2')).toBe(false)
    expect(tagMatches(['latest'], 'xlatest')).toBe(false)
    expect(tagMatches(['release-*'], 'release-1.2')).toBe(true)
    expect(tagMatches(['*-dev'], 'main-dev')).toBe(true)
    expect(tagMatches(['v1.*'], 'v1x2')).toBe(false) // the dot is literal
    expect(tagMatches(['a*', 'main'], 'main')).toBe(true)
    expect(tagMatches([], 'main')).toBe(false)
  })

  it('tagMayMove: by the repository\'s setting and its exclusion filters', () => {
    expect(tagMayMove({ mutability: 'MUTABLE', exclusions: [] }, 'latest')).toBe(true)
    expect(tagMayMove({ mutability: 'IMMUTABLE', exclusions: ['latest'] }, 'latest')).toBe(false)
    expect(tagMayMove({ mutability: 'IMMUTABLE_WITH_EXCLUSION', exclusions: ['latest'] }, 'latest')).toBe(true)
    expect(tagMayMove({ mutability: 'IMMUTABLE_WITH_EXCLUSION', exclusions: ['latest'] }, 'main')).toBe(false)
    expect(tagMayMove({ mutability: 'MUTABLE_WITH_EXCLUSION', exclusions: ['v*'] }, 'v1.0.0')).toBe(false)
    expect(tagMayMove({ mutability: 'MUTABLE_WITH_EXCLUSION', exclusions: ['v*'] }, 'main')).toBe(true)
  })

  it("recognizes ECR's refusal as docker push prints it, in both wordings", () => {
    for (const text of [
      "docker push x:latest failed: tag invalid: The image tag 'latest' already exists in the 'acme' repository and cannot be overwritten because the repository is immutable.",
      "PUT https://1.dkr.ecr.eu-west-1.amazonaws.com/v2/acme/manifests/main: TAG_INVALID: The image tag 'main' already exists in the 'acme' repository and cannot be overwritten because the tag is immutable.",
    ]) {
      expect(IMMUTABLE_REFUSAL.test(text), text).toBe(true)
      expect(isImmutableRefusal(new WorkError(text))).toBe(true)
    }
    // The containerd image store prints only the status of the tag's manifest PUT.
    expect(isImmutableRefusal(new WorkError('docker push r/acme:main failed: failed commit on ref "manifest-sha256:x": unexpected status from PUT request to http://h/v2/acme/manifests/main: 400 Bad Request'))).toBe(true)
    expect(isImmutableRefusal(new WorkError('unexpected status from PUT request to http://h/v2/acme/manifests/main: 500 Internal Server Error'))).toBe(false)
    expect(isImmutableRefusal(new WorkError('unexpected status from PUT request to http://h/v2/acme/blobs/uploads/x: 400 Bad Request'))).toBe(false)
    expect(isImmutableRefusal(new WorkError('docker push x:latest failed: denied: requested access to the resource is denied'))).toBe(false)
    expect(isImmutableRefusal("tag invalid")).toBe(false) // not an error
  })
})

describe('holdImmutableTags', () => {
  const other = { digest: 'sha256:' + 'e'.repeat(64), mediaType: 'application/vnd.oci.image.manifest.v1+json', configDigest: 'sha256:' + 'f'.repeat(64) }
  const entry = (ref: string, kind: PlanEntry['kind'], action: PlanEntry['action']): PlanEntry => ({ ref, kind, action, imageId: 'sha256:' + 'a'.repeat(64), existing: action === 'create' ? null : other })
  const plan = [
    entry('r.example/acme-build:' + 'c'.repeat(40), 'build-image', 'unchanged'),
    entry('r.example/acme:1.2.0', 'version', 'create'),
    entry('r.example/acme:sha-0123456789ab', 'sha', 'update'),
    entry('r.example/acme:latest', 'latest', 'update'),
    entry('r.example/acme:main', 'branch', 'update'),
  ]
  const immutable = new Map([['acme', { mutability: 'IMMUTABLE', exclusions: [] }]])

  it('skips every move an immutable repository would refuse; creates and unchanged stay', () => {
    expect(holdImmutableTags(plan, immutable, []).map((p) => p.action)).toEqual(['unchanged', 'create', 'skip', 'skip', 'skip'])
  })

  it('tries the moves ecr.moveTags names, marked immutable (a refusal is then reported)', () => {
    const held = holdImmutableTags(plan, immutable, ['lat*'])
    expect(held.map((p) => p.action)).toEqual(['unchanged', 'create', 'skip', 'update', 'skip'])
    expect(held.map((p) => Boolean(p.immutable))).toEqual([false, false, false, true, false])
  })

  it('a mutable repository, an exclusion filter that allows the move, or an unknown repository: the plan as it was', () => {
    expect(holdImmutableTags(plan, new Map([['acme', { mutability: 'MUTABLE', exclusions: [] }]]), [])).toEqual(plan)
    expect(holdImmutableTags(plan, new Map([['acme', { mutability: 'IMMUTABLE_WITH_EXCLUSION', exclusions: ['latest', 'main', 'sha-*'] }]]), [])).toEqual(plan)
    expect(holdImmutableTags(plan, new Map([['other', { mutability: 'IMMUTABLE', exclusions: [] }]]), [])).toEqual(plan)
  })

  it('an asked-for overwrite of a release, or the replacement of an unsigned build image: tried, not skipped', () => {
    const asked = [entry('r.example/acme:1.0.0', 'version', 'overwrite'), entry('r.example/acme:' + 'c'.repeat(40), 'build-image', 'update')]
    expect(holdImmutableTags(asked, immutable, []).map((p) => [p.action, p.immutable])).toEqual([
      ['overwrite', true],
      ['update', true],
    ])
  })
})

describe('explainImmutablePush', () => {
  const immutable = new Map([['acme/app', { mutability: 'IMMUTABLE', exclusions: [] }]])
  const containerd = (tag: string, name = 'acme/app') =>
    new WorkError(`docker push r/${name}:${tag} failed: failed commit on ref "index-sha256:${'a'.repeat(64)}": unexpected status from PUT request to http://127.0.0.1:5000/v2/${name}/manifests/${tag}: 400 Bad Request`)

  it("explains the containerd store's 400 on a tag an immutable repository keeps", () => {
    const explained = explainImmutablePush(containerd('sha-0123456789ab'), immutable) as Error
    expect(explained).toBeInstanceOf(WorkError)
    expect(explained.message).toMatch(/^ECR refused to write the tag sha-0123456789ab of acme\/app \(HTTP 400 to the manifest PUT\): the repository holds it immutable \(IMMUTABLE\), and this Docker daemon pushes an image index by writing each of its manifests to the tag in turn/)
    expect(explained.message).toContain('Push from the classic image store, or make the repository MUTABLE')
  })

  it('leaves every other failure as it is: another repository, a tag that may move, another status, a push by digest', () => {
    for (const error of [
      containerd('main', 'acme/other'),
      containerd('main').message.replace('400 Bad Request', '500 Internal Server Error'),
      new WorkError('docker push r/acme/app:main failed: denied: requested access to the resource is denied'),
    ]) {
      const e = typeof error === 'string' ? new WorkError(error) : error
      expect(explainImmutablePush(e, immutable)).toBe(e)
    }
    const movable = new Map([['acme/app', { mutability: 'IMMUTABLE_WITH_EXCLUSION', exclusions: ['main'] }]])
    const e = containerd('main')
    expect(explainImmutablePush(e, movable)).toBe(e)
    const byDigest = new WorkError(`unexpected status from PUT request to http://h/v2/acme/app/manifests/sha256:${'b'.repeat(64)}: 400 Bad Request`)
    expect(explainImmutablePush(byDigest, immutable)).toBe(byDigest)
  })

  it('the messages name the refs and the fixes', () => {
    expect(skippedMoveWarning('r/acme:main', { mutability: 'IMMUTABLE', exclusions: [] })).toMatch(/^r\/acme:main: not moved: the ECR repository is IMMUTABLE, so this tag keeps its earlier image/)
    expect(refusedMoveMessage(['r/acme:main'])).toMatch(/^ECR refused to move r\/acme:main: the repository holds this tag immutable \(ecr\.moveTags asked to move it\)\. .* or remove it from ecr\.moveTags$/)
    expect(refusedMoveMessage(['r/acme:main', 'r/acme:latest'])).toMatch(/^ECR refused to move r\/acme:main, r\/acme:latest: the repository holds these tags immutable \(ecr\.moveTags asked to move them\)\. .* or remove them from ecr\.moveTags$/)
  })
})
