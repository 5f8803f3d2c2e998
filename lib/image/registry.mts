// The registry HTTP API v2, through fetch: "does this tag exist, and with which digest?"
// answered with one HEAD request (no pull), the registry's token handshake, and
// retries with backoff for the failures that go away (429, 5xx, network).
//
// Credentials (registry-credentials.mts): REGISTRY_USERNAME / REGISTRY_PASSWORD for the
// configured registry, else the user's Docker config (what `docker login` writes).
import { createHash } from 'node:crypto'
import { WorkError } from '../core/cli.mts'
import { parseRetryAfter, withRetries, type RetryOptions } from '../core/retries.mts'
import { redact, registerSecret } from '../core/log.mts'
import { parseImageRef, registryBaseUrl } from './image-ref.mts'
import type { Credentials } from './registry-credentials.mts'
import { imageContent, type ImageContent } from './image-content.mts'

// References and credentials live in their own modules; they are part of this API, so
// they are exported from here too.
export { DOCKER_HUB, isLoopback, parseImageRef, registryBaseUrl, type ImageRef } from './image-ref.mts'
export { dockerConfigDir, envCredentials, registryCredentials, registryHost, type Credentials } from './registry-credentials.mts'

// --- errors ---

/**
 * The registry refused our credentials (or anonymous access) to read or to push.
 * Exit 1, with what to do. Without credentials, a refused read means "not readable to
 * me" (a private image, a fork's pull request): callers that can build instead do so.
 */
export class RegistryAuthError extends WorkError {
  readonly registry: string
  readonly status: number
  readonly hadCredentials: boolean
  readonly access: 'read' | 'push'
  constructor(registry: string, status: number, hadCredentials: boolean, access: 'read' | 'push' = 'read') {
    const what = access === 'push' ? `to let ${hadCredentials ? 'these credentials' : 'an anonymous client'} push` : hadCredentials ? 'the credentials' : 'anonymous access'
    super(
      `registry ${registry} refused ${what} (HTTP ${status}): ` +
        `set REGISTRY_USERNAME and REGISTRY_PASSWORD, or run \`docker login ${registry}\`` +
        (hadCredentials ? ` with credentials that may ${access} this repository` : ''),
    )
    this.hadCredentials = hadCredentials
    this.registry = registry
    this.status = status
    this.access = access
  }
}

/** A read refused to an anonymous client (401/403 at the token endpoint or on the API): not readable without credentials. */
export function isAnonymousReadRefusal(error: unknown): error is RegistryAuthError {
  return error instanceof RegistryAuthError && !error.hadCredentials && error.access === 'read'
}

/**
 * A registry read where a refusal to an anonymous client (isAnonymousReadRefusal) means
 * "not readable to me": without credentials it gives `empty`, `refused` the registry's
 * HTTP status, after `onRefused`. With credentials, and for any other error, it throws.
 */
export async function readUnlessRefused<T>(
  read: () => Promise<T>,
  empty: T,
  options: { credentials: Credentials | undefined; onRefused?: (status: number) => void },
): Promise<{ value: T; refused?: number }> {
  try {
    return { value: await read() }
  } catch (error) {
    if (options.credentials || !isAnonymousReadRefusal(error)) throw error
    options.onRefused?.(error.status)
    return { value: empty, refused: error.status }
  }
}

/** The registry kept failing (429, 5xx, network) after every retry. */
export class RegistryUnavailableError extends WorkError {
  readonly registry: string
  constructor(registry: string, lastError: string) {
    super(`registry ${registry} is unavailable: ${redact(lastError)}`)
    this.registry = registry
  }
}

/** A failure worth retrying, with the registry's Retry-After when it sent one. */
export class TransientError extends Error {
  readonly retryAfterMs?: number
  constructor(message: string, retryAfterMs?: number) {
    super(message)
    this.retryAfterMs = retryAfterMs
  }
}

/**
 * The one way a registry call is retried: `fn` runs again on transient errors (429,
 * 5xx, network), which become RegistryUnavailableError once retries run out.
 */
export async function retried<T>(registry: string, options: RetryOptions, fn: () => Promise<T>): Promise<T> {
  try {
    return await withRetries(fn, { ...options, isRetryable: (error) => error instanceof TransientError && (options.isRetryable?.(error) ?? true) })
  } catch (error) {
    if (error instanceof TransientError) throw new RegistryUnavailableError(registry, error.message)
    throw error
  }
}

// --- the token handshake ---

export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** Parse `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (or `Basic realm=...`). */
export function parseWwwAuthenticate(header: string | null): Challenge | undefined {
  if (!header) return undefined
  const m = /^\s*(\w+)(.*)/s.exec(header)
  if (!m) return undefined
  const params: Record<string, string> = {}
  for (const p of m[2].matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  }
  return { scheme: m[1].toLowerCase(), params }
}

/** What a registry may call a manifest digest; anything else it sends is never put in a URL. */
export const DIGEST = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/

/**
 * A digest as a registry answered it (a header, a manifest's config or children), checked
 * where it is read: it goes on into request paths, image references and CI files, so
 * `sha256:x/../../final/manifests/1.0.0` must never get that far.
 */
export function checkedDigest(registry: string, what: string, value: unknown): string {
  if (typeof value === 'string' && DIGEST.test(value)) return value
  throw new WorkError(`registry ${registry} answered ${what} that is not a digest: ${JSON.stringify(value)?.slice(0, 120)}`)
}

/** The manifest's digest: the registry's Docker-Content-Digest header (checked), else the hash of the body. */
export function manifestDigestOf(registry: string, res: Response, body: Buffer): string {
  const header = res.headers.get('docker-content-digest')
  return header !== null ? checkedDigest(registry, 'a Docker-Content-Digest', header) : 'sha256:' + createHash('sha256').update(body).digest('hex')
}

export const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]

const REQUEST_TIMEOUT_MS = 30_000

function basic(credentials: Credentials): string {
  return 'Basic ' + Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
}

/** Throw a TransientError for 429/5xx; return the response otherwise. */
function transientCheck(res: Response, what: string): Response {
  if (res.status === 429 || res.status >= 500) {
    throw new TransientError(`${what}: HTTP ${res.status}`, parseRetryAfter(res.headers.get('retry-after')))
  }
  return res
}

async function send(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'follow', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    throw new TransientError(`${what}: ${cause?.code ?? cause?.message ?? (error as Error).message}`)
  }
}

/**
 * Get a Bearer token from the challenge's realm, with basic credentials or anonymously.
 * The caller passes credentials only for a challenge the registry itself sent (as docker
 * does, the token service it names gets them); never over plain HTTP to a host that is
 * not loopback or listed in REGISTRY_INSECURE.
 */
async function bearerToken(registry: string, challenge: Challenge, scope: string, access: 'read' | 'push', credentials?: Credentials): Promise<string> {
  const realm = challenge.params.realm
  if (!realm) throw new TransientError(`${registry}: Bearer challenge without a realm`)
  let url: URL
  try {
    url = new URL(realm)
  } catch {
    throw new WorkError(`registry ${registry} named a token service that is not a URL: ${JSON.stringify(realm)}`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && registryBaseUrl(url.host).startsWith('http:'))) {
    throw new WorkError(`registry ${registry} named the token service ${url.origin}, which is not https: no credentials or token requests go there in the clear (list ${url.host} in REGISTRY_INSECURE if it is meant)`)
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service)
  url.searchParams.set('scope', challenge.params.scope ?? scope)
  const headers: Record<string, string> = credentials ? { authorization: basic(credentials) } : {}
  const res = transientCheck(await send(url.href, { headers }, `token from ${url.host}`), `token from ${url.host}`)
  if (res.status === 401 || res.status === 403) throw new RegistryAuthError(registry, res.status, Boolean(credentials), access)
  if (!res.ok) throw new TransientError(`token from ${url.host}: HTTP ${res.status}`)
  const body = (await res.json()) as { token?: string; access_token?: string }
  const token = body.token ?? body.access_token
  if (!token) throw new TransientError(`token from ${url.host}: no token in the answer`)
  registerSecret(token)
  return token
}

export interface RegistryRequestOptions {
  credentials?: Credentials
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'
  headers?: Record<string, string>
  body?: string
  /** The token scope's action list; `pull` for reads, `pull,push` for writes. */
  actions?: string
}

/**
 * One request to the registry API (`pathname` like `/v2/<repo>/manifests/<tag>`),
 * doing the handshake a 401 asks for: Bearer (token with basic credentials, or an
 * anonymous token — the public-repository fallback) or Basic. 401/403 after it throws
 * RegistryAuthError; 429/5xx/network errors throw a retryable error (use withRetries).
 */
export async function registryRequest(registry: string, repository: string, pathname: string, options: RegistryRequestOptions = {}): Promise<Response> {
  const { method = 'GET', headers = {}, actions = 'pull' } = options
  const body = options.body
  const base = registryBaseUrl(registry)
  const url = /^https?:\/\//.test(pathname) ? pathname : base + pathname
  // Credentials go to the registry they are for, and only to its own host: a URL the
  // registry answered with (an upload Location, a redirect) that leads elsewhere gets
  // none, and neither does a challenge another host sent.
  const onRegistry = (href: string) => new URL(href).host === new URL(base).host
  if (!onRegistry(url)) throw new WorkError(`${method} ${url}: not on registry ${registry}; not sending a request there`)
  const credentials = options.credentials?.registry === registry ? options.credentials : undefined
  const what = `${method} ${registry}${pathname.replace(/^https?:\/\/[^/]+/, '')}`
  const access = actions.includes('push') ? 'push' : 'read'
  let res = transientCheck(await send(url, { method, headers, body }, what), what)
  if (res.status === 401 && !onRegistry(res.url || url)) {
    throw new WorkError(`${what}: redirected to ${new URL(res.url).host}, which asked for credentials: they are only for ${registry}`)
  }
  if (res.status === 401) {
    const challenge = parseWwwAuthenticate(res.headers.get('www-authenticate'))
    let authorization: string | undefined
    if (challenge?.scheme === 'bearer') {
      authorization = `Bearer ${await bearerToken(registry, challenge, `repository:${repository}:${actions}`, access, credentials)}`
    } else if (challenge?.scheme === 'basic' && credentials) authorization = basic(credentials)
    if (authorization) res = transientCheck(await send(url, { method, headers: { ...headers, authorization }, body }, what), what)
  }
  if (res.status === 401 || res.status === 403) {
    throw new RegistryAuthError(registry, res.status, Boolean(credentials), access)
  }
  return res
}

export interface ManifestOptions extends RetryOptions {
  credentials?: Credentials
}

/**
 * The manifest digest of `ref` in its registry, or null when the tag does not exist.
 * One HEAD request (plus the token handshake): nothing is pulled. Retries 429/5xx and
 * network errors; then throws RegistryUnavailableError. Auth failures throw RegistryAuthError.
 */
export async function manifestDigest(ref: string, options: ManifestOptions = {}): Promise<string | null> {
  return withManifest(ref, options, async ({ registry, pathname, request }) => {
    const res = await request('HEAD')
    if (res.status === 404) return null
    if (!res.ok) throw new WorkError(`HEAD ${registry}${pathname}: unexpected HTTP ${res.status}`)
    const found = res.headers.get('docker-content-digest')
    if (found) return checkedDigest(registry, 'a Docker-Content-Digest', found)
    // Some registries omit the header on HEAD: the digest is the hash of the manifest body.
    const full = await request('GET')
    if (!full.ok) throw new TransientError(`GET ${registry}${pathname}: HTTP ${full.status}`)
    return 'sha256:' + createHash('sha256').update(Buffer.from(await full.arrayBuffer())).digest('hex')
  })
}

interface ManifestContext {
  registry: string
  pathname: string
  /** One request for the manifest (with the token handshake); 429/5xx/network errors throw TransientError. */
  request(method: 'HEAD' | 'GET'): Promise<Response>
}

/**
 * The one way to ask a registry about a manifest: `read` runs with retries on transient
 * errors (429, 5xx, network), which become RegistryUnavailableError once retries run out.
 */
export async function withManifest<T>(ref: string, options: ManifestOptions, read: (ctx: ManifestContext) => Promise<T>): Promise<T> {
  const { registry, repository, tag, digest } = parseImageRef(ref)
  const pathname = `/v2/${repository}/manifests/${digest ?? tag}`
  const headers = { accept: MANIFEST_TYPES.join(', ') }
  const request = (method: 'HEAD' | 'GET') => registryRequest(registry, repository, pathname, { credentials: options.credentials, method, headers })
  return retried(registry, options, () => read({ registry, pathname, request }))
}

/** Push refusals seen in this run, by registry, repository and credentials (checkPushAccess). */
const refusedPush = new Map<string, RegistryAuthError>()

/**
 * Whether the registry lets these credentials (or an anonymous client) push to `ref`'s
 * repository: starts a blob upload and cancels it at once. Throws RegistryAuthError when
 * refused — before `docker push`, whose daemon retries a refused upload for about a
 * minute. 429/5xx/network errors are retried, then RegistryUnavailableError.
 */
export async function checkPushAccess(ref: string, options: ManifestOptions = {}): Promise<void> {
  const { registry, repository } = parseImageRef(ref)
  const request = (pathname: string, method: 'POST' | 'DELETE') =>
    registryRequest(registry, repository, pathname, { credentials: options.credentials, method, actions: 'pull,push' })
  // A refusal holds for the rest of the run: the build that would export a full registry
  // cache and the push after it ask the registry once.
  const c = options.credentials
  const key = [registry, repository, c?.registry ?? '', c?.username ?? '', c ? createHash('sha256').update(c.password).digest('hex') : ''].join('\0')
  const known = refusedPush.get(key)
  if (known) throw known
  await retried(registry, options, async () => {
    const res = await request(`/v2/${repository}/blobs/uploads/`, 'POST')
    // ECR (and some others) create no repository on a push: a missing one answers 404.
    if (res.status === 404) throw new WorkError(`${registry} has no repository ${repository} (HTTP 404 to a push): create it before the first push (on ECR: "ecr": {"createRepositories": true} in build.config.json)`)
    if (res.status !== 202) throw new WorkError(`POST ${registry}/v2/${repository}/blobs/uploads/: unexpected HTTP ${res.status}`)
    const location = res.headers.get('location')
    // Cancel the upload we just started; a registry that cannot is no reason to fail.
    // A Location on another host is left alone (it would get our credentials' token).
    const cancel = location ? new URL(location, registryBaseUrl(registry)) : undefined
    if (cancel && cancel.host === new URL(registryBaseUrl(registry)).host) await request(cancel.href, 'DELETE').catch(() => undefined)
  }).catch((error) => {
    if (error instanceof RegistryAuthError) refusedPush.set(key, error)
    throw error
  })
}

export interface ManifestInfo {
  /** The manifest's digest: what a tag points at. */
  digest: string
  mediaType: string
  /**
   * The image config's digest (an image manifest's `config.digest`), which is the local
   * image id `docker image inspect` shows under the classic image store: equal ids mean
   * the same image, whatever the compression of its layers. For an index (what BuildKit
   * pushes from the containerd image store: the image and its attestation manifests),
   * the config of the one image it holds for this machine's platform; undefined for an
   * index of several platforms.
   */
  configDigest?: string
}

/** The image in an index for this machine's platform, not an attestation manifest (`unknown/unknown`). */
function platformImage(manifests: IndexEntry[]): IndexEntry | undefined {
  const images = manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' && m.platform?.os !== 'unknown')
  if (images.length <= 1) return images[0]
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch
  const mine = images.filter((m) => m.platform?.os === 'linux' && m.platform.architecture === arch)
  return mine.length === 1 ? mine[0] : undefined
}

interface IndexEntry {
  digest?: string
  platform?: { os?: string; architecture?: string }
  annotations?: Record<string, string>
}

/**
 * The manifest of `ref` (GET, so its config digest is known), or null when the tag does
 * not exist; an index is followed to its image for this platform (one more GET). Same
 * retries and errors as manifestDigest.
 */
export async function manifestInfo(ref: string, options: ManifestOptions = {}): Promise<ManifestInfo | null> {
  return withManifest(ref, options, async ({ registry, pathname, request }) => {
    const res = await request('GET')
    if (res.status === 404) return null
    if (!res.ok) throw new WorkError(`GET ${registry}${pathname}: unexpected HTTP ${res.status}`)
    const body = Buffer.from(await res.arrayBuffer())
    const manifest = JSON.parse(body.toString('utf8')) as { mediaType?: string; config?: { digest?: unknown }; manifests?: IndexEntry[] }
    const info: ManifestInfo = {
      digest: manifestDigestOf(registry, res, body),
      mediaType: manifest.mediaType ?? res.headers.get('content-type') ?? '',
      configDigest: manifest.config?.digest === undefined ? undefined : checkedDigest(registry, `a config digest in ${pathname}`, manifest.config.digest),
    }
    const image = manifest.manifests ? platformImage(manifest.manifests) : undefined
    if (image?.digest && /^sha256:[0-9a-f]{64}$/.test(image.digest)) {
      const { registry: host, repository } = parseImageRef(ref)
      const child = await registryRequest(host, repository, `/v2/${repository}/manifests/${image.digest}`, { credentials: options.credentials, headers: { accept: MANIFEST_TYPES.join(', ') } })
      if (child.status === 429 || child.status >= 500) throw new TransientError(`GET ${host}/v2/${repository}/manifests/${image.digest}: HTTP ${child.status}`)
      if (child.ok) {
        const digest = ((await child.json()) as { config?: { digest?: unknown } }).config?.digest
        info.configDigest = digest === undefined ? undefined : checkedDigest(registry, `a config digest in ${image.digest}`, digest)
      }
    }
    return info
  })
}

export interface PublishedImage extends ManifestInfo {
  configDigest: string
  /** The image's labels, from its config blob. */
  labels: Record<string, string>
  content: ImageContent
}

/** The parts of an image's config blob the scripts read. */
export interface ImageConfigBlob {
  created?: unknown
  config?: (Record<string, unknown> & { Labels?: Record<string, string> | null }) | null
  rootfs?: { diff_ids?: string[] } | null
}

/**
 * The config blob `configDigest` of `repositoryRef` (`<registry>/<repository>`, a tag in it
 * is ignored), parsed; null when the registry has no such blob (deleted meanwhile). A body
 * cut short or not JSON is retried, as are 429, 5xx and network errors.
 */
export async function readImageConfig(repositoryRef: string, configDigest: string, options: ManifestOptions = {}): Promise<ImageConfigBlob | null> {
  const { registry, repository } = parseImageRef(repositoryRef)
  const pathname = `/v2/${repository}/blobs/${configDigest}`
  return retried(registry, options, async () => {
    const res = await registryRequest(registry, repository, pathname, { credentials: options.credentials })
    if (res.status === 404) return null
    if (!res.ok) throw new WorkError(`GET ${registry}${pathname}: unexpected HTTP ${res.status}`)
    const body = await bodyOf(res, `GET ${registry}${pathname}`)
    try {
      return JSON.parse(body.toString('utf8')) as ImageConfigBlob
    } catch {
      throw new TransientError(`GET ${registry}${pathname}: the image config is not valid JSON`)
    }
  })
}

/**
 * What `ref` holds in its registry with the image's labels (the manifest, then its
 * config blob), or null when the tag does not exist or names an index of several
 * platforms. Same retries and errors as manifestDigest.
 */
export async function publishedImage(ref: string, options: ManifestOptions = {}): Promise<PublishedImage | null> {
  const manifest = await manifestInfo(ref, options)
  if (!manifest?.configDigest) return null
  const config = await readImageConfig(ref, manifest.configDigest, options)
  if (!config) return null // deleted meanwhile
  const content = imageContent({ diffIds: config.rootfs?.diff_ids, created: typeof config.created === 'string' ? config.created : null, config: config.config })
  return { ...manifest, configDigest: manifest.configDigest, labels: config.config?.Labels ?? {}, content }
}

/**
 * Tag `digest` of `toRef`'s repository as `toRef`'s tag, in the registry: its manifest
 * is read and written back under the tag, byte for byte, so the tag gets that very
 * digest. What `docker push` cannot do for an index pulled from the containerd image
 * store, which holds only this platform's part of it. Returns the digest.
 */
export async function copyManifest(digest: string, toRef: string, options: ManifestOptions = {}): Promise<string> {
  const { registry, repository, tag } = parseImageRef(toRef)
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new WorkError(`not a digest: ${JSON.stringify(digest)}`)
  const from = `/v2/${repository}/manifests/${digest}`
  const to = `/v2/${repository}/manifests/${tag}`
  return retried(registry, options, async () => {
    const got = await registryRequest(registry, repository, from, { credentials: options.credentials, headers: { accept: MANIFEST_TYPES.join(', ') } })
    if (!got.ok) throw new WorkError(`GET ${registry}${from}: unexpected HTTP ${got.status}`)
    const body = await bodyOf(got, `GET ${registry}${from}`)
    const type = got.headers.get('content-type') ?? (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType ?? ''
    const put = await registryRequest(registry, repository, to, { credentials: options.credentials, method: 'PUT', headers: { 'content-type': type }, body: body.toString('utf8'), actions: 'pull,push' })
    if (put.status !== 201 && put.status !== 200) throw new WorkError(`PUT ${registry}${to}: unexpected HTTP ${put.status}: ${(await put.text()).slice(0, 200)}`)
    return put.headers.get('docker-content-digest') ?? digest
  })
}

/**
 * Every tag of a repository (`<registry>/<repository>`, any tag in the ref is ignored),
 * [] when the repository does not exist. Follows the API's `Link: <...>; rel="next"`
 * pagination. Same retries and errors as manifestDigest.
 */
export async function listTags(repositoryRef: string, options: ManifestOptions = {}): Promise<string[]> {
  const { registry, repository } = parseImageRef(repositoryRef)
  const tags: string[] = []
  let pathname: string | undefined = `/v2/${repository}/tags/list?n=1000`
  while (pathname) {
    const page: string = pathname
    const res = await retried(registry, options, () => registryRequest(registry, repository, page, { credentials: options.credentials }))
    if (res.status === 404) return tags
    if (!res.ok) throw new WorkError(`GET ${registry}${page}: unexpected HTTP ${res.status}`)
    tags.push(...(((await res.json()) as { tags?: string[] | null }).tags ?? []))
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1]
    const url = next ? new URL(next, registryBaseUrl(registry)) : undefined
    pathname = url ? url.pathname + url.search : undefined
  }
  return tags
}

/** A response body; a connection reset while it arrives is a TransientError (retried). */
export async function bodyOf(res: Response, what: string): Promise<Buffer> {
  try {
    return Buffer.from(await res.arrayBuffer())
  } catch (error) {
    throw new TransientError(`${what}: the answer was cut short (${(error as Error).message})`)
  }
}
