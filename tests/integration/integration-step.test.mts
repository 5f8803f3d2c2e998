// `test-and-build --only integration` as the nightly and approved-PR jobs run it: only the
// integration step runs, and its container sees only the env vars steps.integrationEnv
// lists (plus CI's own and the container's), checked from inside the container.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeBuildRepo, removeImagesNamed } from '../helpers/build-image.mts'
import { docker, requireDocker, uniqueName } from '../helpers/docker.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

const LABEL = 'dev.ci-build-scripts.repo'
const IMAGE = uniqueName('integ-build')

// What the container itself sets: docker (HOSTNAME, PATH from the image), the runner
// (HOME, git's safe.directory as GIT_CONFIG_*) and the shell (PWD, SHLVL).
const CONTAINER_OWN = ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0', 'HOME', 'HOSTNAME', 'PATH', 'PWD', 'SHLVL']

// The job's environment: CI's own vars, the credentials the integration tests need, and
// things that must not reach them (the push token, an unlisted cloud secret, a var only
// the test and build steps get, the runner's own HOME and USER).
const JOB_ENV = {
  CI: 'true',
  GITHUB_SHA: 'abc123',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_TOKEN: 'ghs_push_token_must_not_pass',
  CIRCLE_BRANCH: 'main',
  INTEG_API_TOKEN: 'integ-secret-value',
  INTEG_REGION: 'eu-west-1',
  CLOUD_PASSWORD: 'cloud-secret-not-listed',
  BUILD_ONLY: 'for test and build',
  REGISTRY: '',
}

/** The outer environment's CI vars (these tests may run on CI themselves) left out, then JOB_ENV. */
function jobEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const scrubbed = Object.fromEntries(Object.keys(process.env).filter((k) => /^(CI|GITHUB_|CIRCLE)/.test(k)).map((k) => [k, undefined]))
  return { ...scrubbed, ...JOB_ENV, ...extra }
}

describe('test-and-build --only integration', () => {
  beforeAll(() => requireDocker(['busybox:latest']))
  afterAll(() => removeImagesNamed(IMAGE))

  function fixture(steps: Record<string, unknown>) {
    const repo = makeBuildRepo({ name: IMAGE, config: { steps } })
    const run = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<RunResult> => runScript('test-and-build', args, { cwd: repo, env: jobEnv(extra) })
    return { repo, run, read: (f: string) => fs.readFileSync(path.join(repo, f), 'utf8') }
  }

  it('runs only the integration step, whose container sees only the listed vars, CI\'s own and its own', async () => {
    const { repo, run, read } = fixture({
      test: ['touch', 'test-ran'],
      build: ['touch', 'build-ran'],
      // `env` from inside the container: names and values, NUL-separated.
      integration: ['sh', '-c', 'env -0 > integration-env.bin && touch integration-ran'],
      env: ['BUILD_ONLY'],
      integrationEnv: ['INTEG_*'],
    })
    const result = await run(['--only', 'integration'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(fs.existsSync(path.join(repo, 'integration-ran'))).toBe(true)
    expect(fs.existsSync(path.join(repo, 'test-ran'))).toBe(false)
    expect(fs.existsSync(path.join(repo, 'build-ran'))).toBe(false)
    expect(result.stderr).toMatch(/phase\s+time\s+result\nimage \((built|present)\)\s+\S+\s+ok( \(no registry configured: local-only mode; (no cache|cache: a local earlier build)\))?\nintegration\s+\d\d:\d\d\s+ok\ntotal/)

    const seen = Object.fromEntries(
      read('integration-env.bin')
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    )
    const passed = Object.keys(seen).filter((name) => !CONTAINER_OWN.includes(name)).sort()
    expect(passed).toEqual(['CI', 'CIRCLE_BRANCH', 'GITHUB_REF', 'GITHUB_SHA', 'INTEG_API_TOKEN', 'INTEG_REGION'])
    expect(seen).toMatchObject({ INTEG_API_TOKEN: 'integ-secret-value', INTEG_REGION: 'eu-west-1', CI: 'true', HOME: '/home/ci-build' })
    // The values never travelled in argv: only names are on docker's command line.
    expect(result.stderr).not.toContain('integ-secret-value')
    expect(docker('ps', '-a', '-q', '--filter', `label=${LABEL}=${repo}`)).toBe('')
  })

  it('the same vars stay out of the test and build steps, which get steps.env instead', async () => {
    const { run, read } = fixture({
      test: ['sh', '-c', 'echo "INTEG=${INTEG_API_TOKEN:-unset} BUILD_ONLY=${BUILD_ONLY:-unset} TOKEN=${GITHUB_TOKEN:-unset}" > test-env.txt'],
      integration: ['true'],
      env: ['BUILD_ONLY'],
      integrationEnv: ['INTEG_API_TOKEN'],
    })
    const result = await run([])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(read('test-env.txt').trim()).toBe('INTEG=unset BUILD_ONLY=for test and build TOKEN=unset')
    expect(result.stderr).not.toMatch(/^integration\s/m) // not run without --only
  })

  it('with steps.docker, the exception: the integration container gets the host\'s Docker Engine, and the run says loudly what that hands over', async () => {
    const { repo, run } = fixture({ integration: ['sh', '-c', 'test -S /var/run/docker.sock && touch socket-there'], integrationEnv: ['INTEG_*'], docker: true })
    const result = await run(['--only', 'integration'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(fs.existsSync(path.join(repo, 'socket-there'))).toBe(true)
    expect(result.stderr).toContain("steps.docker: the integration container drives the host's Docker Engine, through which its code can read every secret of this job, not only steps.integrationEnv")
    // Without steps.docker: no socket, no warning.
    const plain = fixture({ integration: ['sh', '-c', 'test ! -e /var/run/docker.sock && touch no-socket'], integrationEnv: ['INTEG_*'] })
    const quiet = await plain.run(['--only', 'integration'])
    expect(quiet.exitCode, quiet.stderr).toBe(0)
    expect(fs.existsSync(path.join(plain.repo, 'no-socket'))).toBe(true)
    expect(quiet.stderr).not.toContain('steps.docker')
  })

  it('a failing integration step fails the run (exit 1), its own exit code named', async () => {
    const { run } = fixture({ integration: ['sh', '-c', 'echo integration-broke; exit 4'] })
    const result = await run(['--only', 'integration'])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('integration-broke')
    expect(result.stderr).toContain('integration failed with exit code 4:')
    expect(result.stderr).toMatch(/^total\s+\d\d:\d\d\s+failed \(integration: exit 4\)$/m)
  })

  it('output that docker run did not print is read from the container\'s log, and the container is removed', async () => {
    const { repo, run } = fixture({ integration: ['sh', '-c', 'echo integration-broke; exit 4'] })
    // A docker whose `run` prints nothing, the way it returned for a container that ended at once on a loaded machine.
    const realDocker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
    const shim = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-shim-'))
    fs.writeFileSync(path.join(shim, 'docker'), `#!/bin/sh\nif [ "$1" = run ]; then "${realDocker}" "$@" >/dev/null; exit $?; fi\nexec "${realDocker}" "$@"\n`, { mode: 0o755 })
    const result = await run(['--only', 'integration'], { PATH: `${shim}:${process.env.PATH}` })
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('integration-broke')
    expect(result.stderr).toContain('integration failed with exit code 4:')
    expect(docker('ps', '-aq', '--filter', `label=${LABEL}=${repo}`)).toBe('')
  })

  it('a missing steps.integration is a clear exit 2, before any image work; a malformed one names the key', async () => {
    const missing = fixture({ test: ['true'] })
    const refused = await missing.run(['--only', 'integration'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toContain('Error: --only integration: steps.integration is not set in build.config.json')
    expect(refused.stderr).not.toContain('build image')

    const malformed = fixture({ integration: 'make integration' })
    const bad = await malformed.run(['--only', 'integration'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toContain('build.config.json: steps.integration: expected an array of strings, got the string "make integration"')
    const badEnv = await fixture({ integration: ['true'], integrationEnv: 'INTEG_*' }).run(['--only', 'integration'])
    expect(badEnv.exitCode).toBe(2)
    expect(badEnv.stderr).toContain('steps.integrationEnv: expected an array of strings')
  })
})
