// REGISTRY_USERNAME / REGISTRY_PASSWORD go to the configured registry's host and the
// token service that registry names, nowhere else. The attacks: a CI file naming another
// host in front of the image (`image-tag --check-refs` asks the host a reference names),
// an upload Location on another host, a redirect to a host that asks for credentials.
// Local HTTP servers that log every Authorization header they get stand for the
// attacker's host; the real registry stands behind the fronts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkPushAccess, manifestDigest } from '../../lib/image/registry.mts'
import { requireDocker, uniqueName } from '../helpers/docker.mts'
import { forward, startHttpServer, type TestServer } from '../helpers/http.mts'
import { pushImage } from '../helpers/registry-images.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { makeRepo, tempDir } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

const USER = 'bot'
const PASSWORD = `cred-test-${Math.random().toString(36).slice(2)}`
const BASIC = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64')

/** Every Authorization header (and token request query) a server got that carries the password. */
function leaksTo(server: TestServer): string[] {
  return server.requests.map((r) => `${r.method} ${r.url} ${r.headers.authorization ?? ''}`).filter((line) => line.includes(BASIC) || line.includes(PASSWORD))
}

/**
 * A host that wants credentials: 401 with a Basic challenge on the API, or a Bearer
 * challenge whose realm is itself (its token endpoint then wants Basic credentials).
 */
function credentialTrap(scheme: 'basic' | 'bearer'): Promise<TestServer> {
  let self: TestServer
  const server = startHttpServer((req, res) => {
    if (req.url?.startsWith('/token')) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="trap"' }).end()
    const challenge = scheme === 'basic' ? 'Basic realm="trap"' : `Bearer realm="${self.url}/token",service="trap"`
    res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}')
  })
  return server.then((s) => (self = s))
}

let registry: TestRegistry
beforeAll(async () => {
  requireDocker(['busybox:latest'])
  registry = await startRegistry()
})
afterAll(async () => {
  await registry?.stop()
})

describe('image-tag --check-refs', () => {
  const baseEnv = () => ({ REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD, DOCKER_CONFIG: tempDir(), REGISTRY_RETRIES: '0' })

  /** A repository whose CircleCI config names the build image behind `prefix`. */
  function project(name: string, prefix: string) {
    const circle = (ref: string) => `version: 2.1\njobs:\n  publish:\n    docker:\n      - image: ${ref}\n    steps: [checkout]\n`
    const root = makeRepo({ 'Dockerfile.build': `FROM busybox:latest\n# ${name}\n`, '.circleci/config.yml': circle(`${prefix}/ghcr.io/acme/${name}:${'0'.repeat(40)}`) }, { buildImage: { name, inputs: ['Dockerfile.build'] } })
    return root
  }

  it.each(['basic', 'bearer'] as const)('a CI file naming another host in front of the image: that host never gets the credentials (%s challenge)', async (scheme) => {
    const trap = await credentialTrap(scheme)
    const name = uniqueName('cred-build')
    const root = project(name, trap.host)
    // The reference as the configured registry's image, behind the trap's host, at the current tag.
    await runScript('image-tag', ['--write-refs'], { cwd: root, env: { ...baseEnv(), REGISTRY: 'ghcr.io/acme' } })
    const r = await runScript('image-tag', ['--check-refs'], { cwd: root, env: { ...baseEnv(), REGISTRY: 'ghcr.io/acme' } })
    expect(trap.requests.length).toBeGreaterThan(0) // it was asked, anonymously
    expect(leaksTo(trap)).toEqual([])
    expect(r.stderr).toContain(`the digest was not checked: registry ${trap.host} refused an anonymous read`)
    expect(r.exitCode, r.stderr).toBe(0)
  })

  it('the configured registry gets them: the digest is checked', async () => {
    const secured = await startRegistry({ auth: { username: USER, password: PASSWORD } })
    try {
      const name = uniqueName('cred-build')
      const root = makeRepo({ 'Dockerfile.build': `FROM busybox:latest\n# ${name}\n` }, { buildImage: { name, inputs: ['Dockerfile.build'] } })
      const tag = (await runScript('image-tag', [], { cwd: root, env: baseEnv() })).stdout.trim()
      const { digest } = await pushImage(secured, name, [tag])
      const ref = `${secured.host}/${name}:${tag}`
      const circle = `version: 2.1\njobs:\n  publish:\n    docker:\n      - image: ${ref}\n    steps: [checkout]\n`
      const withCi = makeRepo({ 'Dockerfile.build': `FROM busybox:latest\n# ${name}\n`, '.circleci/config.yml': circle }, { buildImage: { name, inputs: ['Dockerfile.build'] } })
      const r = await runScript('image-tag', ['--check-refs'], { cwd: withCi, env: { ...baseEnv(), REGISTRY: secured.host } })
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toContain(`${ref}: named by tag alone, though the registry has it as ${digest}`)
    } finally {
      await secured.stop()
    }
  })
})

describe('the registry API client', () => {
  const credentials = (front: TestServer) => ({ username: USER, password: PASSWORD, registry: front.host })

  /** The configured registry: wants Basic credentials, then forwards to the real registry; `rewrite` may change its answer. */
  function front(rewrite: (req: { method?: string; url?: string }) => { status: number; headers: Record<string, string> } | undefined = () => undefined) {
    return startHttpServer(async (req, res) => {
      if (req.headers.authorization !== BASIC) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end()
      const instead = rewrite(req)
      if (instead) return void res.writeHead(instead.status, instead.headers).end()
      await forward(req, res, registry.url)
    })
  }

  it('an upload Location on another host: no request goes there, with or without credentials', async () => {
    const trap = await credentialTrap('basic')
    const registryFront = await front((req) =>
      req.method === 'POST' && /\/blobs\/uploads\/$/.test(req.url ?? '') ? { status: 202, headers: { location: `${trap.url}/v2/x/blobs/uploads/1`, 'docker-upload-uuid': '1' } } : undefined,
    )
    await checkPushAccess(`${registryFront.host}/${uniqueName('cred-push')}:t`, { credentials: credentials(registryFront), retries: 0 })
    expect(registryFront.requests.some((r) => r.method === 'POST')).toBe(true)
    expect(leaksTo(trap)).toEqual([])
    expect(trap.requests).toEqual([])
  })

  it('a redirect to a host that asks for credentials: refused, the credentials stay home', async () => {
    const trap = await credentialTrap('bearer')
    // Before any handshake, as a registry sending its reads to a CDN does.
    const registryFront = await startHttpServer((req, res) => void res.writeHead(307, { location: `${trap.url}${req.url}` }).end())
    await expect(manifestDigest(`${registryFront.host}/x/y:t`, { credentials: credentials(registryFront), retries: 0 })).rejects.toThrow(
      `redirected to ${trap.host}, which asked for credentials: they are only for ${registryFront.host}`,
    )
    expect(trap.requests.length).toBeGreaterThan(0)
    expect(leaksTo(trap)).toEqual([])
  })

  it('credentials made for one registry are not sent to another', async () => {
    const trap = await credentialTrap('basic')
    await expect(manifestDigest(`${trap.host}/x/y:t`, { credentials: { username: USER, password: PASSWORD, registry: 'ghcr.io' }, retries: 0 })).rejects.toThrow(
      `registry ${trap.host} refused anonymous access`,
    )
    expect(leaksTo(trap)).toEqual([])
  })

  it('a token service over plain HTTP on a host that is not loopback: no request, an error saying why', async () => {
    const registryFront = await startHttpServer((_req, res) => void res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://token.example.invalid/token",service="x"' }).end())
    await expect(manifestDigest(`${registryFront.host}/x/y:t`, { credentials: credentials(registryFront), retries: 0 })).rejects.toThrow(
      `registry ${registryFront.host} named the token service http://token.example.invalid, which is not https`,
    )
  })
})
