// The text a cherry-pick writes: branch names, pull request titles and bodies, and the
// comments on the original pull request. Pure functions of what happened; titles and
// file names are shown as inline code, never as markdown or commands.
import { quote } from 'zx'
import { commandFor } from '../../core/cli.mts'
import { code } from '../github.mts'
import { picksOf, pullsOf, sourceLabel } from './source.mts'
import type { Attempt, MergeKind, PickContext, PickedCommit, PickStep, Prerequisite, Source, TargetResult } from './types.mts'

/** `cherry-pick/<pr>-to-<target>`; several: `cherry-pick/<first>-<last>-to-<target>`. */
export function headBranchName(source: Pick<Source, 'pull' | 'commits' | 'parts'>, target: string): string {
  // Stryker disable next-line Regex: a label holds `#` only at its start (`#12`; a commit's is hex)
  const id = (s: Pick<Source, 'pull' | 'commits'>) => sourceLabel(s).replace(/^#/, '')
  const parts = source.parts ?? [source]
  return `cherry-pick/${parts.length > 1 ? `${id(parts[0])}-${id(parts[parts.length - 1])}` : id(parts[0])}-to-${target}`
}

export function pickTitle(target: string, title: string): string {
  return `[${target}] ${title}`
}

const KIND_NAMES: Record<MergeKind, string> = {
  squash: 'a squash merge',
  rebase: 'a rebase merge',
  merge: 'a merge commit',
  // Stryker disable next-line StringLiteral: a source without a pull request is never named by its kind
  commit: 'a commit',
}

export function pickBody(
  source: Source,
  target: string,
  picked: PickedCommit[],
  conflicts: string[] = [],
  brought: { prerequisites: Prerequisite[]; first: Attempt } | undefined = undefined,
): string {
  const parts = source.parts ?? [source]
  const what = parts.map((p) => (p.pull ? `#${p.pull.number}` : `commit ${p.commits[0]}`)).join(', ')
  const lines = [`Cherry-pick of ${what} onto ${code(target)}${parts.length > 1 ? ', in this order' : ''}.`, '']
  const originals = parts.filter((p) => p.pull).map((p) => `Original pull request: ${p.pull!.url} (${KIND_NAMES[p.kind]}).`)
  if (originals.length) lines.push(...originals, '')
  if (brought) {
    lines.push(
      `**Prerequisites**: picking ${what} alone conflicted in ${brought.first.conflicts.map(code).join(', ')}. These earlier commits change those files and were not on ${code(target)} (no cherry-pick of them there, no commit with the same patch), so they were picked first, oldest first:`,
      '',
      ...brought.prerequisites.map((p) => `- ${prerequisiteLine(p)}`),
      '',
    )
  }
  lines.push('Picked with `git cherry-pick -x`:', '', ...picked.map((c) => `- ${c.sha} (cherry picked from commit ${c.from})`))
  if (conflicts.length) {
    lines.push('', `**Conflicts**: these files were committed with conflict markers; resolve them on this branch, then mark the pull request ready for review:`, '')
    lines.push(...conflicts.map((f) => `- ${code(f)}`))
  }
  return lines.join('\n')
}

/** A prerequisite for a list: short sha, its pull request (or subject), the files it changes. Titles stay code. */
export function prerequisiteLine(p: Prerequisite): string {
  const what = p.pull ? `#${p.pull.number} ${code(p.pull.title)}` : code(p.subject)
  return `${p.sha.slice(0, 12)} ${what}${p.mainline ? ' (a merge commit)' : ''}: changes ${p.files.map(code).join(', ')}`
}

/**
 * The one command that picks the prerequisites and then the source, in order: `--pr` for
 * each pull request when every commit has one, else `--commit` for each commit.
 */
export function prerequisitesCommand(prerequisites: Prerequisite[], source: Source, target: string): string {
  const parts = source.parts ?? [source]
  const byPull = prerequisites.every((p) => p.pull) && parts.every((p) => p.pull)
  const items = byPull
    ? [...prerequisites.map((p) => String(p.pull!.number)), ...parts.map((p) => String(p.pull!.number))]
    : [...prerequisites.map((p) => p.sha), ...picksOf(source).map((p) => p.sha)]
  const flag = byPull ? '--pr' : '--commit'
  return [commandFor('cherry-pick'), ...[...new Set(items)].map((item) => `${flag} ${quote(item)}`), `--to ${quote(target)}`].join(' ')
}

/** `git cherry-pick -x` lines for the picks: one per run of commits that share `-m 1` or not. */
function cherryPickLines(picks: PickStep[]): string[] {
  const lines: string[] = []
  let run: PickStep[] = []
  const flush = () => run.length && lines.push(`git cherry-pick -x ${run[0].mainline ? '-m 1 ' : ''}${run.map((p) => p.sha).join(' ')}`)
  for (const p of picks) {
    if (run.length && run[0].mainline !== p.mainline) {
      flush()
      run = []
    }
    run.push(p)
  }
  flush()
  return lines
}

/** The exact commands to do a conflicting pick by hand. */
export function manualCommands(remote: string, source: Source, target: string, headBranch: string): string {
  const fetch = [...new Set([target, ...pullsOf(source).map((p) => p.base)])]
  return [
    `git fetch ${quote(remote)} ${fetch.map(quote).join(' ')}`,
    `git switch --create ${quote(headBranch)} ${quote(`${remote}/${target}`)}`,
    ...cherryPickLines(picksOf(source)),
    '# resolve the conflicts, then: git add <files> && git cherry-pick --continue',
    `git push ${quote(remote)} ${quote(headBranch)}`,
  ].join('\n')
}

/** What the target lacks, and the attempts made, for a conflict comment (empty when there is nothing to say). */
export function prerequisitesText(target: string, result: Pick<TargetResult, 'prerequisites' | 'prerequisitesCommand' | 'attempts'>): string[] {
  const lines: string[] = []
  const prerequisites = result.prerequisites ?? []
  if (result.attempts && result.attempts.length > 1) {
    const [first, second] = result.attempts
    lines.push(
      'Two attempts, both aborted:',
      '',
      `1. alone: conflicts in ${first.conflicts.map(code).join(', ')} (picking ${first.at.slice(0, 12)});`,
      `2. with the ${second.prerequisites.length} prerequisite${second.prerequisites.length === 1 ? '' : 's'} below first: conflicts in ${second.conflicts.map(code).join(', ')} (picking ${second.at.slice(0, 12)}${second.prerequisites.includes(second.at) ? ', a prerequisite' : ''}).`,
      '',
    )
  }
  if (prerequisites.length) {
    lines.push(
      `${code(target)} lacks earlier changes to these files (not picked there with \`-x\`, no commit with the same patch), oldest first:`,
      '',
      ...prerequisites.map((p) => `- ${prerequisiteLine(p)}`),
      '',
    )
    if (result.prerequisitesCommand && !(result.attempts && result.attempts.length > 1)) {
      lines.push('To pick them and this in order (or run again with `--with-prerequisites`):', '', '```sh', result.prerequisitesCommand, '```', '')
    }
  } else if (result.attempts?.length === 1) {
    lines.push(`No earlier commit that changes these files is missing from ${code(target)}: the conflict is with ${code(target)}'s own changes.`, '')
  }
  return lines
}

export function conflictComment(
  remote: string,
  source: Source,
  target: string,
  headBranch: string,
  conflicts: string[],
  found: Pick<TargetResult, 'prerequisites' | 'prerequisitesCommand' | 'attempts'> = {},
): string {
  return [
    `Cherry-pick onto ${code(target)} stopped: conflicts in`,
    '',
    ...conflicts.map((f) => `- ${code(f)}`),
    '',
    ...prerequisitesText(target, found),
    'To do it by hand:',
    '',
    '```sh',
    manualCommands(remote, source, target, headBranch),
    '```',
    '',
    `then open a pull request from ${code(headBranch)} into ${code(target)}. Or run the script with ${code('--draft-on-conflict')} to get a draft pull request with the conflict markers committed.`,
  ].join('\n')
}

export function createdComment(result: TargetResult): string {
  const pull = result.pull!
  const picked = result.picked?.length ?? 0
  if (result.conflicts?.length) {
    return `Cherry-pick onto ${code(result.branch)} has conflicts: opened draft #${pull.number} (${pull.url}) with the conflict markers committed in ${result.conflicts.map(code).join(', ')}. Resolve them on ${code(result.headBranch!)}, then mark it ready for review.`
  }
  const lines = [`Cherry-picked onto ${code(result.branch)}: #${pull.number} (${pull.url}), ${picked} commit${picked === 1 ? '' : 's'}.`]
  if (result.prerequisites?.length) {
    lines.push('', `It brings ${result.prerequisites.length} prerequisite${result.prerequisites.length === 1 ? '' : 's'} first (picking alone conflicted; see the pull request):`, '')
    lines.push(...result.prerequisites.map((p) => `- ${prerequisiteLine(p)}`))
  }
  if (result.warnings?.length) lines.push('', '**Warnings** (the pick itself is done):', '', ...result.warnings.map((w) => `- ${w}`))
  return lines.join('\n')
}

export function failedComment(target: string, message: string, logUrl?: string): string {
  return `Cherry-pick onto ${code(target)} failed: ${message}${logUrl ? `\n\nSee the log: ${logUrl}` : ''}`
}

export function refusedComment(refused: TargetResult[], ctx: Pick<PickContext, 'remote' | 'targetBranches'>): string {
  return [
    'Cannot cherry-pick onto:',
    '',
    ...refused.map((r) => `- ${code(r.branch)}: ${r.message}`),
    '',
    `A target must exist on ${code(ctx.remote)} and match ${ctx.targetBranches.map(code).join(', ')} (${code('cherryPick.targetBranches')}).`,
  ].join('\n')
}

export function labelledComment(targets: string[], prefix: string): string {
  const list = targets.map((t) => `${code(t)} (label ${code(prefix + t)})`).join(', ')
  return `Will cherry-pick onto ${list} when this pull request is merged.`
}

/** Hidden in the reply to an untrusted commenter, so that they get one reply per pull request. */
export function untrustedMarker(user: string): string {
  return `<!-- cherry-pick: untrusted reply to @${user} -->`
}

export function untrustedReply(user: string, example: string, prefix: string): string {
  return [
    `Thanks @${user}! Only people with write, maintain or admin access to the repository can start a cherry-pick, so nothing was done.`,
    `A maintainer can comment ${code(`/cherry-pick ${example}`)} or add the label ${code(prefix + example)}.`,
    `(Further \`/cherry-pick\` comments from you on this pull request get no reply.)`,
    untrustedMarker(user),
  ].join(' ')
}

export const USAGE_REPLY = 'Usage: `/cherry-pick <branch> [<branch>...]` on a line of its own, for example `/cherry-pick release-1.0`.'

export function closedReply(pr: number): string {
  return `#${pr} was closed without being merged: there is nothing to cherry-pick.`
}
