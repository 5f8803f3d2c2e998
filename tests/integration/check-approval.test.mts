// scripts/check-approval.mts as the `approval` job of integration-approved.yml runs it:
// a process, Octokit against the GitHub stand-in, reviews submitted there on a real
// bare repository's pull request.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.mts'
import { commitFiles, pushBranch, remoteScene, standInEnv } from '../helpers/remote-scene.mts'
import { git } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

const TOKEN = `ghs_approval${Math.random().toString(36).slice(2)}`
const NAME = 'acme/approval'

let gh: GitHubServer
let dir: string
let dev: string
beforeAll(async () => {
  gh = await startGitHubServer({ tokens: { [TOKEN]: 'github-actions[bot]' } })
  // maya: a collaborator (write); lee: a member with maintain; reed: a member with the
  // default read access; tia: a triage collaborator; pat: a collaborator who loses access.
  ;({ dir, dev } = remoteScene(gh, {
    name: NAME,
    files: { 'app.txt': 'one\n' },
    access: { collaborators: ['maya', 'tia', 'pat'], members: ['lee', 'reed'], roles: { lee: 'maintain', tia: 'triage' } },
    clone: false,
  }))
})
afterAll(async () => {
  await gh?.close()
})

/** A contributor's branch with one more commit, pushed; its head sha. */
function push(branch: string, content: string): string {
  git(dev, 'switch', '-q', '-C', branch, branch === 'main' ? 'main' : `origin/${branch}`)
  commitFiles(dev, { 'app.txt': content }, content.trim())
  git(dev, 'push', '-q', 'origin', branch)
  git(dev, 'switch', '-q', 'main')
  return git(dev, 'rev-parse', branch)
}

function branchFromMain(branch: string, content: string): string {
  return pushBranch({ dev }, branch, [{ files: { 'app.txt': content }, message: content.trim() }])
}

/** check-approval as a process; `args` adds flags (a --config naming trust.team). */
async function run(sha: string, actor: string, args: string[] = []) {
  const output = path.join(dir, `output-${Math.random().toString(36).slice(2)}`)
  fs.writeFileSync(output, '')
  const result = await runScript('check-approval', ['--sha', sha, '--actor', actor, '--json', ...args], {
    env: standInEnv(gh, NAME, TOKEN, { GITHUB_OUTPUT: output }),
  })
  return { result, output }
}

async function check(sha: string, actor = 'maya', args: string[] = []) {
  const { result, output } = await run(sha, actor, args)
  expect(result.exitCode, result.stderr).toBe(0)
  expect(result.stderr + result.stdout).not.toContain(TOKEN)
  const outputs = Object.fromEntries(
    fs
      .readFileSync(output, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  )
  return { json: JSON.parse(result.stdout), outputs, stderr: result.stderr }
}

describe('check-approval', () => {
  it('approves exactly the reviewed head, and only for a reviewer with write access; a push needs a new approval', async () => {
    const first = branchFromMain('contrib', 'two\n')
    const pr = await gh.openPullRequest(NAME, { head: 'contrib', base: 'main', title: 'Contribution', user: 'outsider' })

    // Nothing yet; then a comment, and an approval by someone without write access.
    expect((await check(first)).outputs).toEqual({ approved: 'false', pr: String(pr.number), sha: '', reviewer: '' })
    await gh.review(NAME, pr.number, 'maya', 'COMMENT', { body: 'looks fine' })
    await gh.review(NAME, pr.number, 'passer-by', 'APPROVE')
    const untrusted = await check(first)
    expect(untrusted.json).toMatchObject({ approved: false, reason: expect.stringContaining('approved only by passer-by (none)') })

    // A collaborator approves: exactly this commit is approved.
    const approved = await gh.review(NAME, pr.number, 'maya', 'APPROVE')
    expect(approved.commit_id).toBe(first)
    const ok = await check(first)
    expect(ok.outputs).toEqual({ approved: 'true', pr: String(pr.number), sha: first, reviewer: 'maya' })
    expect(gh.lastEvent('pull_request_review', 'submitted').payload).toMatchObject({ review: { state: 'APPROVED', commit_id: first, author_association: 'COLLABORATOR' } })

    // The contributor pushes after the approval: the new head is not approved, and the
    // old commit is no longer the head of an open pull request.
    const second = push('contrib', 'three\n')
    expect((await check(second)).json).toMatchObject({ approved: false, pr: pr.number, reason: expect.stringContaining('a push after an approval needs a new approval') })
    expect((await check(first)).json).toMatchObject({ approved: false, reason: expect.stringContaining('no open pull request has') })

    // A member with maintain approves the new head; then it is dismissed.
    const again = await gh.review(NAME, pr.number, 'lee', 'APPROVE')
    expect((await check(second)).outputs).toMatchObject({ approved: 'true', sha: second, reviewer: 'lee' })
    await gh.dismissReview(NAME, pr.number, again.id)
    expect((await check(second)).outputs.approved).toBe('false')
  })

  it('a read-only member, a triage collaborator and a reviewer who lost access cannot approve, though GitHub calls them MEMBER and COLLABORATOR', async () => {
    const head = branchFromMain('perm', 'perm\n')
    const requestsBefore = gh.requests.length
    const pr = await gh.openPullRequest(NAME, { head: 'perm', base: 'main', title: 'Permissions', user: 'outsider' })
    await gh.review(NAME, pr.number, 'reed', 'APPROVE')
    await gh.review(NAME, pr.number, 'tia', 'APPROVE')
    expect(gh.reviews(NAME, pr.number).map((r) => r.author_association)).toEqual(['MEMBER', 'COLLABORATOR'])
    const readers = await check(head)
    expect(readers.outputs).toMatchObject({ approved: 'false', sha: '' })
    expect(readers.json.reason).toBe('approved only by reed (read), tia (triage): an approval counts from people with write, maintain or admin access only')

    // pat approves with write access, then loses it: the approval recorded as COLLABORATOR no longer counts.
    await gh.review(NAME, pr.number, 'pat', 'APPROVE')
    expect((await check(head)).outputs).toMatchObject({ approved: 'true', reviewer: 'pat' })
    gh.revokeAccess(NAME, 'pat')
    expect(gh.reviews(NAME, pr.number).at(-1)?.author_association).toBe('COLLABORATOR')
    const revoked = await check(head)
    expect(revoked.outputs).toMatchObject({ approved: 'false', sha: '' })
    expect(revoked.json.reason).toContain('pat (none)')
    // The permission was asked of GitHub, for each reviewer and the actor.
    const asked = gh.requests.slice(requestsBefore).filter((r) => r.path.startsWith(`/repos/${NAME}/collaborators/`)).map((r) => r.path.split('/')[5])
    expect(new Set(asked)).toEqual(new Set(['maya', 'reed', 'tia', 'pat']))
  })

  it("another maintainer's request for changes blocks an approval until it is dismissed", async () => {
    const head = branchFromMain('blocked', 'blocked\n')
    const pr = await gh.openPullRequest(NAME, { head: 'blocked', base: 'main', title: 'Blocked', user: 'outsider' })
    const changes = await gh.review(NAME, pr.number, 'lee', 'REQUEST_CHANGES', { body: 'no' })
    await gh.review(NAME, pr.number, 'maya', 'APPROVE')
    const blocked = await check(head)
    expect(blocked.outputs).toMatchObject({ approved: 'false', sha: '' })
    expect(blocked.json.reason).toBe('changes requested by lee (maintain): their latest review must be an approval, or be dismissed')
    await gh.dismissReview(NAME, pr.number, changes.id)
    expect((await check(head)).outputs).toMatchObject({ approved: 'true', sha: head, reviewer: 'maya' })
  })

  it('a run started by someone without write access runs nothing, even for an approved commit', async () => {
    const head = branchFromMain('actor', 'actor\n')
    const pr = await gh.openPullRequest(NAME, { head: 'actor', base: 'main', title: 'Actor', user: 'outsider' })
    await gh.review(NAME, pr.number, 'maya', 'APPROVE')
    expect((await check(head, 'lee')).outputs.approved).toBe('true')
    // Someone submits a comment review (the pull request's copy of the trigger workflow fires on it).
    await gh.review(NAME, pr.number, 'drive-by', 'COMMENT', { body: 'run it again' })
    for (const actor of ['drive-by', 'outsider', 'reed', 'tia']) {
      const run = await check(head, actor)
      expect(run.outputs, actor).toEqual({ approved: 'false', pr: '', sha: '', reviewer: '' })
      expect(run.json.reason).toMatch(new RegExp(`^the run was started by ${actor} \\((none|read|triage)\\), not by someone with write, maintain or admin access$`))
    }
  })

  // trust.team: the active members of a team are trusted too, whatever their repository role.
  describe('with a team in trust.team', () => {
    /** A build.config.json trusting `team`, for --config. */
    const configWith = (team?: string) => {
      const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`)
      fs.writeFileSync(file, JSON.stringify({ buildImage: { name: 'approval-build', inputs: ['app.txt'] }, ...(team ? { trust: { team } } : {}) }))
      return ['--config', file]
    }

    it('an active member without write access approves and starts runs only when the team is configured; a pending member or a non-member (404) does not', async () => {
      // reed: an organisation member with read access, active in acme/reviewers; rio: invited, pending.
      gh.addTeam('acme/reviewers', { active: ['reed'], pending: ['rio'] })
      const head = branchFromMain('team', 'team\n')
      const pr = await gh.openPullRequest(NAME, { head: 'team', base: 'main', title: 'Team', user: 'outsider' })
      await gh.review(NAME, pr.number, 'reed', 'APPROVE')
      const team = configWith('acme/reviewers')

      const before = gh.requests.length
      const trusted = await check(head, 'reed', team)
      expect(trusted.outputs).toEqual({ approved: 'true', pr: String(pr.number), sha: head, reviewer: 'reed' })
      expect(trusted.json.reason).toBe(`approved by reed (read, member of acme/reviewers) at ${head.slice(0, 12)}`)
      // Asked of GitHub's team membership endpoint, for the actor and the reviewer.
      expect(gh.requests.slice(before).filter((r) => r.path.startsWith('/orgs/')).map((r) => r.path)).toEqual([
        '/orgs/acme/teams/reviewers/memberships/reed',
        '/orgs/acme/teams/reviewers/memberships/reed',
      ])

      // The same review, no team configured (the default config, or one without trust): read access is not enough.
      for (const args of [[], configWith()]) {
        const untrusted = await check(head, 'maya', args)
        expect(untrusted.outputs).toMatchObject({ approved: 'false', sha: '' })
        expect(untrusted.json.reason).toBe('approved only by reed (read): an approval counts from people with write, maintain or admin access only')
      }

      // A pending invitation is not membership; someone the team does not have (404) is not a member.
      for (const actor of ['rio', 'tia', 'drive-by']) {
        const run = await check(head, actor, team)
        expect(run.outputs, actor).toEqual({ approved: 'false', pr: '', sha: '', reviewer: '' })
        expect(run.json.reason).toMatch(new RegExp(`^the run was started by ${actor} \\((none|triage)\\), not by someone with write, maintain or admin access, or active membership of the team acme/reviewers$`))
      }
      // A pending member's approval alone approves nothing.
      const onlyPending = branchFromMain('team-pending', 'team pending\n')
      const pendingPr = await gh.openPullRequest(NAME, { head: 'team-pending', base: 'main', title: 'Pending', user: 'outsider' })
      await gh.review(NAME, pendingPr.number, 'rio', 'APPROVE')
      expect((await check(onlyPending, 'maya', team)).json.reason).toBe(
        'approved only by rio (none): an approval counts from people with write, maintain or admin access, or active membership of the team acme/reviewers only',
      )
      await gh.review(NAME, pr.number, 'rio', 'APPROVE')
      await gh.review(NAME, pr.number, 'reed', 'COMMENT', { body: 'still fine' })
      expect((await check(head, 'maya', team)).outputs).toMatchObject({ approved: 'true', reviewer: 'reed' })
      // A pending member's request for changes does not block; an active member's does.
      await gh.review(NAME, pr.number, 'rio', 'REQUEST_CHANGES', { body: 'no' })
      expect((await check(head, 'maya', team)).outputs.approved).toBe('true')
      gh.addTeam('acme/reviewers', { active: ['reed', 'rio'] })
      expect((await check(head, 'maya', team)).json.reason).toBe('changes requested by rio (none, member of acme/reviewers): their latest review must be an approval, or be dismissed')
    })

    it('a team membership GitHub will not tell is an error (exit 1, no outputs), never trust', async () => {
      gh.addTeam('acme/reviewers', { active: ['reed'] })
      const head = branchFromMain('team-fails', 'team fails\n')
      const pr = await gh.openPullRequest(NAME, { head: 'team-fails', base: 'main', title: 'Team fails', user: 'outsider' })
      await gh.review(NAME, pr.number, 'reed', 'APPROVE')
      gh.failTeams(403)
      try {
        const { result, output } = await run(head, 'maya', configWith('acme/reviewers'))
        expect(result.exitCode).toBe(1)
        expect(result.stdout).toBe('')
        expect(fs.readFileSync(output, 'utf8')).toBe('')
        expect(result.stderr).toContain('cannot tell whether @reed is a member of the team acme/reviewers (trust.team in build.config.json)')
        expect(result.stderr).toContain('HTTP 403')
        expect(result.stderr).toContain('nobody is trusted through the team')
        expect(result.stderr).not.toContain(TOKEN)
      } finally {
        gh.failTeams()
      }
      expect((await check(head, 'maya', configWith('acme/reviewers'))).outputs).toMatchObject({ approved: 'true', reviewer: 'reed' })
    })

    it('trust.team must name org/team-slug: exit 2 naming the key', async () => {
      const { result } = await run('a'.repeat(40), 'maya', configWith('reviewers'))
      expect(result.exitCode).toBe(2)
      expect(result.stderr).toContain('trust.team: expected a team as "org/team-slug"')
    })
  })

  it('bad usage is exit 2', async () => {
    const result = await runScript('check-approval', ['--sha', 'main', '--actor', 'maya'], { env: { GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: NAME } })
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('--sha: expected a full commit id (40 hex digits), got "main"')
    const noActor = await runScript('check-approval', ['--sha', 'a'.repeat(40)], { env: { GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: NAME } })
    expect(noActor.exitCode).toBe(2)
    expect(noActor.stderr).toContain('--actor: expected the GitHub login that started the run')
  })
})
