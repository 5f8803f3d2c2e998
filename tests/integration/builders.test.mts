// The builder `docker build` runs, against the real engine: which one the scripts detect
// (DOCKER_BUILDKIT, buildx's current builder and its driver), a BUILDX_BUILDER that does
// not exist, and BuildKit's inline cache serving a daemon that has neither the image nor
// any build cache of its layers. Builds that must work under both builders are in the
// other files, which .ci/run runs a second time with DOCKER_BUILDKIT=0.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildArgv, currentBuilder } from '../../lib/image/docker.mts'
import { imagesNamed, makeBuildRepo } from '../helpers/build-image.mts'
import { cacheRecords, forgetBuildCache, layerDownloaded } from '../helpers/build-cache.mts'
import { docker, dockerMaybe, imageFile } from '../helpers/docker.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { git, tempDir } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

const LEGACY_RUN = process.env.DOCKER_BUILDKIT === '0'
const NO_CREDENTIALS = { REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '', REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '10' }

describe('builders', () => {
  const { registry, name } = useRegistryScene()

  it('DOCKER_BUILDKIT=0 selects the legacy builder; otherwise buildx\'s current builder and its driver', async () => {
    expect(await currentBuilder({ ...process.env, DOCKER_BUILDKIT: '0' })).toEqual({ kind: 'legacy' })
    expect(await currentBuilder({ ...process.env, DOCKER_BUILDKIT: 'false' })).toEqual({ kind: 'legacy' })
    // This engine's default builder: BuildKit inside the daemon (the `docker` driver).
    const { DOCKER_BUILDKIT: _, BUILDX_BUILDER: __, ...env } = process.env
    expect(await currentBuilder({ ...env, DOCKER_CONFIG: tempDir('cbs-docker-config-') })).toEqual({ kind: 'buildkit', name: 'default', driver: 'docker' })
  })

  it('a docker-container builder (what docker/setup-buildx-action selects) is detected, and its builds get --load', async () => {
    // A real builder instance, in a Docker config of its own, never started: its BuildKit
    // image comes from Docker Hub, out of reach here. Detection only reads its definition.
    const config = tempDir('cbs-docker-config-')
    const n = name('cbs-dc')
    execFileSync('docker', ['buildx', 'create', '--name', n, '--driver', 'docker-container'], { env: { ...process.env, DOCKER_CONFIG: config }, stdio: 'pipe' })
    const { DOCKER_BUILDKIT: _, BUILDX_BUILDER: __, ...env } = process.env
    const detect = async (extra: NodeJS.ProcessEnv) => {
      const builder = await currentBuilder({ ...env, DOCKER_CONFIG: config, ...extra })
      expect(builder).toEqual({ kind: 'buildkit', name: n, driver: 'docker-container' })
      expect(buildArgv({ context: '/ctx', tags: ['t'] }, builder, '/iid')).toContain('--load')
    }
    // Selected by BUILDX_BUILDER, then as the current builder (`docker buildx use`, as the action does).
    await detect({ BUILDX_BUILDER: n })
    execFileSync('docker', ['buildx', 'use', n], { env: { ...env, DOCKER_CONFIG: config }, stdio: 'pipe' })
    await detect({})
  })

  it('a BUILDX_BUILDER that does not exist: exit 1 naming it, nothing built', async () => {
    const n = name('cbs-nobuilder')
    const repo = makeBuildRepo({ name: n })
    const missing = `no-such-builder-${n}`
    const result = await runScript('pull-or-build', [], { cwd: repo, env: { ...NO_CREDENTIALS, REGISTRY: '', DOCKER_BUILDKIT: '', BUILDX_BUILDER: missing } })
    expect(result.exitCode, result.stderr).toBe(1)
    expect(result.stderr).toContain(`Error: BUILDX_BUILDER="${missing}" names no buildx builder`)
    expect(imagesNamed(n)).toEqual([])
  })

  // What the containerd image store on Engine 26.1 now and then does: every step done, then
  // "exporting to image" fails with a blob `not found`. A docker in front of the real one
  // fails the first builds so, and counts them.
  function exportFailingDocker(failures: number): { PATH: string; count: () => number } {
    const realDocker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
    const shim = tempDir('cbs-export-shim-')
    const counter = path.join(shim, 'builds')
    fs.writeFileSync(path.join(shim, 'docker'), [
      '#!/bin/sh',
      'case "$1 $2" in "build "*|"buildx build") ;; *) exec "' + realDocker + '" "$@" ;; esac',
      `echo x >> "${counter}"`,
      `if [ "$(wc -l < "${counter}")" -le ${failures} ]; then`,
      "  printf '#9 exporting to image\\n#9 exporting layers done\\n#9 ERROR: failed to get reader from content store: content digest sha256:0123: not found\\n------\\n > exporting to image:\\n------\\nERROR: failed to solve: failed to get reader from content store: content digest sha256:0123: not found\\n' >&2",
      '  exit 1',
      'fi',
      'exec "' + realDocker + '" "$@"',
      '',
    ].join('\n'), { mode: 0o755 })
    const count = () => (fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0)
    return { PATH: `${shim}:${process.env.PATH}`, count }
  }

  it.skipIf(LEGACY_RUN)('BuildKit: a build that fails only where it names its image (a blob not found) is built once more; a second such failure is the run\'s', async () => {
    const once = exportFailingDocker(1)
    const repo = makeBuildRepo({ name: name('cbs-export') })
    const result = await runScript('pull-or-build', ['--json'], { cwd: repo, env: { ...NO_CREDENTIALS, REGISTRY: '', PATH: once.PATH } })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'built' })
    expect(result.stderr).toContain('the engine lost a blob while naming the image (every step done); building once more from the build cache')
    expect(once.count()).toBe(2)

    const always = exportFailingDocker(2)
    const again = await runScript('pull-or-build', [], { cwd: makeBuildRepo({ name: name('cbs-export') }), env: { ...NO_CREDENTIALS, REGISTRY: '', PATH: always.PATH } })
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toContain('not found')
    expect(always.count()).toBe(2)
  })

  // BuildKit only: the legacy builder reads --cache-from from local images alone.
  it.skipIf(LEGACY_RUN)('BuildKit: an image the scripts built and pushed serves as --cache-from on a daemon with neither the image nor its build cache (the early layer reused, not re-run)', async () => {
    const n = name('cbs-inline')
    const marker = `inline-cache-${n}`
    // The early, "expensive" layer writes a value that differs on every run: reused or re-run shows.
    const repo = makeBuildRepo({ name: n, dockerfile: `FROM busybox:latest\nRUN echo ${marker} > /marker && cat /proc/sys/kernel/random/uuid > /stamp\nCOPY tools /opt/tools\n` })
    const env = { ...NO_CREDENTIALS, REGISTRY: registry.host, DOCKER_BUILDKIT: '1' }
    const first = await runScript('pull-or-build', ['--push', '--json'], { cwd: repo, env })
    expect(first.exitCode, first.stderr).toBe(0)
    const { ref, outcome } = JSON.parse(first.stdout) as { ref: string; outcome: string }
    expect(outcome).toBe('pushed')
    const stamp = imageFile(ref, '/stamp')

    // The daemon forgets the image and every cache record of its layers.
    docker('rmi', ref)
    expect(forgetBuildCache(marker)).toBeGreaterThan(0)
    expect(dockerMaybe('image', 'inspect', ref)).toBeNull()
    expect(cacheRecords().filter((r) => r.description.includes(marker))).toEqual([])

    // A later build (an input changed) with the pushed image as its only cache.
    fs.writeFileSync(path.join(repo, 'tools/version'), '2\n')
    git(repo, 'commit', '-qam', 'tools 2')
    const next = `${n}:next`
    const later = spawnSync('docker', ['build', '--cache-from', ref, '--tag', next, '--file', 'Dockerfile.build', '--progress', 'plain', '.'], {
      cwd: repo,
      env: { ...process.env, DOCKER_BUILDKIT: '1' },
      encoding: 'utf8',
      timeout: 240_000,
    })
    expect(later.status, later.stderr).toBe(0)
    // The step is CACHED, its layer downloaded from the registry: the daemon had no copy.
    expect(layerDownloaded(later.stderr, `[2/3] RUN echo ${marker}`), later.stderr).toBe(true)
    expect(imageFile(next, '/stamp')).toBe(stamp)
    expect(imageFile(next, '/opt/tools/version')).toBe('2')
  })
})
