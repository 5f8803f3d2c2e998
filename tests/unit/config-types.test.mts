// The TypeScript type of build.config.json is not written by hand: `Config` is what the
// declaration in lib/core/config.mts validates to (`Checked<typeof schema>`), each key
// typed by its check's return type, required or defaulted keys always present, optional
// ones maybe. The type assertions here (expectTypeOf, @ts-expect-error) are checked by
// `npm run typecheck`, which runs over tests/ too; the runtime assertions beside them
// check that what validation returns is what the type says.
import { describe, expect, expectTypeOf, it } from 'vitest'
import { bool, check, type Checked, count, object, oneOf, optional, refine, required, str, strList, strMap } from '../../lib/core/config-checks.mts'
import { configKeys, validateConfig, type AutoMergeMethod, type Config, type SigningConfig } from '../../lib/core/config.mts'

/** The key paths (as `configKeys` writes them) under which `T` holds `unknown` or `any`. */
type Untyped<T, At extends string = ''> = unknown extends T
  ? At
  : T extends readonly (infer I)[]
    ? Untyped<I, `${At}[]`>
    : T extends object
      ? { [K in keyof T & string]-?: Untyped<T[K], At extends '' ? K : `${At}.${K}`> }[keyof T & string]
      : never

/** `T` with every key, at every depth, required: a literal of it names every key the type has. */
type Every<T> = T extends readonly (infer I)[] ? Every<I>[] : T extends object ? { [K in keyof T]-?: Every<Exclude<T[K], undefined>> } : T

describe('the declaration types what it validates', () => {
  const fields = object({ name: required(str), retries: optional(count, () => 3), mode: optional(oneOf('fast', 'slow')), tags: optional(strList(), () => []) })

  it('object(): required and defaulted keys always present, optional keys maybe, each typed by its check', () => {
    expectTypeOf<Checked<typeof fields>>().toEqualTypeOf<{ name: string; retries: number; tags: string[]; mode?: 'fast' | 'slow' }>()
    // What validation returns, as the type says: the defaulted key filled in, the optional one absent.
    expect(fields({ name: 'a' }, 'x')).toEqual({ name: 'a', retries: 3, tags: [] })
    expect(fields({ name: 'a' }, 'x').mode).toBeUndefined()
  })

  it('check() and refine() are typed by what their function returns; oneOf by its values', () => {
    expectTypeOf<Checked<typeof bool>>().toEqualTypeOf<boolean>()
    expectTypeOf<Checked<ReturnType<typeof oneOf<['a', 'b']>>>>().toEqualTypeOf<'a' | 'b'>()
    const port = check((v, at) => (typeof v === 'number' ? v : Number(str(v, at))), { type: 'integer' })
    expectTypeOf<Checked<typeof port>>().toEqualTypeOf<number>()
    const upper = refine(str, (v, at) => str(v, at).toUpperCase())
    expectTypeOf<Checked<typeof upper>>().toEqualTypeOf<string>()
    expect(upper('abc', 'x')).toBe('ABC')
  })

  it('checks name the key path, what was expected and what they got', () => {
    expect(() => str(null, 'a.b')).toThrow(/^a\.b: expected a non-empty string, got null$/)
    expect(() => strList(2)(['x'], 'list')).toThrow(/^list: expected at least 2 entries, got an array$/)
    expect(() => strList(1)([], 'list')).toThrow(/^list: expected at least 1 entry, got an array$/)
    for (const [value, got] of [['x', 'the string "x"'], [null, 'null'], [['x'], 'an array'], [3, 'the number 3']] as const) {
      expect(() => strMap(value, 'buildArgs')).toThrow(new RegExp(`^buildArgs: expected an object of strings, got ${got.replace(/[".]/g, '\\$&')}$`))
    }
    expect(strMap({ A: 'a' }, 'buildArgs')).toEqual({ A: 'a' })
    // A top-level key is named alone, a nested one under its parent.
    expect(() => fields({ name: 'a', nam: 'b' }, '')).toThrow(/^nam: unknown key \(known keys here: name, retries, mode, tags\)$/)
    expect(() => fields({ name: 'a', nam: 'b' }, 'x')).toThrow(/^x\.nam: unknown key/)
  })

  it('a default must be of its check\'s type', () => {
    // @ts-expect-error: a number where the check returns a string
    optional(str, () => 3)
    // @ts-expect-error: a value outside oneOf's
    optional(oneOf('auto', 'registry'), () => 'ftp')
    expect(optional(oneOf('auto', 'registry'), () => 'auto').presence).toBe('defaulted')
  })
})

describe('Config, the type of a validated build.config.json', () => {
  it('is what validateConfig returns', () => {
    expectTypeOf(validateConfig).returns.toEqualTypeOf<Config>()
  })

  it('types every key: none is unknown or any', () => {
    expectTypeOf<Untyped<Config>>().toEqualTypeOf<never>()
  })

  it('has the sections validation always returns, the optional ones maybe', () => {
    expectTypeOf<Config['buildImage']>().toEqualTypeOf<{ name: string; dockerfile: string; inputs: string[]; buildArgs: Record<string, string> }>()
    expectTypeOf<Config['registry']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<Config['steps']['docker']>().toEqualTypeOf<boolean>()
    expectTypeOf<Config['steps']['test']>().toEqualTypeOf<string[] | undefined>()
    expectTypeOf<Config['prune']>().toEqualTypeOf<{ keepRecent: number; graceDays: number; finalImage: boolean; backend: 'auto' | 'registry' | 'github-packages' }>()
    expectTypeOf<Config['cherryPick']['autoMerge']>().toEqualTypeOf<AutoMergeMethod | false>()
    expectTypeOf<AutoMergeMethod>().toEqualTypeOf<'merge' | 'squash' | 'rebase'>()
    expectTypeOf<Config['signing']>().toEqualTypeOf<SigningConfig | undefined>()
    expectTypeOf<Config['generated']>().toEqualTypeOf<Array<{ name: string; command: string[]; paths: string[] }>>()
    // A minimal file, validated: the defaulted sections are there, as the type says.
    const config = validateConfig({ buildImage: { name: 'acme-build', inputs: ['x'] } })
    expect(Object.keys(config).filter((key) => config[key as keyof Config] !== undefined).sort()).toEqual(['buildImage', 'cherryPick', 'generated', 'prune', 'steps', 'trust'])
  })

  it('refuses a literal with an unknown key, a wrong type or a missing required key', () => {
    const ok: Config = validateConfig({ buildImage: { name: 'acme-build', inputs: ['x'] } })
    // @ts-expect-error: an unknown key
    const typo: Config = { ...ok, regsitry: 'ghcr.io/acme' }
    // @ts-expect-error: a number for a string
    const wrong: Config = { ...ok, registry: 5 }
    // @ts-expect-error: buildImage.inputs missing
    const missing: Config = { ...ok, buildImage: { name: 'a', dockerfile: 'D', buildArgs: {} } }
    // @ts-expect-error: not a merge method
    const method: Config = { ...ok, cherryPick: { ...ok.cherryPick, autoMerge: 'fast-forward' } }
    expect([typo, wrong, missing, method]).toHaveLength(4)
  })

  it('has exactly the keys configKeys lists (the JSON Schema\'s): a literal with every key of the type', () => {
    // Every<Config> makes the compiler ask for each key the type has, and refuse any it has
    // not; configKeys() reads the schema. A key in one and not the other fails here.
    const every: Every<Config> = {
      $schema: './s.json',
      registry: 'ghcr.io/acme',
      defaultBranch: 'main',
      releaseBranches: ['release-*'],
      buildImage: { name: 'acme-build', dockerfile: 'Dockerfile.build', inputs: ['x'], buildArgs: {} },
      image: { name: 'acme', dockerfile: 'Dockerfile', context: '.' },
      steps: { test: ['t'], build: ['b'], integration: ['i'], env: [], integrationEnv: [], docker: false, shard: { units: ['u'], list: ['l'], test: ['{units}'], junit: 'j.xml' } },
      cherryPick: { labelPrefix: 'p/', targetBranches: ['r'], reviewers: false, milestone: false, autoMerge: false },
      prune: { keepRecent: 1, graceDays: 1, finalImage: false, backend: 'auto' },
      trust: { team: 'acme/maintainers' },
      signing: { publicKey: 'k.pub', identity: 'i', identityRegexp: 'r', issuer: 'o' },
      ecr: { createRepositories: false, tagMutability: 'MUTABLE', moveTags: [] },
      generated: [{ name: 'g', command: ['c'], paths: ['p'] }],
    }
    const paths: string[] = []
    const walk = (value: object, at: string) => {
      for (const [key, sub] of Object.entries(value)) {
        const where = at ? `${at}.${key}` : key
        paths.push(where)
        const item = Array.isArray(sub) ? sub[0] : sub
        if (item && typeof item === 'object' && !Array.isArray(item)) walk(item, Array.isArray(sub) ? `${where}[]` : where)
      }
    }
    walk(every, '')
    expect(paths.sort()).toEqual([...configKeys()].sort())
  })
})
