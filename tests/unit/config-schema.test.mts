// build.config.json is described once (lib/core/config.mts): the same declarations
// validate it, write its JSON Schema and list its keys. Here the schema is run by a real
// JSON Schema validator (Ajv, draft 2020-12) beside validateConfig: both accept the
// configs this repository, its example and `init` write, and both refuse each broken
// one, which validateConfig names by key path.
import fs from 'node:fs'
import path from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { CONFIG_SCHEMA_FILE, configJsonSchema, configKeys, validateConfig } from '../../lib/core/config.mts'
import type { Project } from '../../lib/init/project.mts'
import { initFiles } from '../../lib/init/templates.mts'
import { PROJECT_ROOT } from '../helpers/run.mts'

// strictRequired off: `oneOf: [{ required: ['units'] }, ...]` names keys defined beside it.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false })
// JSON Schema's `regex` format, which Ajv leaves to a plugin: what the validator checks too.
ajv.addFormat('regex', (text: string) => {
  try {
    return Boolean(new RegExp(text))
  } catch {
    return false
  }
})
const schemaValid = ajv.compile(configJsonSchema())

const GO: Project = { kind: 'go', module: 'example.com/hello', hasGoSum: true, vendored: false, makeTargets: { test: true, build: false } }
const UNKNOWN: Project = { kind: 'unknown', reason: 'no go.mod' }
const initConfig = (project: Project, registry?: string) =>
  JSON.parse(initFiles(project, { name: 'hello', registry, defaultBranch: 'main' }).find((f) => f.path === 'build.config.json')!.content)

const minimal = { buildImage: { name: 'acme-build', inputs: ['package.json'] } }

describe('the JSON Schema of build.config.json', () => {
  it('is the file the package ships, as `npm run schema` writes it', () => {
    const shipped = fs.readFileSync(path.join(PROJECT_ROOT, CONFIG_SCHEMA_FILE), 'utf8')
    expect(shipped, 'run: npm run schema').toBe(JSON.stringify(configJsonSchema(), null, 2) + '\n')
  })

  it.each([
    ['this repository', JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'build.config.json'), 'utf8'))],
    ['examples/go-app', JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'examples/go-app/build.config.json'), 'utf8'))],
    ["init's, for Go, with a registry", initConfig(GO, 'ghcr.io/acme')],
    ["init's, for an unknown project, local-only", initConfig(UNKNOWN)],
    [
      'every section',
      {
        ...minimal,
        registry: 'ghcr.io/acme',
        releaseBranches: 'stable/*',
        steps: { test: ['t'], env: ['CBS_*'], docker: true, shard: { units: ['tests/**'], test: ['t', '{units}'], junit: 'r.xml' } },
        cherryPick: { targetBranches: ['release-*'], autoMerge: 'squash' },
        prune: { keepRecent: 3, backend: 'registry' },
        trust: { team: 'acme/maintainers' },
        signing: { identityRegexp: '^https://github\\.com/acme/' },
        generated: [{ name: 'docs', command: ['make', 'docs'], paths: ['docs/**'] }],
      },
    ],
  ])('accepts %s config, as validateConfig does', (_, config) => {
    expect(() => validateConfig(config)).not.toThrow()
    expect(schemaValid(config), JSON.stringify(schemaValid.errors)).toBe(true)
  })

  it("init's config names the schema in the installed package", () => {
    expect(initConfig(GO).$schema).toBe('./node_modules/ci-build-scripts/build.config.schema.json')
  })

  it.each([
    ['an unknown key', { ...minimal, regsitry: 'x' }, 'regsitry: unknown key'],
    ['an unknown nested key', { buildImage: { ...minimal.buildImage, input: ['x'] } }, 'buildImage.input: unknown key'],
    ['a missing required key', { buildImage: { name: 'acme-build' } }, 'buildImage.inputs: required, missing'],
    ['a number for a string', { ...minimal, registry: 5 }, 'registry: expected a non-empty string, got the number 5'],
    ['a blank string', { ...minimal, defaultBranch: ' ' }, 'defaultBranch: expected a non-empty string'],
    ['an empty input list', { buildImage: { name: 'acme-build', inputs: [] } }, 'buildImage.inputs: expected at least 1 entry'],
    ['a negative count', { ...minimal, prune: { keepRecent: -1 } }, 'prune.keepRecent: expected a whole number, 0 or more'],
    ['a fraction', { ...minimal, prune: { graceDays: 1.5 } }, 'prune.graceDays: expected a whole number, 0 or more'],
    ['an unknown backend', { ...minimal, prune: { backend: 'ftp' } }, 'prune.backend: expected "auto", "registry" or "github-packages"'],
    ['an unknown merge method', { ...minimal, cherryPick: { autoMerge: 'ff' } }, 'cherryPick.autoMerge: expected true, false, "merge", "squash" or "rebase"'],
    ['a build arg that is not a string', { buildImage: { ...minimal.buildImage, buildArgs: { GO: 1 } } }, 'buildImage.buildArgs.GO: expected a string'],
    ['a shard with both sources', { ...minimal, steps: { shard: { units: ['a'], list: ['ls'], test: ['t', '{units}'] } } }, 'steps.shard: set exactly one of units'],
    ['a shard with no source', { ...minimal, steps: { shard: { test: ['t', '{units}'] } } }, 'steps.shard: set exactly one of units'],
    ['signing with no signer', { ...minimal, signing: { issuer: 'x' } }, 'signing: set exactly one of publicKey'],
    ['signing with two signers', { ...minimal, signing: { publicKey: 'k.pub', identity: 'x' } }, 'signing: set exactly one of publicKey'],
    ['a team that is not org/slug', { ...minimal, trust: { team: 'maintainers' } }, 'trust.team: expected a team as "org/team-slug"'],
    ['a generated entry named with a slash', { ...minimal, generated: [{ name: 'a/b', command: ['x'], paths: ['p'] }] }, 'generated[0].name: expected a name of letters'],
    ['generated as an object', { ...minimal, generated: {} }, 'generated: expected an array, got an object'],
    ['a list of numbers', { ...minimal, steps: { test: [1] } }, 'steps.test[0]: expected a non-empty string, got the number 1'],
    ['a pattern that is not a regular expression', { ...minimal, signing: { identityRegexp: '(' } }, 'signing.identityRegexp: not a regular expression'],
  ])('refuses %s, and validateConfig names the key path', (_, config, message) => {
    expect(() => validateConfig(config)).toThrow(message)
    expect(schemaValid(config)).toBe(false)
  })
})

describe('configKeys', () => {
  it('lists every key path, nested ones and array items included, parents first', () => {
    const keys = configKeys()
    expect(keys).toEqual(expect.arrayContaining(['registry', 'buildImage', 'buildImage.inputs', 'steps.shard.units', 'cherryPick.autoMerge', 'prune.backend', 'trust.team', 'signing.identityRegexp', 'generated', 'generated[].paths', '$schema']))
    expect(keys.indexOf('steps')).toBeLessThan(keys.indexOf('steps.shard'))
    expect(keys.indexOf('steps.shard')).toBeLessThan(keys.indexOf('steps.shard.junit'))
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('holds every key of a validated config, defaults and nested sections included', () => {
    // One value per leaf key path: the validator's own defaults fill the rest.
    const full = validateConfig({ ...minimal, steps: { test: ['t'], shard: { units: ['a'], test: ['t', '{units}'] } }, image: { name: 'acme' }, signing: { publicKey: 'k.pub' }, generated: [{ name: 'g', command: ['x'], paths: ['p'] }] })
    const present = new Set<string>()
    const walk = (value: unknown, at: string) => {
      if (Array.isArray(value)) return value.forEach((item) => item && typeof item === 'object' && walk(item, `${at}[]`))
      if (!value || typeof value !== 'object') return
      for (const [key, sub] of Object.entries(value)) {
        const where = at ? `${at}.${key}` : key
        present.add(where)
        if (!(at.endsWith('buildArgs') || key === 'buildArgs')) walk(sub, where)
      }
    }
    walk(full, '')
    for (const key of present) expect(configKeys(), key).toContain(key)
  })
})
