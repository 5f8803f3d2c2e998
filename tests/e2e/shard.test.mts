// test-and-build --shard K/N and merge-reports, as CI nodes run them: the scripts as
// processes on fixture repositories, the real Docker Engine (BuildKit and the legacy
// builder), and go-app's packages listed by `go list` in its real toolchain image.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listWorktreeFiles } from '../../lib/core/git.mts'
import { outputInContainer } from '../../lib/runner/container.mts'
import { parseJUnitTimings, parseUnitList, selectUnitFiles, splitUnits } from '../../lib/runner/shard.mts'
import { makeBuildRepo, removeImagesNamed } from '../helpers/build-image.mts'
import { requireDocker, uniqueName } from '../helpers/docker.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'
import { PROJECT_ROOT, runScript } from '../helpers/run.mts'

// Unit names a shell would act on: spaces, quotes, substitutions, globs, separators.
const ODD_UNITS = ['units/a b.t', 'units/$(touch pwned).t', "units/it's.t", 'units/*.t', 'units/;echo hi>x.t']
// The test command writes each argument it got on a line of its own, after a line
// naming the run; it also writes a JUnit file, which the shard's copy must rename.
const TEST = ['sh', '-c', 'echo "-- run" >> args.txt; for a; do printf "%s\\n" "$a" >> args.txt; done; mkdir -p reports; echo "<testsuites name=\\"fixture\\"><testsuite name=\\"s\\" tests=\\"$#\\" time=\\"1\\"></testsuite></testsuites>" > reports/junit.xml', 'sh', '{units}']
const BUILD = ['sh', '-c', 'echo built >> built.txt']
const ENV = { REGISTRY: '', CI: 'true' }

describe.each([
  ['BuildKit', '1'],
  ['the legacy builder', '0'],
])('test-and-build --shard, built with %s', (_, buildkit) => {
  const name = uniqueName('shard-build')
  beforeAll(() => requireDocker(['busybox:latest']))
  afterAll(() => removeImagesNamed(name))

  it('N shards run every unit once, each as one argument, nothing run by the shell; the build on shard 1; merge-reports joins them', async () => {
    const repo = makeBuildRepo({
      name,
      files: Object.fromEntries(ODD_UNITS.map((u) => [u, 'unit\n'])),
      config: { steps: { build: BUILD, shard: { units: ['units/*.t'], test: TEST, junit: 'reports/junit.xml' } } },
    })
    const out = tempDir('cbs-shard-reports-')
    const env = { ...ENV, DOCKER_BUILDKIT: buildkit }
    for (const k of [1, 2]) {
      const r = await runScript('test-and-build', ['--shard', `${k}/2`, '--report', path.join(out, `shard-${k}.json`)], { cwd: repo, env, timeoutMs: 240_000 })
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stderr).toContain(`shard ${k}/2: ${k === 1 ? 3 : 2} of 5 units, split by count`)
    }
    const runs = fs.readFileSync(path.join(repo, 'args.txt'), 'utf8').split('-- run\n').filter(Boolean).map((s) => s.trimEnd().split('\n'))
    expect(runs).toHaveLength(2)
    expect(runs.flat().sort()).toEqual([...ODD_UNITS].sort())
    expect(fs.existsSync(path.join(repo, 'pwned')), 'a unit name was run by a shell').toBe(false)
    expect(fs.existsSync(path.join(repo, 'x.t'))).toBe(false)
    expect(fs.readFileSync(path.join(repo, 'built.txt'), 'utf8')).toBe('built\n')
    // Each shard's JUnit was renamed for its shard, and names it.
    expect(fs.existsSync(path.join(repo, 'reports/junit.xml'))).toBe(false)
    for (const k of [1, 2]) {
      const junit = fs.readFileSync(path.join(repo, `reports/junit.shard-${k}-of-2.xml`), 'utf8')
      expect(junit).toContain(`<testsuites name="fixture (shard ${k}/2)">`)
      fs.copyFileSync(path.join(repo, `reports/junit.shard-${k}-of-2.xml`), path.join(out, `junit.shard-${k}-of-2.xml`))
    }
    const report = JSON.parse(fs.readFileSync(path.join(out, 'shard-2.json'), 'utf8'))
    expect(report.shard).toMatchObject({ index: 2, total: 2, allUnits: 5 })
    expect(report.steps.map((s: { name: string }) => s.name)).toEqual(['test'])

    // merge-reports: a row per shard, the critical path; the JUnit files as one.
    const merged = path.join(out, 'merged/junit.xml')
    const m = await runScript('merge-reports', ['--junit', merged, out], { cwd: repo, env })
    expect(m.exitCode, m.stderr).toBe(0)
    const lines = m.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^shard\s+units\s+image\s+test\s+build\s+total\s+result$/)
    expect(lines[1]).toMatch(/^1\/2\s+3\s+.*ok$/)
    expect(lines[2]).toMatch(/^2\/2\s+2\s+.*ok$/)
    expect(lines[3]).toMatch(/^critical path: shard [12]\s+\d\d:\d\d$/)
    expect(parseJUnitTimings(fs.readFileSync(merged, 'utf8'))).toEqual(new Map([['s', 2]]))

    // One shard's report missing: not one set, exit 1 naming it.
    fs.rmSync(path.join(out, 'shard-2.json'))
    const incomplete = await runScript('merge-reports', [out], { cwd: repo, env })
    expect(incomplete.exitCode).toBe(1)
    expect(incomplete.stderr).toContain('shard 2/2: no report')
  })

  it('a shard with no units succeeds and says so, running nothing', async () => {
    const repo = makeBuildRepo({
      name,
      files: { 'units/one.t': '1\n' },
      config: { steps: { build: BUILD, shard: { units: ['units/*.t'], test: TEST } } },
    })
    const r = await runScript('test-and-build', ['--shard', '2/2'], { cwd: repo, env: { ...ENV, DOCKER_BUILDKIT: buildkit }, timeoutMs: 240_000 })
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain('shard 2/2: no units (1 in all, split by count): nothing to test')
    expect(r.stderr).toMatch(/test \(shard 2\/2\)\s+--:--\s+no units/)
    expect(fs.existsSync(path.join(repo, 'args.txt'))).toBe(false)
    expect(fs.existsSync(path.join(repo, 'built.txt'))).toBe(false)
  })
})

describe('every node computes the same split', () => {
  it('three processes, --plan --shard K/3 with the same timings: one split, every file of this repository once', async () => {
    const units = selectUnitFiles(await listWorktreeFiles(PROJECT_ROOT), ['tests/**/*.test.mts'])
    const timings = path.join(tempDir('cbs-timings-'), 'vitest.xml')
    const suites = units.filter((_, i) => i % 4).map((u, i) => `<testsuite name="${u}" time="${((i * 7919) % 113) / 3}"></testsuite>`)
    fs.writeFileSync(timings, `<testsuites>${suites.join('')}</testsuites>`)
    const runs = await Promise.all([1, 2, 3].map((k) => runScript('test-and-build', ['--plan', '--shard', `${k}/3`, '--timings', timings], { cwd: PROJECT_ROOT, env: ENV })))
    const plans = runs.map((r) => {
      expect(r.exitCode, r.stderr).toBe(0)
      return JSON.parse(r.stdout)
    })
    expect(new Set(plans.map((p) => p.shard.splitId)).size).toBe(1)
    expect(plans.map((p) => p.shard.by)).toEqual(['timings', 'timings', 'timings'])
    const all = plans.flatMap((p) => p.shard.units)
    expect(new Set(all).size).toBe(all.length)
    expect(all.sort()).toEqual(units)
    // The test command is this shard's units in place of {units}; the build on shard 1 only.
    expect(plans[1].steps).toEqual([{ name: 'test', command: ['npm', 'run', 'test:ci', '--', ...plans[1].shard.units] }])
    expect(plans[0].steps.map((s: { name: string }) => s.name)).toEqual(['test', 'build'])
  })
})

describe('bad input is exit 2 with a one-line reason, before any work', () => {
  const shard = { units: ['units/*.t'], test: TEST }
  const repoWith = (steps: unknown) => makeRepo({ 'Dockerfile.build': 'FROM busybox:latest\n', 'units/a.t': 'a\n' }, { buildImage: { name: 'never-built', inputs: ['units'] }, steps })
  it.each<[string, unknown, string[], RegExp]>([
    ['--shard 0/2', { shard }, ['--shard', '0/2'], /--shard: expected K\/N with 1 <= K <= N \(like 1\/2\), got "0\/2"/],
    ['--shard 3/2', { shard }, ['--shard', '3/2'], /--shard: expected K\/N .* got "3\/2"/],
    ['--shard a/b', { shard }, ['--shard', 'a/b'], /--shard: expected K\/N .* got "a\/b"/],
    ['both units and list', { shard: { ...shard, list: ['ls'] } }, ['--shard', '1/2'], /steps\.shard: set exactly one of units/],
    ['no {units}', { shard: { units: ['units/*.t'], test: ['sh', '-c', 'true'] } }, ['--shard', '1/2'], /steps\.shard\.test: expected a command with the element "\{units\}"/],
    ['--shard without steps.shard', { test: ['true'] }, ['--shard', '1/2'], /--shard 1\/2: build.config.json has no steps.shard/],
    ['CircleCI parallelism without steps.shard', { test: ['true'] }, [], /CIRCLE_NODE_TOTAL=2: build.config.json has no steps.shard/],
  ])('%s', async (_, steps, args, message) => {
    const r = await runScript('test-and-build', args, { cwd: repoWith(steps), env: { ...ENV, CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2' } })
    expect(r.exitCode, r.stderr).toBe(2)
    const errors = r.stderr.split('\n').filter((l) => l.includes('Error:'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(message)
  })
})

describe('go-app\'s packages, listed by `go list ./...` in its toolchain image', () => {
  // The toolchain layer .ci/setup-env.sh keeps warm (tagged by Dockerfile.build's hash).
  const goApp = path.join(PROJECT_ROOT, 'examples/go-app')
  const image = `cbs-cache/go-app-toolchain:${execFileSync('git', ['hash-object', path.join(goApp, 'Dockerfile.build')], { encoding: 'utf8' }).trim()}`
  beforeAll(() => requireDocker([image]))

  it('every N from 1 to 5 splits them into a partition', async () => {
    const root = tempDir('cbs-go-app-')
    fs.cpSync(goApp, root, { recursive: true, filter: (src) => !src.includes(`${path.sep}bin`) })
    git(root, 'init', '-q', '-b', 'main')
    const units = parseUnitList(await outputInContainer({ image, root }, ['go', 'list', './...'], [], 'steps.shard.list'))
    expect(units).toEqual(['example.com/go-app', 'example.com/go-app/internal/semver', 'example.com/go-app/pkg/greeting', 'example.com/go-app/pkg/kv', 'example.com/go-app/pkg/wordcount'])
    for (let n = 1; n <= 5; n++) {
      const bins = splitUnits(units, n).bins.map((b) => b.units)
      const flat = bins.flat()
      expect(new Set(flat).size).toBe(flat.length)
      expect(flat.sort()).toEqual(units)
      expect(bins.every((b) => b.length > 0), `N=${n}: no empty shard with ${units.length} units`).toBe(true)
    }
  })
})
