// push-images against real git repositories, the real Docker Engine and the real
// distribution registry (plain, and with htpasswd auth). The script runs as a process,
// as CI runs it; the registry is asked through its API what it holds before and after.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docker, dockerRun, requireDocker, uniqueName } from '../helpers/docker.mts'
import { startFaultProxy } from '../helpers/fault-proxy.mts'
import { watchDescendants } from '../helpers/proc.mts'
import { imagesNamed } from '../helpers/build-image.mts'
import { publishedImage } from '../../lib/image/registry.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { startTokenRegistry } from '../helpers/token-registry.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'
import { runScript, type RunOptions, type RunResult } from '../helpers/run.mts'

// The final image: FROM the build image (BUILD_IMAGE), its artifact copied into a small
// runtime stage that prints VERSION.
const DOCKERFILE = `ARG BUILD_IMAGE
FROM \${BUILD_IMAGE} AS build
ARG VERSION
RUN mkdir -p /out && echo "$VERSION" > /out/version && cp /toolchain.txt /out/
FROM busybox:latest
COPY --from=build /out/ /app/
CMD ["cat", "/app/version"]
`

// CI variables of the machine running the tests must not leak into the script.
const CI_VARS = [
  'CI',
  'GITHUB_ACTIONS',
  'GITHUB_REF',
  'GITHUB_HEAD_REF',
  'GITHUB_EVENT_NAME',
  'GITHUB_EVENT_PATH',
  'GITHUB_REPOSITORY',
  'CIRCLECI',
  'CIRCLE_TAG',
  'CIRCLE_BRANCH',
  'CIRCLE_PULL_REQUEST',
  'CIRCLE_REPOSITORY_URL',
  'REGISTRY_USERNAME',
  'REGISTRY_PASSWORD',
]

interface Fixture {
  repo: string
  buildName: string
  appName: string
}

// Most fixtures share one build image (built once per registry): each build of it costs
// seconds. Tests that assert on the build image's repository get their own.
const SHARED_BUILD_NAME = uniqueName('pi-build')

/** A repository on `main` with a build image and a final image, named uniquely. */
function fixture({ ownBuildImage = false } = {}): Fixture {
  const buildName = ownBuildImage ? uniqueName('pi-build') : SHARED_BUILD_NAME
  const appName = uniqueName('pi-app')
  const repo = makeRepo(
    {
      'Dockerfile.build': `FROM busybox:latest\nRUN echo toolchain > /toolchain.txt\n`,
      Dockerfile: DOCKERFILE,
      '.dockerignore': '.git\n',
    },
    { buildImage: { name: buildName, inputs: ['Dockerfile.build'] }, image: { name: appName } },
  )
  return { repo, buildName, appName }
}

/** A new commit on the current branch. */
function commit(repo: string, message: string): string {
  fs.writeFileSync(path.join(repo, 'CHANGES'), `${message}\n`, { flag: 'a' })
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', message)
  return git(repo, 'rev-parse', 'HEAD')
}

/** `ref@digest` lines on stdout, as a map ref -> digest. */
function published(result: RunResult): Map<string, string> {
  const lines = result.stdout.split('\n').filter(Boolean)
  for (const line of lines) expect(line).toMatch(/^\S+:\S+@sha256:[0-9a-f]{64}$/)
  return new Map(lines.map((l) => l.split('@') as [string, string]))
}

interface JsonImage {
  ref: string
  kind: string
  action: string
  digest: string | null
  existing: string | null
}
interface JsonOutput {
  version: string
  revision: string
  ref: { kind: string; name: string; source: string }
  reason: string
  images: JsonImage[]
}

describe('push-images', () => {
  let registry: TestRegistry
  let dockerConfig: string

  beforeAll(async () => {
    requireDocker(['busybox:latest'])
    registry = await startRegistry()
    // An empty Docker config: no login of the machine's user is used or changed.
    dockerConfig = tempDir('cbs-docker-config-')
  })
  afterAll(async () => {
    await registry?.stop()
  })

  function run(f: Fixture, args: string[] = [], env: NodeJS.ProcessEnv = {}, options: Pick<RunOptions, 'onSpawn'> = {}) {
    const clean = Object.fromEntries(CI_VARS.map((name) => [name, '']))
    return runScript('push-images', args, {
      cwd: f.repo,
      env: { ...clean, DOCKER_CONFIG: dockerConfig, REGISTRY: registry.host, REGISTRY_RETRY_DELAY_MS: '100', ...env },
      onSpawn: options.onSpawn,
    })
  }

  async function plan(f: Fixture, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<JsonOutput> {
    const result = await run(f, ['--dry-run', '--json', ...args], env)
    expect(result.exitCode, result.stderr).toBe(0)
    return JSON.parse(result.stdout) as JsonOutput
  }

  const tagsOf = (out: JsonOutput) => out.images.filter((i) => i.kind !== 'build-image').map((i) => i.ref.slice(i.ref.lastIndexOf(':') + 1))

  it('default branch: pushes the build image, sha-<12 hex> and main; a second run changes nothing', async () => {
    const f = fixture({ ownBuildImage: true })
    const sha = git(f.repo, 'rev-parse', 'HEAD')
    const first = await run(f)
    expect(first.exitCode, first.stderr).toBe(0)
    const refs = published(first)
    const app = `${registry.host}/${f.appName}`
    expect([...refs.keys()].filter((r) => r.startsWith(app + ':')).sort()).toEqual([`${app}:main`, `${app}:sha-${sha.slice(0, 12)}`])
    const buildRef = [...refs.keys()].find((r) => r.startsWith(`${registry.host}/${f.buildName}:`))!
    expect(buildRef).toMatch(/:[0-9a-f]{40}$/)
    // The printed digests are what the registry serves.
    for (const [ref, digest] of refs) {
      const [repository, tag] = ref.slice(registry.host.length + 1).split(':')
      expect(await registry.digest(repository, tag)).toBe(digest)
    }
    expect(refs.get(`${app}:main`)).toBe(refs.get(`${app}:sha-${sha.slice(0, 12)}`))

    const second = await run(f)
    expect(second.exitCode, second.stderr).toBe(0)
    expect(published(second)).toEqual(refs)
    expect(second.stderr).not.toMatch(/: (created|updated)/)
    expect(second.stderr.match(/: unchanged/g)).toHaveLength(3)
    for (const [ref, digest] of refs) {
      const [repository, tag] = ref.slice(registry.host.length + 1).split(':')
      expect(await registry.digest(repository, tag)).toBe(digest)
    }
    expect((await registry.tags(f.appName)).sort()).toEqual(['main', `sha-${sha.slice(0, 12)}`])
  })

  it('release tag: pushes X.Y.Z and latest; the image runs and prints its version, labelled from the commit', async () => {
    const f = fixture()
    commit(f.repo, 'release')
    git(f.repo, 'tag', '-a', 'v1.2.3', '-m', 'v1.2.3')
    git(f.repo, 'checkout', '-q', 'v1.2.3')
    const sha = git(f.repo, 'rev-parse', 'HEAD')
    const result = await run(f)
    expect(result.exitCode, result.stderr).toBe(0)
    const refs = published(result)
    const app = `${registry.host}/${f.appName}`
    expect(refs.get(`${app}:1.2.3`)).toBe(refs.get(`${app}:latest`))
    expect((await registry.tags(f.appName)).sort()).toEqual(['1.2.3', 'latest'])

    // Run what the registry serves, by digest, not the local build.
    const pinned = `${app}@${refs.get(`${app}:1.2.3`)}`
    docker('rmi', `${app}:1.2.3`, `${app}:latest`)
    docker('pull', '-q', pinned)
    expect(dockerRun(pinned)).toBe('1.2.3')
    const labels = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config.Labels}}', pinned)) as Record<string, string>
    expect(labels['org.opencontainers.image.revision']).toBe(sha)
    expect(labels['org.opencontainers.image.version']).toBe('1.2.3')
    const committed = new Date(git(f.repo, 'show', '-s', '--format=%cI', 'HEAD')).toISOString().replace('.000Z', 'Z')
    expect(labels['org.opencontainers.image.created']).toBe(committed)
  })

  it('tag rules from real repositories: latest only for the highest release, never for a pre-release', async () => {
    const f = fixture()
    commit(f.repo, 'two')
    git(f.repo, 'tag', 'v2.0.0')
    git(f.repo, 'checkout', '-q', '-b', 'release-1.2', 'HEAD~1')
    commit(f.repo, 'fix')
    git(f.repo, 'tag', '-a', 'v1.2.4', '-m', 'v1.2.4')
    commit(f.repo, 'candidate')
    git(f.repo, 'tag', 'v1.3.0-rc.1')

    git(f.repo, 'checkout', '-q', 'v1.2.4')
    let out = await plan(f)
    expect(tagsOf(out)).toEqual(['1.2.4'])
    expect(out.reason).toContain('v2.0.0 is higher')
    expect(out.version).toBe('1.2.4')

    git(f.repo, 'checkout', '-q', 'v1.3.0-rc.1')
    out = await plan(f)
    expect(tagsOf(out)).toEqual(['1.3.0-rc.1'])
    expect(out.reason).toContain('pre-release')
    expect(await registry.tags(f.appName)).toEqual([])
  })

  it('a clone without the newer release tags: the versions in the registry still keep latest from moving back', async () => {
    const f = fixture()
    const app = `${registry.host}/${f.appName}`
    // 2.0.0 was released from another clone; this one (like a shallow CI checkout) lacks v2.0.0.
    docker('tag', 'busybox:latest', `${app}:2.0.0`)
    docker('push', '-q', `${app}:2.0.0`)
    docker('rmi', `${app}:2.0.0`)
    git(f.repo, 'tag', 'v1.2.4')
    git(f.repo, 'checkout', '-q', 'v1.2.4')
    const out = await plan(f)
    expect(tagsOf(out)).toEqual(['1.2.4'])
    expect(out.reason).toContain('v2.0.0 is higher')
  })

  it('other branches and pull requests push nothing unless --force-branch', async () => {
    const f = fixture({ ownBuildImage: true })
    git(f.repo, 'checkout', '-q', '-b', 'feature/x')
    const sha = commit(f.repo, 'feature')
    const result = await run(f)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('branch feature/x is not the default branch (main)')
    expect(await registry.tags(f.appName)).toEqual([])
    expect(await registry.tags(f.buildName)).toEqual([])

    const forced = await run(f, ['--force-branch'])
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect([...published(forced).keys()].filter((r) => r.includes(f.appName)).sort()).toEqual(
      [`${registry.host}/${f.appName}:feature-x`, `${registry.host}/${f.appName}:sha-${sha.slice(0, 12)}`],
    )

    // A pull request on GitHub Actions: a detached merge commit.
    git(f.repo, 'checkout', '-q', '--detach')
    const pr = await plan(f, [], { GITHUB_REF: 'refs/pull/5/merge', GITHUB_HEAD_REF: 'feature/x', GITHUB_EVENT_NAME: 'pull_request' })
    expect(pr.images).toEqual([])
    expect(pr.ref).toEqual({ kind: 'pull-request', name: 'feature/x', pullRequest: '5', source: 'GITHUB_REF' })
  })

  it('detached HEAD on CI: the branch or tag comes from GITHUB_REF / CIRCLE_BRANCH / CIRCLE_TAG', async () => {
    const f = fixture()
    const sha = commit(f.repo, 'on main')
    git(f.repo, 'tag', 'v0.9.0')
    git(f.repo, 'checkout', '-q', '--detach', 'HEAD')
    const short = `sha-${sha.slice(0, 12)}`

    // On CI, the event decides (more combinations in git-state.test.mts): a branch build
    // of a tagged commit is a branch build, a tag build a release.
    let out = await plan(f, [], { GITHUB_REF: 'refs/heads/main' })
    expect(tagsOf(out)).toEqual([short, 'main'])
    expect(out.ref).toEqual({ kind: 'branch', name: 'main', source: 'GITHUB_REF' })
    expect(out.version).toBe(short)
    out = await plan(f, [], { CIRCLE_TAG: 'v0.9.0' })
    expect(tagsOf(out)).toEqual(['0.9.0', 'latest'])
    expect(out.ref.source).toBe('CIRCLE_TAG')
    expect((await plan(f, [], { CIRCLE_BRANCH: 'feature' })).images).toEqual([])

    // A CI tag that is not HEAD is refused: publishing it from this commit would be wrong.
    git(f.repo, 'checkout', '-q', '--detach', 'HEAD~1')
    const wrong = await run(f, ['--dry-run'], { CIRCLE_TAG: 'v0.9.0' })
    expect(wrong.exitCode).toBe(1)
    expect(wrong.stderr).toMatch(/CIRCLE_TAG names tag v0\.9\.0, which is commit [0-9a-f]{12}, but HEAD is/)
  })

  it('an existing 1.2.3 with another image is refused and left untouched; latest is moved', async () => {
    const f = fixture()
    git(f.repo, 'tag', 'v1.2.3')
    git(f.repo, 'checkout', '-q', 'v1.2.3')
    const app = `${registry.host}/${f.appName}`
    // Another image already published as 1.2.3 and latest.
    const other = tempDir()
    fs.writeFileSync(path.join(other, 'Dockerfile'), `FROM busybox:latest\nRUN echo ${uniqueName('other')} > /other\n`)
    docker('build', '-q', '-t', `${app}:1.2.3`, '-t', `${app}:latest`, other)
    docker('push', '-q', `${app}:1.2.3`)
    docker('push', '-q', `${app}:latest`)
    const before = await registry.digest(f.appName, '1.2.3')
    expect(before).toBe(await registry.digest(f.appName, 'latest'))

    const dry = await run(f, ['--dry-run'])
    expect(dry.exitCode).toBe(1)
    expect(dry.stdout).toMatch(new RegExp(`${app}:1\\.2\\.3\\s+refuse\\s+${before}`))
    expect(dry.stdout).toMatch(new RegExp(`${app}:latest\\s+update\\s+${before}`))
    expect(await registry.digest(f.appName, 'latest')).toBe(before)

    const result = await run(f)
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(/refused to overwrite release tag .*:1\.2\.3 .*--allow-overwrite/)
    expect(await registry.digest(f.appName, '1.2.3')).toBe(before)
    const moved = await registry.digest(f.appName, 'latest')
    expect(moved).not.toBe(before)
    expect(published(result).get(`${app}:latest`)).toBe(moved)
    expect(published(result).has(`${app}:1.2.3`)).toBe(false)

    const overwrite = await run(f, ['--allow-overwrite'])
    expect(overwrite.exitCode, overwrite.stderr).toBe(0)
    // 1.2.3 now holds latest's image. Compared by its config: the containerd image store
    // may write the same image's manifest anew on a later push (another digest, same image).
    const imageOf = async (tag: string) => (await publishedImage(`${app}:${tag}`))?.configDigest
    expect(await imageOf('1.2.3')).toBe(await imageOf('latest'))
    expect(await registry.digest(f.appName, '1.2.3')).not.toBe(before)
    expect(overwrite.stderr).toMatch(/:1\.2\.3: overwritten/)
    // latest keeps its image when the rebuild of the final image came from the build cache
    // (always on the classic store); the containerd store at times runs its step again,
    // a new image, and then latest follows it as 1.2.3 does.
    const vertex = /^#(\d+) \[build 2\/2\] RUN/m.exec(overwrite.stderr)?.[1]
    const rebuilt = vertex !== undefined && !new RegExp(`^#${vertex} CACHED$`, 'm').test(overwrite.stderr)
    expect(overwrite.stderr).toMatch(rebuilt ? /:latest: updated/ : /:latest: unchanged/)
  })

  it('a re-run on another runner reuses the image published for the commit: the release stays, latest follows it', async () => {
    const f = fixture()
    git(f.repo, 'tag', 'v3.0.0')
    git(f.repo, 'checkout', '-q', 'v3.0.0')
    const sha = git(f.repo, 'rev-parse', 'HEAD')
    const app = `${registry.host}/${f.appName}`
    // What another runner's build of the same commit looks like: labelled the same,
    // different bytes (a rebuild differs at least in its timestamps).
    const elsewhere = tempDir()
    fs.writeFileSync(path.join(elsewhere, 'Dockerfile'), `FROM busybox:latest\nRUN mkdir /app && echo 3.0.0 > /app/version && echo ${uniqueName('elsewhere')} > /app/built\nCMD ["cat", "/app/version"]\n`)
    docker('build', '-q', '-t', `${app}:3.0.0`, '--label', `org.opencontainers.image.revision=${sha}`, '--label', 'org.opencontainers.image.version=3.0.0', elsewhere)
    docker('push', '-q', `${app}:3.0.0`)
    docker('rmi', `${app}:3.0.0`)
    const before = await registry.digest(f.appName, '3.0.0')

    const result = await run(f)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toContain(`reuse ${app}:3.0.0: this commit's image, published by an earlier run`)
    expect(result.stderr).toMatch(/:3\.0\.0: unchanged/)
    expect(await registry.digest(f.appName, '3.0.0')).toBe(before)
    expect(await registry.digest(f.appName, 'latest')).toBe(before)
    expect(published(result).get(`${app}:latest`)).toBe(before)

    // An image of another commit under the same tag is not reused: refused as usual.
    git(f.repo, 'checkout', '-q', 'main')
    commit(f.repo, 'moved tag')
    git(f.repo, 'tag', '-f', 'v3.0.0')
    git(f.repo, 'checkout', '-q', 'v3.0.0')
    const moved = await run(f)
    expect(moved.exitCode).toBe(1)
    expect(moved.stderr).toMatch(/refused to overwrite release tag/)
    expect(await registry.digest(f.appName, '3.0.0')).toBe(before)
  })

  it('retries 429 and 5xx from the registry, for its API and for docker push', async () => {
    const f = fixture()
    const manifests = (method: string) => (r: { method: string; url: string }) => r.method === method && r.url.includes(`/${f.appName}/manifests/`)
    // Our own API calls first: two 429s with Retry-After.
    const proxy = await startFaultProxy(registry.host, { status: { code: 429, retryAfterSeconds: 0, count: 2, match: manifests('GET') } })
    try {
      const result = await runScript('push-images', [], {
        cwd: f.repo,
        env: { ...Object.fromEntries(CI_VARS.map((name) => [name, ''])), DOCKER_CONFIG: dockerConfig, REGISTRY: proxy.host, REGISTRY_RETRY_DELAY_MS: '100' },
        // Then, once the final image is built, docker push's manifest upload: a 503.
        onStderr: (text) => {
          if (/✓\s+build .*VERSION=/.test(text)) proxy.setPlan({ status: { code: 503, count: 1, match: manifests('PUT') } })
        },
      })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/HTTP 429; retry 1 in/)
      expect(proxy.requests.filter((r) => r.status === 429)).toHaveLength(2)
      expect(proxy.requests.filter((r) => r.status === 503 && r.method === 'PUT')).toHaveLength(1)
      expect((await registry.tags(f.appName)).sort()).toEqual(['main', expect.stringMatching(/^sha-/)])
      for (const [ref, digest] of published(result)) {
        const [repository, tag] = ref.slice(proxy.host.length + 1).split(':')
        expect(await registry.digest(repository, tag)).toBe(digest)
      }
    } finally {
      await proxy.stop()
    }
  })

  it('--dry-run pushes nothing: the registry is unchanged', async () => {
    const f = fixture({ ownBuildImage: true })
    const snapshot = async () => {
      const catalog = (await (await registry.api('/v2/_catalog?n=1000')).json()) as { repositories: string[] }
      const mine = catalog.repositories.filter((r) => r === f.appName || r === f.buildName)
      return { mine, app: await registry.tags(f.appName), build: await registry.tags(f.buildName) }
    }
    const before = await snapshot()
    expect(before).toEqual({ mine: [], app: [], build: [] })
    const result = await run(f, ['--dry-run'])
    expect(result.exitCode, result.stderr).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^REF\s+ACTION\s+REGISTRY HAS$/)
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1).join(' '))).toEqual(['create -', 'create -', 'create -'])
    expect(result.stderr).toContain('nothing was pushed')
    expect(await snapshot()).toEqual(before)
  })

  it('a registry that refuses anonymous reads, without credentials: exit 1 naming the refused push, before any build; --dry-run plans against an empty registry', async () => {
    const user = { username: 'bot', password: 'pi-token-secret-7d2' }
    const front = await startTokenRegistry(registry.url, 'manifest-401', user)
    const f = fixture({ ownBuildImage: true })
    const refused = await run(f, [], { REGISTRY: front.host })
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain(`cannot read ${front.host}/${f.appName} without credentials (${front.host} answered HTTP 401)`)
    expect(refused.stderr).toContain(`Error: registry ${front.host} refused to let an anonymous client push (HTTP 401)`)
    expect(imagesNamed(`${front.host}/${f.buildName}`)).toEqual([]) // refused before any build

    // The reuse check and the plan read the registry as empty: everything would be created.
    const dry = await run(f, ['--dry-run', '--json'], { REGISTRY: front.host })
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stderr).toContain(`cannot read ${front.host}/${f.buildName} without credentials: BUILDING`)
    const out = JSON.parse(dry.stdout) as JsonOutput
    expect(out.images.map((i) => [i.kind, i.action])).toEqual([['build-image', 'create'], ['sha', 'create'], ['branch', 'create']])

    // With credentials a refusal is an error, not an empty registry.
    const wrong = await run(f, ['--dry-run'], { REGISTRY: front.host, REGISTRY_USERNAME: user.username, REGISTRY_PASSWORD: 'pi-token-wrong-secret' })
    expect(wrong.exitCode).toBe(1)
    expect(wrong.stderr).toContain(`Error: registry ${front.host} refused the credentials (HTTP 401)`)
  })

  it('usage and config errors exit 2 with a clear message; --help exits 0', async () => {
    const f = fixture()
    let result = await run(f, [], { REGISTRY: '' })
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('push-images needs a registry')
    expect(result.stderr).toContain('(--dry-run works without one)')
    result = await run(f, [], { REGISTRY_USERNAME: 'ci' })
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither')
    result = await run(f, ['--tag', 'x'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('unknown flag --tag')
    result = await run(f, ['--help'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/^Usage: npx zx scripts\/push-images\.mts/)
    expect(result.stdout).toContain('--allow-overwrite')
  })

  describe('with htpasswd auth', () => {
    const password = `pw-${uniqueName('secret')}`
    let authRegistry: TestRegistry
    beforeAll(async () => {
      authRegistry = await startRegistry({ auth: { username: 'ci', password } })
    })
    afterAll(async () => {
      await authRegistry?.stop()
    })

    /** Run against the auth registry, watching every descendant's argv. */
    async function runWatched(f: Fixture, env: NodeJS.ProcessEnv, args: string[] = []) {
      let watch: ReturnType<typeof watchDescendants> | undefined
      const result = await run(f, args, { REGISTRY: authRegistry.host, ...env }, { onSpawn: (child) => (watch = watchDescendants(child.pid!)) })
      const commands = watch!.stop()
      return { result, commands }
    }

    it('right credentials push; the password is in no output and in no child argv', async () => {
      const f = fixture()
      const { result, commands } = await runWatched(f, { REGISTRY_USERNAME: 'ci', REGISTRY_PASSWORD: password })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(await authRegistry.tags(f.appName)).toContain('main')
      expect(result.stdout + result.stderr).not.toContain(password)
      // The sampler saw the children (so the check means something), none with the password.
      // (`docker login --password-stdin` may be too quick to be sampled; pushes never are.)
      expect(commands.some((c) => /docker push/.test(c))).toBe(true)
      expect(commands.filter((c) => c.includes(password))).toEqual([])
    })

    it('wrong credentials fail with a message naming the registry, and the password is not shown', async () => {
      const f = fixture()
      const wrong = `wrong-${uniqueName('pw')}`
      const { result, commands } = await runWatched(f, { REGISTRY_USERNAME: 'ci', REGISTRY_PASSWORD: wrong })
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toContain(authRegistry.host)
      expect(result.stderr).toMatch(/refused the credentials/)
      expect(result.stdout + result.stderr).not.toContain(wrong)
      expect(commands.filter((c) => c.includes(wrong))).toEqual([])
      expect(await authRegistry.tags(f.appName)).toEqual([])
    })

    it('an existing docker login works without REGISTRY_* env', async () => {
      const f = fixture()
      const config = tempDir('cbs-docker-config-')
      const auth = Buffer.from(`ci:${password}`).toString('base64')
      fs.writeFileSync(path.join(config, 'config.json'), JSON.stringify({ auths: { [authRegistry.host]: { auth } } }))
      const { result, commands } = await runWatched(f, { DOCKER_CONFIG: config })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(await authRegistry.tags(f.appName)).toContain('main')
      expect(result.stdout + result.stderr).not.toContain(password)
      expect(commands.filter((c) => c.includes(password) || c.includes(auth))).toEqual([])
    })

    it('interrupted after logging in: the temporary Docker config holding the login is removed', async () => {
      const f = fixture()
      const tmp = tempDir('cbs-tmp-') // the script's TMPDIR: only its own temp files land here
      let sawConfig = false
      const result = await runScript('push-images', [], {
        cwd: f.repo,
        env: {
          ...Object.fromEntries(CI_VARS.map((name) => [name, ''])),
          TMPDIR: tmp,
          DOCKER_CONFIG: dockerConfig,
          REGISTRY: authRegistry.host,
          REGISTRY_USERNAME: 'ci',
          REGISTRY_PASSWORD: password,
        },
        onStderr: (text, child) => {
          // The build image step runs logged in: stop the script there.
          if (/build image|Step \d+\/\d+/.test(text) && child.exitCode === null && !child.killed) {
            sawConfig = fs.readdirSync(tmp).some((d) => d.startsWith('cbs-docker-config-'))
            child.kill('SIGTERM')
          }
        },
      })
      expect(result.signal ?? result.exitCode, result.stderr).toBe(143)
      expect(sawConfig).toBe(true)
      expect(fs.readdirSync(tmp).filter((d) => d.startsWith('cbs-docker-config-'))).toEqual([])
    })

    it('on GitHub Actions the password is masked with ::add-mask:: and appears nowhere else', async () => {
      const f = fixture()
      const { result } = await runWatched(f, { REGISTRY_USERNAME: 'ci', REGISTRY_PASSWORD: password, GITHUB_ACTIONS: 'true', GITHUB_REF: 'refs/heads/main' }, ['--dry-run'])
      expect(result.exitCode, result.stderr).toBe(0)
      const lines = (result.stdout + result.stderr).split('\n').filter((l) => l.includes(password))
      expect(lines).toEqual([`::add-mask::${password}`])
    })
  })

  it('logins from REGISTRY_* never land in the Docker config the script was given', () => {
    // Every run of this file used dockerConfig; the auth runs logged in to a temporary one.
    // buildx's own state is allowed: `buildx/`, and under the containerd image store (where
    // the daemon asks the client for registry tokens during a build) `.token_seed`, the
    // random seed of its session's token signing, with its lock. No config.json, no auths.
    const buildxState = ['buildx', 'cli-plugins', '.token_seed', '.token_seed.lock']
    expect(fs.readdirSync(dockerConfig).filter((f) => !buildxState.includes(f))).toEqual([])
  })
})
