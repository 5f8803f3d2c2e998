// Reliability under faults: the scripts as processes, the real registry behind the fault
// proxy (tests/helpers/fault-proxy.mts), the real Docker Engine. Transient faults are
// retried and the run succeeds; retries that run out end the way each script promises
// (pull-or-build builds locally and stays green, push-images fails naming the registry,
// with no half-pushed tag); a Docker daemon that is not there is an error in seconds.
// Retries are fast here (REGISTRY_RETRY_DELAY_MS): the backoff is the same code, shorter.
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/core/config.mts'
import { repoInfo } from '../../lib/core/git.mts'
import { computeBuildImageTag } from '../../lib/image/content-tag.mts'
import { makeBuildRepo } from '../helpers/build-image.mts'
import { docker, dockerMaybe, uniqueName } from '../helpers/docker.mts'
import { checkoutState, pickEnv, pickFixture } from '../helpers/cherry-fixture.mts'
import { startFaultProxy, type FaultPlan, type FaultProxy } from '../helpers/fault-proxy.mts'
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.mts'
import { containersRunning, leftInTmp, scriptTmpDir } from '../helpers/leftovers.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'
import { runScript, type RunOptions, type RunResult } from '../helpers/run.mts'

// Two retries 50 ms apart (then 100 ms): each fault below costs milliseconds, not seconds.
// No credentials (the suite's REGISTRY_PASSWORD alone means none; push-images wants both or neither).
const FAST = { REGISTRY_RETRIES: '2', REGISTRY_RETRY_DELAY_MS: '50', REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '' }
// CI variables of the machine running the tests must not decide what push-images publishes.
const NOT_CI = Object.fromEntries(['CI', 'GITHUB_ACTIONS', 'GITHUB_REF', 'GITHUB_HEAD_REF', 'GITHUB_EVENT_NAME', 'GITHUB_EVENT_PATH', 'CIRCLECI', 'CIRCLE_TAG', 'CIRCLE_BRANCH', 'CIRCLE_PULL_REQUEST'].map((n) => [n, '']))

const manifests = (method: string) => (r: { method: string; url: string }) => r.method === method && r.url.includes('/manifests/')

// The tests are independent (each has its own proxy, repository and names) and mostly wait
// (on Docker, on Retry-After, on timeouts): they run concurrently.
describe.concurrent('registry faults', () => {
  const scene = useRegistryScene()
  const { registry, name } = scene
  /** A fault proxy in front of the registry, stopped after the file. */
  const proxy = (plan: FaultPlan = {}) => scene.proxy(plan, 5 * 60_000)

  /** Run a script in `repo` with fast retries and an empty TMPDIR, which must be empty again afterwards. */
  async function run(script: string, repo: string, args: string[], env: NodeJS.ProcessEnv, options: Pick<RunOptions, 'onStderr'> = {}): Promise<RunResult> {
    const tmp = scriptTmpDir()
    const result = await runScript(script, args, { cwd: repo, env: { ...NOT_CI, ...FAST, TMPDIR: tmp, ...env }, ...options })
    expect(leftInTmp(tmp), 'temp files left behind').toEqual([])
    return result
  }

  /**
   * A build image repository whose image is already in the registry under its content
   * tag, and not in the local daemon. Its top layer (300 kB of noise) exists nowhere else,
   * so a pull has to download it; `layer` is its digest.
   *
   * The layer is committed from a container, not built: a build under BuildKit would keep
   * it in the build cache after `docker rmi`, and the pull would then download nothing
   * (the fault on the layer never hit). A commit leaves nothing behind once the image is removed.
   */
  async function published(prefix: string, via: FaultProxy, config: Record<string, unknown> = {}) {
    const n = name(prefix)
    const repo = makeBuildRepo({ name: n, config })
    const { tag } = await computeBuildImageTag(await repoInfo(repo), await loadConfig({ root: repo, env: { REGISTRY: via.host } }))
    const direct = `${registry.host}/${n}:${tag}`
    const noise = path.join(tempDir('cbs-noise-'), 'noise')
    fs.writeFileSync(noise, crypto.randomBytes(300_000))
    docker('create', '--name', n, 'busybox:latest', 'true')
    try {
      docker('cp', noise, `${n}:/noise`)
      docker('commit', n, direct)
    } finally {
      docker('rm', '-f', n)
    }
    docker('push', '-q', direct)
    docker('rmi', direct)
    expect(dockerMaybe('image', 'inspect', direct), 'the published image is still local').toBeNull()
    const manifest = (await (await registry.api(`/v2/${n}/manifests/${tag}`)).json()) as { layers: Array<{ digest: string }> }
    return { n, repo, tag, ref: `${via.host}/${n}:${tag}`, layer: manifest.layers[manifest.layers.length - 1].digest }
  }

  describe('pull-or-build', () => {
    it('429 with Retry-After on the manifest check, on a slow registry: waits as told, retries, then pulls', async () => {
      const p = await proxy()
      const { repo, ref } = await published('rel-pob-429', p)
      p.setPlan({ latencyMs: 150, status: { code: 429, retryAfterSeconds: 1, count: 2, match: manifests('HEAD') } })
      const started = Date.now()
      const result = await run('pull-or-build', repo, [], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stdout).toBe(`${ref}\n`)
      expect(result.stderr).toMatch(/HTTP 429; retry 1 in 1\.0s/)
      expect(result.stderr).toMatch(/HTTP 429; retry 2 in 1\.0s/)
      expect(result.stderr).toContain(`build image pulled: ${ref}`)
      expect(p.requests.filter((r) => r.status === 429)).toHaveLength(2)
      expect(Date.now() - started).toBeGreaterThan(2000) // Retry-After was honoured
      expect(dockerMaybe('image', 'inspect', ref)).toBeTruthy()
    })

    it('500 on the first manifest checks, then a connection reset in the middle of a layer download: retried, pulled', async () => {
      const p = await proxy()
      const { repo, ref, layer } = await published('rel-pob-reset', p)
      p.setPlan({ status: { code: 500, count: 2, match: manifests('HEAD') }, reset: { afterBytes: 50_000, count: 1, match: (r) => r.method === 'GET' && r.url.endsWith(`/blobs/${layer}`) } })
      const result = await run('pull-or-build', repo, [], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/HTTP 500; retry 2 in/)
      expect(result.stderr).toContain(`build image pulled: ${ref}`)
      expect(p.requests.filter((r) => r.status === 'reset')).toHaveLength(1)
      expect(dockerMaybe('image', 'inspect', ref)).toBeTruthy()
    })

    it('connections refused, then the registry is back: retried; built and pushed, the tag complete', async () => {
      const p = await proxy({ refuse: true })
      const n = name('rel-pob-refused')
      const repo = makeBuildRepo({ name: n })
      const result = await run('pull-or-build', repo, ['--push', '--json'], { REGISTRY: p.host }, {
        onStderr: (text) => {
          if (text.includes('retry 1 in')) p.setPlan({})
        },
      })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/retry 1 in/)
      expect(p.requests.some((r) => r.status === 'refused')).toBe(true)
      const json = JSON.parse(result.stdout)
      expect(json.outcome).toBe('pushed')
      expect(await registry.tagState(n, json.tag)).toBe('complete')
    })

    it('the registry unreachable through every retry: builds locally with a loud warning, pushes nothing, exit 0 (--require-push: exit 1)', async () => {
      const p = await proxy({ refuse: true })
      const n = name('rel-pob-down')
      const repo = makeBuildRepo({ name: n })
      const result = await run('pull-or-build', repo, ['--push', '--json'], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(0)
      const json = JSON.parse(result.stdout)
      expect(json).toMatchObject({ outcome: 'built', pushSkipped: expect.stringContaining(`registry ${p.host} is unavailable`) })
      expect(result.stderr).toMatch(new RegExp(`registry ${p.host.replace(/\./g, '\\.')} is unavailable: HEAD .*manifests.*: \\S+`))
      expect(result.stderr).toContain(`BUILDING ${json.ref} LOCALLY because the registry could not be asked`)
      expect(result.stderr).toContain(`not pushing ${json.ref}`)
      expect(p.requests.filter((r) => r.status === 'refused').length).toBeGreaterThanOrEqual(3) // the first try and two retries
      expect(await registry.tagState(n, json.tag)).toBe('absent')

      // With --require-push the push must happen: now the registry being down fails the run.
      const strict = await run('pull-or-build', repo, ['--require-push'], { REGISTRY: p.host })
      expect(strict.exitCode, strict.stderr).toBe(1)
      expect(strict.stderr).toMatch(new RegExp(`Error: registry ${p.host.replace(/\./g, '\\.')} is unavailable: `))
    })

    it('the pull fails on every retry: builds locally with a loud warning, exit 0', async () => {
      const p = await proxy()
      const { repo, ref } = await published('rel-pob-pullfail', p)
      // Our HEAD sees the image; docker pull's GET of the manifest (by digest, after its own HEAD) fails every time.
      p.setPlan({ status: { code: 500, match: manifests('GET') } })
      const result = await run('pull-or-build', repo, ['--json'], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toMatchObject({ ref, outcome: 'built' })
      expect(result.stderr).toMatch(/docker pull .* failed: .*500/)
      expect(result.stderr).toContain(`BUILDING ${ref} LOCALLY because the pull failed`)
      expect(p.requests.filter((r) => r.status === 500).length).toBeGreaterThanOrEqual(3)
    })

    it('a Dockerfile.build step that fails: exit 1 with the build\'s error, no container left behind', async () => {
      const n = name('rel-pob-buildfail')
      const marker = `failing-step-of-${n}`
      const repo = makeBuildRepo({ name: n, dockerfile: `FROM busybox:latest\nCOPY tools /opt/tools\nRUN echo ${marker} && exit 3\n` })
      const result = await run('pull-or-build', repo, [], { REGISTRY: '' })
      expect(result.exitCode, result.stderr).toBe(1)
      // The failing step, its exit code and its last output, the same under both builders.
      expect(result.stderr).toContain(`Error: docker build failed at step [3/3] RUN echo ${marker} && exit 3: exit code 3\n  ${marker}\n`)
      expect(containersRunning(marker)).toEqual([])
    })
  })

  describe('test-and-build', () => {
    it('500 on the first manifest checks: retried, the image pulled, the steps run', async () => {
      const p = await proxy()
      const { repo, ref } = await published('rel-tab-500', p, { steps: { test: ['touch', 'test-ran'], build: ['touch', 'build-ran'] } })
      p.setPlan({ status: { code: 503, count: 2, match: manifests('HEAD') } })
      const result = await run('test-and-build', repo, [], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/HTTP 503; retry 2 in/)
      expect(result.stderr).toContain(`build image pulled: ${ref}`)
      expect(result.stderr).toMatch(/build:\s+touch build-ran/)
    })

    it('the registry unreachable: builds the image locally with a loud warning, runs the steps, exit 0', async () => {
      const p = await proxy({ refuse: true })
      const n = name('rel-tab-down')
      const repo = makeBuildRepo({ name: n, config: { steps: { test: ['touch', 'test-ran'] } } })
      const result = await run('test-and-build', repo, [], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/BUILDING \S+ LOCALLY because the registry could not be asked/)
      expect(result.stderr).toMatch(/test:\s+touch test-ran/)
    })
  })

  describe('push-images', () => {
    function appRepo() {
      const buildName = name('rel-pi-build')
      const appName = name('rel-pi-app')
      const repo = makeRepo(
        {
          'Dockerfile.build': 'FROM busybox:latest\nRUN echo toolchain > /toolchain.txt\n',
          Dockerfile: `ARG BUILD_IMAGE\nFROM \${BUILD_IMAGE}\nARG VERSION\nRUN echo "$VERSION" > /version\n`,
        },
        { buildImage: { name: buildName, inputs: ['Dockerfile.build'] }, image: { name: appName } },
      )
      const sha = git(repo, 'rev-parse', 'HEAD').slice(0, 12)
      return { repo, buildName, appName, appTags: ['main', `sha-${sha}`] }
    }

    it('a connection reset in the middle of a layer upload: retried, every tag published complete', async () => {
      const p = await proxy()
      const f = appRepo()
      p.setPlan({ reset: { afterBytes: 0, count: 1, match: (r) => (r.method === 'PATCH' || r.method === 'PUT') && r.url.includes(`/${f.appName}/blobs/uploads/`) } })
      const result = await run('push-images', f.repo, [], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(p.requests.filter((r) => r.status === 'reset')).toHaveLength(1)
      for (const tag of f.appTags) expect(await registry.tagState(f.appName, tag)).toBe('complete')
    })

    it('the registry unreachable: exit 1 naming the registry and the last error, before any build', async () => {
      const p = await proxy({ refuse: true })
      const f = appRepo()
      const result = await run('push-images', f.repo, [], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(1)
      const host = p.host.replace(/\./g, '\\.')
      expect(result.stderr).toMatch(new RegExp(`Error: registry ${host} is unavailable: GET ${host}/v2/${f.appName}/manifests/\\S+: \\S+`))
      expect(result.stderr).not.toMatch(/Step \d+\/\d+/) // nothing was built
      expect(result.stdout).toBe('')
    })

    it('every upload of the final image\'s manifest fails: exit 1 naming the registry and the error; no half-pushed tag', async () => {
      const p = await proxy()
      const f = appRepo()
      p.setPlan({ status: { code: 500, match: (r) => r.method === 'PUT' && r.url.includes(`/${f.appName}/manifests/`) } })
      const result = await run('push-images', f.repo, [], { REGISTRY: p.host })
      expect(result.exitCode, result.stderr).toBe(1)
      expect(result.stderr).toMatch(new RegExp(`Error: docker push ${p.host.replace(/\./g, '\\.')}/${f.appName}:\\S+ failed: .*500`))
      // The build image went first and is complete; the final image's tags are absent, never half there.
      const buildRef = result.stdout.split('\n').find((l) => l.includes(`/${f.buildName}:`))?.split('@')[0]
      expect(buildRef, result.stdout).toBeDefined()
      const buildTag = buildRef!.slice(buildRef!.lastIndexOf(':') + 1)
      expect(await registry.tagState(f.buildName, buildTag)).toBe('complete')
      for (const tag of f.appTags) expect(await registry.tagState(f.appName, tag)).toBe('absent')
      expect(p.requests.filter((r) => r.status === 500).length).toBeGreaterThanOrEqual(3) // the first push and two retries
    })
  })
})

// cherry-pick talks to GitHub, not to the registry: the same proxy goes in front of the
// GitHub stand-in's API (git over HTTP stays direct).
describe.concurrent('GitHub API faults (cherry-pick)', () => {
  const TOKEN = process.env.GITHUB_TOKEN!
  let gh: GitHubServer
  const proxies: FaultProxy[] = []
  beforeAll(async () => {
    gh = await startGitHubServer({ tokens: { [TOKEN]: 'cherry-bot' } })
  })
  afterAll(async () => {
    for (const p of proxies) await p.stop()
    await gh?.close()
  })

  async function pickThrough(plan: FaultPlan) {
    const f = await pickFixture(gh)
    const p = await startFaultProxy(new URL(gh.url).host, plan, 5 * 60_000)
    proxies.push(p)
    const before = checkoutState(f.checkout)
    const tmp = scriptTmpDir()
    const result = await runScript('cherry-pick', ['--pr', String(f.pr), '--to', 'release-1.0', '--json'], {
      cwd: f.checkout,
      env: { ...pickEnv(gh, f, TOKEN), GITHUB_API_URL: `${p.url}/api/v3`, TMPDIR: tmp },
    })
    expect(checkoutState(f.checkout)).toEqual(before)
    expect(leftInTmp(tmp)).toEqual([])
    return { f, p, result }
  }

  it('429 with Retry-After from the API: waits, retries, the pick done', async () => {
    const { f, p, result } = await pickThrough({ status: { code: 429, retryAfterSeconds: 1, count: 1, match: (r) => r.url.startsWith('/api/v3/') } })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/GitHub API GET \/repos\/\S+\/pulls\/\d+: .*; retry 1 in 1\.0s/)
    expect(JSON.parse(result.stdout).targets[0]).toMatchObject({ branch: 'release-1.0', status: 'created' })
    expect(p.requests.filter((r) => r.status === 429)).toHaveLength(1)
    expect(git(f.bare, 'branch', '--list', 'cherry-pick/*')).not.toBe('')
  })

  it('the API unreachable through every retry: exit 1 naming the request and the last error, nothing pushed', async () => {
    const { f, result } = await pickThrough({ refuse: true })
    expect(result.exitCode, result.stderr).toBe(1)
    expect(result.stderr).toMatch(/retry 2 in 2\.0s/)
    expect(result.stderr).toMatch(new RegExp(`Error: GitHub API GET /repos/${f.name}/pulls/${f.pr}: \\S+`))
    expect(result.stderr).not.toMatch(/^\s+at /m) // a message, not a stack trace
    expect(git(f.bare, 'branch', '--list', 'cherry-pick/*')).toBe('')
  })
})

// Not concurrently: these measure how long a script takes to give up (generously: a hang
// is what they rule out, not a slow machine).
describe('the Docker daemon unreachable', () => {
  const NO_DAEMON = { DOCKER_HOST: 'unix:///nonexistent/docker.sock', REGISTRY: '' }

  it.each(['test-and-build', 'push-images'])('%s: exit 1 within seconds, saying so', async (script) => {
    const n = uniqueName('rel-nodaemon')
    const repo = makeBuildRepo({ name: n, files: { Dockerfile: 'FROM busybox:latest\n' }, config: { steps: { test: ['true'] }, image: { name: `${n}-app` } } })
    const started = Date.now()
    const result = await runScript(script, [], { cwd: repo, env: { ...NOT_CI, ...FAST, ...NO_DAEMON, ...(script === 'push-images' ? { REGISTRY: '127.0.0.1:9', GITHUB_REF: 'refs/heads/main' } : {}) } })
    expect(result.exitCode, result.stderr).toBe(1)
    expect(result.stderr).toContain('Docker daemon is not reachable')
    expect(result.stderr).toContain('start it or set DOCKER_HOST')
    expect(Date.now() - started).toBeLessThan(30_000)
  })

  it('a daemon that accepts connections and never answers: pull-or-build, test-and-build and push-images give up after 10 s', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => void sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const host = `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`
      const n = uniqueName('rel-hung')
      const repo = makeBuildRepo({ name: n, files: { Dockerfile: 'FROM busybox:latest\n' }, config: { steps: { test: ['true'] }, image: { name: `${n}-app` } } })
      const started = Date.now()
      const results = await Promise.all(
        ['pull-or-build', 'test-and-build', 'push-images'].map((script) =>
          runScript(script, [], { cwd: repo, env: { ...NOT_CI, ...FAST, DOCKER_HOST: host, REGISTRY: script === 'push-images' ? '127.0.0.1:9' : '', GITHUB_REF: 'refs/heads/main' } }),
        ),
      )
      for (const result of results) {
        expect(result.exitCode, result.stderr).toBe(1)
        expect(result.stderr).toContain('Docker daemon is not reachable (no answer within 10s)')
      }
      expect(Date.now() - started).toBeLessThan(60_000)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })
})
