// lib/bots/cherry-pick/messages.mts: the text a cherry-pick writes (branch names, pull
// request titles and bodies, comments), pure functions of what happened. The messages
// about prerequisites and several sources: cherry-pick-prerequisites.test.mts.
import { describe, expect, it } from 'vitest'
import { commandFor } from '../../lib/core/cli.mts'
import { code } from '../../lib/bots/github.mts'
import {
  closedReply,
  conflictComment,
  createdComment,
  failedComment,
  headBranchName,
  labelledComment,
  manualCommands,
  pickBody,
  pickTitle,
  prerequisiteLine,
  prerequisitesCommand,
  prerequisitesText,
  refusedComment,
  untrustedMarker,
  untrustedReply,
  USAGE_REPLY,
} from '../../lib/bots/cherry-pick/messages.mts'
import { parseCommand } from '../../lib/bots/cherry-pick/request.mts'
import type { Prerequisite, Source, TargetResult } from '../../lib/bots/cherry-pick/types.mts'

const source: Source = {
  pull: { number: 12, title: 'Fix it', url: 'https://github.com/acme/app/pull/12', author: 'ann', labels: [], base: 'main' },
  title: 'Fix it',
  kind: 'merge',
  commits: ['a'.repeat(40)],
  mainline: true,
}

describe('names and messages', () => {
  it('names the branch after the PR, or the commit without one, and keeps the title as it is', () => {
    expect(headBranchName(source, 'release-1.0')).toBe('cherry-pick/12-to-release-1.0')
    expect(headBranchName({ commits: ['0123456789abcdef'] }, 'release-1.0')).toBe('cherry-pick/0123456789ab-to-release-1.0')
    expect(pickTitle('release-1.0', 'Fix $(x) `y`; z')).toBe('[release-1.0] Fix $(x) `y`; z')
  })

  it('code() makes inline code that survives backticks', () => {
    expect(code('app.txt')).toBe('`app.txt`')
    expect(code('a`b')).toBe('``a`b``')
    expect(code('`x`')).toBe('`` `x` ``')
  })

  it('the manual commands quote what the shell would otherwise run', () => {
    const commands = manualCommands('origin', source, 'release-1;`touch x`$(touch y)', 'cherry-pick/12-to-release-1;`touch x`')
    expect(commands.split('\n')).toEqual([
      "git fetch origin $'release-1;`touch x`$(touch y)' main",
      "git switch --create $'cherry-pick/12-to-release-1;`touch x`' $'origin/release-1;`touch x`$(touch y)'",
      `git cherry-pick -x -m 1 ${'a'.repeat(40)}`,
      '# resolve the conflicts, then: git add <files> && git cherry-pick --continue',
      "git push origin $'cherry-pick/12-to-release-1;`touch x`'",
    ])
  })

  it('the conflict comment lists the files and the commands', () => {
    const body = conflictComment('origin', source, 'release-2.0', 'cherry-pick/12-to-release-2.0', ['a.txt', 'b c.txt'])
    expect(body).toContain('- `a.txt`\n- `b c.txt`')
    expect(body).toContain('```sh\ngit fetch origin release-2.0 main\n')
    expect(body).toContain('--draft-on-conflict')
    expect(parseCommand(body)).toBeNull()
  })

  it('the PR body links the original and lists the picked commits', () => {
    const body = pickBody({ ...source, kind: 'squash', mainline: false }, 'release-1.0', [{ sha: 'b'.repeat(40), from: 'a'.repeat(40) }])
    expect(body).toContain('Cherry-pick of #12 onto `release-1.0`.')
    expect(body).toContain('Original pull request: https://github.com/acme/app/pull/12 (a squash merge).')
    expect(body).toContain(`- ${'b'.repeat(40)} (cherry picked from commit ${'a'.repeat(40)})`)
    expect(pickBody(source, 'r', [], ['x.txt'])).toContain('**Conflicts**')
  })

  it('the reply to an untrusted commenter is polite and names what a maintainer can do', () => {
    const reply = untrustedReply('bob', 'release-1.0', 'cherry-pick/')
    expect(reply).toMatch(/^Thanks @bob! Only people with write, maintain or admin access .*nothing was done\. A maintainer can comment `\/cherry-pick release-1.0` or add the label `cherry-pick\/release-1.0`\. .* <!-- cherry-pick: untrusted reply to @bob -->$/)
    expect(parseCommand(reply)).toBeNull()
  })
})

const prereq = (c: string, extra: Partial<Prerequisite> = {}): Prerequisite => ({
  sha: c.repeat(40),
  subject: `subject ${c}`,
  mainline: false,
  files: ['app.txt', 'lib.txt'],
  ...extra,
})

describe('comments on the original pull request', () => {
  const created: TargetResult = {
    branch: 'release-1.0',
    status: 'created',
    headBranch: 'cherry-pick/12-to-release-1.0',
    pull: { number: 40, url: 'https://github.com/acme/app/pull/40', draft: false },
    picked: [{ sha: 'b'.repeat(40), from: 'a'.repeat(40) }],
  }

  it('a created pick names the pull request and counts the commits (one commit, several)', () => {
    expect(createdComment(created)).toBe('Cherry-picked onto `release-1.0`: #40 (https://github.com/acme/app/pull/40), 1 commit.')
    const two = { ...created, picked: [...created.picked!, { sha: 'c'.repeat(40), from: 'd'.repeat(40) }] }
    expect(createdComment(two)).toBe('Cherry-picked onto `release-1.0`: #40 (https://github.com/acme/app/pull/40), 2 commits.')
  })

  it('a created pick lists the prerequisites it brought and the warnings', () => {
    const body = createdComment({ ...created, prerequisites: [prereq('e', { pull: { number: 9, title: 'Add `lib`', url: 'u9' } })], warnings: ['could not set the milestone `1.0`: Not Found'] })
    expect(body.split('\n')).toEqual([
      'Cherry-picked onto `release-1.0`: #40 (https://github.com/acme/app/pull/40), 1 commit.',
      '',
      'It brings 1 prerequisite first (picking alone conflicted; see the pull request):',
      '',
      `- ${'e'.repeat(12)} #9 \`\` Add \`lib\` \`\`: changes \`app.txt\`, \`lib.txt\``,
      '',
      '**Warnings** (the pick itself is done):',
      '',
      '- could not set the milestone `1.0`: Not Found',
    ])
  })

  it('a draft with conflicts names the files and the branch to resolve them on', () => {
    const body = createdComment({ ...created, status: 'conflict', pull: { ...created.pull!, draft: true }, conflicts: ['a.txt', 'b c.txt'] })
    expect(body).toBe(
      'Cherry-pick onto `release-1.0` has conflicts: opened draft #40 (https://github.com/acme/app/pull/40) with the conflict markers committed in `a.txt`, `b c.txt`. Resolve them on `cherry-pick/12-to-release-1.0`, then mark it ready for review.',
    )
  })

  it('a failure gives the reason, and the log when there is one', () => {
    expect(failedComment('release-1.0', 'push refused')).toBe('Cherry-pick onto `release-1.0` failed: push refused')
    expect(failedComment('release-1.0', 'push refused', 'https://ci/run/1')).toBe('Cherry-pick onto `release-1.0` failed: push refused\n\nSee the log: https://ci/run/1')
  })

  it('refused targets are listed with their reasons and the rule a target must follow', () => {
    const body = refusedComment(
      [
        { branch: 'main', status: 'refused', message: 'does not match release-*' },
        { branch: 'release-9', status: 'refused', message: 'no branch release-9 on origin' },
      ],
      { remote: 'origin', targetBranches: ['release-*', 'support/*'] },
    )
    expect(body.split('\n')).toEqual([
      'Cannot cherry-pick onto:',
      '',
      '- `main`: does not match release-*',
      '- `release-9`: no branch release-9 on origin',
      '',
      'A target must exist on `origin` and match `release-*`, `support/*` (`cherryPick.targetBranches`).',
    ])
  })

  it('labelling an open pull request names each target with its label', () => {
    expect(labelledComment(['release-1.0', 'release-2.0'], 'cherry-pick/')).toBe(
      'Will cherry-pick onto `release-1.0` (label `cherry-pick/release-1.0`), `release-2.0` (label `cherry-pick/release-2.0`) when this pull request is merged.',
    )
  })

  it('a closed pull request and a bare command get a reply that is no command itself', () => {
    expect(closedReply(7)).toBe('#7 was closed without being merged: there is nothing to cherry-pick.')
    expect(USAGE_REPLY).toContain('`/cherry-pick release-1.0`')
    expect(parseCommand(USAGE_REPLY)).toBeNull()
  })

  it('the hidden marker names the commenter and is in the reply to them', () => {
    expect(untrustedMarker('bob')).toBe('<!-- cherry-pick: untrusted reply to @bob -->')
    expect(untrustedReply('bob', 'r', 'p/')).toContain(untrustedMarker('bob'))
    expect(untrustedReply('ann', 'r', 'p/')).not.toContain(untrustedMarker('bob'))
  })
})

describe('prerequisites in messages', () => {
  it('a prerequisite line: short sha, its pull request or its subject as code, merge commits said, the files', () => {
    expect(prerequisiteLine(prereq('a'))).toBe(`${'a'.repeat(12)} \`subject a\`: changes \`app.txt\`, \`lib.txt\``)
    expect(prerequisiteLine(prereq('b', { mainline: true, files: ['x'], pull: { number: 3, title: 'T', url: 'u' } }))).toBe(
      `${'b'.repeat(12)} #3 \`T\` (a merge commit): changes \`x\``,
    )
  })

  it('two attempts are both reported, the second naming its prerequisites and whether one of them conflicted', () => {
    const lines = prerequisitesText('release-1.0', {
      prerequisites: [prereq('e')],
      prerequisitesCommand: 'npx zx scripts/cherry-pick.mts --commit x --to release-1.0',
      attempts: [
        { prerequisites: [], conflicts: ['app.txt'], at: 'a'.repeat(40) },
        { prerequisites: ['e'.repeat(40)], conflicts: ['lib.txt'], at: 'e'.repeat(40) },
      ],
    })
    expect(lines.slice(0, 4)).toEqual([
      'Two attempts, both aborted:',
      '',
      `1. alone: conflicts in \`app.txt\` (picking ${'a'.repeat(12)});`,
      `2. with the 1 prerequisite below first: conflicts in \`lib.txt\` (picking ${'e'.repeat(12)}, a prerequisite).`,
    ])
    expect(lines).toContain(`- ${prerequisiteLine(prereq('e'))}`)
    // After two attempts the command that would make the second is not offered again.
    expect(lines.join('\n')).not.toContain('npx zx scripts/cherry-pick.mts')
  })

  it('a PR body that brought prerequisites says why, before the picked commits', () => {
    const source: Source = { title: 'T', kind: 'commit', commits: ['a'.repeat(40)], mainline: false }
    const body = pickBody(source, 'release-1.0', [{ sha: 'b'.repeat(40), from: 'a'.repeat(40) }], [], {
      prerequisites: [prereq('e')],
      first: { prerequisites: [], conflicts: ['app.txt'], at: 'a'.repeat(40) },
    })
    expect(body.startsWith(`Cherry-pick of commit ${'a'.repeat(40)} onto \`release-1.0\`.\n\n**Prerequisites**: picking commit ${'a'.repeat(40)} alone conflicted in \`app.txt\`.`)).toBe(true)
    expect(body.indexOf(`- ${prerequisiteLine(prereq('e'))}`)).toBeLessThan(body.indexOf('Picked with `git cherry-pick -x`:'))
    expect(body).not.toContain('Original pull request')
  })
})

describe('the whole text of each message', () => {
  const sha = (c: string) => c.repeat(40)
  const pull = (number: number, kind: Source['kind']): Source => ({
    pull: { number, title: `T${number}`, url: `https://github.com/acme/app/pull/${number}`, author: 'ann', labels: [], base: 'main' },
    title: `T${number}`,
    kind,
    commits: [sha(String(number % 10))],
    mainline: kind === 'merge',
  })
  const commit: Source = { title: 'c', kind: 'commit', commits: [sha('b')], mainline: false }
  const pre = (c: string, pr?: number): Prerequisite => ({ sha: sha(c), subject: `s${c}`, mainline: false, files: ['x.txt'], ...(pr ? { pull: { number: pr, title: `P${pr}`, url: `u${pr}` } } : {}) })

  it('a branch for several sources is named after the first and the last', () => {
    const several = { ...commit, parts: [pull(12, 'squash'), pull(13, 'rebase'), commit] }
    expect(headBranchName(several, 'r1')).toBe(`cherry-pick/12-${sha('b').slice(0, 12)}-to-r1`)
    expect(headBranchName({ ...commit, parts: [pull(12, 'squash')] }, 'r1')).toBe('cherry-pick/12-to-r1')
  })

  it('a pull request body for several sources, with the prerequisites it brought and the files left in conflict', () => {
    const several: Source = { ...commit, parts: [pull(12, 'squash'), pull(13, 'rebase'), pull(14, 'merge'), commit] }
    const brought = { prerequisites: [pre('e', 9)], first: { prerequisites: [], conflicts: ['x.txt', 'y.txt'], at: sha('2') } }
    const body = pickBody(several, 'r1', [{ sha: 'c1', from: 'a1' }, { sha: 'c2', from: 'a2' }], ['x.txt'], brought)
    const what = `#12, #13, #14, commit ${sha('b')}`
    expect(body).toBe(
      [
        `Cherry-pick of ${what} onto \`r1\`, in this order.`,
        '',
        'Original pull request: https://github.com/acme/app/pull/12 (a squash merge).',
        'Original pull request: https://github.com/acme/app/pull/13 (a rebase merge).',
        'Original pull request: https://github.com/acme/app/pull/14 (a merge commit).',
        '',
        `**Prerequisites**: picking ${what} alone conflicted in \`x.txt\`, \`y.txt\`. These earlier commits change those files and were not on \`r1\` (no cherry-pick of them there, no commit with the same patch), so they were picked first, oldest first:`,
        '',
        `- ${prerequisiteLine(pre('e', 9))}`,
        '',
        'Picked with `git cherry-pick -x`:',
        '',
        '- c1 (cherry picked from commit a1)',
        '- c2 (cherry picked from commit a2)',
        '',
        '**Conflicts**: these files were committed with conflict markers; resolve them on this branch, then mark the pull request ready for review:',
        '',
        '- `x.txt`',
      ].join('\n'),
    )
    expect(pickBody(commit, 'r1', [{ sha: 'c1', from: 'a1' }])).toBe(
      [`Cherry-pick of commit ${sha('b')} onto \`r1\`.`, '', 'Picked with `git cherry-pick -x`:', '', '- c1 (cherry picked from commit a1)'].join('\n'),
    )
  })

  it('the command that picks the prerequisites first: by pull request when all have one, else by commit, each once', () => {
    const cmd = commandFor('cherry-pick')
    expect(prerequisitesCommand([pre('e', 9), pre('f', 9)], pull(12, 'squash'), 'r 1')).toBe(`${cmd} --pr 9 --pr 12 --to $'r 1'`)
    expect(prerequisitesCommand([pre('e', 9), pre('f')], pull(12, 'squash'), 'r1')).toBe(`${cmd} --commit ${sha('e')} --commit ${sha('f')} --commit ${sha('2')} --to r1`)
    expect(prerequisitesCommand([pre('e', 9)], { ...commit, parts: [pull(12, 'squash'), commit] }, 'r1')).toBe(`${cmd} --commit ${sha('e')} --commit ${sha('2')} --commit ${sha('b')} --to r1`)
  })

  it('the manual commands keep runs of commits that share -m 1 together', () => {
    const mixed: Source = { ...commit, parts: [pull(11, 'merge'), pull(14, 'merge'), commit, pull(15, 'squash')] }
    expect(manualCommands('origin', mixed, 'r1', 'b1').split('\n').filter((l) => l.startsWith('git cherry-pick'))).toEqual([
      `git cherry-pick -x -m 1 ${sha('1')} ${sha('4')}`,
      `git cherry-pick -x ${sha('b')} ${sha('5')}`,
    ])
  })

  it('what the target lacks: one attempt with prerequisites and the command, one without any, two attempts', () => {
    const one = [{ prerequisites: [], conflicts: ['x.txt'], at: sha('2') }]
    expect(prerequisitesText('r1', { prerequisites: [pre('e', 9), pre('f')], prerequisitesCommand: 'CMD', attempts: one })).toEqual([
      '`r1` lacks earlier changes to these files (not picked there with `-x`, no commit with the same patch), oldest first:',
      '',
      `- ${prerequisiteLine(pre('e', 9))}`,
      `- ${prerequisiteLine(pre('f'))}`,
      '',
      'To pick them and this in order (or run again with `--with-prerequisites`):',
      '',
      '```sh',
      'CMD',
      '```',
      '',
    ])
    expect(prerequisitesText('r1', { prerequisites: [], attempts: one })).toEqual(["No earlier commit that changes these files is missing from `r1`: the conflict is with `r1`'s own changes.", ''])
    expect(prerequisitesText('r1', {})).toEqual([])
    const two = [{ ...one[0], conflicts: ['x.txt', 'w.txt'] }, { prerequisites: [sha('e'), sha('f')], conflicts: ['y.txt', 'z.txt'], at: sha('3') }]
    expect(prerequisitesText('r1', { prerequisites: [pre('e', 9), pre('f')], prerequisitesCommand: 'CMD', attempts: two })).toEqual([
      'Two attempts, both aborted:',
      '',
      `1. alone: conflicts in \`x.txt\`, \`w.txt\` (picking ${sha('2').slice(0, 12)});`,
      `2. with the 2 prerequisites below first: conflicts in \`y.txt\`, \`z.txt\` (picking ${sha('3').slice(0, 12)}).`,
      '',
      '`r1` lacks earlier changes to these files (not picked there with `-x`, no commit with the same patch), oldest first:',
      '',
      `- ${prerequisiteLine(pre('e', 9))}`,
      `- ${prerequisiteLine(pre('f'))}`,
      '',
    ])
    const twoAtPrerequisite = [one[0], { prerequisites: [sha('e')], conflicts: ['y.txt'], at: sha('e') }]
    expect(prerequisitesText('r1', { prerequisites: [pre('e', 9)], attempts: twoAtPrerequisite })[3]).toBe(
      `2. with the 1 prerequisite below first: conflicts in \`y.txt\` (picking ${sha('e').slice(0, 12)}, a prerequisite).`,
    )
  })

  it('the conflict comment, whole', () => {
    expect(conflictComment('origin', commit, 'r1', 'b1', ['x.txt', 'y.txt'])).toBe(
      [
        'Cherry-pick onto `r1` stopped: conflicts in',
        '',
        '- `x.txt`',
        '- `y.txt`',
        '',
        'To do it by hand:',
        '',
        '```sh',
        manualCommands('origin', commit, 'r1', 'b1'),
        '```',
        '',
        'then open a pull request from `b1` into `r1`. Or run the script with `--draft-on-conflict` to get a draft pull request with the conflict markers committed.',
      ].join('\n'),
    )
  })

  it('the comment on a created pick counts its commits and prerequisites, singular and plural', () => {
    const created = (extra: Partial<TargetResult>) => createdComment({ branch: 'r1', status: 'created', pull: { number: 7, url: 'u7' }, ...extra } as TargetResult)
    expect(created({})).toBe('Cherry-picked onto `r1`: #7 (u7), 0 commits.')
    expect(created({ picked: [{ sha: 'c', from: 'a' }], prerequisites: [pre('e', 9)] })).toBe(
      ['Cherry-picked onto `r1`: #7 (u7), 1 commit.', '', 'It brings 1 prerequisite first (picking alone conflicted; see the pull request):', '', `- ${prerequisiteLine(pre('e', 9))}`].join('\n'),
    )
    expect(created({ prerequisites: [pre('e', 9), pre('f')] }).split('\n')[2]).toBe('It brings 2 prerequisites first (picking alone conflicted; see the pull request):')
  })

  it('the reply to an untrusted commenter, whole', () => {
    expect(untrustedReply('bob', 'release-1.0', 'cherry-pick/')).toBe(
      'Thanks @bob! Only people with write, maintain or admin access to the repository can start a cherry-pick, so nothing was done. A maintainer can comment `/cherry-pick release-1.0` or add the label `cherry-pick/release-1.0`. (Further `/cherry-pick` comments from you on this pull request get no reply.) <!-- cherry-pick: untrusted reply to @bob -->',
    )
  })
})
