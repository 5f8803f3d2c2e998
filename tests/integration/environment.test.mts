// Proves the test environment itself: a real engine and a real registry, round trip.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docker, dockerRun, dockerMaybe, imageFile, requireDocker, uniqueName } from '../helpers/docker.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { tempDir } from '../helpers/repo.mts'

describe('test environment', () => {
  let registry: TestRegistry
  let authRegistry: TestRegistry
  beforeAll(async () => {
    requireDocker(['busybox:latest', 'debian:bookworm-slim', 'node:20-bookworm-slim'])
    registry = await startRegistry()
    authRegistry = await startRegistry({ auth: { username: 'ci', password: 'env-test-secret' } })
  })
  afterAll(async () => {
    await registry?.stop()
    await authRegistry?.stop()
  })

  it('builds an image, pushes it to the registry, removes it and pulls it back', async () => {
    const dir = tempDir()
    const marker = uniqueName('marker')
    fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM busybox:latest\nRUN echo ${marker} > /marker\n`)
    const ref = `${registry.host}/env-test:${marker}`
    docker('build', '-q', '-t', ref, dir)
    docker('push', ref)
    expect(await registry.tags('env-test')).toContain(marker)
    expect(await registry.digest('env-test', marker)).toMatch(/^sha256:[0-9a-f]{64}$/)
    docker('rmi', ref)
    expect(dockerMaybe('image', 'inspect', ref)).toBeNull()
    docker('pull', ref)
    expect(dockerRun(ref, 'cat', '/marker')).toBe(marker)
    // The tests' way to read a command's output (from the container's log): its stdout alone,
    // a failure with its exit code and stderr, and no container left either way.
    const containers = () => docker('ps', '-aq', '--filter', `ancestor=${ref}`)
    expect(dockerRun(ref, 'sh', '-c', 'echo out; echo err >&2')).toBe('out')
    expect(() => dockerRun(ref, 'sh', '-c', 'echo out; echo err >&2; exit 3')).toThrow(/exit code 3: err/)
    expect(containers()).toBe('')
    // The tests' way to read a file in an image without running it reads the same.
    expect(imageFile(ref, '/marker')).toBe(marker)
    expect(() => imageFile(ref, '/no-such-file')).toThrow(/no-such-file/)
    docker('rmi', ref)
  })

  it('the auth registry refuses anonymous requests and accepts its credentials', async () => {
    expect((await fetch(`${authRegistry.url}/v2/`)).status).toBe(401)
    expect((await authRegistry.api('/v2/')).status).toBe(200)
  })

  it('debian:bookworm-slim is the slim image: apt cleans up after installs, no docs or locales', () => {
    // Layers built on it (go-app's toolchain) weigh what they would on Docker Hub's image.
    const out = dockerRun('debian:bookworm-slim', 'sh', '-c', 'ls /etc/apt/apt.conf.d /etc/dpkg/dpkg.cfg.d; find /usr/share/doc /usr/share/locale /usr/share/man -type f ! -name copyright ! -name locale.alias | wc -l')
    const lines = out.split('\n')
    expect(lines).toEqual(expect.arrayContaining(['docker-clean', 'docker-no-languages', 'docker']))
    expect(lines.at(-1)).toBe('0')
  })

  it('node stand-in runs node and npm and trusts the host CA bundle', () => {
    const out = dockerRun('node:20-bookworm-slim', 'sh', '-c', 'node --version && npm --version && echo $NODE_EXTRA_CA_CERTS')
    expect(out).toMatch(/^v\d+\.\d+\.\d+\n\d+\.\d+\.\d+\n\/etc\/ssl\/certs\/ca-certificates.crt$/)
  })
})
