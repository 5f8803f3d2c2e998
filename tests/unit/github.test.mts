// lib/bots/github.mts: repository names, trust, the token (the Actions outputs: ci-runner.test.mts).
import { describe, expect, it } from 'vitest'
import { parseRepoSlug, readGitHubToken, repoSlugFromUrl } from '../../lib/bots/github.mts'
import { redact } from '../../lib/core/log.mts'

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

