// lib/image/registry.mts against the real registry (plain and htpasswd), and against local
// servers for what the test registry cannot do: a Bearer token handshake, 429/5xx.
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkPushAccess, manifestDigest, RegistryAuthError, RegistryUnavailableError } from '../../lib/image/registry.mts'
import { docker, requireDocker, uniqueName } from '../helpers/docker.mts'
import { forward, startHttpServer } from '../helpers/http.mts'
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { tempDir } from '../helpers/repo.mts'

describe('manifestDigest', () => {
  let plain: TestRegistry
  let secured: TestRegistry
  const auth = { username: 'ci', password: 'registry-test-secret' }
  const repo = uniqueName('reg-test')
  let digest: string

  beforeAll(async () => {
    requireDocker(['busybox:latest'])
    ;[plain, secured] = await Promise.all([startRegistry(), startRegistry({ auth })])
    // One real image in each registry.
    const ref = `${plain.host}/${repo}:v1`
    docker('tag', 'busybox:latest', ref)
    docker('push', ref)
    docker('rmi', ref)
    digest = (await plain.digest(repo, 'v1'))!
    const config = tempDir('cbs-docker-config-')
    const securedRef = `${secured.host}/${repo}:v1`
    docker('tag', 'busybox:latest', securedRef)
    execLogin(config, secured.host, auth)
    docker('--config', config, 'push', securedRef)
    docker('rmi', securedRef)
  })
  afterAll(async () => {
    await plain?.stop()
    await secured?.stop()
  })

  it('returns the digest of an existing tag and null for a missing one', async () => {
    expect(digest).toMatch(/^sha256:/)
    expect(await manifestDigest(`${plain.host}/${repo}:v1`)).toBe(digest)
    expect(await manifestDigest(`${plain.host}/${repo}:missing`, { retries: 0 })).toBeNull()
    expect(await manifestDigest(`${plain.host}/${uniqueName('never-pushed')}:v1`, { retries: 0 })).toBeNull()
  })

  it('answers Basic challenges with the credentials; wrong or no credentials are an auth error naming the registry', async () => {
    expect(await manifestDigest(`${secured.host}/${repo}:v1`, { credentials: { ...auth, registry: secured.host } })).toMatch(/^sha256:/)
    const wrong = manifestDigest(`${secured.host}/${repo}:v1`, { credentials: { username: 'ci', password: 'wrong', registry: secured.host } })
    await expect(wrong).rejects.toBeInstanceOf(RegistryAuthError)
    await expect(wrong).rejects.toThrow(`registry ${secured.host} refused the credentials (HTTP 401): set REGISTRY_USERNAME and REGISTRY_PASSWORD`)
    await expect(manifestDigest(`${secured.host}/${repo}:v1`)).rejects.toThrow(/refused anonymous access.*docker login/)
  })

  it('does the Bearer token handshake, with credentials or anonymously (public repositories)', async () => {
    // A token server and a registry front that wants its tokens, backed by the real registry.
    const tokens = await startHttpServer((req, res) => {
      const url = new URL(req.url!, 'http://x')
      const basic = req.headers.authorization
      const anonymous = !basic
      const ok = anonymous || basic === 'Basic ' + Buffer.from('bot:bearer-secret').toString('base64')
      if (!ok || url.searchParams.get('service') !== 'test-service') {
        res.writeHead(401).end()
        return
      }
      const scope = url.searchParams.get('scope')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${anonymous ? 'anon' : 'user'}|${scope}` }))
    })
    const front = await startHttpServer(async (req, res) => {
      const repoPath = /^\/v2\/(.+)\/manifests\//.exec(req.url!)?.[1]
      const token = req.headers.authorization?.replace(/^Bearer /, '')
      const scope = `repository:${repoPath}:pull`
      if (token !== `user|${scope}` && !(token === `anon|${scope}` && repoPath?.startsWith('public/'))) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="test-service",scope="${scope}"` }).end()
        return
      }
      await forward(req, res, plain.url)
    })
    const publicRepo = `public/${repo}`
    docker('tag', 'busybox:latest', `${plain.host}/${publicRepo}:v1`)
    docker('push', `${plain.host}/${publicRepo}:v1`)
    docker('rmi', `${plain.host}/${publicRepo}:v1`)

    expect(await manifestDigest(`${front.host}/${repo}:v1`, { credentials: { username: 'bot', password: 'bearer-secret', registry: front.host } })).toBe(digest)
    expect(await manifestDigest(`${front.host}/${publicRepo}:v1`)).toBe(digest)
    expect(await manifestDigest(`${front.host}/${repo}:missing`, { credentials: { username: 'bot', password: 'bearer-secret', registry: front.host } })).toBeNull()
    // A private repository anonymously: the anonymous token is refused after the handshake.
    await expect(manifestDigest(`${front.host}/${repo}:v1`)).rejects.toBeInstanceOf(RegistryAuthError)
    // Wrong credentials: the token server refuses them.
    await expect(manifestDigest(`${front.host}/${repo}:v1`, { credentials: { username: 'bot', password: 'nope', registry: front.host } })).rejects.toThrow(
      `registry ${front.host} refused the credentials`,
    )
    const manifestHeads = front.requests.filter((r) => r.method === 'HEAD')
    expect(manifestHeads[0].headers.accept).toContain('application/vnd.oci.image.index.v1+json')
    expect(manifestHeads[0].headers.accept).toContain('application/vnd.docker.distribution.manifest.v2+json')
  })

  it('retries 429 (honouring Retry-After) and 5xx, then succeeds', async () => {
    let calls = 0
    const flaky = await startHttpServer(async (req, res) => {
      calls++
      if (calls === 1) res.writeHead(429, { 'retry-after': '0' }).end()
      else if (calls === 2) res.writeHead(503).end()
      else await forward(req, res, plain.url)
    })
    const retries: string[] = []
    const found = await manifestDigest(`${flaky.host}/${repo}:v1`, { retries: 3, baseDelayMs: 10, onRetry: (e) => retries.push((e as Error).message) })
    expect(found).toBe(digest)
    expect(retries).toEqual([`HEAD ${flaky.host}/v2/${repo}/manifests/v1: HTTP 429`, `HEAD ${flaky.host}/v2/${repo}/manifests/v1: HTTP 503`])
  })

  it('gives up with RegistryUnavailableError naming the registry and the last error', async () => {
    const broken = await startHttpServer((_req, res) => void res.writeHead(500).end())
    const failing = manifestDigest(`${broken.host}/${repo}:v1`, { retries: 2, baseDelayMs: 5 })
    await expect(failing).rejects.toBeInstanceOf(RegistryUnavailableError)
    await expect(failing).rejects.toThrow(`registry ${broken.host} is unavailable: HEAD ${broken.host}/v2/${repo}/manifests/v1: HTTP 500`)
    expect(broken.requests).toHaveLength(3)

    const closed = `127.0.0.1:${await freePort()}`
    await expect(manifestDigest(`${closed}/${repo}:v1`, { retries: 1, baseDelayMs: 5 })).rejects.toThrow(`registry ${closed} is unavailable: HEAD ${closed}/v2/${repo}/manifests/v1: ECONNREFUSED`)
  })
})

describe('checkPushAccess', () => {
  let plain: TestRegistry
  let secured: TestRegistry
  const auth = { username: 'ci', password: 'push-check-secret' }
  beforeAll(async () => {
    ;[plain, secured] = await Promise.all([startRegistry(), startRegistry({ auth })])
  })
  afterAll(async () => {
    await plain?.stop()
    await secured?.stop()
  })

  it('passes where a push would be accepted, and leaves no upload or tag behind', async () => {
    const repo = uniqueName('push-check')
    await checkPushAccess(`${plain.host}/${repo}:t`)
    await checkPushAccess(`${secured.host}/${repo}:t`, { credentials: { ...auth, registry: secured.host } })
    expect(await plain.tags(repo)).toEqual([])
  })

  it('throws RegistryAuthError where a push would be refused', async () => {
    const repo = uniqueName('push-check')
    await expect(checkPushAccess(`${secured.host}/${repo}:t`)).rejects.toThrow(`registry ${secured.host} refused to let an anonymous client push (HTTP 401)`)
    await expect(checkPushAccess(`${secured.host}/${repo}:t`, { credentials: { username: 'ci', password: 'nope', registry: secured.host } })).rejects.toBeInstanceOf(RegistryAuthError)
  })
})

function execLogin(config: string, host: string, auth: { username: string; password: string }): void {
  // The password on stdin, as the scripts do.
  execFileSync('docker', ['--config', config, 'login', '--username', auth.username, '--password-stdin', host], { input: auth.password, stdio: 'pipe', timeout: 60_000 })
}
