// The README's main job, `npx zx scripts/test-and-build.mts`, in a fresh clone of this
// repository by a newcomer without registry credentials: with the registry unreachable,
// and with a registry that refuses anonymous reads (GHCR's answer for a private image),
// it exits 0 both times, having built the build image locally.
//
// Bounded: the real main job runs this whole suite inside the build image, many minutes.
// `--only build` (steps.build, `npm run typecheck`, in the build image) goes through the
// very same path as a newcomer's whole run (the tag, the manifest check and its refusal, the
// fallback build of this repository's Dockerfile.build, one container with the checkout
// mounted) and skips only the suite itself, which has nothing to do with the registry.
// The registry comes from REGISTRY, as on CI: this repository's build.config.json names
// none (tests/unit/ci-configs.test.mts), so a newcomer's plain run is local-only.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dockerMaybe, requireDocker } from '../helpers/docker.mts'
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { git, tempDir } from '../helpers/repo.mts'
import { adopterEnv, PROJECT_ROOT, runScript } from '../helpers/run.mts'
import { startTokenRegistry } from '../helpers/token-registry.mts'

// A cold build of this repository's build image (apt, npm ci) takes minutes under load.
const RUN_MS = 15 * 60_000

// The builder: BuildKit by default; CBS_TEST_LEGACY_BUILDER=1 runs the file with the legacy one.
const BUILDER = process.env.CBS_TEST_LEGACY_BUILDER === '1' ? { DOCKER_BUILDKIT: '0' } : {}

describe("the README's main job in a fresh clone, without credentials", () => {
  let clone: string
  let registry: TestRegistry
  const refs: string[] = []
  beforeAll(async () => {
    requireDocker(['node:20-bookworm-slim'])
    clone = path.join(tempDir('cbs-fresh-'), 'ci-build-scripts')
    git(tempDir(), 'clone', '-q', PROJECT_ROOT, clone)
    expect(fs.existsSync(path.join(clone, 'node_modules'))).toBe(false)
    // The README's set-up, before its two commands: the checkout's own dependencies, which
    // the steps use in the build image (it links none at /node_modules).
    // As a newcomer types it: without the NODE_OPTIONS and npm_* variables this suite runs under.
    execFileSync('npm', ['ci', '--prefer-offline'], { cwd: clone, env: adopterEnv(), stdio: 'pipe', timeout: 600_000 })
    registry = await startRegistry()
  }, 900_000)
  afterAll(async () => {
    for (const ref of refs) dockerMaybe('rmi', ref)
    await registry?.stop()
  })

  async function mainJob(registryHost: string) {
    const report = path.join(tempDir('cbs-report-'), 'report.json')
    const env = { ...BUILDER, REGISTRY: registryHost, REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '', REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '10', DOCKER_CONFIG: tempDir('cbs-docker-config-') }
    const result = await runScript('test-and-build', ['--only', 'build', '--report', report], { cwd: clone, env, timeoutMs: RUN_MS })
    const timing = fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : undefined
    if (timing?.image?.ref) refs.push(timing.image.ref)
    return { ...result, timing }
  }

  it(
    'the registry unreachable: built locally with a loud warning, the step runs, exit 0',
    async () => {
      const closed = `127.0.0.1:${await freePort()}`
      const result = await mainJob(closed)
      expect(result.exitCode, result.stderr.slice(-3000)).toBe(0)
      expect(result.stderr).toContain(`registry ${closed} is unavailable`)
      expect(result.stderr).toContain('LOCALLY because the registry could not be asked')
      expect(result.timing.image).toMatchObject({ ref: expect.stringMatching(new RegExp(`^${closed}/ci-build-scripts-build:[0-9a-f]{40}$`)), outcome: 'built', reason: 'registry-unavailable' })
      expect(result.timing.steps).toMatchObject([{ name: 'build', status: 'ok', exitCode: 0 }])
    },
    RUN_MS + 60_000,
  )

  it(
    'a registry that refuses anonymous reads: built locally with a loud warning, the step runs, exit 0',
    async () => {
      const front = await startTokenRegistry(registry.url, 'token', { username: 'maintainer', password: 'readme-token-secret-3e9' })
      const result = await mainJob(front.host)
      expect(result.exitCode, result.stderr.slice(-3000)).toBe(0)
      expect(result.stderr).toContain(`cannot read ${front.host}/ci-build-scripts-build without credentials: BUILDING`)
      expect(result.stderr).toMatch(/image \(built\)\s+\S+\s+ok \(the registry refused to let us read it without credentials(; [^)\n]*)?\)/)
      expect(result.timing.image).toMatchObject({ outcome: 'built', reason: 'not-readable-without-credentials' })
      expect(result.timing.steps).toMatchObject([{ name: 'build', status: 'ok', exitCode: 0 }])
      expect(front.tokens.requests.length).toBeGreaterThan(0) // it did ask, and was refused
    },
    RUN_MS + 60_000,
  )
})
