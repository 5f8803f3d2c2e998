// The GitHub stand-in itself (tests/helpers/github-server.mts), driven by real Octokit
// and real git: if it drifts from GitHub's behaviour, the scripts' tests mean less.
import { Octokit } from '@octokit/rest'
import { $ } from 'zx'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.mts'
import { remoteScene } from '../helpers/remote-scene.mts'
import { git, GIT_ENV, writeFiles } from '../helpers/repo.mts'

const TOKEN = 'ghs_standinTestToken'
let gh: GitHubServer
let octokit: Octokit

beforeAll(async () => {
  gh = await startGitHubServer({ tokens: { [TOKEN]: 'bot', ghs_aliceToken: 'alice' } })
  octokit = new Octokit({ auth: TOKEN, baseUrl: gh.apiUrl })
})
afterAll(async () => {
  await gh?.close()
})

/** A bare repo served as acme/<unique>, with main and a pushed branch `topic` (two commits); `dev` on topic. */
function repo() {
  const f = remoteScene(gh, {
    prefix: 'stand',
    files: { 'a.txt': 'a\n' },
    branches: {
      topic: [
        { files: { 'b.txt': 'b\n' }, message: 'add b' },
        { files: { 'c.txt': 'c\n' }, message: 'add c' },
      ],
    },
    access: { collaborators: ['alice'] },
    clone: false,
  })
  git(f.dev, 'switch', '-q', 'topic')
  return { owner: f.owner, repo: f.repo, full: f.name, bare: f.bare, dev: f.dev }
}

describe('GitHub stand-in: REST through Octokit', () => {
  it('answers GET /collaborators/{user}/permission as GitHub does: legacy permission, role, the user; none without access; 404 for an unknown user', async () => {
    const r = repo()
    const name = `perm-${r.repo}`
    gh.addRepo({
      owner: 'acme',
      name,
      dir: r.bare,
      collaborators: ['wes', 'tia', '12345'],
      members: ['reed', 'mona'],
      roles: { tia: 'triage', mona: 'maintain' },
    })
    const ask = async (username: string) => (await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: 'acme', repo: name, username })).data
    const expected: Record<string, [string, string]> = {
      acme: ['admin', 'admin'],
      mona: ['write', 'maintain'],
      wes: ['write', 'write'],
      '12345': ['write', 'write'],
      tia: ['read', 'triage'],
      reed: ['read', 'read'],
    }
    for (const [login, [permission, role]] of Object.entries(expected)) {
      const data = await ask(login)
      expect({ login, permission: data.permission, role: data.role_name }).toEqual({ login, permission, role })
      expect(data.user).toMatchObject({ login, type: 'User', role_name: role })
    }
    expect((await ask('mona')).user?.permissions).toEqual({ pull: true, triage: true, push: true, maintain: true, admin: false })
    expect((await ask('tia')).user?.permissions).toEqual({ pull: true, triage: true, push: false, maintain: false, admin: false })
    gh.revokeAccess(`acme/${name}`, 'wes')
    expect(await ask('wes')).toMatchObject({ permission: 'none', role_name: 'none' })
    await expect(ask('nobody-at-all')).rejects.toMatchObject({ status: 404 })
  })

  it('opens, reads, lists (by head, paginated) and refuses duplicate or empty pull requests', async () => {
    const r = repo()
    const { status, data: pr } = await octokit.rest.pulls.create({ owner: r.owner, repo: r.repo, head: 'topic', base: 'main', title: 'Topic', body: 'Body' })
    expect(status).toBe(201)
    expect(pr).toMatchObject({
      number: 1,
      state: 'open',
      title: 'Topic',
      body: 'Body',
      user: { login: 'bot' },
      head: { ref: 'topic', sha: git(r.bare, 'rev-parse', 'topic'), label: 'acme:topic' },
      base: { ref: 'main', repo: { full_name: r.full, default_branch: 'main' } },
      merged: false,
      merge_commit_sha: null,
      commits: 2,
      html_url: `${gh.url}/${r.full}/pull/1`,
    })
    expect((await octokit.rest.pulls.get({ owner: r.owner, repo: r.repo, pull_number: 1 })).data.id).toBe(pr.id)

    const dup = octokit.rest.pulls.create({ owner: r.owner, repo: r.repo, head: `acme:topic`, base: 'main', title: 'Again' })
    await expect(dup).rejects.toMatchObject({ status: 422, response: { data: { errors: [{ message: 'A pull request already exists for acme:topic.' }] } } })
    const empty = octokit.rest.pulls.create({ owner: r.owner, repo: r.repo, head: 'main', base: 'topic', title: 'Empty' })
    await expect(empty).rejects.toMatchObject({ status: 422 })
    await expect(octokit.rest.pulls.create({ owner: r.owner, repo: r.repo, head: 'nope', base: 'main', title: 'X' })).rejects.toMatchObject({ status: 422 })
    await expect(octokit.rest.pulls.get({ owner: r.owner, repo: r.repo, pull_number: 42 })).rejects.toMatchObject({ status: 404 })

    expect((await octokit.rest.pulls.list({ owner: r.owner, repo: r.repo, head: 'acme:topic', state: 'all' })).data.map((p) => p.number)).toEqual([1])
    expect((await octokit.rest.pulls.list({ owner: r.owner, repo: r.repo, head: 'acme:other', state: 'all' })).data).toEqual([])
    const page = await octokit.rest.pulls.listCommits({ owner: r.owner, repo: r.repo, pull_number: 1, per_page: 1 })
    expect(page.headers.link).toContain('rel="next"')
    const all = await octokit.paginate(octokit.rest.pulls.listCommits, { owner: r.owner, repo: r.repo, pull_number: 1, per_page: 1 })
    expect(all.map((c) => c.commit.message)).toEqual(['add b', 'add c'])
    expect(all[1].parents[0].sha).toBe(all[0].sha)
  })

  it('answers 401 without a token or with a wrong one', async () => {
    const r = repo()
    await expect(new Octokit({ baseUrl: gh.apiUrl }).rest.pulls.list({ owner: r.owner, repo: r.repo })).rejects.toMatchObject({ status: 401 })
    await expect(new Octokit({ auth: 'wrong', baseUrl: gh.apiUrl }).rest.pulls.list({ owner: r.owner, repo: r.repo })).rejects.toMatchObject({
      status: 401,
      message: expect.stringContaining('Bad credentials'),
    })
  })

  it('comments, labels and assignees; closing, reopening; webhook events for each', async () => {
    const r = repo()
    const pr = await gh.openPullRequest(r.full, { head: 'topic', base: 'main', title: 'Topic', user: 'alice' })
    const issue = { owner: r.owner, repo: r.repo, issue_number: pr.number }
    const comment = (await octokit.rest.issues.createComment({ ...issue, body: 'hello' })).data
    expect(comment).toMatchObject({ body: 'hello', user: { login: 'bot' }, author_association: 'NONE' })
    await octokit.rest.issues.updateComment({ owner: r.owner, repo: r.repo, comment_id: comment.id, body: 'edited' })
    expect(gh.comment(r.full, pr.number, 'alice', 'mine').author_association).toBe('COLLABORATOR')
    expect(gh.comment(r.full, pr.number, r.owner, 'owner').author_association).toBe('OWNER')
    expect((await octokit.paginate(octokit.rest.issues.listComments, issue)).map((c) => c.body)).toEqual(['edited', 'mine', 'owner'])

    expect((await octokit.rest.issues.addLabels({ ...issue, labels: ['a', 'b'] })).data.map((l) => l.name)).toEqual(['a', 'b'])
    expect((await octokit.rest.issues.removeLabel({ ...issue, name: 'a' })).data.map((l) => l.name)).toEqual(['b'])
    await expect(octokit.rest.issues.removeLabel({ ...issue, name: 'zzz' })).rejects.toMatchObject({ status: 404 })
    // GitHub leaves out users who cannot be assigned.
    expect((await octokit.rest.issues.addAssignees({ ...issue, assignees: ['alice', 'stranger'] })).data.assignees?.map((a) => a.login)).toEqual(['alice'])

    await octokit.rest.pulls.update({ owner: r.owner, repo: r.repo, pull_number: pr.number, state: 'closed' })
    const closed = await gh.pull(r.full, pr.number)
    expect(closed).toMatchObject({ state: 'closed', merged: false, labels: [{ name: 'b' }], assignees: [{ login: 'alice' }] })
    await octokit.rest.pulls.update({ owner: r.owner, repo: r.repo, pull_number: pr.number, state: 'open' })

    const events = gh.events.filter((e) => (e.payload.repository as { full_name: string }).full_name === r.full)
    expect(events.map((e) => `${e.name}:${e.action}`)).toEqual([
      'pull_request:opened',
      'issue_comment:created',
      'issue_comment:created',
      'issue_comment:created',
      'pull_request:labeled',
      'pull_request:labeled',
      'pull_request:unlabeled',
      'pull_request:closed',
      'pull_request:reopened',
    ])
    const labeled = events[5].payload as { label: { name: string }; pull_request: { labels: Array<{ name: string }> }; sender: { login: string } }
    expect(labeled.label.name).toBe('b')
    expect(labeled.pull_request.labels.map((l) => l.name)).toEqual(['a', 'b'])
    expect(labeled.sender.login).toBe('bot')
    expect(gh.requests.some((q) => q.method === 'PATCH' && q.path === `/repos/${r.full}/pulls/${pr.number}` && q.login === 'bot')).toBe(true)
  })
})

describe('GitHub stand-in: merges are real git', () => {
  it.each([
    ['merge', (r: { bare: string }, sha: string) => expect(git(r.bare, 'rev-list', '--parents', '-n', '1', sha).split(' ')).toHaveLength(3)],
    ['squash', (r: { bare: string }, sha: string) => expect(git(r.bare, 'log', '-1', '--format=%s%n%b', sha)).toBe('Topic (#1)\n* add b\n\n* add c')],
    ['rebase', (r: { bare: string }, sha: string) => expect(git(r.bare, 'log', '--format=%s %cn', '-n', '2', sha)).toBe('add c GitHub\nadd b GitHub')],
  ] as const)('%s: main moves to the merge result; the PR reports it and keeps its commits', async (method, check) => {
    const r = repo()
    const pr = await gh.openPullRequest(r.full, { head: 'topic', base: 'main', title: 'Topic', user: 'alice' })
    const result = await octokit.rest.pulls.merge({ owner: r.owner, repo: r.repo, pull_number: pr.number, merge_method: method })
    expect(result.data).toMatchObject({ merged: true, message: 'Pull Request successfully merged' })
    expect(git(r.bare, 'rev-parse', 'main')).toBe(result.data.sha)
    expect(git(r.bare, 'show', 'main:c.txt')).toBe('c')
    check(r, result.data.sha)
    const merged = await gh.pull(r.full, pr.number)
    expect(merged).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: result.data.sha, merged_by: { login: 'bot' }, commits: 2 })
    expect(gh.lastEvent('pull_request', 'closed').payload).toMatchObject({ number: pr.number, pull_request: { merged: true } })
    await expect(octokit.rest.pulls.merge({ owner: r.owner, repo: r.repo, pull_number: pr.number })).rejects.toMatchObject({ status: 405 })
  })
})

describe('GitHub stand-in: git over HTTP', () => {
  it('asks for a token, and an open pull request follows its branch when pushed to', async () => {
    const r = repo()
    const pr = await gh.openPullRequest(r.full, { head: 'topic', base: 'main', title: 'Topic', user: 'alice' })
    const url = gh.gitUrl(r.full)
    const anonymous = await $({ cwd: r.dev, env: { ...GIT_ENV, GIT_TERMINAL_PROMPT: '0' }, quiet: true, nothrow: true })`git ls-remote ${url}`
    expect(anonymous.exitCode).not.toBe(0)

    const helper = '!f() { echo username=x-access-token; echo "password=$T"; }; f'
    const withToken = $({ cwd: r.dev, env: { ...GIT_ENV, T: 'ghs_aliceToken' }, quiet: true })
    writeFiles(r.dev, { 'd.txt': 'd\n' })
    git(r.dev, 'add', '-A')
    git(r.dev, 'commit', '-q', '-m', 'add d')
    await withToken`git -c credential.helper= -c ${`credential.helper=${helper}`} push -q ${url} topic`
    expect(git(r.bare, 'rev-parse', 'topic')).toBe(git(r.dev, 'rev-parse', 'HEAD'))
    expect((await gh.pull(r.full, pr.number)).commits).toBe(3)
    expect(gh.requests.some((q) => q.path === `/${r.full}.git/git-receive-pack` && q.login === 'alice' && q.status === 200)).toBe(true)
  })
})
