// The CI runner's I/O, in one place: GitHub Actions' workflow commands (a secret masked,
// a collapsible group, warning and error annotations), the step's outputs
// ($GITHUB_OUTPUT), its summary ($GITHUB_STEP_SUMMARY), and the link to the run's log
// (GitHub Actions or CircleCI). The commands are lines for stderr: lib/core/log.mts
// writes them (stdout stays for results); off GitHub Actions none is written.
import { randomUUID } from 'node:crypto'
import { fs } from 'zx'
import { WorkError } from './cli.mts'

/** Whether this runs as a GitHub Actions step (workflow commands are read from its output). */
export function onGitHubActions(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true'
}

/** Mask `value` in the rest of the job's log. */
export function maskCommand(value: string): string {
  return `::add-mask::${value}`
}

/** A warning annotation. */
export function warningCommand(message: string): string {
  return `::warning::${message}`
}

/** Open a collapsible group titled `title`; `endGroupCommand` closes it. */
export function groupCommand(title: string): string {
  return `::group::${title}`
}

export function endGroupCommand(): string {
  return '::endgroup::'
}

/** An error annotation with a title; both escaped as Actions documents (a newline stays in the message). */
export function errorCommand(title: string, message: string): string {
  const escape = (t: string) => t.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
  return `::error title=${escape(title).replace(/:/g, '%3A').replace(/,/g, '%2C')}::${escape(message)}`
}

/**
 * Append step outputs to $GITHUB_OUTPUT. A multi-line value goes between delimiters, as
 * Actions documents; the delimiter is a random UUID (as @actions/core does), so a value
 * that comes from untrusted text cannot end it early and forge another output.
 */
export async function setActionsOutputs(outputs: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const file = env.GITHUB_OUTPUT
  if (!file) return
  let text = ''
  for (const [name, value] of Object.entries(outputs)) {
    if (!value.includes('\n')) text += `${name}=${value}\n`
    else {
      const delimiter = `ghadelimiter_${randomUUID()}`
      if (value.includes(delimiter)) throw new WorkError(`the output ${name} contains its own delimiter`)
      text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`
    }
  }
  await fs.appendFile(file, text)
}

/** Append markdown (and a newline) to the step's summary, when the runner has one ($GITHUB_STEP_SUMMARY). */
export function appendStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, markdown + '\n')
}

/** The CI run's log, linked from comments and pull request bodies. */
export function ciLogUrl(env: NodeJS.ProcessEnv): string | undefined {
  return env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
    ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : env.CIRCLE_BUILD_URL || undefined
}
