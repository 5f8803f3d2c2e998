// lib/core/git.mts with real git: the token credential helper and temporary worktrees.
import fs from 'node:fs'
import path from 'node:path'
import { $ } from 'zx'
import { describe, expect, it } from 'vitest'
import { addTempWorktree, gitEnv, tokenCredentialEnv } from '../../lib/core/git.mts'
import { git, GIT_ENV, makeRepo, tempDir } from '../helpers/repo.mts'

describe('tokenCredentialEnv', () => {
  it('answers git credential requests with the token from the env, ahead of configured helpers', async () => {
    const dir = tempDir()
    const global = path.join(dir, 'gitconfig')
    fs.writeFileSync(global, '[credential]\n\thelper = "!f() { echo username=keychain; echo password=from-keychain; }; f"\n')
    const env = tokenCredentialEnv('tok-12345', 'https://github.com/acme/app.git', { ...GIT_ENV, GIT_CONFIG_GLOBAL: global })
    const out = await $({ cwd: dir, env: gitEnv(env), quiet: true, input: 'protocol=https\nhost=github.com\n\n' })`git credential fill`
    expect(out.stdout).toBe('protocol=https\nhost=github.com\nusername=x-access-token\npassword=tok-12345\n')
    // The token is only in the env: the config entries name the variable, not its value.
    expect(Object.entries(env).filter(([, v]) => v?.includes('tok-12345')).map(([k]) => k)).toEqual(['GIT_HTTP_TOKEN'])
  })

  it("answers only for the remote's scheme, host and port: any other host gets no token", async () => {
    const dir = tempDir()
    const env = tokenCredentialEnv('tok-67890', 'http://127.0.0.1:8123/acme/app.git', { ...GIT_ENV, GIT_CONFIG_GLOBAL: '/dev/null' })
    const fill = (request: string) => $({ cwd: dir, env: gitEnv(env), quiet: true, nothrow: true, input: `${request}\n` })`git credential fill`
    const same = await fill('protocol=http\nhost=127.0.0.1:8123\npath=acme/other.git\n')
    expect(same.stdout).toContain('password=tok-67890')
    for (const other of ['protocol=http\nhost=127.0.0.1:8124\n', 'protocol=http\nhost=evil.example\n', 'protocol=https\nhost=127.0.0.1:8123\n']) {
      const out = await fill(other)
      // No helper answers, and git may not prompt: it fails without a password.
      expect(out.stdout + out.stderr, other).not.toContain('tok-67890')
      expect(out.exitCode, other).not.toBe(0)
    }
    // Not an http(s) remote: no helper at all.
    expect(Object.values(tokenCredentialEnv('tok-1', 'git@github.com:acme/app.git', GIT_ENV)).some((v) => v?.includes('!f()'))).toBe(false)
  })
})

describe('addTempWorktree', () => {
  it('works in a detached worktree outside the checkout and removes it without a trace', async () => {
    const repo = makeRepo({ 'a.txt': 'a\n' })
    git(repo, 'switch', '-q', '-c', 'topic')
    fs.writeFileSync(path.join(repo, 'dirty.txt'), 'untracked\n')
    const head = git(repo, 'rev-parse', 'HEAD')

    const worktree = await addTempWorktree(repo, 'HEAD', GIT_ENV)
    expect(path.relative(repo, worktree.dir).startsWith('..')).toBe(true)
    fs.writeFileSync(path.join(worktree.dir, 'a.txt'), 'changed\n')
    await worktree.git`git commit -q -am ${'in the worktree'}`
    expect((await worktree.git`git rev-parse --abbrev-ref HEAD`).stdout.trim()).toBe('HEAD')
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(2)

    await worktree.remove()
    await worktree.remove()
    expect(fs.existsSync(worktree.dir)).toBe(false)
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1)
    expect(git(repo, 'symbolic-ref', '--short', 'HEAD')).toBe('topic')
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head)
    expect(git(repo, 'status', '--porcelain')).toBe('?? dirty.txt')
    expect(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8')).toBe('a\n')
  })

  it('leaves nothing behind when the commit does not exist', async () => {
    const repo = makeRepo({ 'a.txt': 'a\n' })
    await expect(addTempWorktree(repo, 'no-such-ref', GIT_ENV)).rejects.toThrow(/invalid reference|not a valid/)
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1)
  })
})
