// The issue-7 automations in the CI configs, checked by parsing them (actionlint and
// CircleCI's parser run on them in ci-configs.test.mts):
//   - nightly.yml: schedule + manual, the default branch only, minimal permissions;
//   - integration-approval.yml + integration-approved.yml: integration tests of a pull
//     request run only for an approving review by a trusted reviewer, only on the
//     reviewed commit, with secrets only from the protected environment;
//   - .circleci/config.yml: the same two, a scheduled pipeline and an approval job.
// Each safety check is a function returning the problems it finds, so the tests can show
// that it finds them in a broken copy of the workflow too.
import fs from 'node:fs'
import path from 'node:path'
import { YAML } from 'zx'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../helpers/run.mts'

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8')

type Step = { uses?: string; run?: string; id?: string; name?: string; with?: Record<string, unknown>; env?: Record<string, string> }
type Job = {
  if?: string
  needs?: string | string[]
  environment?: string
  permissions?: Record<string, string>
  outputs?: Record<string, string>
  steps: Step[]
}
type Workflow = { name: string; on: Record<string, unknown>; permissions?: unknown; jobs: Record<string, Job> }

const NIGHTLY = '.github/workflows/nightly.yml'
const APPROVAL = '.github/workflows/integration-approval.yml'
const APPROVED = '.github/workflows/integration-approved.yml'

const TRUSTED = `contains(fromJSON('["OWNER", "MEMBER", "COLLABORATOR"]'), github.event.review.author_association)`
const DEFAULT_BRANCH_ONLY = "github.event_name == 'schedule' || github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"

const checkoutOf = (job: Job) => job.steps.find((s) => s.uses?.startsWith('actions/checkout@'))
/** The `secrets.X` names a YAML text references. */
const secretsIn = (value: unknown) => [...JSON.stringify(value ?? '').matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1])

/** What is wrong with the trigger workflow (integration-approval.yml); [] when nothing. */
function triggerProblems(doc: Workflow): string[] {
  const problems: string[] = []
  if (JSON.stringify(doc.on) !== JSON.stringify({ pull_request_review: { types: ['submitted'] } })) problems.push('triggers on something other than a submitted review')
  if (JSON.stringify(doc.permissions) !== '{}') problems.push('grants permissions')
  const jobs = Object.values(doc.jobs)
  for (const job of jobs) {
    const condition = (job.if ?? '').replace(/\s+/g, ' ').trim()
    if (condition !== `github.event.review.state == 'approved' && ${TRUSTED}`) problems.push(`job condition is not "approved, by a trusted reviewer": ${condition}`)
    if (job.permissions && JSON.stringify(job.permissions) !== '{}') problems.push('a job asks for permissions')
    if (job.environment) problems.push('a job uses an environment')
    if (checkoutOf(job)) problems.push('checks out code')
    if (secretsIn(job).length) problems.push('references secrets')
    if (job.steps.some((s) => /\$\{\{/.test(s.run ?? ''))) problems.push('interpolates the event into a shell script')
  }
  return problems
}

/** What is wrong with the privileged workflow (integration-approved.yml); [] when nothing. */
function approvedProblems(doc: Workflow, trigger: Workflow): string[] {
  const problems: string[] = []
  const on = doc.on as { workflow_run?: { workflows?: string[]; types?: string[] } }
  if (Object.keys(doc.on).join() !== 'workflow_run') problems.push('triggers on something other than workflow_run')
  if (JSON.stringify(on.workflow_run?.workflows) !== JSON.stringify([trigger.name])) problems.push(`does not follow ${trigger.name}`)
  if (JSON.stringify(on.workflow_run?.types) !== JSON.stringify(['completed'])) problems.push('not on completed runs')
  if (JSON.stringify(doc.permissions) !== '{}') problems.push('grants permissions by default')

  // The gate: check-approval from the default branch, on the SHA GitHub recorded for the run.
  const approval = doc.jobs.approval
  if (!approval) return [...problems, 'no approval job']
  if (!/github\.event\.workflow_run\.event == 'pull_request_review'/.test(approval.if ?? '')) problems.push('the gate runs for other events')
  if (checkoutOf(approval)?.with?.ref !== '${{ github.event.repository.default_branch }}') problems.push('the gate does not check out the default branch')
  const check = approval.steps.find((s) => s.run?.includes('scripts/check-approval.mts'))
  if (!check?.id) return [...problems, 'no check-approval step with an id']
  if (check.run !== 'npx zx scripts/check-approval.mts --sha "$HEAD_SHA"') problems.push(`check-approval is called differently: ${check.run}`)
  if (check.env?.HEAD_SHA !== '${{ github.event.workflow_run.head_sha }}') problems.push(`the commit checked is not the run's head: ${check.env?.HEAD_SHA}`)
  if (approval.outputs?.approved !== `\${{ steps.${check.id}.outputs.approved }}`) problems.push('the approved output is not check-approval\'s')
  if (approval.outputs?.sha !== `\${{ steps.${check.id}.outputs.sha }}`) problems.push('the sha output is not check-approval\'s')
  if (JSON.stringify(approval.permissions) !== JSON.stringify({ contents: 'read', 'pull-requests': 'read' })) problems.push('the gate has more than read permissions')

  // Every job that checks out code other than the default branch: gated, on the approved SHA.
  for (const [name, job] of Object.entries(doc.jobs)) {
    const checkout = checkoutOf(job)
    const secrets = secretsIn(job).filter((s) => s !== 'GITHUB_TOKEN')
    if (secrets.length && job.environment !== 'integration') problems.push(`${name} uses secrets outside the integration environment: ${secrets.join(', ')}`)
    if (!checkout || name === 'approval') continue
    const needs = [job.needs ?? []].flat()
    if (!needs.includes('approval') || (job.if ?? '').trim() !== "needs.approval.outputs.approved == 'true'") problems.push(`${name} is not gated on the approval`)
    if (checkout.with?.ref !== '${{ needs.approval.outputs.sha }}') problems.push(`${name} checks out ${String(checkout.with?.ref)}, not the approved SHA`)
    if (checkout.with?.['persist-credentials'] !== false) problems.push(`${name} persists the token in the checkout`)
    if (job.steps.some((s) => s.uses?.startsWith('actions/setup-node@') && s.with?.cache)) problems.push(`${name} uses a cache in the default branch's scope`)
    if (Object.values(job.permissions ?? { all: 'write' }).some((p) => p !== 'read')) problems.push(`${name} runs pull request code with a write token`)
  }
  const integration = doc.jobs.integration
  if (integration?.environment !== 'integration') problems.push('the integration job does not use the protected environment')
  const runs = integration?.steps.find((s) => s.run?.includes('scripts/test-and-build.mts'))
  if (!runs?.run?.includes('--only integration')) problems.push('the integration job does not run test-and-build --only integration')
  // Only the step that runs the tests sees the environment's secrets.
  for (const step of integration?.steps ?? []) {
    if (step !== runs && secretsIn(step).some((s) => s !== 'GITHUB_TOKEN')) problems.push(`step ${step.name ?? step.run ?? step.uses} sees integration secrets`)
  }
  // Nothing the pull request controls may choose what runs.
  const text = JSON.stringify(doc)
  for (const untrusted of ['pull_request.head', 'head_ref', 'workflow_run.head_branch', 'workflow_run.pull_requests', 'head_commit', 'download-artifact']) {
    if (text.includes(untrusted)) problems.push(`uses ${untrusted}`)
  }
  return problems
}

describe('integration tests on an approved pull request (GitHub Actions)', () => {
  const trigger = YAML.parse(read(APPROVAL)) as Workflow
  const approved = YAML.parse(read(APPROVED)) as Workflow

  it('the trigger: a submitted review, approved, by an owner, member or collaborator; nothing else', () => {
    expect(triggerProblems(trigger)).toEqual([])
  })

  it('the privileged run: gated by check-approval, the approved SHA checked out, secrets only in the environment', () => {
    expect(approvedProblems(approved, trigger)).toEqual([])
  })

  it('the header documents the threat model', () => {
    const header = read(APPROVED).split('\nname:')[0]
    for (const words of ['Threat model', 'Assets', 'Adversary', 'fork', 'A push after the approval', 'environment `integration`', 'read-only GITHUB_TOKEN', 'Caches', 'Script injection']) {
      expect(header).toContain(words)
    }
  })

  // The checks above, shown a workflow broken in each way they guard against.
  const mutate = (doc: Workflow, change: (d: Workflow) => void): Workflow => {
    const copy = structuredClone(doc)
    change(copy)
    return copy
  }
  it.each<[string, (d: Workflow) => void, RegExp]>([
    ['any review state', (d) => (d.jobs.approved.if = TRUSTED), /not "approved, by a trusted reviewer"/],
    ['comments count', (d) => (d.jobs.approved.if = d.jobs.approved.if!.replace("'approved'", "'commented'")), /not "approved, by a trusted reviewer"/],
    ['contributors count', (d) => (d.jobs.approved.if = d.jobs.approved.if!.replace('"COLLABORATOR"', '"COLLABORATOR", "CONTRIBUTOR"')), /not "approved, by a trusted reviewer"/],
    ['edited reviews trigger', (d) => (d.on = { pull_request_review: { types: ['submitted', 'edited'] } }), /other than a submitted review/],
    ['it checks out the pull request', (d) => d.jobs.approved.steps.unshift({ uses: 'actions/checkout@v4' }), /checks out code/],
  ])('the trigger check catches: %s', (_, change, problem) => {
    expect(triggerProblems(mutate(trigger, change)).join('\n')).toMatch(problem)
  })

  it.each<[string, (d: Workflow) => void, RegExp]>([
    ['the head of the pull request instead of the approved SHA', (d) => (checkoutOf(d.jobs.integration)!.with!.ref = '${{ github.event.workflow_run.head_sha }}'), /not the approved SHA/],
    ['the review event\'s PR head', (d) => (checkoutOf(d.jobs.integration)!.with!.ref = '${{ github.event.pull_request.head.sha }}'), /not the approved SHA[\s\S]*uses pull_request\.head/],
    ['a branch', (d) => (checkoutOf(d.jobs.integration)!.with!.ref = '${{ github.event.workflow_run.head_branch }}'), /not the approved SHA/],
    ['no gate', (d) => delete d.jobs.integration.if, /integration is not gated on the approval/],
    ['the gate checks another commit', (d) => (d.jobs.approval.steps.find((s) => s.id === 'check')!.env!.HEAD_SHA = '${{ github.sha }}'), /not the run's head/],
    ['the gate runs the pull request\'s script', (d) => delete checkoutOf(d.jobs.approval)!.with!.ref, /does not check out the default branch/],
    ['no environment', (d) => delete d.jobs.integration.environment, /outside the integration environment[\s\S]*does not use the protected environment/],
    ['a write token next to pull request code', (d) => (d.jobs.integration.permissions = { contents: 'write' }), /write token/],
    ['a persisted token', (d) => (checkoutOf(d.jobs.integration)!.with!['persist-credentials'] = true), /persists the token/],
    ['an npm cache', (d) => (d.jobs.integration.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))!.with!.cache = 'npm'), /cache/],
    ['secrets for npm ci', (d) => (d.jobs.integration.steps.find((s) => s.run === 'npm ci')!.env = { X: '${{ secrets.AWS_SECRET_ACCESS_KEY }}' }), /sees integration secrets/],
    ['any workflow triggers it', (d) => (d.on = { workflow_run: { workflows: ['ci'], types: ['completed'] } }), /does not follow integration-approval/],
  ])('the privileged-run check catches: %s', (_, change, problem) => {
    expect(approvedProblems(mutate(approved, change), trigger).join('\n')).toMatch(problem)
  })
})

describe('nightly.yml', () => {
  const doc = YAML.parse(read(NIGHTLY)) as Workflow

  it('runs on a schedule and by hand, on the default branch only, granting nothing by default', () => {
    expect(Object.keys(doc.on).sort()).toEqual(['schedule', 'workflow_dispatch'])
    expect((doc.on.schedule as Array<{ cron: string }>)[0].cron).toMatch(/^\S+ \S+ \* \* \*$/)
    expect(doc.permissions).toEqual({})
    for (const job of Object.values(doc.jobs)) expect(job.if?.replace(/\s+/g, ' ').trim()).toBe(DEFAULT_BRANCH_ONLY)
  })

  it('integration: test-and-build --only integration, secrets only from the integration environment', () => {
    const job = doc.jobs.integration
    expect(job.environment).toBe('integration')
    expect(job.permissions).toEqual({ contents: 'read', packages: 'read' })
    expect(checkoutOf(job)?.with?.['persist-credentials']).toBe(false)
    const runs = job.steps.find((s) => s.run?.includes('scripts/test-and-build.mts'))!
    expect(runs.run).toContain('--only integration')
    for (const step of job.steps) if (step !== runs) expect(secretsIn(step).filter((s) => s !== 'GITHUB_TOKEN'), step.name ?? step.run).toEqual([])
  })

  it('update-generated: the least the bot needs, and no environment secrets', () => {
    const job = doc.jobs['update-generated']
    expect(job.permissions).toEqual({ contents: 'write', 'pull-requests': 'write', packages: 'read' })
    expect(job.environment).toBeUndefined()
    expect(secretsIn(job)).toEqual(['GITHUB_TOKEN', 'GITHUB_TOKEN'])
    expect(checkoutOf(job)?.with?.['persist-credentials']).toBe(false)
    expect(job.steps.find((s) => s.run?.includes('scripts/update-generated.mts'))?.run).toBe('npx zx scripts/update-generated.mts')
  })

  it('prune-images: the registry credentials and nothing else; a full clone; no cache or install scripts next to the delete token', () => {
    const job = doc.jobs['prune-images'] as Job & { 'timeout-minutes'?: number }
    expect(job.permissions).toEqual({ contents: 'read', packages: 'write' })
    expect(job.environment).toBeUndefined()
    expect(job['timeout-minutes']).toBeGreaterThan(0)
    expect(secretsIn(job)).toEqual(['GITHUB_TOKEN'])
    const runs = job.steps.find((s) => s.run?.includes('scripts/prune-images.mts'))!
    expect(runs.run).toBe('npx zx scripts/prune-images.mts --delete')
    expect(Object.keys(runs.env ?? {}).sort()).toEqual(['REGISTRY_PASSWORD', 'REGISTRY_USERNAME'])
    for (const step of job.steps) if (step !== runs) expect(secretsIn(step), step.name ?? step.run).toEqual([])
    expect(checkoutOf(job)?.with).toEqual({ 'persist-credentials': false, 'fetch-depth': 0 })
    for (const step of job.steps) {
      if (step.uses) expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/)
      if (step.uses?.startsWith('actions/setup-node@')) expect(step.with?.cache).toBeUndefined()
    }
    expect(job.steps.find((s) => s.run?.startsWith('npm '))?.run).toBe('npm ci --ignore-scripts')
  })

  it('the integration secrets are the same in nightly.yml and integration-approved.yml', () => {
    const approved = YAML.parse(read(APPROVED)) as Workflow
    const names = (job: Job) => secretsIn(job).filter((s) => s !== 'GITHUB_TOKEN').sort()
    expect(names(doc.jobs.integration).length).toBeGreaterThan(0)
    expect(names(approved.jobs.integration)).toEqual(names(doc.jobs.integration))
  })
})

describe('CircleCI: nightly and approved integration', () => {
  type CircleJob = Record<string, { type?: string; requires?: string[]; context?: string | string[]; filters?: unknown }>
  const doc = YAML.parse(read('.circleci/config.yml')) as {
    jobs: Record<string, { steps: Array<string | Record<string, { command?: string }>> }>
    workflows: Record<string, { when?: unknown; jobs: Array<string | CircleJob> }>
  }
  const jobsOf = (workflow: string) => Object.assign({}, ...doc.workflows[workflow].jobs.map((j) => (typeof j === 'string' ? { [j]: {} } : j))) as CircleJob
  const SCHEDULED = ['scheduled_pipeline', '<< pipeline.trigger_source >>']

  it('nightly runs only from the scheduled pipeline named "nightly"; ci never does', () => {
    expect(doc.workflows.nightly.when).toEqual({ and: [{ equal: SCHEDULED }, { equal: ['nightly', '<< pipeline.schedule.name >>'] }] })
    expect(doc.workflows.ci.when).toEqual({ not: { equal: SCHEDULED } })
    expect(Object.keys(jobsOf('nightly')).sort()).toEqual(['integration', 'prune-images', 'update-generated'])
    expect(jobsOf('nightly')['prune-images'].context).toBe('prune-images')
    expect(jobsOf('nightly').integration.context).toBe('integration')
    expect(jobsOf('nightly')['update-generated'].context).toBe('update-generated')
  })

  it('on a pull request\'s branch, the integration job waits for an approval job and only it has the integration context', () => {
    const ci = jobsOf('ci')
    expect(ci['hold-integration']).toEqual({ type: 'approval', requires: ['test-and-build'], filters: { branches: { ignore: 'main' } } })
    expect(ci.integration).toEqual({ context: 'integration', requires: ['hold-integration'], filters: { branches: { ignore: 'main' } } })
    for (const [name, job] of Object.entries(ci)) if (name !== 'integration') expect(job.context, name).toBeUndefined()
  })

  it('the jobs run the scripts', () => {
    const commands = (job: string) => doc.jobs[job].steps.flatMap((s) => (typeof s === 'object' && 'run' in s ? [s.run.command ?? ''] : []))
    expect(commands('integration')).toContain('npx zx scripts/test-and-build.mts --only integration --report reports/integration.json')
    expect(commands('update-generated')).toContain('npx zx scripts/update-generated.mts --github-repo "${CIRCLE_PROJECT_USERNAME}/${CIRCLE_PROJECT_REPONAME}"')
    // Over HTTPS, with the token from the credential helper: never in the remote URL.
    expect(commands('update-generated').join('\n')).not.toMatch(/TOKEN/)
    expect(commands('prune-images')).toEqual(['npm ci --ignore-scripts', 'npx zx scripts/prune-images.mts --delete'])
  })
})
