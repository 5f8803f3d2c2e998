// The automations in the CI configs, checked by parsing them (actionlint and
// CircleCI's parser run on them in ci-configs.test.mts):
//   - nightly.yml: schedule + manual, the default branch only, minimal permissions;
//   - integration-approval.yml + integration-approved.yml: integration tests of a pull
//     request run only for an approving review by a trusted reviewer, only on the
//     reviewed commit, with secrets only from the protected environment;
//   - .circleci/config.yml: the same two, a scheduled pipeline and an approval job.
//   - every workflow: untrusted code never reaches a write token or a secret
//     through a cache, install scripts or persisted credentials; packages are pushed
//     only from the default branch and tags, behind a protected environment; every job
//     has a timeout; every action is pinned by commit SHA.
// Each safety check is a function returning the problems it finds, so the tests can show
// that it finds them in a broken copy of the workflow too.
import fs from 'node:fs'
import path from 'node:path'
import { YAML } from 'zx'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../helpers/run.mts'
import {
  checkoutOf,
  circlePublishProblems,
  hardeningProblems,
  holdsSecrets,
  pinCommentProblems,
  secretsIn,
  writeToken,
  type CircleDoc,
  type CircleWorkflowJob,
  type Job,
  type Workflow,
} from '../helpers/ci-checks.mts'

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8')

const NIGHTLY = '.github/workflows/nightly.yml'
const APPROVAL = '.github/workflows/integration-approval.yml'
const APPROVED = '.github/workflows/integration-approved.yml'

const TRUSTED = `contains(fromJSON('["OWNER", "MEMBER", "COLLABORATOR"]'), github.event.review.author_association)`
const DEFAULT_BRANCH_ONLY = "github.event_name == 'schedule' || github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"


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
  if (check.run !== 'npx zx scripts/check-approval.mts --sha "$HEAD_SHA" --actor "$ACTOR"') problems.push(`check-approval is called differently: ${check.run}`)
  if (check.env?.HEAD_SHA !== '${{ github.event.workflow_run.head_sha }}') problems.push(`the commit checked is not the run's head: ${check.env?.HEAD_SHA}`)
  if (check.env?.ACTOR !== '${{ github.event.workflow_run.triggering_actor.login }}') problems.push(`the actor checked is not the run's triggering actor: ${check.env?.ACTOR}`)
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
    ['the gate checks the original actor, not who started this run', (d) => (d.jobs.approval.steps.find((s) => s.id === 'check')!.env!.ACTOR = '${{ github.event.workflow_run.actor.login }}'), /not the run's triggering actor/],
    ['the gate is not told the actor', (d) => (d.jobs.approval.steps.find((s) => s.id === 'check')!.run = 'npx zx scripts/check-approval.mts --sha "$HEAD_SHA"'), /called differently/],
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
    // The delete token is the protected environment's; the workflow token only reads packages.
    expect(job.permissions).toEqual({ contents: 'read' })
    expect(job.environment).toBe('publish')
    expect(job['timeout-minutes']).toBeGreaterThan(0)
    expect(secretsIn(job)).toEqual(['REGISTRY_PUSH_USERNAME', 'REGISTRY_PUSH_TOKEN'])
    const runs = job.steps.find((s) => s.run?.includes('scripts/prune-images.mts'))!
    expect(runs.run).toBe('npx zx scripts/prune-images.mts --delete')
    // On ghcr.io the Packages API deletes with REGISTRY_PASSWORD, the environment's token.
    expect(Object.keys(runs.env ?? {}).sort()).toEqual(['REGISTRY_PASSWORD', 'REGISTRY_USERNAME'])
    expect(runs.env?.REGISTRY_PASSWORD).toBe('${{ secrets.REGISTRY_PUSH_TOKEN }}')
    for (const step of job.steps) if (step !== runs) expect(secretsIn(step), step.name ?? step.run).toEqual([])
    expect(checkoutOf(job)?.with).toEqual({ 'persist-credentials': false, 'fetch-depth': 0 })
    for (const step of job.steps) {
      if (step.uses) expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/)
      if (step.uses?.startsWith('actions/setup-node@')) expect(step.with?.cache).toBeUndefined()
    }
    expect(job.steps.find((s) => s.run?.startsWith('npm '))?.run).toBe('npm ci --ignore-scripts')
  })

  it('mutation: npm run test:mutation with a read-only checkout and no secrets', () => {
    const job = doc.jobs.mutation
    expect(job.permissions).toEqual({ contents: 'read' })
    expect(job.environment).toBeUndefined()
    expect(secretsIn(job)).toEqual([])
    expect(checkoutOf(job)?.with?.['persist-credentials']).toBe(false)
    expect(job.steps.map((s) => s.run).filter(Boolean)).toEqual(['npm ci --ignore-scripts', 'npm run test:mutation'])
  })

  it('the integration secrets are the same in nightly.yml and integration-approved.yml', () => {
    const approved = YAML.parse(read(APPROVED)) as Workflow
    const names = (job: Job) => secretsIn(job).filter((s) => s !== 'GITHUB_TOKEN').sort()
    expect(names(doc.jobs.integration).length).toBeGreaterThan(0)
    expect(names(approved.jobs.integration)).toEqual(names(doc.jobs.integration))
  })
})

describe('CircleCI: nightly and approved integration', () => {
  type CircleJob = CircleWorkflowJob
  const doc = YAML.parse(read('.circleci/config.yml')) as CircleDoc
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
    for (const [name, job] of Object.entries(ci)) if (name !== 'integration') expect([job.context ?? []].flat(), name).not.toContain('integration')
  })

  // The push credentials live in the context `publish`, used only by jobs that
  // main and release tags run; every job with a write token installs without scripts;
  // no job with a context runs in an image named by tag (tests/helpers/ci-checks.mts).
  const publishProblems = (d: CircleDoc) => circlePublishProblems(d, 'main')
  it('the push credentials (context `publish`) reach only main and release tags; jobs with a write token run no install scripts', () => {
    expect(publishProblems(doc)).toEqual([])
    const ci = jobsOf('ci')
    expect(ci['build-image']).toMatchObject({ context: 'publish', requires: ['test-and-build'] })
    expect(ci['push-images']).toMatchObject({ context: 'publish', requires: ['build-image'] })
  })

  it.each<[string, (d: CircleDoc) => void, RegExp]>([
    ['publish on test-and-build', (d) => d.workflows.ci.jobs.splice(0, 1, { 'test-and-build': { context: 'publish', filters: { tags: { only: '/^v.*/' } } } }), /ci\/test-and-build gets the publish context/],
    ['publish on every branch', (d) => delete (d.workflows.ci.jobs.find((j) => typeof j === 'object' && 'build-image' in j) as CircleJob)['build-image'].filters, /ci\/build-image gets the publish context/],
    ['install scripts next to the push token', (d) => ((d.jobs['build-image'].steps[1] as Record<string, { command?: string }>).run.command = 'npm ci'), /build-image runs npm install scripts/],
    ['push-images back in a docker image named by tag', (d) => (d.jobs['push-images'].docker = [{ image: `ghcr.io/acme/ci-build-scripts-build:${'1'.repeat(40)}` }]), /push-images holds a context's secrets in a docker image named by tag/],
    ['pnpm installing with scripts next to the push token', (d) => ((d.jobs['build-image'].steps[1] as Record<string, { command?: string }>).run.command = 'corepack enable && pnpm install --frozen-lockfile'), /build-image runs npm install scripts/],
    ['test-and-build pushing again', (d) => ((d.jobs['test-and-build'].steps.find((s) => typeof s === 'object' && 'run' in s && s.run.command?.includes('test-and-build')) as Record<string, { command?: string }>).run.command += ' --push'), /test-and-build pushes/],
  ])('the publish check catches: %s', (_, change, problem) => {
    const copy = structuredClone(doc)
    change(copy)
    expect(publishProblems(copy).join('\n')).toMatch(problem)
  })

  it('a job with a context may run in a docker image pinned by digest (what a tag names can change, a digest cannot)', () => {
    const copy = structuredClone(doc)
    copy.jobs['push-images'].docker = [{ image: `ghcr.io/acme/ci-build-scripts-build:${'1'.repeat(40)}@sha256:${'2'.repeat(64)}` }]
    expect(publishProblems(copy)).toEqual([])
    expect(doc.jobs['push-images'].machine).toBeDefined()
    expect(doc.jobs['push-images'].docker).toBeUndefined()
  })

  it('the jobs run the scripts', () => {
    const commands = (job: string) => doc.jobs[job].steps.flatMap((s) => (typeof s === 'object' && 'run' in s ? [s.run.command ?? ''] : []))
    expect(commands('integration')).toContain('npx zx scripts/test-and-build.mts --only integration --report reports/integration.json')
    expect(commands('update-generated')).toContain('npx zx scripts/update-generated.mts --github-repo "${CIRCLE_PROJECT_USERNAME}/${CIRCLE_PROJECT_REPONAME}"')
    // Over HTTPS, with the token from the credential helper: never in the remote URL.
    expect(commands('update-generated').join('\n')).not.toMatch(/TOKEN/)
    expect(commands('prune-images')).toEqual(['npm ci --ignore-scripts', 'npx zx scripts/prune-images.mts --delete'])
    // The scripts and their dependencies come from this commit's lockfile, installed on the machine.
    expect(commands('push-images')).toEqual(['npm ci --ignore-scripts', 'npx zx scripts/push-images.mts'])
  })
})

// --- every workflow: the hardening rules ----------------------------------------------

const WORKFLOW_FILES = ['ci.yml', 'cherry-pick.yml', 'nightly.yml', 'integration-approval.yml', 'integration-approved.yml'].map((f) => `.github/workflows/${f}`)
describe('every workflow: no untrusted code next to a write token or a secret', () => {
  const docs = Object.fromEntries(WORKFLOW_FILES.map((f) => [f, YAML.parse(read(f)) as Workflow]))

  it.each(WORKFLOW_FILES)('%s: timeouts, SHA pins, no cache or install scripts or persisted credentials where it matters, packages pushed from the default branch only', (file) => {
    expect(hardeningProblems(docs[file])).toEqual([])
    expect(pinCommentProblems(read(file))).toEqual([])
  })

  it('the jobs that hold a write token or secrets are the ones we think (so the checks above cover them)', () => {
    const privileged = WORKFLOW_FILES.flatMap((f) => Object.entries(docs[f].jobs).filter(([, j]) => writeToken(docs[f], j) || holdsSecrets(j)).map(([n]) => `${path.basename(f)}:${n}`))
    expect(privileged.sort()).toEqual(
      ['cherry-pick.yml:cherry-pick', 'ci.yml:push-images', 'integration-approved.yml:integration', 'integration-approved.yml:status', 'nightly.yml:integration', 'nightly.yml:prune-images', 'nightly.yml:update-generated'].sort(),
    )
  })

  it('ci.yml: test-and-build reads packages and pushes nothing; push-images alone writes, from the default branch and tags, in the environment `publish`', () => {
    const ci = docs['.github/workflows/ci.yml']
    expect(ci.jobs['test-and-build'].permissions).toEqual({ contents: 'read', packages: 'read' })
    expect(JSON.stringify(ci.jobs['test-and-build'])).not.toContain('--push')
    expect(ci.jobs['push-images'].environment).toBe('publish')
    expect(ci.jobs['push-images'].if).toContain("startsWith(github.ref, 'refs/tags/v')")
    // No workflow token writes packages anywhere: a branch's workflow can ask for one.
    for (const file of WORKFLOW_FILES) for (const job of Object.values(docs[file].jobs)) expect(job.permissions?.packages ?? 'none').not.toBe('write')
  })

  it('cherry-pick.yml: each comment runs in a concurrency group of its own', () => {
    const doc = YAML.parse(read('.github/workflows/cherry-pick.yml')) as { concurrency: { group: string; 'cancel-in-progress': boolean } }
    expect(doc.concurrency.group).toContain('${{ github.event.comment.id')
    expect(doc.concurrency['cancel-in-progress']).toBe(false)
  })

  const mutate = (file: string, change: (d: Workflow) => void): Workflow => {
    const copy = structuredClone(docs[`.github/workflows/${file}`])
    change(copy)
    return copy
  }
  const stepOf = (job: Job, prefix: string) => job.steps.find((s) => s.uses?.startsWith(prefix) || s.run?.startsWith(prefix))!
  it.each<[string, string, (d: Workflow) => void, RegExp]>([
    ['an npm cache in the cherry-pick job', 'cherry-pick.yml', (d) => (stepOf(d.jobs['cherry-pick'], 'actions/setup-node@').with!.cache = 'npm'), /cherry-pick restores a dependency cache/],
    ['an actions/cache step in push-images', 'ci.yml', (d) => d.jobs['push-images'].steps.splice(1, 0, { uses: `actions/cache@${'1'.repeat(40)}`, with: { path: 'node_modules' } }), /push-images restores a dependency cache/],
    ['an npm cache in the nightly integration job (secrets, read-only token)', 'nightly.yml', (d) => (stepOf(d.jobs.integration, 'actions/setup-node@').with!.cache = 'npm'), /integration restores a dependency cache/],
    ['packages: write on test-and-build', 'ci.yml', (d) => (d.jobs['test-and-build'].permissions = { contents: 'read', packages: 'write' }), /test-and-build can push packages outside a protected environment[\s\S]*test-and-build can push packages from any branch/],
    ['push-images on every branch', 'ci.yml', (d) => delete d.jobs['push-images'].if, /push-images can push packages from any branch/],
    ['push-images outside its environment', 'ci.yml', (d) => delete d.jobs['push-images'].environment, /push-images can push packages outside a protected environment/],
    ['a workflow-wide write token', 'ci.yml', (d) => (d.permissions = { packages: 'write' }), /grants permissions to every job/],
    ['packages: write back on push-images', 'ci.yml', (d) => (d.jobs['push-images'].permissions!.packages = 'write'), /push-images asks for packages: write: the workflow token stays read-only/],
    ['push-images pushing with the workflow token', 'ci.yml', (d) => (stepOf(d.jobs['push-images'], 'npx zx scripts/push-images').env!.REGISTRY_PASSWORD = '${{ secrets.GITHUB_TOKEN }}'), /push-images pushes with the workflow token/],
    ['prune-images deleting with the workflow token', 'nightly.yml', (d) => (stepOf(d.jobs['prune-images'], 'npx zx scripts/prune-images').env!.REGISTRY_PASSWORD = '${{ secrets.GITHUB_TOKEN }}'), /prune-images pushes with the workflow token/],
    ['prune-images outside its environment', 'nightly.yml', (d) => delete d.jobs['prune-images'].environment, /prune-images can push packages outside a protected environment/],
    ['install scripts next to the environment\'s push token', 'ci.yml', (d) => (stepOf(d.jobs['push-images'], 'npm ci').run = 'npm ci'), /push-images runs npm install scripts/],
    ['persisted credentials in cherry-pick', 'cherry-pick.yml', (d) => delete checkoutOf(d.jobs['cherry-pick'])!.with!['persist-credentials'], /cherry-pick persists checkout credentials/],
    ['persisted credentials in update-generated', 'nightly.yml', (d) => (checkoutOf(d.jobs['update-generated'])!.with!['persist-credentials'] = true), /update-generated persists checkout credentials/],
    ['install scripts in update-generated', 'nightly.yml', (d) => (stepOf(d.jobs['update-generated'], 'npm ci').run = 'npm ci'), /update-generated runs npm install scripts/],
    ['push-images in a container named by tag', 'ci.yml', (d) => (d.jobs['push-images'].container = `ghcr.io/acme/ci-build-scripts-build:${'1'.repeat(40)}`), /push-images holds a write token or secrets in a container named by tag/],
    ['the integration job in a container named by tag', 'nightly.yml', (d) => (d.jobs.integration.container = { image: 'ghcr.io/acme/app-build:latest' }), /integration holds a write token or secrets in a container named by tag/],
    ['install scripts in push-images', 'ci.yml', (d) => (stepOf(d.jobs['push-images'], 'npm ci').run = 'npm install'), /push-images runs npm install scripts/],
    ['a job without a timeout', 'integration-approved.yml', (d) => delete d.jobs.status['timeout-minutes'], /status has no timeout-minutes/],
    ['an action by tag', 'ci.yml', (d) => (stepOf(d.jobs['test-and-build'], 'actions/checkout@').uses = 'actions/checkout@v4'), /actions\/checkout@v4 is not pinned/],
    ['an expression in a run: of ci.yml', 'ci.yml', (d) => (stepOf(d.jobs['test-and-build'], 'npm ci').run = 'npm ci && echo ${{ github.head_ref }}'), /test-and-build: a run: has \$\{\{ \}\} in it \(npm ci && echo/],
    ['an expression in a run: of a bot', 'cherry-pick.yml', (d) => (d.jobs['cherry-pick'].steps.find((s) => s.run)!.run += ' --to ${{ inputs.to }}'), /cherry-pick: a run: has \$\{\{ \}\} in it/],
    ['an action by short SHA', 'nightly.yml', (d) => (stepOf(d.jobs.integration, 'actions/upload-artifact@').uses = 'actions/upload-artifact@ea165f8'), /is not pinned by a full commit SHA/],
  ])('the check catches: %s', (_, file, change, problem) => {
    expect(hardeningProblems(mutate(file, change)).join('\n')).toMatch(problem)
  })

  it('the pin check catches a SHA without its version comment, and a tag', () => {
    const text = read('.github/workflows/ci.yml')
    expect(pinCommentProblems(text.replace(/(actions\/checkout@[0-9a-f]{40}) # v[\d.]+/, '$1'))).toHaveLength(1)
    expect(pinCommentProblems(text.replace(/actions\/setup-node@[0-9a-f]{40} # v[\d.]+/, 'actions/setup-node@v4 # v4'))).toHaveLength(1)
  })
})
