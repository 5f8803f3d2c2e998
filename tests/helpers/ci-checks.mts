// The security rules every CI config keeps, as functions over parsed YAML that
// return what breaks them ([] when nothing): this repository's own workflows and
// .circleci/config.yml (tests/unit/ci-workflows.test.mts) and the ones `init` writes for
// adopters (tests/unit/init.test.mts) are checked by the same code, and each check is
// shown broken copies it must reject.

// --- GitHub Actions ---------------------------------------------------------------------

export type Step = { uses?: string; run?: string; id?: string; name?: string; with?: Record<string, unknown>; env?: Record<string, string> }
export type Job = {
  if?: string
  needs?: string | string[]
  environment?: string
  permissions?: Record<string, string>
  outputs?: Record<string, string>
  container?: string | { image?: string }
  'timeout-minutes'?: number
  steps: Step[]
}
export type Workflow = { name: string; on: Record<string, unknown>; permissions?: unknown; jobs: Record<string, Job> }

export const checkoutOf = (job: Job) => job.steps.find((s) => s.uses?.startsWith('actions/checkout@'))
/** The `secrets.X` names a YAML text references. */
export const secretsIn = (value: unknown) => [...JSON.stringify(value ?? '').matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1])

export const DEFAULT_BRANCH = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"

/** The job's token permissions: its own, else the workflow's; undefined = GitHub's default (may write). */
export const permissionsOf = (doc: Workflow, job: Job) => (job.permissions ?? doc.permissions) as Record<string, string> | undefined
export const writeToken = (doc: Workflow, job: Job) => {
  const permissions = permissionsOf(doc, job)
  return !permissions || Object.values(permissions).some((p) => p === 'write' || p === 'write-all') || (permissions as unknown) === 'write-all'
}
/** Secrets beyond the job's own token, or an environment (whose secrets GitHub hands over). */
export const holdsSecrets = (job: Job) => Boolean(job.environment) || secretsIn(job).some((s) => s !== 'GITHUB_TOKEN')

/** An install that runs the dependencies' install scripts (npm, pnpm or yarn without --ignore-scripts; Yarn 2+ without --mode=skip-build). */
export const installRunsScripts = (command: string) =>
  /\b(npm (ci|install|i)|pnpm (install|i)|yarn install)\b/.test(command) && !/--ignore-scripts\b/.test(command) && !/\byarn install\b.*--mode[= ]skip-build\b/.test(command)

/** A container image named by digest (`…@sha256:<64 hex>`): what a tag names can change, a digest cannot. */
export const pinnedByDigest = (image: string) => /@sha256:[0-9a-f]{64}$/.test(image.trim())

/** A step that writes to the registry: push-images, prune-images --delete, pull-or-build --push. */
export const PUBLISHES = /\bpush-images\b|\bprune-images\b.*--delete|--push\b/

/** What breaks the rules in a parsed workflow; [] when nothing. */
export function hardeningProblems(doc: Workflow): string[] {
  const problems: string[] = []
  if (JSON.stringify(doc.permissions) !== '{}') problems.push('the workflow grants permissions to every job (set permissions: {} and grant per job)')
  for (const [name, job] of Object.entries(doc.jobs)) {
    const write = writeToken(doc, job)
    const privileged = write || holdsSecrets(job)
    if (typeof job['timeout-minutes'] !== 'number') problems.push(`${name} has no timeout-minutes`)
    const container = typeof job.container === 'string' ? job.container : job.container?.image
    if (privileged && container && !pinnedByDigest(container)) problems.push(`${name} holds a write token or secrets in a container named by tag: ${container}`)
    for (const step of job.steps) {
      const uses = step.uses
      if (uses && !uses.startsWith('./') && !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses)) problems.push(`${name}: ${uses} is not pinned by a full commit SHA`)
      // Every value reaches a shell through env: an expression pasted into the script is
      // shell code whenever its value can be chosen (a branch, a title, a matrix input).
      if (/\$\{\{/.test(step.run ?? '')) problems.push(`${name}: a run: has \${{ }} in it (${step.name ?? step.run!.trim().split('\n')[0]}): pass the value through env`)
      if (!privileged) continue
      const cache = uses?.startsWith('actions/cache') || (uses?.startsWith('actions/setup-') && step.with && ('cache' in step.with || 'cache-dependency-path' in step.with))
      if (cache) problems.push(`${name} restores a dependency cache while holding a write token or secrets`)
    }
    const publishing = job.steps.filter((s) => PUBLISHES.test(s.run ?? ''))
    // A job that pushes holds a write token too (its environment's), whatever its permissions say.
    if (write || publishing.length) {
      const checkout = checkoutOf(job)
      if (checkout && checkout.with?.['persist-credentials'] !== false) problems.push(`${name} persists checkout credentials next to a write token`)
      for (const step of job.steps) {
        if (installRunsScripts(step.run ?? '')) problems.push(`${name} runs npm install scripts with a write token: ${step.run}`)
      }
    }
    // Any workflow on any branch can ask for `packages: write` on its own token, so the
    // package gives workflows read access only, and the jobs that push or delete images
    // use a token only the protected environment holds.
    const writesPackages = permissionsOf(doc, job)?.packages === 'write'
    if (writesPackages) problems.push(`${name} asks for packages: write: the workflow token stays read-only for the package; push with the environment's token`)
    if (writesPackages || publishing.length) {
      const condition = (job.if ?? '').replace(/\s+/g, ' ')
      if (!job.environment) problems.push(`${name} can push packages outside a protected environment`)
      if (!condition.includes(DEFAULT_BRANCH)) problems.push(`${name} can push packages from any branch (no condition on the default branch)`)
    }
    for (const step of publishing) {
      const password = step.env?.REGISTRY_PASSWORD ?? ''
      if (!/^\$\{\{ secrets\.\w+ \}\}$/.test(password) || /GITHUB_TOKEN/.test(password)) {
        problems.push(`${name} pushes with ${password ? 'the workflow token' : 'no registry token'} (REGISTRY_PASSWORD: ${password || 'unset'}): push with a secret of the protected environment`)
      }
    }
  }
  return problems
}

/** `uses:` lines pinned by SHA must say which version, as `# vX` after it. */
export function pinCommentProblems(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => /^\s*(-\s+)?uses:\s/.test(line) && !/uses:\s+\.\//.test(line))
    .filter((line) => !/uses:\s+\S+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$/.test(line))
    .map((line) => `not pinned with its version in a comment: ${line.trim()}`)
}

// --- CircleCI ---------------------------------------------------------------------------

export type CircleStep = string | Record<string, { command?: string }>
export type CircleJobSpec = { steps: CircleStep[]; docker?: Array<{ image: string }>; machine?: unknown }
export type CircleWorkflowJob = Record<string, { type?: string; requires?: string[]; context?: string | string[]; filters?: unknown }>
export type CircleDoc = {
  jobs: Record<string, CircleJobSpec>
  workflows: Record<string, { when?: unknown; jobs: Array<string | CircleWorkflowJob> }>
}

/** The shell command of each `run` step of a CircleCI job. */
export const circleCommands = (job: CircleJobSpec | undefined) =>
  (job?.steps ?? []).flatMap((step) => (typeof step === 'object' && 'run' in step ? [typeof step.run === 'string' ? (step.run as string) : (step.run.command ?? '')] : []))

/**
 * The push credentials live in the context `publish`, used only by jobs that the default
 * branch and release tags run; every job with a context that can write (publish,
 * update-generated) installs without scripts; a job with any context runs on a machine
 * or in an image pinned by digest (a tag can be pushed over; the job would run whatever
 * it names then); test-and-build, which every branch runs, never pushes.
 */
export function circlePublishProblems(d: CircleDoc, defaultBranch = 'main'): string[] {
  const problems: string[] = []
  const BRANCH_AND_TAGS = JSON.stringify({ branches: { only: defaultBranch }, tags: { only: '/^v.*/' } })
  const writers = new Set<string>()
  const withContext = new Set<string>()
  for (const [workflow, spec] of Object.entries(d.workflows)) {
    for (const entry of spec.jobs) {
      if (typeof entry === 'string') continue
      for (const [name, job] of Object.entries(entry)) {
        const contexts = [job.context ?? []].flat()
        if (contexts.includes('publish') && JSON.stringify(job.filters) !== BRANCH_AND_TAGS) problems.push(`${workflow}/${name} gets the publish context outside ${defaultBranch} and release tags`)
        if (contexts.includes('publish') || contexts.includes('update-generated')) writers.add(name)
        if (contexts.length) withContext.add(name)
      }
    }
  }
  for (const name of writers) {
    for (const command of circleCommands(d.jobs[name])) {
      if (installRunsScripts(command)) problems.push(`${name} runs npm install scripts with a write token`)
    }
  }
  for (const name of withContext) {
    for (const { image } of d.jobs[name]?.docker ?? []) {
      if (!pinnedByDigest(image)) problems.push(`${name} holds a context's secrets in a docker image named by tag: ${image}`)
    }
  }
  if (JSON.stringify(d.jobs['test-and-build']).includes('--push')) problems.push('test-and-build pushes (every branch runs it)')
  return problems
}
