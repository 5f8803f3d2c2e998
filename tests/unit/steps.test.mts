import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../lib/core/config.mts'
import { RUNNER, runArgs, shQuote } from '../../lib/runner/container.mts'
import { integrationDockerWarning, passThroughEnv, planSteps, timingBars, timingMarkdown, timingReport, timingRows, type TimingInput } from '../../lib/runner/steps.mts'

const config = (steps: Record<string, unknown>) => validateConfig({ buildImage: { name: 'x-build', inputs: ['a'] }, steps })

describe('passThroughEnv', () => {
  const env = {
    CI: 'true',
    GITHUB_SHA: 'abc',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_TOKEN: 'ghs_secret',
    CIRCLE_BRANCH: 'main',
    CIRCLECI: 'true',
    CIRCLE_TOKEN: 'x',
    HOME: '/root',
    PATH: '/bin',
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    NPM_TOKEN: 'n',
    CIA: 'no',
  }
  it("passes CI's own vars, minus secret-looking ones", () => {
    expect(passThroughEnv(env, [])).toEqual(['CI', 'CIRCLECI', 'CIRCLE_BRANCH', 'GITHUB_REF', 'GITHUB_SHA'])
  })
  it("passes CI's documented variables by name: a credential named like them stays out", () => {
    const withSecrets = {
      ...env,
      // Credentials projects name after their CI (none looks like TOKEN/SECRET/PASSWORD/_KEY).
      GITHUB_PAT: 'ghp_x',
      GITHUB_APP_PEM: '-----BEGIN',
      GITHUB_APP_PRIVATE_KEY_B64: 'x',
      CIRCLECI_PAT: 'x',
      CIRCLECI_CLI_AUTH: 'x',
      CIRCLE_OIDC_TOKEN_V2: 'x',
      CIRCLE_CI_DEPLOY_CREDS: 'x',
      // Actions' file commands: a step writing to them would set the job's env and outputs.
      GITHUB_ENV: '/runner/env',
      GITHUB_OUTPUT: '/runner/out',
      GITHUB_PATH: '/runner/path',
      // Documented defaults.
      GITHUB_RUN_ID: '42',
      GITHUB_REPOSITORY: 'acme/app',
      CIRCLE_SHA1: 'abc',
      CIRCLE_PULL_REQUEST: 'https://github.com/acme/app/pull/1',
    }
    expect(passThroughEnv(withSecrets, [])).toEqual([
      'CI',
      'CIRCLECI',
      'CIRCLE_BRANCH',
      'CIRCLE_PULL_REQUEST',
      'CIRCLE_SHA1',
      'GITHUB_REF',
      'GITHUB_REPOSITORY',
      'GITHUB_RUN_ID',
      'GITHUB_SHA',
    ])
    expect(passThroughEnv(withSecrets, ['GITHUB_PAT'])).toContain('GITHUB_PAT')
  })
  it('adds names and prefixes listed in the config, even secret-looking ones', () => {
    expect(passThroughEnv(env, ['GO*', 'NPM_TOKEN', 'NOT_SET'])).toEqual([
      'CI',
      'CIRCLECI',
      'CIRCLE_BRANCH',
      'GITHUB_REF',
      'GITHUB_SHA',
      'GOFLAGS',
      'GOPROXY',
      'NPM_TOKEN',
    ])
  })
})

describe('planSteps', () => {
  const env = { CI: 'true', LISTED: '1', ONLY_INTEGRATION: '1' }
  const full = config({ test: ['make', 'test'], build: ['make', 'build'], integration: ['make', 'it'], env: ['LISTED'], integrationEnv: ['ONLY_INTEGRATION'] })

  it('runs test then build, with steps.env', () => {
    expect(planSteps(full, undefined, env)).toEqual([
      { name: 'test', command: ['make', 'test'], env: ['CI', 'LISTED'] },
      { name: 'build', command: ['make', 'build'], env: ['CI', 'LISTED'] },
    ])
  })
  it('--only picks one; integration gets only integrationEnv plus CI vars', () => {
    expect(planSteps(full, 'build', env).map((p) => p.name)).toEqual(['build'])
    expect(planSteps(full, 'integration', env)).toEqual([{ name: 'integration', command: ['make', 'it'], env: ['CI', 'ONLY_INTEGRATION'] }])
  })
  it('skips an unset step, refuses an unknown or unset --only (exit 2)', () => {
    expect(planSteps(config({ build: ['b'] }), undefined, {}).map((p) => p.name)).toEqual(['build'])
    expect(() => planSteps(full, 'lint', env)).toThrow(/--only: expected one of test, build, integration/)
    expect(() => planSteps(config({ test: ['t'] }), 'integration', env)).toThrow(/steps.integration is not set/)
    expect(() => planSteps(config({}), undefined, env)).toThrow(/set steps.test/)
    try {
      planSteps(config({ test: ['t'] }), 'integration', env)
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(2)
    }
  })
})

describe('integrationDockerWarning', () => {
  const config = (docker: boolean) => validateConfig({ buildImage: { name: 'x-build', inputs: ['a'] }, steps: { integration: ['t'], test: ['t'], docker } })
  it('only for the integration step with steps.docker', () => {
    expect(integrationDockerWarning(config(true), 'integration')).toMatch(/^steps\.docker: the integration container drives the host's Docker Engine/)
    expect(integrationDockerWarning(config(false), 'integration')).toBeUndefined()
    expect(integrationDockerWarning(config(true), undefined)).toBeUndefined()
    expect(integrationDockerWarning(config(true), 'test')).toBeUndefined()
  })
})

describe('container arguments', () => {
  const plans = [
    { name: 'test' as const, command: ['make', 'test'], env: ['CI', 'SECRETISH'] },
    { name: 'build' as const, command: ['sh', '-c', "echo 'it''s' $HOME"], env: ['CI'] },
  ]
  const args = runArgs('c1', { image: 'img:t', root: '/src/repo', mounts: ['/src/main/.git'], user: '1000:1001' }, plans, '::m::')

  it('runs as the given user with the repo at its own path, HOME writable and safe.directory set', () => {
    const joined = args.join(' ')
    // No --rm: the container is removed after its log could be read (runContainer).
    expect(joined).toMatch(/^run --name c1 --label dev.ci-build-scripts.repo=\/src\/repo --user 1000:1001 /)
    expect(joined).toContain('--volume /src/repo:/src/repo --volume /src/main/.git:/src/main/.git --workdir /src/repo')
    expect(joined).toContain('uid=1000,gid=1001')
    expect(joined).toContain('--env GIT_CONFIG_KEY_0=safe.directory --env GIT_CONFIG_VALUE_0=/src/repo')
  })
  it('mounts read-only what it is asked to (a Plug\'n\'Play checkout\'s cache), at its own path', () => {
    const ro = runArgs('c2', { image: 'img:t', root: '/src/repo', readOnlyMounts: ['/home/u/.yarn/berry/cache'], user: '1000:1001' }, plans, '::m::').join(' ')
    expect(ro).toContain('--volume /src/repo:/src/repo --volume /home/u/.yarn/berry/cache:/home/u/.yarn/berry/cache:ro --workdir /src/repo')
    expect(args.join(' ')).not.toContain(':ro')
  })
  it('passes env vars by name only, so values never reach argv', () => {
    expect(args.filter((a, i) => args[i - 1] === '--env' && !a.includes('='))).toEqual(['CI', 'SECRETISH'])
  })
  it('hands the runner the marker and each step as a quoted argv', () => {
    expect(args.slice(args.indexOf('img:t') - 2)).toEqual([
      '--entrypoint', 'sh', 'img:t', '-c', RUNNER, 'sh', '::m::',
      'test', "'make' 'test'",
      'build', `'sh' '-c' 'echo '\\''it'\\'''\\''s'\\'' $HOME'`,
    ])
  })
  it('the runner runs the steps in order, stops at the first failure, and marks each', () => {
    const quoted = (argv: string[]) => argv.map(shQuote).join(' ')
    const out = spawnSync('sh', ['-c', RUNNER, 'sh', '::m::', 'test', quoted(['sh', '-c', 'echo "$0 $1"', "it's", 'a b']), 'build', quoted(['sh', '-c', 'exit 4']), 'integration', quoted(['echo', 'never'])], { encoding: 'utf8' })
    expect(out.stdout).toBe("::m:: start test\nit's a b\n::m:: end test 0\n::m:: start build\n::m:: end build 4\n")
    expect(out.stderr).toBe('')
    expect(out.status).toBe(4)
  })
})

describe('timing table', () => {
  const input: TimingInput = {
    image: { ref: 'r:t', outcome: 'pulled', durationMs: 79_000 },
    steps: [
      { name: 'test', command: ['t'], env: [] },
      { name: 'build', command: ['b'], env: [] },
    ],
    results: [{ name: 'test', exitCode: 3, durationMs: 390_400 }],
    totalMs: 470_000,
    exitCode: 1,
  }
  it('has the rows in mm:ss, a failed step named and the rest skipped', () => {
    expect(timingRows(input)).toEqual([
      ['phase', 'time', 'result'],
      ['image (pulled)', '01:19', 'ok'],
      ['test', '06:30', 'failed (exit 3)'],
      ['build', '--:--', 'skipped'],
      ['total', '07:50', 'failed (test: exit 3)'],
    ])
    expect(timingMarkdown(input)).toContain('| image (pulled) | 01:19 | ok |')
  })
  it('has a JSON report', () => {
    const report = timingReport(input)
    expect(report.image).toEqual({ ref: 'r:t', outcome: 'pulled', reason: null, durationMs: 79_000, time: '01:19' })
    expect(report.steps).toEqual([
      { name: 'test', status: 'failed', exitCode: 3, durationMs: 390_400, time: '06:30' },
      { name: 'build', status: 'skipped', exitCode: null, durationMs: null, time: null },
    ])
    expect(report.exitCode).toBe(1)
    expect(report.failed).toEqual({ phase: 'test', exitCode: 3 })
  })
  it('the job summary: the phases as a chart, one after another, then the table folded under it', () => {
    const ok: TimingInput = { ...input, results: [{ name: 'test', exitCode: 0, durationMs: 390_000 }, { name: 'build', exitCode: 0, durationMs: 30_000 }], exitCode: 0 }
    expect(timingBars(ok)).toEqual([
      { name: 'build image', bars: [{ label: 'image (pulled)', startMs: 0, durationMs: 79_000, failed: false }] },
      {
        name: 'steps',
        bars: [
          { label: 'test', startMs: 79_000, durationMs: 390_000, failed: false },
          { label: 'build', startMs: 469_000, durationMs: 30_000, failed: false },
        ],
      },
    ])
    const md = timingMarkdown(ok)
    expect(md).toMatch(/^### test-and-build\n\n```mermaid\ngantt\n  title test-and-build: ok in 7m 50s\n/)
    expect(md).toContain('  section steps\n  test (6m 30s) :done, p2, 79000, 469000\n  build (30s) :done, p3, 469000, 499000\n```')
    expect(md.indexOf('```mermaid')).toBeLessThan(md.indexOf('<details><summary>Timing table</summary>\n\n| phase | time | result |'))
    expect(md).toContain('| total | 07:50 | ok |\n\n</details>')
  })
  it('the chart: a failed step is marked, a skipped one has no bar, a failed image is the only bar', () => {
    expect(timingBars(input)[1].bars).toEqual([{ label: 'test', startMs: 79_000, durationMs: 390_400, failed: true }])
    expect(timingMarkdown(input)).toContain('title test-and-build: failed (test: exit 3) in 7m 50s')
    expect(timingMarkdown(input)).toContain('  test (6m 30s) :crit, p2, 79000, 469400\n```')
    const failed = { ...input, image: { ref: '', outcome: 'failed' as const, durationMs: 12_000 }, results: [], totalMs: 13_000 }
    expect(timingBars(failed)).toEqual([
      { name: 'build image', bars: [{ label: 'image', startMs: 0, durationMs: 12_000, failed: true }] },
      { name: 'steps', bars: [] },
    ])
  })
  it('the chart of one shard names it and its units', () => {
    const shard = { index: 2, total: 3, units: ['a', 'b'], allUnits: 5, command: ['t'], split: { by: 'count' as const, timed: 0, id: 'x' } }
    const sharded: TimingInput = { ...input, results: [{ name: 'test', exitCode: 0, durationMs: 10_000 }], exitCode: 0, shard }
    expect(timingBars(sharded)[1].bars[0].label).toBe('test (shard 2/3, 2 of 5 units)')
    expect(timingMarkdown(sharded)).toMatch(/^### test-and-build, shard 2\/3\n\n```mermaid\ngantt\n  title test-and-build, shard 2\/3: ok in 7m 50s\n/)
  })
  it('shows an image that could not be made, the steps skipped', () => {
    const failed = { ...input, image: { ref: '', outcome: 'failed' as const, durationMs: 12_000 }, results: [], totalMs: 13_000 }
    expect(timingRows(failed)).toEqual([
      ['phase', 'time', 'result'],
      ['image', '00:12', 'failed'],
      ['test', '--:--', 'skipped'],
      ['build', '--:--', 'skipped'],
      ['total', '00:13', 'failed (image)'],
    ])
    expect(timingReport(failed).failed).toEqual({ phase: 'image', exitCode: null })
  })
  it('says why the image was built, in the table and the report', () => {
    const built: TimingInput = { ...input, image: { ref: 'r:t', outcome: 'built', reason: 'not-readable-without-credentials', durationMs: 61_000 } }
    expect(timingRows(built)[1]).toEqual(['image (built)', '01:01', 'ok (the registry refused to let us read it without credentials)'])
    expect(timingReport(built).image).toMatchObject({ outcome: 'built', reason: 'not-readable-without-credentials' })
  })
  it('says what the build reused (the registry image of an earlier commit, a local build, or nothing), in the table and the report', () => {
    const commit = '1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d'
    const lookup = { commits: 3, asked: 2, shallow: false, durationMs: 41 }
    const fromRegistry: TimingInput = { ...input, image: { ref: 'r:t', outcome: 'built', reason: 'not-in-registry', durationMs: 61_000, cache: { ...lookup, image: { ref: 'r:old', source: 'registry', commit, distance: 2, via: 'first-parent' } } } }
    expect(timingRows(fromRegistry)[1]).toEqual(['image (built)', '01:01', 'ok (not in the registry yet; cache: commit 1a2b3c4d, 2 back)'])
    expect(timingReport(fromRegistry).image.cache).toEqual({ image: { ref: 'r:old', source: 'registry', commit, distance: 2, via: 'first-parent' }, note: null, lookupMs: 41, shallow: false })
    const local: TimingInput = { ...input, image: { ref: 'r:t', outcome: 'built', reason: 'local-only', durationMs: 61_000, cache: { ...lookup, image: { ref: 'r:prev', source: 'local' } } } }
    expect(timingRows(local)[1][2]).toBe('ok (no registry configured: local-only mode; cache: a local earlier build)')
    const none: TimingInput = { ...input, image: { ref: 'r:t', outcome: 'built', reason: 'not-in-registry', durationMs: 61_000, cache: { ...lookup, image: null, note: '--no-cache-from' } } }
    expect(timingRows(none)[1][2]).toBe('ok (not in the registry yet; no cache)')
    expect(timingReport(none).image.cache).toMatchObject({ image: null, note: '--no-cache-from' })
    // The full registry cache: the ref the build read, and what the pushing job exported.
    const full: TimingInput = {
      ...input,
      image: { ref: 'r:t', outcome: 'pushed', reason: 'not-in-registry', durationMs: 61_000, cache: { ...lookup, image: { ref: 'r:old', source: 'registry', commit, distance: 1, via: 'first-parent', cacheRef: 'r:old-cache' }, export: { outcome: 'exported', ref: 'r:t-cache' } } },
    }
    expect(timingReport(full).image.cache).toMatchObject({ image: { cacheRef: 'r:old-cache' }, export: { outcome: 'exported', ref: 'r:t-cache' } })
    expect(timingReport(fromRegistry).image.cache).not.toHaveProperty('export')
    // Not built: no cache entry at all.
    expect(timingReport(input).image).not.toHaveProperty('cache')
  })
})
