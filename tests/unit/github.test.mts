// lib/bots/github.mts: repository names, trust, the token, GitHub Actions outputs.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseRepoSlug, readGitHubToken, repoSlugFromUrl, setActionsOutputs } from '../../lib/bots/github.mts'
import { redact } from '../../lib/core/log.mts'
import { tempDir } from '../helpers/repo.mts'

describe('parseRepoSlug', () => {
  it('reads owner/name', () => {
    expect(parseRepoSlug('acme/app', 'GITHUB_REPOSITORY')).toEqual({ owner: 'acme', repo: 'app' })
    expect(parseRepoSlug('a-b/c.d_e', 'x')).toEqual({ owner: 'a-b', repo: 'c.d_e' })
  })

  it.each(['acme', 'acme/app/extra', '/app', 'acme/', 'ac me/app', 'acme/..', '-acme/app'])('refuses %j, naming the source', (value) => {
    expect(() => parseRepoSlug(value, '--github-repo')).toThrow(/^--github-repo: expected owner\/name/)
  })
})

describe('repoSlugFromUrl', () => {
  it.each([
    ['https://github.com/acme/app.git', 'acme/app'],
    ['https://github.com/acme/app', 'acme/app'],
    ['https://x-access-token:abc@github.com/acme/app.git', 'acme/app'],
    ['git@github.com:acme/app.git', 'acme/app'],
    ['ssh://git@github.com/acme/app.git', 'acme/app'],
    ['https://ghe.example.com/acme/app.git', 'acme/app'],
    ['http://127.0.0.1:8080/acme/app.git', 'acme/app'],
  ])('%s -> %s', (url, slug) => {
    const found = repoSlugFromUrl(url)
    expect(found && `${found.owner}/${found.repo}`).toBe(slug)
  })

  it.each(['/srv/git/acme/app.git', 'file:///srv/acme/app.git', '../app', 'https://github.com/app'])('%s is not a GitHub repository', (url) => {
    expect(repoSlugFromUrl(url)).toBeUndefined()
  })
})

describe('readGitHubToken', () => {
  it('reads GITHUB_TOKEN, else GH_TOKEN, and registers it as a secret', () => {
    expect(readGitHubToken({ GITHUB_TOKEN: 'ghs_first1', GH_TOKEN: 'ghs_second' })).toBe('ghs_first1')
    expect(readGitHubToken({ GITHUB_TOKEN: '', GH_TOKEN: 'ghs_second' })).toBe('ghs_second')
    expect(readGitHubToken({})).toBeUndefined()
    expect(redact('token ghs_first1 and ghs_second')).toBe('token *** and ***')
  })
})

describe('setActionsOutputs', () => {
  it('appends name=value lines to $GITHUB_OUTPUT, multi-line values with a delimiter', async () => {
    const file = path.join(tempDir(), 'output')
    fs.writeFileSync(file, 'earlier=1\n')
    await setActionsOutputs({ numbers: '[1,2]', text: 'a\nb' }, { GITHUB_OUTPUT: file })
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toMatch(/^earlier=1\nnumbers=\[1,2\]\ntext<<(ghadelimiter_[0-9a-f-]{36})\na\nb\n\1\n$/)
  })

  it('the delimiter is a random UUID, new each time, so a value cannot guess it and forge an output', async () => {
    const file = path.join(tempDir(), 'output')
    fs.writeFileSync(file, '')
    await setActionsOutputs({ a: 'x\ny' }, { GITHUB_OUTPUT: file })
    await setActionsOutputs({ a: 'x\ny' }, { GITHUB_OUTPUT: file })
    const delimiters = [...fs.readFileSync(file, 'utf8').matchAll(/^a<<(.*)$/gm)].map((m) => m[1])
    expect(delimiters).toHaveLength(2)
    for (const d of delimiters) expect(d).toMatch(/^ghadelimiter_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(delimiters[0]).not.toBe(delimiters[1])
  })

  it('does nothing outside GitHub Actions', async () => {
    await expect(setActionsOutputs({ a: 'b' }, {})).resolves.toBeUndefined()
  })
})
