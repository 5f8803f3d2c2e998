import { describe, expect, it } from 'vitest'
import { ConfigError, validateConfig } from '../../lib/core/config.mts'
import { UsageError } from '../../lib/core/cli.mts'
import { globMatcher } from '../../lib/core/globs.mts'
import { branchName, generatorEnv, parseStatusZ, pullBody, selectGenerated, summaryRows } from '../../lib/bots/update-generated.mts'

const config = (generated: unknown, steps: Record<string, unknown> = {}) =>
  validateConfig({ buildImage: { name: 'x-build', inputs: ['a'] }, generated, steps })

describe('generated entries in build.config.json', () => {
  it('accept names that fit a branch name, and repo-relative globs', () => {
    const { generated } = config([{ name: 'ami-list_v2.1', command: ['make', 'amis'], paths: ['pkg/ami/*.go', '!pkg/ami/keep.go'] }])
    expect(generated).toEqual([{ name: 'ami-list_v2.1', command: ['make', 'amis'], paths: ['pkg/ami/*.go', '!pkg/ami/keep.go'] }])
    expect(branchName(generated[0].name)).toBe('update-generated/ami-list_v2.1')
  })

  it.each([
    [{ name: 'AMI list', command: ['x'], paths: ['p'] }, /generated\[0\]\.name: expected a name of letters, digits/],
    [{ name: 'a/b', command: ['x'], paths: ['p'] }, /generated\[0\]\.name/],
    [{ name: '-a', command: ['x'], paths: ['p'] }, /generated\[0\]\.name/],
    [{ name: 'a..b', command: ['x'], paths: ['p'] }, /generated\[0\]\.name/],
    [{ name: 'a.lock', command: ['x'], paths: ['p'] }, /generated\[0\]\.name/],
    [{ name: 'a', command: [], paths: ['p'] }, /generated\[0\]\.command: expected at least 1 entry/],
    [{ name: 'a', command: ['x'], paths: [] }, /generated\[0\]\.paths: expected at least 1 entry/],
    [{ name: 'a', command: ['x'], paths: ['../elsewhere'] }, /generated\[0\]\.paths\[0\]: "\.\.\/elsewhere" reaches outside the repository \(expected a glob relative to the repository root\)/],
    [{ name: 'a', command: ['x'], paths: ['ok', '/etc/passwd'] }, /generated\[0\]\.paths\[1\]: "\/etc\/passwd" reaches outside the repository/],
  ])('refuse %j', (entry, message) => {
    expect(() => config([entry])).toThrow(ConfigError)
    expect(() => config([entry])).toThrow(message)
  })
})

describe('globMatcher (generated[].paths)', () => {
  it('matches globs, everything under a directory, and honours !excludes', () => {
    const inPaths = globMatcher(['gen', 'docs/*.md', './pkg/ami/**/*.go', '!gen/keep.txt'])
    expect(['gen/a.txt', 'gen/deep/b.json', 'gen/.hidden', 'docs/amis.md', 'pkg/ami/regions/eu.go', 'pkg/ami/list.go'].filter(inPaths)).toHaveLength(6)
    expect(['generated.txt', 'gen', 'gen/keep.txt', 'docs/sub/x.md', 'pkg/ami/list.txt', 'README.md'].filter(inPaths)).toEqual(['gen'])
  })
  it('a trailing slash is the directory', () => {
    expect(globMatcher(['gen/'])('gen/x')).toBe(true)
  })
})

describe('parseStatusZ', () => {
  it('reads modified, deleted and untracked paths, spaces and newlines included', () => {
    expect(parseStatusZ(' M gen/out.txt\0 D old.txt\0?? new file.txt\0?? odd\nname\0')).toEqual(['gen/out.txt', 'old.txt', 'new file.txt', 'odd\nname'])
    expect(parseStatusZ('')).toEqual([])
  })
})

describe('generatorEnv', () => {
  it("passes CI's vars and steps.env, never the token the job pushes with", () => {
    const env = { CI: 'true', GITHUB_SHA: 'abc', GITHUB_TOKEN: 't', GH_TOKEN: 't', AWS_REGION: 'eu-west-1', HOME: '/root' }
    expect(generatorEnv(env, config([], { env: ['AWS_REGION', 'GITHUB_TOKEN', 'GH_TOKEN'] }))).toEqual(['AWS_REGION', 'CI', 'GITHUB_SHA'])
  })

  it('drops every variable whose value holds a secret of the run, whatever its name', () => {
    const token = 'ghs_unitGeneratorToken123'
    const env = { CI: 'true', GITHUB_TOKEN: token, REGISTRY_USERNAME: 'bot', REGISTRY_PASSWORD: token, DEPLOY_KEY: token, AUTH_HEADER: `Bearer ${token}`, AWS_REGION: 'eu-west-1' }
    const names = generatorEnv(env, config([], { env: ['REGISTRY_USERNAME', 'REGISTRY_PASSWORD', 'DEPLOY_KEY', 'AUTH_HEADER', 'AWS_REGION'] }))
    expect(names).toEqual(['AWS_REGION', 'CI', 'REGISTRY_USERNAME'])
  })

  it('refuses a PREFIX* in steps.env (exit 2): the commands get exact names only', () => {
    const run = () => generatorEnv({ REGISTRY_PASSWORD: 'x' }, config([], { env: ['AWS_REGION', 'REGISTRY_*'] }))
    expect(run).toThrow('steps.env: "REGISTRY_*" would hand the generated commands every variable it matches, secrets included; update-generated takes exact names: list them')
    expect(run).toThrow(UsageError)
  })
})

describe('selectGenerated', () => {
  const entries = config([
    { name: 'a', command: ['x'], paths: ['p'] },
    { name: 'b', command: ['y'], paths: ['q'] },
  ]).generated
  it('all, or the one --only names; an unknown name is exit 2', () => {
    expect(selectGenerated(entries, undefined).map((e) => e.name)).toEqual(['a', 'b'])
    expect(selectGenerated(entries, 'b').map((e) => e.name)).toEqual(['b'])
    expect(() => selectGenerated(entries, 'c')).toThrow(/no generated entry named "c" in build.config.json \(known: a, b\)/)
    try {
      selectGenerated(entries, 'c')
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(2)
    }
  })
})

describe('messages', () => {
  const entry = { name: 'amis', command: ['make', 'update-amis'], paths: ['pkg/ami'] }
  it('the pull request body shows the command and the diff stat', () => {
    const body = pullBody(entry, 'main', ' pkg/ami/list.go | 4 ++--\n 1 file changed\n', 'https://ci.example/run/1')
    expect(body).toContain('```sh\nmake update-amis\n```')
    expect(body).toContain('```\n pkg/ami/list.go | 4 ++--\n 1 file changed\n```')
    expect(body).toContain('`amis`')
    expect(body).toContain('https://ci.example/run/1')
  })
  it('the summary has one row per entry', () => {
    const rows = summaryRows([
      { name: 'amis', status: 'opened', branch: 'update-generated/amis', command: ['x'], files: ['a'], pull: { number: 3, url: 'u' } },
      { name: 'docs', status: 'failed', branch: 'update-generated/docs', command: ['y'], files: ['b'], message: 'boom' },
    ])
    expect(rows).toEqual([
      ['generated', 'result', 'details'],
      ['amis', 'opened', '#3 u; a'],
      ['docs', 'failed', 'b; boom'],
    ])
  })
})

