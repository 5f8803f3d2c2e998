import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  envCredentials,
  registryHost,
  isLoopback,
  parseImageRef,
  parseWwwAuthenticate,
  readUnlessRefused,
  registryBaseUrl,
  registryCredentials,
  RegistryAuthError,
  RegistryUnavailableError,
} from '../../lib/image/registry.mts'
import { parseRetryAfter, withRetries } from '../../lib/core/retries.mts'
import { redact } from '../../lib/core/log.mts'
import { tempDir } from '../helpers/repo.mts'

describe('parseImageRef', () => {
  it.each([
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' }],
    ['acme/tool:v1', { registry: 'docker.io', repository: 'acme/tool', tag: 'v1' }],
    ['docker.io/library/node:20', { registry: 'docker.io', repository: 'library/node', tag: '20' }],
    ['index.docker.io/acme/tool', { registry: 'docker.io', repository: 'acme/tool', tag: 'latest' }],
    ['ghcr.io/acme/acme-build:abc123', { registry: 'ghcr.io', repository: 'acme/acme-build', tag: 'abc123' }],
    ['127.0.0.1:5000/acme-build:0123', { registry: '127.0.0.1:5000', repository: 'acme-build', tag: '0123' }],
    ['localhost/x/y', { registry: 'localhost', repository: 'x/y', tag: 'latest' }],
    ['localhost:5000/a/b/c:t', { registry: 'localhost:5000', repository: 'a/b/c', tag: 't' }],
  ])('%s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual(expected)
  })

  it('keeps a digest', () => {
    const digest = 'sha256:' + 'a'.repeat(64)
    expect(parseImageRef(`ghcr.io/acme/x@${digest}`)).toEqual({ registry: 'ghcr.io', repository: 'acme/x', tag: 'latest', digest })
  })

  it('refuses malformed references', () => {
    expect(() => parseImageRef('Acme/Upper')).toThrow(/not a valid image reference/)
    expect(() => parseImageRef('')).toThrow(/empty/)
    expect(() => parseImageRef('a:bad tag')).toThrow()
  })
})

describe('loopback and base URLs', () => {
  it('uses http for loopback, https otherwise', () => {
    expect(isLoopback('127.0.0.1:5000')).toBe(true)
    expect(isLoopback('127.8.9.10')).toBe(true)
    expect(isLoopback('localhost:80')).toBe(true)
    expect(isLoopback('[::1]:5000')).toBe(true)
    expect(isLoopback('128.0.0.1')).toBe(false)
    expect(registryBaseUrl('127.0.0.1:5000', {})).toBe('http://127.0.0.1:5000')
    expect(registryBaseUrl('ghcr.io', {})).toBe('https://ghcr.io')
    expect(registryBaseUrl('docker.io', {})).toBe('https://registry-1.docker.io')
    expect(registryBaseUrl('reg.lan:5000', { REGISTRY_INSECURE: 'other, reg.lan:5000' })).toBe('http://reg.lan:5000')
  })
})

describe('parseWwwAuthenticate', () => {
  it('parses a Bearer challenge', () => {
    const c = parseWwwAuthenticate('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/x:pull"')
    expect(c).toEqual({ scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:acme/x:pull' } })
  })
  it('parses Basic, unquoted values and spaces', () => {
    expect(parseWwwAuthenticate('Basic realm="test-registry"')).toEqual({ scheme: 'basic', params: { realm: 'test-registry' } })
    expect(parseWwwAuthenticate('bearer realm=https://a/t, service=a')?.params).toEqual({ realm: 'https://a/t', service: 'a' })
  })
  it('keeps commas inside quoted values and unescapes', () => {
    const c = parseWwwAuthenticate('Bearer realm="r",scope="repository:a:pull,push",error="say \\"hi\\""')
    expect(c?.params.scope).toBe('repository:a:pull,push')
    expect(c?.params.error).toBe('say "hi"')
  })
  it('is undefined without a header', () => {
    expect(parseWwwAuthenticate(null)).toBeUndefined()
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000)
    const now = Date.parse('2024-01-01T00:00:00Z')
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(null)).toBeUndefined()
  })
})

describe('withRetries', () => {
  it('retries with doubling delays, then throws the last error', async () => {
    const delays: number[] = []
    let calls = 0
    await expect(
      withRetries(
        async () => {
          calls++
          throw new Error(`fail ${calls}`)
        },
        { retries: 3, baseDelayMs: 1, onRetry: (_e, _a, d) => delays.push(d) },
      ),
    ).rejects.toThrow('fail 4')
    expect(calls).toBe(4)
    expect(delays).toEqual([1, 2, 4])
  })

  it('stops at once on a non-retryable error and honours retryAfterMs', async () => {
    const delays: number[] = []
    let calls = 0
    const result = await withRetries(
      async () => {
        calls++
        if (calls === 1) throw Object.assign(new Error('busy'), { retryAfterMs: 5 })
        return 'ok'
      },
      { baseDelayMs: 1000, onRetry: (_e, _a, d) => delays.push(d) },
    )
    expect(result).toBe('ok')
    expect(delays).toEqual([5])
    await expect(withRetries(async () => Promise.reject(new Error('fatal')), { isRetryable: () => false })).rejects.toThrow('fatal')
  })
})

describe('registryCredentials', () => {
  it('prefers REGISTRY_USERNAME/REGISTRY_PASSWORD and registers the password as a secret', () => {
    const creds = registryCredentials('ghcr.io', { REGISTRY_USERNAME: 'bot', REGISTRY_PASSWORD: 'unit-env-secret' }, 'ghcr.io/acme')
    expect(creds).toEqual({ username: 'bot', password: 'unit-env-secret', registry: 'ghcr.io' })
    expect(redact('token unit-env-secret here')).toBe('token *** here')
  })

  it('gives REGISTRY_USERNAME/REGISTRY_PASSWORD only to the configured registry\'s host', () => {
    const env = { REGISTRY_USERNAME: 'bot', REGISTRY_PASSWORD: 'unit-env-secret', DOCKER_CONFIG: tempDir() }
    expect(registryCredentials('127.0.0.1:5000', env, '127.0.0.1:5000')?.registry).toBe('127.0.0.1:5000')
    expect(registryCredentials('127.0.0.1:6000', env, '127.0.0.1:5000')).toBeUndefined()
    expect(registryCredentials('ghcr.io.evil.example', env, 'ghcr.io/acme')).toBeUndefined()
    expect(registryCredentials('ghcr.io', env, undefined)).toBeUndefined()
    expect(registryCredentials('docker.io', env, 'acme')?.registry).toBe('docker.io')
    expect(envCredentials(env, 'ghcr.io/acme')?.registry).toBe('ghcr.io')
    expect(envCredentials(env, undefined)).toBeUndefined()
    expect(envCredentials({ REGISTRY_USERNAME: 'bot' }, 'ghcr.io/acme')).toBeUndefined()
    expect(envCredentials({ REGISTRY_PASSWORD: 'unit-env-secret' }, 'ghcr.io/acme')).toBeUndefined()
  })

  it.each([
    ['ghcr.io/acme', 'ghcr.io'],
    ['  ghcr.io/acme/app ', 'ghcr.io'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['reg:5000/team', 'reg:5000'],
    ['localhost/team', 'localhost'],
    ['acme', 'docker.io'],
    ['acme/app', 'docker.io'],
    ['index.docker.io/acme', 'docker.io'],
    ['registry-1.docker.io/acme', 'docker.io'],
  ])('the registry host of the setting %j is %s', (setting, host) => {
    expect(registryHost(setting)).toBe(host)
  })

  it('reads auths from $DOCKER_CONFIG/config.json', () => {
    const dir = tempDir()
    const auth = Buffer.from('alice:unit-config-secret').toString('base64')
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'reg.example:5000': { auth }, 'https://index.docker.io/v1/': { auth } } }))
    expect(registryCredentials('reg.example:5000', { DOCKER_CONFIG: dir }, undefined)).toEqual({ username: 'alice', password: 'unit-config-secret', registry: 'reg.example:5000' })
    expect(registryCredentials('docker.io', { DOCKER_CONFIG: dir }, undefined)?.username).toBe('alice')
    expect(registryCredentials('other.example', { DOCKER_CONFIG: dir }, undefined)).toBeUndefined()
    expect(redact('unit-config-secret')).toBe('***')
  })

  it('asks a credential helper with the host on stdin', () => {
    const dir = tempDir()
    const bin = path.join(dir, 'bin')
    fs.mkdirSync(bin)
    // A helper that answers only for its host: proves the host arrives on stdin.
    fs.writeFileSync(
      path.join(bin, 'docker-credential-fake'),
      '#!/bin/sh\nread host\n[ "$1" = get ] && [ "$host" = "helper.example" ] || { echo "credentials not found" >&2; exit 1; }\necho \'{"ServerURL":"helper.example","Username":"bob","Secret":"unit-helper-secret"}\'\n',
      { mode: 0o755 },
    )
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'helper.example': 'fake' }, credsStore: 'fake' }))
    const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` }
    expect(registryCredentials('helper.example', env, undefined)).toEqual({ username: 'bob', password: 'unit-helper-secret', registry: 'helper.example' })
    // credsStore is asked too, and "not found" means no credentials (anonymous), not an error.
    expect(registryCredentials('nothing.example', env, undefined)).toBeUndefined()
  })

  it('is undefined without env or config', () => {
    expect(registryCredentials('ghcr.io', { DOCKER_CONFIG: tempDir() }, 'ghcr.io')).toBeUndefined()
  })
})

describe('readUnlessRefused', () => {
  const credentials = { registry: 'r.example', username: 'ci', password: 'pw' }
  const refusing = (error: Error) => async (): Promise<string[]> => {
    throw error
  }

  it('gives what the registry answers', async () => {
    expect(await readUnlessRefused(async () => ['1.0.0'], [], { credentials: undefined })).toEqual({ value: ['1.0.0'] })
  })

  it('without credentials, takes a refused read (401/403) as empty, and says so once', async () => {
    const seen: number[] = []
    const read = await readUnlessRefused(refusing(new RegistryAuthError('r.example', 403, false)), [], { credentials: undefined, onRefused: (status) => seen.push(status) })
    expect(read).toEqual({ value: [], refused: 403 })
    expect(seen).toEqual([403])
  })

  it('throws a refusal of credentials, a refused push, and any other failure', async () => {
    await expect(readUnlessRefused(refusing(new RegistryAuthError('r.example', 401, true)), [], { credentials })).rejects.toThrow(/refused the credentials \(HTTP 401\)/)
    await expect(readUnlessRefused(refusing(new RegistryAuthError('r.example', 401, false)), [], { credentials })).rejects.toThrow(RegistryAuthError)
    await expect(readUnlessRefused(refusing(new RegistryAuthError('r.example', 403, false, 'push')), [], { credentials: undefined })).rejects.toThrow(/refused to let an anonymous client push/)
    await expect(readUnlessRefused(refusing(new RegistryUnavailableError('r.example', 'HTTP 503')), [], { credentials: undefined })).rejects.toThrow(RegistryUnavailableError)
  })
})
