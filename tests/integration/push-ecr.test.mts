// push-images and pull-or-build --push where the registry is Amazon ECR: the ECR API's
// stand-in (tests/helpers/ecr-server.mts: CreateRepository and DescribeRepositories with
// AWS's shapes and errors, reached by the real AWS SDK through AWS_ENDPOINT_URL_ECR) in
// front of the real distribution registry, which it guards as ECR does (no repository
// until created; an IMMUTABLE repository refuses to move a tag with ECR's TAG_INVALID).
// Real git, the real Docker Engine, the scripts run as processes; under BuildKit, and
// under the legacy builder with DOCKER_BUILDKIT=0 (npm run test:legacy-builder). Under a
// daemon with the containerd image store (DOCKER_HOST), BuildKit's images are indexes
// (the image and its attestation manifest), whose push writes each manifest to the tag
// in turn: an IMMUTABLE repository refuses even a new tag, and the cases that push there
// expect that failure, explained. The legacy builder's single manifest pushes as anywhere.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docker } from '../helpers/docker.mts'
import { startEcrStandIn, type EcrStandIn } from '../helpers/ecr-server.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

const LEGACY = process.env.DOCKER_BUILDKIT === '0'
const CONTAINERD_STORE = docker('info', '--format', '{{json .DriverStatus}}').includes('io.containerd.snapshotter')
const INDEX_PUSHED_BY_TAG = CONTAINERD_STORE && !LEGACY
const IMMUTABLE_INDEX_PUSH = /ECR refused to write the tag \S+ of \S+ \(HTTP 400 to the manifest PUT\): the repository holds it immutable \(IMMUTABLE\), and this Docker daemon pushes an image index by writing each of its manifests to the tag in turn/

const DOCKERFILE = `ARG BUILD_IMAGE
FROM \${BUILD_IMAGE} AS build
ARG VERSION
RUN echo "$VERSION" > /version
FROM busybox:latest
COPY --from=build /version /app/version
`

// The machine's CI and registry variables must not reach the scripts.
const CLEAN = Object.fromEntries(
  ['CI', 'GITHUB_ACTIONS', 'GITHUB_REF', 'GITHUB_HEAD_REF', 'GITHUB_BASE_REF', 'GITHUB_EVENT_NAME', 'CIRCLECI', 'CIRCLE_TAG', 'CIRCLE_BRANCH', 'CIRCLE_PULL_REQUEST', 'REGISTRY_USERNAME', 'REGISTRY_PASSWORD'].map((n) => [n, '']),
)

interface JsonImage {
  ref: string
  kind: string
  action: string
  digest: string | null
}

describe(`ECR: repositories created when asked, immutable tags (${LEGACY ? 'legacy builder' : 'BuildKit'}${CONTAINERD_STORE ? ', containerd image store' : ''})`, () => {
  const scene = useRegistryScene()
  let ecr: EcrStandIn
  let dockerConfig: string
  // One build image for the tests that do not assert on its repository (each build costs seconds).
  let sharedBuild: string

  beforeAll(async () => {
    ecr = await startEcrStandIn(scene.registry.host)
    dockerConfig = tempDir('cbs-docker-config-')
    sharedBuild = scene.name('ecr-build')
  })
  afterAll(async () => {
    await ecr?.stop()
  })

  function fixture(ecrSection: object | undefined, { buildName = sharedBuild } = {}) {
    const appName = scene.name('ecr-app')
    const repo = makeRepo(
      { 'Dockerfile.build': 'FROM busybox:latest\nRUN echo toolchain > /toolchain.txt\n', Dockerfile: DOCKERFILE, '.dockerignore': '.git\n' },
      { buildImage: { name: buildName, inputs: ['Dockerfile.build'] }, image: { name: appName }, ...(ecrSection ? { ecr: ecrSection } : {}) },
    )
    return { repo, appName, buildName }
  }

  const run = (script: string, repo: string, args: string[] = []): Promise<RunResult> =>
    runScript(script, args, { cwd: repo, env: { ...CLEAN, ...ecr.apiEnv, DOCKER_CONFIG: dockerConfig, REGISTRY: ecr.host, REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '50' } })

  const pushImages = async (repo: string, args: string[] = []) => {
    const r = await run('push-images', repo, ['--json', ...args])
    expect(r.stderr).not.toContain(ecr.secretKey)
    const json = r.stdout.trim() ? (JSON.parse(r.stdout) as { images: JsonImage[] }) : { images: [] }
    return { ...r, images: json.images }
  }

  const commit = (repo: string, message: string, config?: (c: Record<string, unknown>) => void) => {
    if (config) {
      const file = path.join(repo, 'build.config.json')
      const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
      config(c)
      fs.writeFileSync(file, JSON.stringify(c, null, 2) + '\n')
    }
    fs.writeFileSync(path.join(repo, 'CHANGES'), `${message}\n`, { flag: 'a' })
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', message)
    return git(repo, 'rev-parse', 'HEAD')
  }

  const creates = () => ecr.calls.filter((c) => c.operation === 'CreateRepository')

  it('a missing repository, not asked to create it: push-images fails before any build, saying how to create it; nothing is created or pushed', async () => {
    const f = fixture({})
    ecr.createRepository(sharedBuild)
    const before = creates().length
    const r = await pushImages(f.repo)
    expect(r.exitCode, r.stderr).toBe(1)
    expect(r.stderr).toContain(`Error: the repository ${f.appName} does not exist on ${ecr.host}, and ECR refuses a push to a missing repository: create it (aws ecr create-repository --repository-name ${f.appName} --image-tag-mutability MUTABLE), or set "ecr": {"createRepositories": true} in build.config.json`)
    expect(r.stderr).not.toMatch(/^#\d+ |Step \d+\/\d+/m) // no build ran
    expect(ecr.calls.filter((c) => c.operation === 'DescribeRepositories' && c.input.repositoryNames?.toString() === f.appName).map((c) => c.outcome)).toEqual(['RepositoryNotFoundException'])
    expect(creates().length).toBe(before)
    expect(ecr.repositories().map((x) => x.name)).not.toContain(f.appName)
    expect(await scene.registry.tags(f.appName)).toEqual([])
  })

  it('asked to create them: both repositories are created once, with the configured mutability, then pushed to; a re-run creates nothing', async () => {
    const f = fixture({ createRepositories: true, tagMutability: 'IMMUTABLE' }, { buildName: scene.name('ecr-build') })
    const sha = git(f.repo, 'rev-parse', 'HEAD')
    const first = await pushImages(f.repo)
    if (INDEX_PUSHED_BY_TAG) {
      expect(first.exitCode, first.stderr).toBe(1)
      expect(first.stderr).toMatch(IMMUTABLE_INDEX_PUSH)
      expect(ecr.refusedMoves.filter((m) => m.startsWith(`${f.buildName}:`))).toHaveLength(1)
      return
    }
    expect(first.exitCode, first.stderr).toBe(0)
    expect(creates().filter((c) => [f.appName, f.buildName].includes(c.input.repositoryName as string))).toEqual([
      { operation: 'CreateRepository', input: { repositoryName: f.buildName, imageTagMutability: 'IMMUTABLE' }, outcome: 'ok' },
      { operation: 'CreateRepository', input: { repositoryName: f.appName, imageTagMutability: 'IMMUTABLE' }, outcome: 'ok' },
    ])
    expect(first.stderr).toContain(`created the ECR repository ${f.appName} (IMMUTABLE)`)
    expect(first.images.map((i) => i.action)).toEqual(['create', 'create', 'create'])
    expect((await scene.registry.tags(f.appName)).sort()).toEqual(['main', `sha-${sha.slice(0, 12)}`])
    expect(await scene.registry.tags(f.buildName)).toHaveLength(1)

    const again = await pushImages(f.repo)
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.images.map((i) => i.action)).toEqual(['unchanged', 'unchanged', 'unchanged'])
    expect(creates().filter((c) => [f.appName, f.buildName].includes(c.input.repositoryName as string))).toHaveLength(2)
  })

  it('pull-or-build --push creates the missing build image repository when asked, and fails naming the fix when not', async () => {
    const asked = fixture({ createRepositories: true }, { buildName: scene.name('ecr-build') })
    const r = await run('pull-or-build', asked.repo, ['--push', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as { outcome: string }).outcome).toBe('pushed')
    expect(creates().filter((c) => c.input.repositoryName === asked.buildName).map((c) => c.input.imageTagMutability)).toEqual(['MUTABLE'])
    expect(await scene.registry.tags(asked.buildName)).toHaveLength(1)

    const notAsked = fixture({}, { buildName: scene.name('ecr-build') })
    const refused = await run('pull-or-build', notAsked.repo, ['--push'])
    expect(refused.exitCode, refused.stderr).toBe(1)
    expect(refused.stderr).toContain(`Error: the repository ${notAsked.buildName} does not exist on ${ecr.host}, and ECR refuses a push to a missing repository`)
    expect(creates().filter((c) => c.input.repositoryName === notAsked.buildName)).toEqual([])
    expect(await scene.registry.tags(notAsked.buildName)).toEqual([])
  })

  it("an IMMUTABLE repository: content tags push fine; a moving tag is skipped with a warning; one named in ecr.moveTags is tried and ECR's refusal reported", async () => {
    const f = fixture({})
    ecr.createRepository(sharedBuild)
    ecr.createRepository(f.appName, 'IMMUTABLE')
    const first = await pushImages(f.repo)
    if (INDEX_PUSHED_BY_TAG) {
      expect(first.exitCode, first.stderr).toBe(1)
      expect(first.stderr).toMatch(IMMUTABLE_INDEX_PUSH)
      expect(ecr.refusedMoves.filter((m) => m.startsWith(`${f.appName}:sha-`))).toHaveLength(1)
      return
    }
    expect(first.exitCode, first.stderr).toBe(0)
    const mainBefore = await scene.registry.digest(f.appName, 'main')
    expect(mainBefore).toMatch(/^sha256:/)

    // A new commit on main: sha-<new> is new (pushed); main would move: skipped.
    const second = commit(f.repo, 'two')
    const r2 = await pushImages(f.repo)
    expect(r2.exitCode, r2.stderr).toBe(0)
    expect(r2.images.map((i) => [i.ref.slice(i.ref.lastIndexOf(':') + 1), i.action])).toEqual([
      [expect.stringMatching(/^[0-9a-f]{40}$/), 'unchanged'],
      [`sha-${second.slice(0, 12)}`, 'create'],
      ['main', 'skip'],
    ])
    expect(r2.stderr).toContain(`${ecr.host}/${f.appName}:main: not moved: the ECR repository is IMMUTABLE, so this tag keeps its earlier image`)
    expect(r2.stderr).toContain('1 skipped (immutable)')
    expect(ecr.refusedMoves).toEqual([]) // never tried
    expect(await scene.registry.digest(f.appName, 'main')).toBe(mainBefore)
    expect(await scene.registry.digest(f.appName, `sha-${second.slice(0, 12)}`)).toBe(r2.images[1].digest)

    // main named in ecr.moveTags: tried once (no retries), refused by ECR, reported; the rest pushed.
    const third = commit(f.repo, 'three', (c) => (c.ecr = { moveTags: ['ma*'] }))
    const r3 = await pushImages(f.repo)
    expect(r3.exitCode, r3.stderr).toBe(1)
    expect(r3.stderr).toContain(`Error: ECR refused to move ${ecr.host}/${f.appName}:main: the repository holds this tag immutable (ecr.moveTags asked to move it)`)
    expect(ecr.refusedMoves).toEqual([`${f.appName}:main`])
    expect(r3.images.map((i) => i.action)).toEqual(['unchanged', 'create', 'refuse'])
    expect(await scene.registry.digest(f.appName, `sha-${third.slice(0, 12)}`)).toBe(r3.images[1].digest)
    expect(await scene.registry.digest(f.appName, 'main')).toBe(mainBefore)
  })
})
