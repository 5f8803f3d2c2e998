// Human-facing logs. Everything here writes to stderr: stdout is for results
// (a tag, a ref, JSON) so that `$(npx zx scripts/image-tag.mts)` just works.
import { chalk } from 'zx'
import { endGroupCommand, errorCommand, groupCommand, maskCommand, onGitHubActions, warningCommand } from './ci-runner.mts'

const secrets = new Set<string>()

/** Never print this value: it is replaced by *** in every log line, and masked on GitHub Actions. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 3 || secrets.has(value)) return
  secrets.add(value)
  // The runner reads workflow commands from stderr too; stdout stays for results.
  if (onGitHubActions()) process.stderr.write(maskCommand(value) + '\n')
}

/** Whether `text` holds a value registered with registerSecret (a token, a password). */
export function holdsSecret(text: string): boolean {
  for (const s of secrets) if (text.includes(s)) return true
  return false
}

/** Replace every registered secret, and credentials embedded in URLs, with a placeholder. */
export function redact(text: string): string {
  let out = text.replace(/(\/\/)[^/@\s:]+(:[^/@\s]+)?@/g, '$1<credentials>@')
  for (const s of secrets) out = out.split(s).join('***')
  return out
}

function write(line: string): void {
  process.stderr.write(redact(line) + '\n')
}

export function info(message: string): void {
  write(message)
}

export function warn(message: string): void {
  if (onGitHubActions()) write(warningCommand(message))
  else write(chalk.yellow(`  !   ${message}`))
}

export function success(message: string): void {
  write(`  ${chalk.green('✓')}   ${message}`)
}

export function failure(message: string): void {
  write(`  ${chalk.red('✘')}   ${message}`)
}

/** 75 s -> "01:15", as in the timing table. */
export function mmss(ms: number): string {
  const s = Math.round(ms / 1000)
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
}

/** 1234 ms -> "1.2s", for step lines. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

/**
 * Run one named step: a ✓ line with its duration when it succeeds, a ✘ line when it
 * throws (the error goes on to the caller). On GitHub Actions the step's output is a
 * collapsible group. `describe` adds what the result says to the ✓ line.
 */
export async function step<T>(title: string, fn: () => Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
  const grouped = onGitHubActions()
  if (grouped) write(groupCommand(title))
  const started = performance.now()
  try {
    const result = await fn()
    if (grouped) write(endGroupCommand())
    const detail = [describe?.(result), seconds(performance.now() - started)].filter(Boolean).join(', ')
    success(`${title} ${chalk.dim(`(${detail})`)}`)
    return result
  } catch (error) {
    if (grouped) write(endGroupCommand())
    failure(`${title} ${chalk.dim(`(${seconds(performance.now() - started)})`)}`)
    throw error
  }
}

/** `a, b, c, d, e and 4 more`: the first `n` items, then a count; enough to find the culprit, short enough for one line. */
export function listFew(items: string[], n = 5): string {
  return items.length > n ? `${items.slice(0, n).join(', ')} and ${items.length - n} more` : items.join(', ')
}

/** Render rows as an aligned text table (first row is the header). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

/** The same rows as a GitHub-flavoured markdown table. */
export function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows
  return [head, head.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

/**
 * A failure that happened inside a collapsed group (GitHub Actions): an `::error::`
 * annotation naming it, then its own last lines again, outside the group, so neither
 * is hidden. Elsewhere nothing folds, so nothing needs repeating.
 */
export function surfaceFailure(title: string, message: string, lines: string[]): void {
  if (!onGitHubActions()) return
  write(errorCommand(title, message))
  for (const line of lines) write(`    ${line}`)
}
