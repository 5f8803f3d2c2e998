// lib/bots/cherry-pick/messages.mts: the text a cherry-pick writes (branch names, pull
// request titles and bodies, comments), pure functions of what happened. The messages
// about prerequisites and several sources: cherry-pick-prerequisites.test.mts.
import { describe, expect, it } from 'vitest'
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
