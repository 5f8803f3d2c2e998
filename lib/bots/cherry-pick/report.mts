// A run's results for the caller: the `--json` document, the GitHub Actions step
// outputs, and the summary table's rows. Pure.
import { pullsOf } from './source.mts'
import { FAILED_STATUSES, type Source, type TargetResult } from './types.mts'

/** The `--json` document. */
export function resultJson(source: Source | undefined, results: TargetResult[]) {
  return {
    pr: source?.pull?.number ?? null,
    prs: source ? pullsOf(source).map((p) => p.number) : [],
    title: source?.title ?? null,
    mergeKind: source?.kind ?? null,
    commits: source?.commits ?? [],
    targets: results,
    failed: results.some((r) => FAILED_STATUSES.includes(r.status)),
  }
}

/** The GitHub Actions step outputs: JSON arrays, for `fromJSON()` in a workflow. */
export function actionsOutputs(results: TargetResult[]): Record<string, string> {
  // A pull request in a `created` or `conflict` result was opened by this run (an earlier one is `exists`).
  const created = results.filter((r) => r.pull && (r.status === 'created' || r.status === 'conflict'))
  return {
    created_pull_numbers: JSON.stringify(created.map((r) => r.pull!.number)),
    failed_branches: JSON.stringify(results.filter((r) => FAILED_STATUSES.includes(r.status)).map((r) => r.branch)),
  }
}

/** One line per target, for the summary table. */
export function summaryRows(results: TargetResult[]): string[][] {
  const rows = [['target', 'result', 'details']]
  for (const r of results) {
    const details = [
      r.pull ? `#${r.pull.number}${r.pull.draft ? ' (draft)' : ''} ${r.pull.url}` : '',
      r.conflicts?.length ? `conflicts: ${r.conflicts.join(', ')}` : '',
      r.prerequisites?.length
        ? `${r.status === 'conflict' ? 'missing on the target' : 'prerequisites picked'}: ${r.prerequisites.map((p) => (p.pull ? `#${p.pull.number}` : p.sha.slice(0, 12))).join(', ')}`
        : '',
      r.warnings?.length ? `${r.warnings.length} warning(s), see the log` : '',
      r.message ?? '',
    ]
    rows.push([r.branch, r.status, details.filter(Boolean).join('; ')])
  }
  return rows
}

