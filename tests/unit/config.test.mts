import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, validateConfig } from '../../lib/core/config.mts'
import { tempDir, writeFiles } from '../helpers/repo.mts'

const minimal = { buildImage: { name: 'acme-build', inputs: ['package.json'] } }

describe('validateConfig', () => {
  it('fills defaults for a minimal config', () => {
    const config = validateConfig(minimal)
    expect(config.registry).toBeUndefined()
    expect(config.buildImage).toEqual({ name: 'acme-build', dockerfile: 'Dockerfile.build', inputs: ['package.json'], buildArgs: {} })
    expect(config.steps).toEqual({ env: [], integrationEnv: [], docker: false })
    expect(config.cherryPick).toEqual({ labelPrefix: 'cherry-pick/', targetBranches: ['release-*'], reviewers: false, milestone: false, autoMerge: false })
    expect(config.generated).toEqual([])
    expect(config.image).toBeUndefined()
  })

  it('cherryPick: reviewers and milestone are true/false; autoMerge is true (a merge commit), false or a merge method', () => {
    const pick = (cherryPick: unknown) => validateConfig({ ...minimal, cherryPick }).cherryPick
    expect(pick({ reviewers: true, milestone: true, autoMerge: true })).toMatchObject({ reviewers: true, milestone: true, autoMerge: 'merge' })
    expect(pick({ autoMerge: 'squash' }).autoMerge).toBe('squash')
    expect(pick({ autoMerge: false }).autoMerge).toBe(false)
    expect(() => pick({ autoMerge: 'fast-forward' })).toThrow('cherryPick.autoMerge: expected true, false, "merge", "squash" or "rebase", got the string "fast-forward"')
    expect(() => pick({ reviewers: 'yes' })).toThrow('cherryPick.reviewers: expected true or false')
    expect(() => pick({ reviewer: true })).toThrow('cherryPick.reviewer: unknown key')
  })

  it('releaseBranches: a glob or a list of them; absent, the release branches are cherry-pick\'s targets', () => {
    expect(validateConfig({ ...minimal, releaseBranches: 'stable/*' }).releaseBranches).toEqual(['stable/*'])
    expect(validateConfig({ ...minimal, releaseBranches: ['stable/*', 'lts-*'] }).releaseBranches).toEqual(['stable/*', 'lts-*'])
    expect(validateConfig(minimal).releaseBranches).toBeUndefined()
  })

  it('accepts the full shape the README documents', () => {
    const config = validateConfig({
      registry: 'ghcr.io/acme',
      buildImage: { name: 'acme-build', dockerfile: 'Dockerfile.build', inputs: ['a', 'b'], buildArgs: { GO: '1.22' } },
      image: { name: 'acme', dockerfile: 'Dockerfile', context: '.' },
      steps: { test: ['npm', 'test'], build: ['npm', 'run', 'build'] },
      cherryPick: { labelPrefix: 'backport/', targetBranches: 'release-*' },
    })
    expect(config.cherryPick.targetBranches).toEqual(['release-*'])
    expect(config.buildImage.buildArgs).toEqual({ GO: '1.22' })
    expect(config.image).toEqual({ name: 'acme', dockerfile: 'Dockerfile', context: '.' })
  })

  it.each([
    [{ ...minimal, regsitry: 'x' }, /regsitry: unknown key/],
    [{ buildImage: { ...minimal.buildImage, input: ['x'] } }, /buildImage\.input: unknown key/],
    [{}, /buildImage: required, missing/],
    [{ buildImage: { name: 'acme-build' } }, /buildImage\.inputs: required, missing/],
    [{ buildImage: { name: 'acme-build', inputs: [] } }, /buildImage\.inputs: expected at least 1 entry/],
    [{ buildImage: { name: 'acme-build', inputs: ['a', 3] } }, /buildImage\.inputs\[1\]: expected a non-empty string, got the number 3/],
    [{ buildImage: { name: 'acme-build', inputs: 'a' } }, /buildImage\.inputs: expected an array of strings, got the string "a"/],
    [{ buildImage: { name: 'Acme Build', inputs: ['a'] } }, /buildImage\.name: expected a lowercase image name/],
    [{ ...minimal, buildImage: { ...minimal.buildImage, buildArgs: { A: 1 } } }, /buildImage\.buildArgs\.A: expected a string/],
    [{ ...minimal, steps: { test: 'npm test' } }, /steps\.test: expected an array of strings/],
    [{ ...minimal, registry: '' }, /registry: expected a non-empty string/],
    [{ ...minimal, generated: [{ name: 'a', command: ['x'] }] }, /generated\[0\]\.paths: required, missing/],
    [{ ...minimal, generated: [{ name: 'a', command: ['x'], paths: ['p'] }, { name: 'a', command: ['y'], paths: ['q'] }] }, /generated: the name "a" is used twice/],
    [[], /expected an object, got an array/],
    [{ ...minimal, steps: { docker: 'yes' } }, /steps\.docker: expected true or false, got the string "yes"/],
    [{ ...minimal, releaseBranches: [] }, /releaseBranches: expected at least 1 entry, got an array/],
    [{ ...minimal, releaseBranches: ['stable/*', 7] }, /releaseBranches\[1\]: expected a non-empty string, got the number 7/],
    [{ ...minimal, releaseBranches: { main: true } }, /releaseBranches: expected an array of strings, got an object/],
  ])('rejects %j', (raw, message) => {
    expect(() => validateConfig(raw)).toThrow(ConfigError)
    expect(() => validateConfig(raw)).toThrow(message)
  })

  it('trust.team: "org/team-slug", as GitHub spells them; absent, nobody is trusted through a team', () => {
    expect(validateConfig(minimal).trust).toEqual({})
    expect(validateConfig({ ...minimal, trust: { team: 'acme/release-managers' } }).trust).toEqual({ team: 'acme/release-managers' })
    expect(validateConfig({ ...minimal, trust: { team: 'Acme-Corp/core_team' } }).trust.team).toBe('Acme-Corp/core_team')
    for (const team of ['reviewers', 'acme/Reviewers', 'acme/reviewers/x', '../acme/x', 'acme/re viewers', '-acme/x', 'acme/', '/x']) {
      expect(() => validateConfig({ ...minimal, trust: { team } }), team).toThrow(/trust\.team: expected a team as "org\/team-slug"/)
    }
    expect(() => validateConfig({ ...minimal, trust: { teams: ['acme/x'] } })).toThrow('trust.teams: unknown key (known keys here: team)')
  })

  it('signing: a public key, or a keyless identity (exact or a pattern) with GitHub Actions\' issuer by default; exactly one, errors naming the key', () => {
    expect(validateConfig(minimal).signing).toBeUndefined()
    expect(validateConfig({ ...minimal, signing: { publicKey: 'cosign.pub' } }).signing).toStrictEqual({ publicKey: 'cosign.pub' })
    const identity = 'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main'
    expect(validateConfig({ ...minimal, signing: { identity } }).signing).toStrictEqual({ identity, issuer: 'https://token.actions.githubusercontent.com' })
    expect(validateConfig({ ...minimal, signing: { identityRegexp: '^https://x/ci\\.yml@refs/(heads/main|tags/v.*)$', issuer: 'https://issuer' } }).signing).toStrictEqual({
      identityRegexp: '^https://x/ci\\.yml@refs/(heads/main|tags/v.*)$',
      issuer: 'https://issuer',
    })
    const bad: Array<[unknown, string | RegExp]> = [
      [{}, 'signing: set exactly one of publicKey'],
      [{ publicKey: 'cosign.pub', identity }, /signing: set exactly one of .*, not publicKey and identity$/],
      [{ identity, identityRegexp: '.*' }, /not identity and identityRegexp$/],
      [{ publicKey: 'cosign.pub', issuer: 'https://x' }, 'signing.issuer: only with identity or identityRegexp'],
      [{ publicKey: '../cosign.pub' }, /signing\.publicKey: .*reaches outside the repository/],
      [{ publicKey: '' }, 'signing.publicKey: expected a non-empty string'],
      [{ identityRegexp: '(' }, 'signing.identityRegexp: not a regular expression'],
      [{ key: 'cosign.pub' }, 'signing.key: unknown key (known keys here: publicKey, identity, identityRegexp, issuer)'],
      ['cosign.pub', 'signing: expected an object, got the string "cosign.pub"'],
    ]
    for (const [signing, message] of bad) expect(() => validateConfig({ ...minimal, signing }), JSON.stringify(signing)).toThrow(message)
  })

  it('names the file in every message', () => {
    expect(() => validateConfig({}, 'ci/build.json')).toThrow(/^ci\/build\.json: buildImage/)
  })
})

describe('loadConfig', () => {
  it('reads build.config.json from the root, REGISTRY beats the file, --registry beats both', async () => {
    const root = tempDir()
    writeFiles(root, { 'build.config.json': JSON.stringify({ ...minimal, registry: 'file.example/acme/' }) })
    expect((await loadConfig({ root, env: {} })).registry).toBe('file.example/acme')
    expect((await loadConfig({ root, env: { REGISTRY: 'env.example/acme' } })).registry).toBe('env.example/acme')
    expect((await loadConfig({ root, env: { REGISTRY: '' } })).registry).toBeUndefined()
    expect((await loadConfig({ root, env: { REGISTRY: 'env.example' }, registry: 'flag.example' })).registry).toBe('flag.example')
  })

  it('reports a missing file and malformed JSON as config errors', async () => {
    const root = tempDir()
    await expect(loadConfig({ root, env: {} })).rejects.toThrow(/build\.config\.json: not found/)
    writeFiles(root, { 'build.config.json': '{ "buildImage": ' })
    await expect(loadConfig({ root, env: {} })).rejects.toThrow(/build\.config\.json: not valid JSON/)
  })
})
