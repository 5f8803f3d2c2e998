// The real CNCF distribution registry on a free loopback port, plain or with htpasswd
// auth. `docker-registry serve` where Debian's package is installed, else `registry:2`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { SETUP_HINT } from './docker.mts'

export interface TestRegistry {
  /** `127.0.0.1:<port>`: use as the `registry` in build.config.json or REGISTRY. */
  host: string
  url: string
  auth?: { username: string; password: string }
  /** GET/HEAD against the registry API with the right credentials. */
  api(pathname: string, init?: RequestInit): Promise<Response>
  /** Tags of a repository, [] when it does not exist. */
  tags(repository: string): Promise<string[]>
  /** The manifest digest of repository:tag, or null when absent. */
  digest(repository: string, tag: string): Promise<string | null>
  /**
   * What the registry holds under repository:tag: `absent`, `complete` (the manifest and
   * every blob it names are served: the image can be pulled), or `incomplete: <what is missing>`.
   */
  tagState(repository: string, tag: string): Promise<string>
  /** The registry's storage on disk: bytes under its data directory (blobs, manifests, links). */
  storedBytes(): number
  /** Its storage's root directory (the filesystem driver's `rootdirectory`). */
  dataDir: string
  /** `docker-registry garbage-collect` on its config: frees blobs no manifest references. */
  garbageCollect(): void
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function hasBinary(name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ')

export async function startRegistry(options: { auth?: { username: string; password: string }; deleteEnabled?: boolean } = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-registry-'))
  const port = await freePort()
  const config = [
    'version: 0.1',
    'log: { level: error, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: ${options.deleteEnabled ?? true} } }`,
    `http: { addr: "127.0.0.1:${port}" }`,
  ]
  if (options.auth) {
    // htpasswd reads the password from stdin (-i): it never appears in a process list.
    const line = execFileSync('htpasswd', ['-Bbin', options.auth.username], { input: options.auth.password, encoding: 'utf8' })
    fs.writeFileSync(path.join(dir, 'htpasswd'), line.trim() + '\n')
    config.push(`auth: { htpasswd: { realm: test-registry, path: ${path.join(dir, 'htpasswd')} } }`)
  }
  fs.writeFileSync(path.join(dir, 'config.yml'), config.join('\n') + '\n')

  let child: ChildProcess
  if (hasBinary('docker-registry')) {
    child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] })
  } else {
    child = spawn('docker', ['run', '--rm', '--network', 'host', '-v', `${dir}:${dir}`, 'registry:2', 'serve', path.join(dir, 'config.yml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  }
  let log = ''
  child.stderr?.on('data', (d) => (log += d))
  const url = `http://127.0.0.1:${port}`
  const headers: Record<string, string> = {}
  if (options.auth) headers.authorization = 'Basic ' + Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')
  const api = (pathname: string, init: RequestInit = {}) =>
    fetch(url + pathname, { ...init, headers: { accept: MANIFEST_ACCEPT, ...headers, ...(init.headers as Record<string, string>) } })

  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`registry exited (${child.exitCode}): ${log.trim()}\n${SETUP_HINT}`)
    try {
      const res = await fetch(`${url}/v2/`)
      if (res.status === 200 || res.status === 401) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`registry on ${url} did not answer within 20s: ${log.trim()}`)
    await new Promise((r) => setTimeout(r, 100))
  }

  return {
    host: `127.0.0.1:${port}`,
    url,
    auth: options.auth,
    api,
    async tags(repository) {
      const res = await api(`/v2/${repository}/tags/list`)
      if (res.status === 404) return []
      if (!res.ok) throw new Error(`tags/list ${repository}: HTTP ${res.status}`)
      return ((await res.json()) as { tags: string[] | null }).tags ?? []
    },
    async digest(repository, tag) {
      const res = await api(`/v2/${repository}/manifests/${tag}`, { method: 'HEAD' })
      if (res.status === 404) return null
      if (!res.ok) throw new Error(`HEAD manifest ${repository}:${tag}: HTTP ${res.status}`)
      return res.headers.get('docker-content-digest')
    },
    async tagState(repository, tag) {
      const res = await api(`/v2/${repository}/manifests/${tag}`)
      if (res.status === 404) return 'absent'
      if (!res.ok) throw new Error(`GET manifest ${repository}:${tag}: HTTP ${res.status}`)
      const manifest = (await res.json()) as { config?: { digest: string }; layers?: Array<{ digest: string }>; manifests?: Array<{ digest: string }> }
      const missing: string[] = []
      for (const child of manifest.manifests ?? []) {
        if ((await api(`/v2/${repository}/manifests/${child.digest}`, { method: 'HEAD' })).status !== 200) missing.push(`manifest ${child.digest}`)
      }
      for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
        if ((await api(`/v2/${repository}/blobs/${blob.digest}`, { method: 'HEAD' })).status !== 200) missing.push(`blob ${blob.digest}`)
      }
      return missing.length ? `incomplete: ${missing.join(', ')}` : 'complete'
    },
    dataDir: path.join(dir, 'data'),
    storedBytes() {
      let total = 0
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(d, e.name))
          else if (e.isFile()) total += fs.statSync(path.join(d, e.name)).size
        }
      }
      if (fs.existsSync(path.join(dir, 'data'))) walk(path.join(dir, 'data'))
      return total
    },
    garbageCollect() {
      if (!hasBinary('docker-registry')) throw new Error(`garbage-collect needs the docker-registry binary: ${SETUP_HINT}`)
      execFileSync('docker-registry', ['garbage-collect', path.join(dir, 'config.yml')], { stdio: 'pipe', timeout: 60_000 })
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child.once('exit', r))
      }
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
