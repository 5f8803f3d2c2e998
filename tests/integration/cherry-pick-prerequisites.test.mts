// cherry-pick: prerequisites on a conflict, several --pr onto one branch,
// --with-prerequisites, and the pick's PR settings (reviewers, milestone, auto-merge).
// The script runs as a process against real git (a bare repository served over HTTP by
// the GitHub stand-in) and real Octokit against the stand-in's REST and GraphQL APIs.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkoutState } from '../helpers/cherry-fixture.mts'
import { type GitHubServer, type PullJson } from '../helpers/github-server.mts'
import { cloneCheckout, remoteScene, standInEnv, useGitHubServer } from '../helpers/remote-scene.mts'
import { git, tempDir, writeFiles } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'
import { findPrerequisites } from '../../lib/bots/cherry-pick/prerequisites.mts'

const TOKEN = `ghs_prereq${Math.random().toString(36).slice(2)}Secret`
const BOT = 'cherry-bot'

let gh: GitHubServer
useGitHubServer({ [TOKEN]: BOT }, (s) => (gh = s))

/** app.txt: 30 lines far enough apart that changes to lines 5, 15 and 25 never share context. */
const LINES = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`)
const app = (changes: Record<number, string>) => LINES.map((l, i) => changes[i + 1] ?? l).join('\n') + '\n'

interface Scene {
  name: string
  dir: string
  bare: string
  dev: string
  checkout: string
  /** PR number and the commit its squash merge put on main. */
  prereq: { number: number; sha: string }
  unrelated: { number: number; sha: string }
  pickedWithTrailer: { number: number; sha: string }
  samePatch: { number: number; sha: string }
  /** The PR to pick: it changes line 5 again, so alone it conflicts on release-1.0. */
  fix: { number: number; sha: string }
}

let counter = 0

/**
 * main and release-1.0 (forked at the first commit), then five PRs squash-merged into main:
 *   1 "Rename line 5" (line 5)           missing on release-1.0: the prerequisite
 *   2 "Touch notes"   (notes.txt)        missing, but another file
 *   3 "Fix line 15"   (line 15)          on release-1.0 adapted (another patch), with the -x trailer
 *   4 "Fix line 25"   (line 25)          on release-1.0 picked without -x (same patch id)
 *   5 "Fix line 5 again" (line 5)        the pick: conflicts without #1
 * `releaseLine5` also changes line 5 on release-1.0 (so #1 itself conflicts there).
 */
async function scene(options: { releaseLine5?: boolean; titles?: Partial<Record<'prereq' | 'fix', string>>; allowAutoMerge?: boolean } = {}): Promise<Scene> {
  const base = remoteScene(gh, {
    name: `acme/prereq-${process.pid}-${++counter}`,
    files: { 'app.txt': app({}), 'notes.txt': 'notes\n' },
    branches: { 'release-1.0': [] },
    access: { collaborators: ['alice', 'pat', 'quinn'], allowAutoMerge: options.allowAutoMerge },
    clone: false,
  })
  const { name, dev } = base

  let line5 = ''
  let line15 = ''
  let line25 = ''
  const merged = async (branch: string, title: string, files: Record<string, string>) => {
    git(dev, 'fetch', '-q', 'origin')
    git(dev, 'switch', '-q', '-c', branch, 'origin/main')
    writeFiles(dev, files)
    git(dev, 'commit', '-q', '-am', title)
    git(dev, 'push', '-q', 'origin', branch)
    const pr = await gh.openPullRequest(name, { head: branch, base: 'main', title, user: 'alice' })
    const { sha } = await gh.mergePullRequest(name, pr.number, 'squash')
    return { number: pr.number, sha }
  }
  line5 = 'line 5, renamed'
  const prereq = await merged('rename-5', options.titles?.prereq ?? 'Rename line 5', { 'app.txt': app({ 5: line5 }) })
  const unrelated = await merged('notes', 'Touch notes', { 'notes.txt': 'notes, touched\n' })
  line15 = 'line 15, fixed'
  const pickedWithTrailer = await merged('fix-15', 'Fix line 15', { 'app.txt': app({ 5: line5, 15: line15 }) })
  line25 = 'line 25, fixed'
  const samePatch = await merged('fix-25', 'Fix line 25', { 'app.txt': app({ 5: line5, 15: line15, 25: line25 }) })
  const fix = await merged('fix-5', options.titles?.fix ?? 'Fix line 5 again', { 'app.txt': app({ 5: 'line 5, renamed and fixed', 15: line15, 25: line25 }) })

  // release-1.0: #3 picked with -x, #4 picked without (another hash, the same patch).
  git(dev, 'fetch', '-q', 'origin')
  git(dev, 'switch', '-q', 'release-1.0')
  if (options.releaseLine5) {
    writeFiles(dev, { 'app.txt': app({ 5: 'line 5 (1.0 only)' }) })
    git(dev, 'commit', '-q', '-am', 'release-1.0: its own line 5')
  }
  // #3 adapted while picking (line 16 too): only its trailer says it is there.
  writeFiles(dev, { 'app.txt': app(options.releaseLine5 ? { 5: 'line 5 (1.0 only)', 15: line15, 16: 'line 16, adapted for 1.0' } : { 15: line15, 16: 'line 16, adapted for 1.0' }) })
  git(dev, 'commit', '-q', '-am', `Fix line 15 (adapted for 1.0)\n\n(cherry picked from commit ${pickedWithTrailer.sha})`)
  git(dev, 'cherry-pick', samePatch.sha)
  git(dev, 'push', '-q', 'origin', 'release-1.0')

  cloneCheckout(gh, base)
  return { ...base, prereq, unrelated, pickedWithTrailer, samePatch, fix }
}

function env(s: Scene, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return standInEnv(gh, s.name, TOKEN, extra)
}

const cherryPick = (s: Scene, args: string[]) => runScript('cherry-pick', [...args, '--json'], { cwd: s.checkout, env: env(s) })

/** A config file outside the checkout (the checkout stays clean). */
function config(s: Scene, cherryPickSection: Record<string, unknown>): string {
  const file = path.join(s.dir, `config-${++counter}.json`)
  fs.writeFileSync(file, JSON.stringify({ buildImage: { name: 'app-build', inputs: ['app.txt'] }, cherryPick: cherryPickSection }))
  return file
}

const pickBranches = (s: Scene) => git(s.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/cherry-pick/')
const pullFor = async (s: Scene, head: string): Promise<PullJson | undefined> => (await gh.pulls(s.name)).find((p) => p.head.ref === head)

/** The `-x` trailers of the commits on `branch` not on release-1.0, oldest first. */
function pickedFrom(s: Scene, branch: string): string[] {
  return git(s.bare, 'log', '--reverse', '--format=%(trailers)%x1e', `release-1.0..${branch}`)
    .split('\x1e')
    .map((t) => /\(cherry picked from commit ([0-9a-f]+)\)/.exec(t)?.[1])
    .filter((x): x is string => Boolean(x))
}

describe('cherry-pick: prerequisites on a conflict', () => {
  it('names exactly the missing earlier change (not another file, not one picked with -x, not one with the same patch id), with its PR and one command', async () => {
    const s = await scene()
    const before = checkoutState(s.checkout)
    const run = await cherryPick(s, ['--pr', String(s.fix.number), '--to', 'release-1.0'])
    expect(run.exitCode, run.stderr).toBe(1)
    const [target] = JSON.parse(run.stdout).targets
    expect(target.status).toBe('conflict')
    expect(target.conflicts).toEqual(['app.txt'])
    expect(target.prerequisites).toEqual([
      {
        sha: s.prereq.sha,
        subject: `Rename line 5 (#${s.prereq.number})`,
        mainline: false,
        files: ['app.txt'],
        pull: { number: s.prereq.number, title: 'Rename line 5', url: `${gh.url}/${s.name}/pull/${s.prereq.number}` },
      },
    ])
    const command = `npx zx scripts/cherry-pick.mts --pr ${s.prereq.number} --pr ${s.fix.number} --to release-1.0`
    expect(target.prerequisitesCommand).toBe(command)

    // The output (stderr) and the comment on the PR say the same.
    expect(run.stderr).toContain(command)
    expect(run.stderr).toMatch(/release-1\.0\s+conflict\s+conflicts: app\.txt; missing on the target: #1/)
    const comment = gh.comments(s.name, s.fix.number).find((c) => c.body?.includes('stopped: conflicts'))!
    expect(comment.body).toContain(`- ${s.prereq.sha.slice(0, 12)} #${s.prereq.number} \`Rename line 5\`: changes \`app.txt\``)
    expect(comment.body).toContain('```sh\n' + command + '\n```')
    for (const other of [s.unrelated, s.pickedWithTrailer, s.samePatch]) expect(comment.body).not.toContain(other.sha.slice(0, 12))

    // Asked GitHub which PR brought the commit.
    expect(gh.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/pulls') && r.path.includes('/commits/')).map((r) => r.path)).toEqual([
      `/repos/${s.name}/commits/${s.prereq.sha}/pulls`,
    ])
    expect(pickBranches(s)).toBe('')
    expect(checkoutState(s.checkout)).toEqual(before)
  })

  it('--with-prerequisites opens one PR whose tree equals picking both by hand, and says what it brought and why', async () => {
    const s = await scene()
    const run = await cherryPick(s, ['--pr', String(s.fix.number), '--to', 'release-1.0', '--with-prerequisites'])
    expect(run.exitCode, run.stderr).toBe(0)
    const [target] = JSON.parse(run.stdout).targets
    const head = `cherry-pick/${s.fix.number}-to-release-1.0`
    expect(target).toMatchObject({ status: 'created', headBranch: head })
    expect(target.prerequisites.map((p: { sha: string }) => p.sha)).toEqual([s.prereq.sha])
    expect(target.attempts).toEqual([
      { prerequisites: [], conflicts: ['app.txt'], at: s.fix.sha },
      { prerequisites: [s.prereq.sha], conflicts: [], at: '' },
    ])
    expect(pickedFrom(s, head)).toEqual([s.prereq.sha, s.fix.sha])

    // By hand: both picks onto release-1.0, in order.
    git(s.dev, 'fetch', '-q', 'origin')
    git(s.dev, 'switch', '-q', '-c', 'by-hand', 'origin/release-1.0')
    git(s.dev, 'cherry-pick', '-x', s.prereq.sha, s.fix.sha)
    expect(git(s.bare, 'rev-parse', `${head}^{tree}`)).toBe(git(s.dev, 'rev-parse', 'HEAD^{tree}'))

    const pull = (await pullFor(s, head))!
    expect(pull.base.ref).toBe('release-1.0')
    expect(pull.body).toContain('**Prerequisites**: picking #5 alone conflicted in `app.txt`.')
    expect(pull.body).toContain(`- ${s.prereq.sha.slice(0, 12)} #${s.prereq.number} \`Rename line 5\`: changes \`app.txt\``)
    const comment = gh.comments(s.name, s.fix.number).find((c) => c.body?.startsWith('Cherry-picked onto'))!
    expect(comment.body).toContain('It brings 1 prerequisite first')
  })

  it('prerequisites that conflict themselves: abort, both attempts reported, checkout untouched, nothing pushed', async () => {
    const s = await scene({ releaseLine5: true })
    const before = checkoutState(s.checkout)
    const refs = git(s.bare, 'for-each-ref')
    const run = await cherryPick(s, ['--pr', String(s.fix.number), '--to', 'release-1.0', '--with-prerequisites'])
    expect(run.exitCode, run.stderr).toBe(1)
    const [target] = JSON.parse(run.stdout).targets
    expect(target.status).toBe('conflict')
    expect(target.attempts).toEqual([
      { prerequisites: [], conflicts: ['app.txt'], at: s.fix.sha },
      { prerequisites: [s.prereq.sha], conflicts: ['app.txt'], at: s.prereq.sha },
    ])
    const comment = gh.comments(s.name, s.fix.number).find((c) => c.body?.includes('stopped: conflicts'))!
    expect(comment.body).toContain('Two attempts, both aborted:')
    expect(comment.body).toContain(`1. alone: conflicts in \`app.txt\` (picking ${s.fix.sha.slice(0, 12)});`)
    expect(comment.body).toContain(`2. with the 1 prerequisite below first: conflicts in \`app.txt\` (picking ${s.prereq.sha.slice(0, 12)}, a prerequisite).`)
    expect(run.stderr).toContain('Two attempts, both aborted:')
    expect(git(s.bare, 'for-each-ref')).toBe(refs)
    expect((await gh.pulls(s.name)).filter((p) => p.head.ref.startsWith('cherry-pick/'))).toEqual([])
    expect(checkoutState(s.checkout)).toEqual(before)
  })
})

describe('cherry-pick: several --pr', () => {
  it('picks them in the given order onto one branch with one PR listing them; a re-run opens no second PR', async () => {
    const s = await scene()
    const args = ['--pr', String(s.prereq.number), '--pr', String(s.fix.number), '--to', 'release-1.0']
    const run = await cherryPick(s, args)
    expect(run.exitCode, run.stderr).toBe(0)
    const json = JSON.parse(run.stdout)
    expect(json.prs).toEqual([s.prereq.number, s.fix.number])
    const head = `cherry-pick/${s.prereq.number}-${s.fix.number}-to-release-1.0`
    expect(json.targets[0]).toMatchObject({ status: 'created', headBranch: head })
    expect(pickedFrom(s, head)).toEqual([s.prereq.sha, s.fix.sha])
    expect(pickBranches(s)).toBe(`refs/heads/${head}`)

    const pull = (await pullFor(s, head))!
    expect(pull.title).toBe(`[release-1.0] Rename line 5 (+ #${s.fix.number})`)
    expect(pull.body).toContain(`Cherry-pick of #${s.prereq.number}, #${s.fix.number} onto \`release-1.0\`, in this order.`)
    expect(pull.body).toContain(`Original pull request: ${gh.url}/${s.name}/pull/${s.prereq.number} (a squash merge).`)
    expect(pull.body).toContain(`Original pull request: ${gh.url}/${s.name}/pull/${s.fix.number} (a squash merge).`)
    for (const pr of [s.prereq.number, s.fix.number]) {
      expect(gh.comments(s.name, pr).filter((c) => c.body?.startsWith('Cherry-picked onto'))).toHaveLength(1)
    }

    const again = await cherryPick(s, args)
    expect(again.exitCode, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).targets[0]).toMatchObject({ status: 'exists', pull: { number: pull.number } })
    expect((await gh.pulls(s.name)).filter((p) => p.head.ref === head)).toHaveLength(1)
  })

  it('the given order is the order picked: the fix before its prerequisite conflicts', async () => {
    const s = await scene()
    const run = await cherryPick(s, ['--pr', String(s.fix.number), '--pr', String(s.prereq.number), '--to', 'release-1.0'])
    expect(run.exitCode, run.stderr).toBe(1)
    expect(JSON.parse(run.stdout).targets[0]).toMatchObject({ status: 'conflict', conflicts: ['app.txt'] })
    expect(pickBranches(s)).toBe('')
  })
})

describe('cherry-pick: the pick PR settings', () => {
  async function withSettings(options: { allowAutoMerge: boolean }) {
    const s = await scene({ allowAutoMerge: options.allowAutoMerge })
    gh.requestReviewers(s.name, s.prereq.number, ['pat', 'quinn'])
    const milestone = gh.addMilestone(s.name, 'v1.0.1')
    gh.setMilestone(s.name, s.prereq.number, milestone)
    const file = config(s, { reviewers: true, milestone: true, autoMerge: 'squash' })
    const run = await cherryPick(s, ['--pr', String(s.prereq.number), '--to', 'release-1.0', '--config', file])
    const pull = (await pullFor(s, `cherry-pick/${s.prereq.number}-to-release-1.0`))!
    return { s, run, pull, milestone }
  }

  it('reviewers, milestone and auto-merge reach the API', async () => {
    const { s, run, pull, milestone } = await withSettings({ allowAutoMerge: true })
    expect(run.exitCode, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).targets[0].warnings).toBeUndefined()
    const sent = (method: string, p: string) => gh.requests.filter((r) => r.method === method && r.path === p)
    expect(sent('POST', `/repos/${s.name}/pulls/${pull.number}/requested_reviewers`).map((r) => [r.body, r.status])).toEqual([
      [{ reviewers: ['pat', 'quinn'], team_reviewers: [] }, 201],
    ])
    expect(sent('PATCH', `/repos/${s.name}/issues/${pull.number}`).map((r) => [r.body, r.status])).toEqual([[{ milestone }, 200]])
    const graphql = sent('POST', '/api/graphql')
    expect(graphql.map((r) => [(r.body as { variables: unknown }).variables, r.status])).toEqual([[{ input: { pullRequestId: pull.node_id, mergeMethod: 'SQUASH' } }, 200]])
    expect(pull.requested_reviewers?.map((u) => u.login)).toEqual(['pat', 'quinn'])
    expect(pull.milestone).toMatchObject({ number: milestone, title: 'v1.0.1' })
    expect(pull.auto_merge).toMatchObject({ merge_method: 'squash', enabled_by: { login: BOT } })
  })

  it('an auto-merge refusal leaves the run green with a warning in the output and the comment', async () => {
    const { s, run, pull } = await withSettings({ allowAutoMerge: false })
    expect(run.exitCode, run.stderr).toBe(0)
    const [target] = JSON.parse(run.stdout).targets
    expect(target.status).toBe('created')
    expect(target.warnings).toHaveLength(1)
    expect(target.warnings[0]).toContain('could not enable auto-merge (squash): GitHub said `Auto merge is not allowed for this repository`')
    expect(run.stderr).toContain('Auto merge is not allowed for this repository')
    expect(pull.auto_merge).toBeNull()
    expect(pull.milestone).not.toBeNull()
    const comment = gh.comments(s.name, s.prereq.number).find((c) => c.body?.startsWith('Cherry-picked onto'))!
    expect(comment.body).toContain('**Warnings** (the pick itself is done):')
    expect(comment.body).toContain('Auto merge is not allowed for this repository')
  })
})

describe('cherry-pick: text from the API stays data', () => {
  it('titles and a milestone full of shell and markdown run nothing and reach the output as they are', async () => {
    const marker = path.join(tempDir('cbs-prereq-marker-'), 'ran')
    const title = `Rename $(touch ${marker}) \`touch ${marker}\`; touch ${marker} @everyone`
    const s = await scene({ titles: { prereq: title } })
    const milestone = gh.addMilestone(s.name, `v1 $(touch ${marker})`)
    gh.setMilestone(s.name, s.fix.number, milestone)
    const file = config(s, { milestone: true })
    const run = await runScript('cherry-pick', ['--pr', String(s.fix.number), '--to', 'release-1.0', '--with-prerequisites', '--config', file, '--json'], {
      cwd: s.checkout,
      env: env(s),
    })
    expect(run.exitCode, run.stderr).toBe(0)
    const [target] = JSON.parse(run.stdout).targets
    expect(target.prerequisites[0].pull.title).toBe(title)
    const pull = (await pullFor(s, `cherry-pick/${s.fix.number}-to-release-1.0`))!
    // In the body the title is inline code (backticks in it lengthen the fence): no mention, no markup.
    expect(pull.body).toContain(`#${s.prereq.number} \`\`${title}\`\`: changes`)
    expect(pull.milestone?.title).toBe(`v1 $(touch ${marker})`)
    expect(fs.existsSync(marker)).toBe(false)
  })
})

describe('findPrerequisites: file names are data', () => {
  it('a conflicting file named like a glob matches only itself, not every file the glob would', async () => {
    const dir = tempDir('cbs-prereq-glob-')
    const repo = path.join(dir, 'repo')
    git(dir, 'init', '-q', '-b', 'main', repo)
    const commit = (files: Record<string, string>, message: string) => {
      writeFiles(repo, files)
      git(repo, 'add', '-A')
      git(repo, 'commit', '-q', '-m', message)
      return git(repo, 'rev-parse', 'HEAD')
    }
    commit({ '*.txt': 'star\n', 'b.txt': 'b\n' }, 'initial')
    git(repo, 'branch', 'release-1.0')
    const other = commit({ 'b.txt': 'b, changed\n' }, 'Change b.txt')
    const prereq = commit({ '*.txt': 'star, renamed\n' }, 'Rename the star file')
    const fix = commit({ '*.txt': 'star, renamed and fixed\n' }, 'Fix the star file')
    const found = await findPrerequisites(repo, { target: 'release-1.0', sourceBranch: 'main', commit: fix, files: ['*.txt'], exclude: [fix] })
    expect(found).toEqual([{ sha: prereq, subject: 'Rename the star file', mainline: false, files: ['*.txt'] }])
    expect(found.map((p) => p.sha)).not.toContain(other)
  })
})
