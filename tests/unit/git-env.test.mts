// withGitConfig: git config through the environment, never argv; the bots' one hardened
// git env (lib/bots/remote.mts), and the token only where a command reaches the remote.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { withGitConfig } from '../../lib/core/git.mts'
import { BOT, botGitEnv, hardenedGitEnv, parseIdent, remoteGitEnv } from '../../lib/bots/remote.mts'

describe('withGitConfig', () => {
  it('adds entries as GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n', () => {
    expect(withGitConfig({ PATH: '/bin' }, [['core.hooksPath', '/dev/null'], ['a.b', '']])).toEqual({
      PATH: '/bin',
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: '/dev/null',
      GIT_CONFIG_KEY_1: 'a.b',
      GIT_CONFIG_VALUE_1: '',
    })
  })

  it('keeps entries already in the env and comes after them', () => {
    const env = withGitConfig({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'x.y', GIT_CONFIG_VALUE_0: 'z' }, [['a.b', 'c']])
    expect(env).toMatchObject({ GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'x.y', GIT_CONFIG_KEY_1: 'a.b', GIT_CONFIG_VALUE_1: 'c' })
  })

  it('does not change the env it was given', () => {
    const env = { PATH: '/bin' }
    withGitConfig(env, [['a.b', 'c']])
    expect(env).toEqual({ PATH: '/bin' })
  })
})

describe('hardenedGitEnv', () => {
  it("keeps the job's secrets and repository overrides from git, and turns off what runs commands", () => {
    const env = hardenedGitEnv({
      PATH: '/bin',
      HOME: '/home/ci',
      GITHUB_TOKEN: 't',
      GH_TOKEN: 't',
      GIT_HTTP_TOKEN: 't',
      REGISTRY_PASSWORD: 'p',
      GITHUB_PAT: 'p',
      GITHUB_APP_PEM: 'p',
      GIT_DIR: '/elsewhere/.git',
      GIT_INDEX_FILE: '/elsewhere/index',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'user.name',
      GIT_CONFIG_VALUE_0: 'Me',
    })
    expect(Object.keys(env).filter((k) => !k.startsWith('GIT_CONFIG_') && k !== 'GIT_EDITOR')).toEqual(['PATH', 'HOME'])
    const config = Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]])
    expect(config[0]).toEqual(['user.name', 'Me'])
    expect(config).toContainEqual(['core.fsmonitor', 'false'])
    expect(config).toContainEqual(['core.hooksPath', '/dev/null'])
    expect(config).toContainEqual(['protocol.ext.allow', 'never'])
  })
})

describe('parseIdent', () => {
  it('reads name and email from `git var GIT_AUTHOR_IDENT`', () => {
    expect(parseIdent('Ada Lovelace <ada@example.com> 1700000000 +0100\n')).toEqual({ name: 'Ada Lovelace', email: 'ada@example.com' })
    expect(parseIdent('garbage')).toBeUndefined()
  })
})

describe("a bot's git env", () => {
  const config = (env: NodeJS.ProcessEnv) => Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]])

  it('never opens an editor', () => {
    expect(hardenedGitEnv({ GIT_EDITOR: 'vi', PATH: '/bin' }).GIT_EDITOR).toBe('true')
  })

  it("holds the user's identity where git has one, else the bot's, and no token", async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'bot-env-'))
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bot-home-'))
    try {
      execFileSync('git', ['init', '--quiet', repo])
      const bare = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GITHUB_TOKEN: 't' }
      const nobody = await botGitEnv(repo, bare)
      expect(nobody).toMatchObject({ GIT_AUTHOR_NAME: BOT.name, GIT_AUTHOR_EMAIL: BOT.email, GIT_COMMITTER_NAME: BOT.name, GIT_COMMITTER_EMAIL: BOT.email })
      expect(nobody.GITHUB_TOKEN).toBeUndefined()
      expect(config(nobody)).toContainEqual(['core.hooksPath', '/dev/null'])
      execFileSync('git', ['-C', repo, 'config', 'user.name', 'Ada'])
      execFileSync('git', ['-C', repo, 'config', 'user.email', 'ada@example.com'])
      expect(await botGitEnv(repo, bare)).toMatchObject({ GIT_AUTHOR_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com' })
    } finally {
      fs.rmSync(repo, { recursive: true, force: true })
      fs.rmSync(home, { recursive: true, force: true })
    }
  })

  it('the token goes only into the env of commands that reach the remote, for its host alone', () => {
    const local = hardenedGitEnv({ PATH: '/bin' })
    expect(remoteGitEnv(local, undefined, 'https://github.com/acme/app.git')).toBe(local)
    const remote = remoteGitEnv(local, 's3cret', 'https://github.com/acme/app.git')
    expect(remote.GIT_HTTP_TOKEN).toBe('s3cret')
    expect(local.GIT_HTTP_TOKEN).toBeUndefined()
    expect(config(remote).map(([key]) => key)).toContain('credential.https://github.com.helper')
    expect(config(remote).slice(0, config(local).length)).toEqual(config(local))
  })
})
