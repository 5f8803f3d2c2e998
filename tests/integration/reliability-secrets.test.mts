// The suite's known secrets (vitest.config.mts: REGISTRY_PASSWORD, GITHUB_TOKEN) in real
// use: every script that takes one authenticates with it here, and runScript's check
// (tests/helpers/run.mts) fails the run if the value shows in stdout, stderr or any
// descendant's argv. Every other test runs with the same values in its env, unused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeBuildRepo } from '../helpers/build-image.mts'
import { pickEnv, pickFixture } from '../helpers/cherry-fixture.mts'
import { docker } from '../helpers/docker.mts'
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { tempDir } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

const PASSWORD = process.env.REGISTRY_PASSWORD!
const TOKEN = process.env.GITHUB_TOKEN!
const NOT_CI = Object.fromEntries(['CI', 'GITHUB_ACTIONS', 'GITHUB_REF', 'GITHUB_HEAD_REF', 'GITHUB_EVENT_NAME', 'GITHUB_EVENT_PATH', 'CIRCLECI', 'CIRCLE_TAG', 'CIRCLE_BRANCH', 'CIRCLE_PULL_REQUEST'].map((n) => [n, '']))

describe('the suite secrets, used', () => {
  beforeAll(() => {
    expect(PASSWORD).toBe('suite-registry-secret-6c1f')
    expect(TOKEN).toBe('ghs_suiteToken6c1f')
  })
  const { registry, name, removeAfter } = useRegistryScene({ registry: { auth: { username: 'ci', password: PASSWORD } } })
  let gh: GitHubServer
  beforeAll(async () => {
    gh = await startGitHubServer({ tokens: { [TOKEN]: 'cherry-bot' } })
  })
  afterAll(async () => {
    await gh?.close()
  })

  /** The env of a run that logs in to the htpasswd registry with the suite's password, as CI does. */
  const withCredentials = () => ({ ...NOT_CI, REGISTRY: registry.host, REGISTRY_USERNAME: 'ci', HOME: tempDir('cbs-home-'), DOCKER_CONFIG: '' })

  it('pull-or-build and test-and-build push and pull with REGISTRY_PASSWORD; test-and-build keeps it out of the container', async () => {
    const n = name('rel-secret-pob')
    // The step prints the container's whole env on stderr: the check would see a secret passed in.
    const repo = makeBuildRepo({ name: n, config: { steps: { test: ['env'] } } })
    const pushed = await runScript('pull-or-build', ['--push', '--json'], { cwd: repo, env: withCredentials() })
    expect(pushed.exitCode, pushed.stderr).toBe(0)
    const { ref, outcome } = JSON.parse(pushed.stdout)
    expect(outcome).toBe('pushed')
    expect(pushed.commands.some((c) => /^docker push /.test(c))).toBe(true) // the sampler saw the children

    docker('rmi', ref)
    const result = await runScript('test-and-build', [], { cwd: repo, env: { ...withCredentials(), GITHUB_ACTIONS: 'true' } })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toContain(`build image pulled: ${ref}`)
    expect(result.stderr).toContain('HOME=/home/ci-build') // the env step ran and printed
    expect(result.stderr).toContain(`::add-mask::${PASSWORD}`)
    expect(result.commands.some((c) => /^docker pull /.test(c))).toBe(true)
  })

  it('push-images publishes with REGISTRY_PASSWORD', async () => {
    const n = name('rel-secret-pi')
    removeAfter(`${n}-app`)
    const repo = makeBuildRepo({ name: n, files: { Dockerfile: 'ARG BUILD_IMAGE\nFROM ${BUILD_IMAGE}\n' }, config: { image: { name: `${n}-app` } } })
    const result = await runScript('push-images', [], { cwd: repo, env: withCredentials() })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(await registry.tags(`${n}-app`)).toContain('main')
    expect(result.commands.some((c) => /^docker push /.test(c))).toBe(true)
  })

  it('cherry-pick fetches, pushes and calls the API with GITHUB_TOKEN', async () => {
    const f = await pickFixture(gh)
    const result = await runScript('cherry-pick', ['--pr', String(f.pr), '--to', 'release-1.0', '--json'], { cwd: f.checkout, env: { ...pickEnv(gh, f, TOKEN), GITHUB_ACTIONS: 'true' } })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).targets[0]).toMatchObject({ branch: 'release-1.0', status: 'created' })
    expect(result.stderr).toContain(`::add-mask::${TOKEN}`)
    expect(result.commands.some((c) => /scripts\/cherry-pick\.m[jt]s/.test(c))).toBe(true)
    expect(result.commands.some((c) => /^git /.test(c))).toBe(true) // its git children were sampled too
  })
})
