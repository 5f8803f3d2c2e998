// scripts/pull-or-build.mts as CI runs it: a process, against the real Docker Engine and
// the real registry, on small fixture repositories built FROM busybox.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/core/config.mts'
import { repoInfo } from '../../lib/core/git.mts'
import { computeBuildImageTag } from '../../lib/image/content-tag.mts'
import { canExportCache, currentBuilder } from '../../lib/image/docker.mts'
import { imagesNamed, inspectImage, makeBuildRepo } from '../helpers/build-image.mts'
import { docker, dockerRun, dockerMaybe } from '../helpers/docker.mts'
import { forward, startHttpServer } from '../helpers/http.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { startTokenRegistry, type AnonymousRefusal } from '../helpers/token-registry.mts'
import { git, tempDir } from '../helpers/repo.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

interface Outcome {
  ref: string
  tag: string
  outcome: 'present' | 'pulled' | 'built' | 'pushed'
  reason?: string
  durations: { tag: number; check: number; pull?: number; build?: number; push?: number; total: number }
  digest?: string
  pushSkipped?: string
}

// Fast retries: a failing registry costs milliseconds here, not the default seconds.
const FAST = { REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '10', REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '' }

async function pullOrBuild(repo: string, registry: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult & { json?: Outcome }> {
  const result = await runScript('pull-or-build', ['--json', ...args], { cwd: repo, env: { ...FAST, REGISTRY: registry, ...env } })
  let json: Outcome | undefined
  try {
    json = JSON.parse(result.stdout)
  } catch {
    // not JSON: the test looks at exitCode and stderr
  }
  return { ...result, json }
}

const ok = (r: RunResult) => expect(r.exitCode, r.stderr).toBe(0)

describe('pull-or-build', () => {
  const { registry, name } = useRegistryScene()

  it('local-only mode: builds from exactly the inputs (modes, symlinks), labelled; then present', async () => {
    const n = name('pob-local')
    const repo = makeBuildRepo({ name: n, dockerfile: 'FROM busybox:latest\nCOPY . /ctx/\n' })
    const first = await pullOrBuild(repo, '')
    ok(first)
    const { tag } = await computeBuildImageTag(await repoInfo(repo), await loadConfig({ root: repo, env: {} }))
    expect(first.json).toMatchObject({ ref: `${n}:${tag}`, tag, outcome: 'built' })
    expect(first.stderr).toContain(`build image built: ${n}:${tag}`)

    // The context held the inputs and nothing else: no README, no config, no .git.
    const listing = dockerRun(first.json!.ref, 'sh', '-c', 'cd /ctx && find . | sort && ls -l tools/run.sh tools/version && readlink tools/link')
    const lines = listing.split('\n')
    expect(lines.slice(0, 6)).toEqual(['.', './Dockerfile.build', './tools', './tools/link', './tools/run.sh', './tools/version'])
    expect(lines[6]).toMatch(/^-rwxr-xr-x .* tools\/run.sh$/)
    expect(lines[7]).toMatch(/^-rw-r--r-- .* tools\/version$/)
    expect(lines[8]).toBe('run.sh')

    const { labels } = inspectImage(first.json!.ref)
    expect(labels['org.opencontainers.image.version']).toBe(tag)
    expect(labels['org.opencontainers.image.revision']).toBe(git(repo, 'rev-parse', 'HEAD'))
    expect(labels['dev.ci-build-scripts.inputs']).toBe('Dockerfile.build\ntools/link\ntools/run.sh\ntools/version')

    // Without --json: the ref alone on stdout, the outcome on stderr.
    const second = await runScript('pull-or-build', [], { cwd: repo, env: { REGISTRY: '' } })
    ok(second)
    expect(second.stdout).toBe(`${n}:${tag}\n`)
    expect(second.stderr).toContain(`build image present: ${n}:${tag}`)
  })

  it('a second run with unchanged inputs is `present`, with no build and no registry call', async () => {
    // A registry that answers 500 to everything and counts: the first run builds with a
    // loud warning, the second must not call it at all.
    const failing = await startHttpServer((_req, res) => void res.writeHead(500).end())
    const n = name('pob-present')
    const repo = makeBuildRepo({ name: n })
    const first = await pullOrBuild(repo, failing.host)
    ok(first)
    expect(first.json?.outcome).toBe('built')
    expect(first.stderr).toContain(`registry ${failing.host} is unavailable`)
    expect(first.stderr).toMatch(/BUILDING .* LOCALLY because the registry could not be asked/)
    expect(failing.requests.length).toBeGreaterThan(0)
    const built = inspectImage(first.json!.ref)

    failing.requests.length = 0
    const second = await pullOrBuild(repo, failing.host)
    ok(second)
    expect(second.json).toMatchObject({ ref: first.json!.ref, outcome: 'present' })
    expect(second.json?.durations.build).toBeUndefined()
    expect(second.stderr).not.toMatch(/build \S+:/) // no build step line
    expect(failing.requests).toEqual([])
    expect(inspectImage(first.json!.ref).id).toBe(built.id)
  })

  it('after removing the local image it is `pulled` from the registry, not built', async () => {
    const n = name('pob-pull')
    const repo = makeBuildRepo({ name: n })
    const pushed = await pullOrBuild(repo, registry.host, ['--push'])
    ok(pushed)
    expect(pushed.json?.outcome).toBe('pushed')
    expect(pushed.json?.digest).toBe(await registry.digest(n, pushed.json!.tag))
    const built = inspectImage(pushed.json!.ref)

    docker('rmi', pushed.json!.ref)
    const pulled = await pullOrBuild(repo, registry.host)
    ok(pulled)
    expect(pulled.json).toMatchObject({ ref: pushed.json!.ref, outcome: 'pulled' })
    expect(pulled.json?.durations.build).toBeUndefined()
    expect(pulled.stderr).toContain(`build image pulled: ${pushed.json!.ref}`)
    // Said once: why (the registry has it), then one line naming the ref (docker's own output aside).
    expect(pulled.stderr).toContain(`not local; ${registry.host} has it (sha256:`)
    expect(pulled.stderr.split('\n').filter((l) => /^\s+[✓✘!]/.test(l) && l.includes(pushed.json!.ref))).toHaveLength(1)
    expect(pulled.stderr).not.toMatch(/build \S+:/)
    // The very image that was pushed: same id, same creation time (a rebuild would differ).
    expect(inspectImage(pushed.json!.ref)).toMatchObject({ id: built.id, created: built.created })
  })

  it('changing an input gives a new tag, built (from the previous image as cache) and, with --push, in the registry', async () => {
    const n = name('pob-change')
    const repo = makeBuildRepo({ name: n })
    const before = await pullOrBuild(repo, registry.host)
    ok(before)
    expect(before.json?.outcome).toBe('built')

    fs.writeFileSync(path.join(repo, 'tools/version'), '2\n') // uncommitted: the tag is content-addressed
    const after = await pullOrBuild(repo, registry.host)
    ok(after)
    expect(after.json?.tag).not.toBe(before.json?.tag)
    expect(after.json?.outcome).toBe('built')
    // What the builder was offered is not claimed (what it reused: tests/e2e/first-hour.test.mts).
    expect(after.stderr).not.toContain('cache from')
    expect(dockerRun(after.json!.ref, 'cat', '/version')).toBe('2')
    expect(await registry.digest(n, after.json!.tag)).toBeNull()

    fs.writeFileSync(path.join(repo, 'tools/version'), '3\n')
    const pushed = await pullOrBuild(repo, registry.host, ['--push'])
    ok(pushed)
    expect(pushed.json?.outcome).toBe('pushed')
    expect(pushed.json?.durations.build).toBeGreaterThan(0)
    // And, where the engine can export one, its full registry cache beside it.
    const exports = await canExportCache(await currentBuilder())
    expect((await registry.tags(n)).sort()).toEqual(exports ? [pushed.json!.tag, `${pushed.json!.tag}-cache`] : [pushed.json!.tag])
    expect(await registry.digest(n, pushed.json!.tag)).toBe(pushed.json!.digest)
  })

  it('--push of an image the registry got meanwhile skips the push', async () => {
    const n = name('pob-race')
    const repo = makeBuildRepo({ name: n })
    const first = await pullOrBuild(repo, registry.host, ['--push'])
    ok(first)
    expect(first.json?.outcome).toBe('pushed')
    // Present locally and in the registry: --push has nothing to do.
    const again = await pullOrBuild(repo, registry.host, ['--push'])
    ok(again)
    expect(again.json?.outcome).toBe('present')
    expect(again.stderr).not.toContain('push ')
  })

  describe('with an authenticating registry', () => {
    const auth = { username: 'ci', password: 'pob-right-secret' }
    let secured: TestRegistry
    beforeAll(async () => {
      secured = await startRegistry({ auth })
    })
    afterAll(async () => secured?.stop())

    it('wrong credentials: exit 1, the registry named, the password printed nowhere', async () => {
      const n = name('pob-auth')
      const repo = makeBuildRepo({ name: n })
      const wrong = 'pob-wrong-secret-' + Math.random().toString(36).slice(2)
      const result = await pullOrBuild(repo, secured.host, ['--push'], { REGISTRY_USERNAME: 'ci', REGISTRY_PASSWORD: wrong })
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toContain(`registry ${secured.host} refused the credentials (HTTP 401)`)
      expect(result.stderr).toContain('REGISTRY_USERNAME and REGISTRY_PASSWORD')
      expect(result.stdout + result.stderr).not.toContain(wrong)
      expect(imagesNamed(n)).toEqual([]) // nothing built
    })

    it('right credentials from the env: pushed, then pulled (docker gets them on stdin, ~/.docker untouched)', async () => {
      const n = name('pob-auth-ok')
      const repo = makeBuildRepo({ name: n })
      const home = tempDir('cbs-home-')
      const env = { REGISTRY_USERNAME: auth.username, REGISTRY_PASSWORD: auth.password, HOME: home, DOCKER_CONFIG: '' }
      const pushed = await pullOrBuild(repo, secured.host, ['--push'], env)
      ok(pushed)
      expect(pushed.json?.outcome).toBe('pushed')
      expect(await secured.digest(n, pushed.json!.tag)).toBe(pushed.json!.digest)
      docker('rmi', pushed.json!.ref)
      const pulled = await pullOrBuild(repo, secured.host, [], env)
      ok(pulled)
      expect(pulled.json?.outcome).toBe('pulled')
      expect(pulled.stdout + pulled.stderr).not.toContain(auth.password)
      // HOME holds nothing but ~/.docker/buildx, where buildx keeps its own state (builder
      // activity): that is allowed. No ~/.docker/config.json (where `docker login` stores a
      // credential), nothing else in ~/.docker, and no file anywhere under HOME holds the password.
      expect(fs.readdirSync(home).filter((e) => e !== '.docker')).toEqual([])
      const dotDocker = path.join(home, '.docker')
      if (fs.existsSync(dotDocker)) expect(fs.readdirSync(dotDocker).filter((e) => e !== 'buildx')).toEqual([])
      const secretForms = [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64')]
      for (const file of filesUnder(home)) {
        const text = fs.readFileSync(file, 'latin1')
        for (const form of secretForms) expect(text, `${file} holds the credential`).not.toContain(form)
      }
    })

    it('credentials from the Docker config (`docker login`) are used for the manifest check', async () => {
      const n = name('pob-auth-config')
      const repo = makeBuildRepo({ name: n })
      const config = tempDir('cbs-docker-config-')
      fs.writeFileSync(path.join(config, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } } }))
      const result = await pullOrBuild(repo, secured.host, ['--push'], { DOCKER_CONFIG: config })
      ok(result)
      expect(result.json?.outcome).toBe('pushed')
    })
  })

  // GHCR, Docker Hub and Artifactory answer an anonymous read of a private (or
  // nonexistent) repository with 401/403, not 404: a newcomer, a fork's pull request, a
  // contributor of a project whose image is private. They build locally and stay green;
  // with credentials, a refusal is an error (it must not silently cost a rebuild).
  describe.each<[string, AnonymousRefusal]>([
    ['the token endpoint answers 401 (GHCR)', 'token'],
    ['an anonymous token, then 401 on the manifest', 'manifest-401'],
    ['an anonymous token, then 403 on the manifest (Artifactory)', 'manifest-403'],
  ])('a registry that refuses anonymous reads: %s', (_title, refuse) => {
    const user = { username: 'bot', password: `pob-token-secret-${refuse}` }

    it('without credentials: built locally with a loud warning, exit 0, the reason in the JSON', async () => {
      const front = await startTokenRegistry(registry.url, refuse, user)
      const n = name('pob-anon')
      const repo = makeBuildRepo({ name: n })
      const result = await pullOrBuild(repo, front.host)
      ok(result)
      expect(result.json).toMatchObject({ ref: expect.stringMatching(new RegExp(`^${front.host}/${n}:`)), outcome: 'built', reason: 'not-readable-without-credentials' })
      expect(result.stderr).toContain(`registry ${front.host} refused an anonymous read of ${n} (HTTP ${refuse === 'manifest-403' ? 403 : 401})`)
      expect(result.stderr).toContain(
        `cannot read ${front.host}/${n} without credentials: BUILDING ${result.json!.ref} LOCALLY; set REGISTRY_USERNAME and REGISTRY_PASSWORD to use the shared image`,
      )
      expect(result.stderr).toContain('because the registry refused to let us read it without credentials')
      expect(imagesNamed(`${front.host}/${n}`)).toEqual([result.json!.ref])
    })

    it('wrong credentials: exit 1 naming the registry and the read, nothing built', async () => {
      const front = await startTokenRegistry(registry.url, refuse, user)
      const n = name('pob-anon-wrong')
      const repo = makeBuildRepo({ name: n })
      const result = await pullOrBuild(repo, front.host, [], { REGISTRY_USERNAME: user.username, REGISTRY_PASSWORD: `${user.password}-wrong` })
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toContain(`Error: registry ${front.host} refused the credentials (HTTP 401)`)
      expect(result.stderr).toContain('with credentials that may read this repository')
      expect(result.stderr).not.toContain('LOCALLY')
      expect(imagesNamed(`${front.host}/${n}`)).toEqual([])
    })

    it('right credentials: pulled', async () => {
      const front = await startTokenRegistry(registry.url, refuse, user)
      const n = name('pob-anon-right')
      const repo = makeBuildRepo({ name: n })
      // The image is in the registry behind the front (pushed there directly).
      const pushed = await pullOrBuild(repo, registry.host, ['--push'])
      ok(pushed)
      expect(pushed.json?.outcome).toBe('pushed')
      const built = inspectImage(pushed.json!.ref)
      docker('rmi', pushed.json!.ref)
      const pulled = await pullOrBuild(repo, front.host, [], { REGISTRY_USERNAME: user.username, REGISTRY_PASSWORD: user.password })
      ok(pulled)
      expect(pulled.json).toMatchObject({ ref: `${front.host}/${n}:${pushed.json!.tag}`, outcome: 'pulled' })
      expect(pulled.json?.reason).toBeUndefined()
      expect(pulled.json?.durations.build).toBeUndefined()
      // The very image pushed: a rebuild would have another creation time.
      expect(inspectImage(pulled.json!.ref)).toMatchObject({ id: built.id, created: built.created })
    })
  })

  it('--push without credentials to a registry that refuses anonymous reads: a warning, exit 0; --require-push: exit 1', async () => {
    const front = await startTokenRegistry(registry.url, 'token', { username: 'bot', password: 'pob-token-push-secret' })
    const n = name('pob-anon-push')
    const repo = makeBuildRepo({ name: n })
    const green = await pullOrBuild(repo, front.host, ['--push'])
    ok(green)
    expect(green.json).toMatchObject({ outcome: 'built', reason: 'not-readable-without-credentials', pushSkipped: 'refused for credentials' })
    expect(green.stderr).toContain(`cannot read ${front.host}/${n} without credentials: BUILDING`)
    expect(green.stderr).toContain(`not pushing ${green.json!.ref}: registry ${front.host} refused to let an anonymous client push (HTTP 401)`)
    expect(green.stderr).toContain('--require-push')
    expect(await registry.tags(n)).toEqual([])

    // Present now: --require-push still cannot push, and says so.
    const strict = await pullOrBuild(repo, front.host, ['--require-push'])
    expect(strict.exitCode).toBe(1)
    expect(strict.stderr).toContain(`Error: registry ${front.host} refused to let an anonymous client push (HTTP 401)`)
    docker('rmi', green.json!.ref)
    const strictCold = await pullOrBuild(repo, front.host, ['--require-push'])
    expect(strictCold.exitCode).toBe(1)
    expect(strictCold.stderr).toContain(`Error: registry ${front.host} refused to let an anonymous client push (HTTP 401)`)
    expect(await registry.tags(n)).toEqual([])
  })

  it('a push refused for missing credentials (a fork) warns and stays green, unless --require-push', async () => {
    // Reads pass through to the real registry; writes are refused as a registry does
    // for a client without credentials.
    const readOnly = await startHttpServer(async (req, res) => {
      if (req.method === 'GET' || req.method === 'HEAD') return forward(req, res, registry.url)
      res.writeHead(401, { 'www-authenticate': 'Basic realm="read-only"', 'content-type': 'application/json' })
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }))
    })
    const n = name('pob-fork')
    const repo = makeBuildRepo({ name: n })
    const green = await pullOrBuild(repo, readOnly.host, ['--push'])
    ok(green)
    expect(green.json).toMatchObject({ outcome: 'built', pushSkipped: 'refused for credentials' })
    expect(green.stderr).toContain(`not pushing ${green.json!.ref}: registry ${readOnly.host} refused to let an anonymous client push (HTTP 401)`)
    expect(green.stderr).toContain('--require-push')
    // Refused before `docker push` ran (the daemon would retry the upload for a minute).
    expect(readOnly.requests.filter((r) => r.method === 'POST')).toHaveLength(1)

    docker('rmi', green.json!.ref)
    const strict = await pullOrBuild(repo, readOnly.host, ['--require-push'])
    expect(strict.exitCode).toBe(1)
    expect(strict.stderr).toContain(`Error: registry ${readOnly.host} refused to let an anonymous client push`)
  })

  it('a Dockerfile.build that copies a file outside inputs fails, saying what to add', async () => {
    const n = name('pob-outside')
    const repo = makeBuildRepo({
      name: n,
      dockerfile: 'FROM busybox:latest\nCOPY tools /opt/tools\nCOPY secret.txt /etc/secret.txt\n',
      files: { 'secret.txt': 'not covered by the tag\n' },
    })
    const result = await pullOrBuild(repo, '')
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('Dockerfile.build copies "secret.txt", which is not in buildImage.inputs: add it to "inputs" in build.config.json')
    expect(imagesNamed(n)).toEqual([])
  })

  it('a COPY the static check cannot resolve (an ARG without a default) of a file outside inputs: the same message, from the build\'s error', async () => {
    // The check before the build skips a source with an unknown variable; docker substitutes
    // an empty string and the builder fails (its own words differ: BuildKit says `"/secret.txt":
    // not found`, the legacy builder `stat secret.txt: file does not exist`).
    const n = name('pob-outside-arg')
    const repo = makeBuildRepo({
      name: n,
      dockerfile: 'FROM busybox:latest\nARG DIR\nCOPY tools /opt/tools\nCOPY ${DIR}secret.txt /etc/secret.txt\n',
      files: { 'secret.txt': 'not covered by the tag\n' },
    })
    const result = await pullOrBuild(repo, '')
    expect(result.exitCode, result.stderr).toBe(2)
    expect(result.stderr).toContain('Dockerfile.build copies "secret.txt", which is not in buildImage.inputs: add it to "inputs" in build.config.json')
    expect(imagesNamed(n)).toEqual([])
  })

  it('fails fast, naming the fix, when the Docker daemon is not reachable', async () => {
    const repo = makeBuildRepo({ name: name('pob-nodaemon') })
    const result = await pullOrBuild(repo, '', [], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' })
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('Docker daemon is not reachable')
    expect(result.stderr).toContain('start it or set DOCKER_HOST')
    // Fast, without a clock (a loaded machine stretches any bound): the dead socket is
    // read from the CLI's own answer, not waited out to the check's timeout, and nothing
    // is retried.
    expect(result.stderr).toContain('/nonexistent/docker.sock')
    expect(result.stderr).not.toContain('no answer within')
    expect(result.stderr).not.toMatch(/; retry \d+ in /)
    expect(dockerMaybe('info', '--format', '{{.ServerVersion}}')).toBeTruthy()
  })
})

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
}
