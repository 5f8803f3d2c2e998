// The template files init writes its CI configs from, and the renderer that fills them:
// the templates read as YAML as they stand, every choice of their sections renders to
// YAML, and no value put in a slot (a registry, a branch name, an install command) can
// add a line, a key or a comment of its own.
import fs from 'node:fs'
import path from 'node:path'
import { YAML } from 'zx'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../lib/core/cli.mts'
import { CIRCLE_PATH, CIRCLE_TEMPLATE, circleConfig, circlePieces, HEADER, WORKFLOW_PATH, WORKFLOW_TEMPLATE } from '../../lib/init/ci-configs.mts'
import type { Project } from '../../lib/init/project.mts'
import { TOOL_PACKAGE } from '../../lib/init/project.mts'
import { readTemplate, renderTemplate, yamlScalar, type TemplateFill } from '../../lib/init/render-template.mts'
import { initFiles } from '../../lib/init/templates.mts'
import { PROJECT_ROOT } from '../helpers/run.mts'

const GO: Project = { kind: 'go', module: 'example.com/hello', hasGoSum: false, vendored: false, makeTargets: { test: false, build: false } }
const TEMPLATES = [WORKFLOW_TEMPLATE, CIRCLE_TEMPLATE]

/** Every assignment of true and false to `flags`. */
function everyChoice(flags: string[]): Array<Record<string, boolean>> {
  return flags.reduce<Array<Record<string, boolean>>>((choices, flag) => choices.flatMap((c) => [{ ...c, [flag]: false }, { ...c, [flag]: true }]), [{}])
}

/** A value as each YAML version reads it back. */
const readBack = (text: string, version: '1.1' | '1.2') => YAML.parseDocument(text, { version }).toJS()

describe('the template files', () => {
  it('are the files in lib/init/ci-templates/, each read as YAML as it stands', () => {
    expect(fs.readdirSync(path.join(PROJECT_ROOT, 'lib/init/ci-templates')).sort()).toEqual([...TEMPLATES].sort())
    for (const name of TEMPLATES) {
      // A section and its else may set the same key: keys repeat in the template itself.
      const doc = YAML.parseDocument(readTemplate(name), { uniqueKeys: false })
      expect(doc.errors, name).toEqual([])
      expect(Object.keys(doc.toJS()), name).toEqual(expect.arrayContaining(['jobs']))
    }
  })

  it('render to YAML for every choice of their sections, every slot filled', () => {
    for (const name of TEMPLATES) {
      const text = readTemplate(name)
      const flags = [...new Set([...text.matchAll(/# \(\(if ([a-z_]+)\)\)/g)].map((m) => m[1]))]
      const slots = [...new Set([...text.replace(/^\s*##.*$/gm, '').matchAll(/\(\(([a-z_]+)\)\)/g)].map((m) => m[1]))].filter((s) => !/^(if|else|end)$/.test(s))
      expect(flags.length, name).toBeGreaterThan(0)
      const values = Object.fromEntries(slots.map((s) => [s, `value-of-${s}`]))
      for (const choice of everyChoice(flags)) {
        const rendered = renderTemplate(name, text, { values, flags: choice })
        const doc = YAML.parseDocument(rendered)
        expect(doc.errors, `${name} ${JSON.stringify(choice)}`).toEqual([])
        expect(rendered).not.toContain('((')
        expect(rendered).not.toMatch(/^\s*##/m)
      }
    }
  })

  it('write what ci-configs.mts says: the tool, the header, the workflow\'s CircleCI neighbour', () => {
    const workflow = YAML.parse(initFiles(GO, { name: 'hello', defaultBranch: 'main' }).find((f) => f.path === WORKFLOW_PATH)!.content)
    expect(workflow.name).toBe(TOOL_PACKAGE)
    for (const name of TEMPLATES) expect(readTemplate(name), name).toContain(`${HEADER}\n`)
    expect(readTemplate(WORKFLOW_TEMPLATE)).toContain(`(${CIRCLE_PATH})`)
    expect(readTemplate(CIRCLE_TEMPLATE)).toContain(` ${WORKFLOW_PATH},`)
  })

  it('the CircleCI pieces are exactly the config\'s jobs and workflows', () => {
    for (const registry of [undefined, 'ghcr.io/acme']) {
      const options = { name: 'hello', registry, defaultBranch: 'main' }
      const { jobs, workflows } = circlePieces(GO, options)
      expect(circleConfig(GO, options).endsWith(['', 'jobs:', ...jobs, '', 'workflows:', ...workflows, ''].join('\n'))).toBe(true)
      expect(jobs.filter((l) => /^ {2}\S/.test(l))).toEqual(registry ? ['  test-and-build:', '  push-images:'] : ['  test-and-build:'])
      expect(workflows[0]).toBe('  ci-build-scripts:')
    }
  })
})

describe('renderTemplate', () => {
  const fill = (values: Record<string, string> = {}, flags: Record<string, boolean> = {}): TemplateFill => ({ values, flags })
  /** The message of the Error `render` throws (toThrow(text) would also pass on a thrown undefined). */
  const failure = (render: () => unknown): string | undefined => {
    try {
      render()
    } catch (e) {
      return e instanceof Error ? e.message : `not an Error: ${String(e)}`
    }
    return undefined
  }

  it('keeps a section\'s lines when its flag is set, else its else\'s; sections nest; notes and directives are not written', () => {
    const template = ['## a note', 'a: 1', '# ((if x))', 'b: 2', '  # ((if y))', 'c: 3', '  # ((else))', 'd: 4', '  # ((end))', '# ((else))', 'e: 5', '# ((end))', 'f: 6', ''].join('\n')
    const render = (x: boolean, y: boolean) => renderTemplate('t', template, fill({}, { x, y }))
    expect(render(true, true)).toBe('a: 1\nb: 2\nc: 3\nf: 6\n')
    expect(render(true, false)).toBe('a: 1\nb: 2\nd: 4\nf: 6\n')
    expect(render(false, true)).toBe('a: 1\ne: 5\nf: 6\n')
    expect(render(false, false)).toBe('a: 1\ne: 5\nf: 6\n')
  })

  it('fills a slot in a comment line as text, and a key\'s whole value as a scalar', () => {
    const template = '# to ((registry)). Restrict it to "((branch))"\nonly: ((branch))\n- run: ((install))\n'
    expect(renderTemplate('t', template, fill({ registry: 'ghcr.io/acme', branch: 'main', install: 'corepack enable && yarn install --immutable --mode=skip-build' }))).toBe(
      '# to ghcr.io/acme. Restrict it to "main"\nonly: main\n- run: corepack enable && yarn install --immutable --mode=skip-build\n',
    )
    // Quoted as a value, as it is in a comment; an indented comment is a comment.
    expect(renderTemplate('t', 'jobs:\n  # only ((branch))\n  only: ((branch))\n', fill({ branch: 'true' }))).toBe('jobs:\n  # only true\n  only: "true"\n')
  })

  it('reads a directive or a note only where it is the whole line (indented or not)', () => {
    const template = ['a: 1 ## not a note', '  ## a note', '# ((if x)) is how a section starts', 'b: 2', '  # ((if x))  ', 'c: 3', '  # ((end))', ''].join('\n')
    expect(renderTemplate('t', template, fill({}, { x: false }))).toBe('a: 1 ## not a note\n# ((if x)) is how a section starts\nb: 2\n')
  })

  it('refuses a slot anywhere else, in a section that is kept or not', () => {
    const stray = [
      ['run: npx x ((install))', 'install'],
      ['key: "((x))"', 'x'],
      ['((x)): 1', 'x'],
      ['a: 1 # ((x))', 'x'],
      ['a: 1 # ((end))', 'end'],
      ['a: b: ((x))', 'x'],
      ['key: ((x)) and more', 'x'],
    ]
    for (const [line, slot] of stray) {
      for (const keep of [true, false]) {
        expect(failure(() => renderTemplate('t', `# ((if k))\n${line}\n# ((end))\n`, fill({ install: 'a', x: 'a' }, { k: keep }))), `${line} ${keep}`).toBe(`t:2: ((${slot})) is neither in a comment line nor a key's whole value`)
      }
    }
  })

  it('says which slot, flag or section is wrong, by line', () => {
    expect(failure(() => renderTemplate('t', 'a: ((x))\n', fill()))).toBe('t:1: no value for ((x))')
    expect(failure(() => renderTemplate('t', 'a: 1\n# ((if x))\n# ((end))\n', fill()))).toBe('t:2: no flag for ((if x))')
    expect(failure(() => renderTemplate('t', '# ((end))\n', fill()))).toBe('t:1: ((end)) outside a section')
    expect(failure(() => renderTemplate('t', '# ((else))\n', fill()))).toBe('t:1: ((else)) outside a section')
    expect(failure(() => renderTemplate('t', '# ((if x))\n# ((else))\n# ((else))\n# ((end))\n', fill({}, { x: true })))).toBe('t:3: a second ((else)) in one section')
    expect(failure(() => renderTemplate('t', '# ((if x))\na: 1\n', fill({}, { x: true })))).toBe('t:3: 1 section(s) not closed with ((end))')
    // An unused value is fine: a registry only appears in the sections a registry keeps.
    expect(renderTemplate('t', 'a: 1\n', fill({ registry: 'r' }))).toBe('a: 1\n')
  })

  it('refuses a value of more than one line (it would add a line, a key or a comment): usage error', () => {
    const template = '# to ((registry)).\nonly: ((branch))\n'
    for (const bad of ['x\nfoo: bar', 'x\rfoo: bar', 'x\u2028foo: bar', 'x\u0085foo: bar', 'x\u0000', 'a\tb']) {
      expect(() => renderTemplate('t', template, fill({ registry: bad, branch: 'main' })), JSON.stringify(bad)).toThrow(UsageError)
      expect(() => renderTemplate('t', template, fill({ registry: 'r', branch: bad })), JSON.stringify(bad)).toThrow(/t: \(\(branch\)\) must be one line of text/)
    }
    // As init meets them: a --registry or --default-branch with a line break in it.
    expect(() => initFiles(GO, { name: 'hello', registry: 'ghcr.io/acme\njobs: {}', defaultBranch: 'main' })).toThrow(UsageError)
    expect(() => initFiles(GO, { name: 'hello', registry: 'ghcr.io/acme', defaultBranch: 'main\n      - evil:' })).toThrow(UsageError)
  })
})

describe('yamlScalar', () => {
  it('reads back as exactly the value under YAML 1.2 and 1.1 (CircleCI\'s), whatever the value', () => {
    const awkward = ['main', 'release/1.x', "it's;x", '1.0', '1_000', '0x1F', '.inf', 'a: b', 'a #b', '#x', '&x', '*x', '- x', '? x', '!x', '%x', '@x', '`x`', '|', '>', '[a]', '{a}', '"q"', "'q'", 'x=y', 'a&b', 'true', 'yes', 'on', 'off', 'y', 'n', 'null', '~', '2001-12-14', ' lead', 'trail ', '', '<< x', 'a\\b', '0o17', '+1']
    for (const value of awkward) {
      const text = `only: ${yamlScalar(value)}\n`
      expect(readBack(text, '1.2'), `${value} in 1.2`).toEqual({ only: value })
      expect(readBack(text, '1.1'), `${value} in 1.1`).toEqual({ only: value })
    }
  })

  it('leaves a branch name or an install command plain, and quotes what YAML would read as something else', () => {
    for (const plain of ['main', 'release-1.x', 'feature/a_b', 'npm ci --ignore-scripts', 'corepack enable && pnpm install --frozen-lockfile']) expect(yamlScalar(plain)).toBe(plain)
    expect(yamlScalar('true')).toBe('"true"')
    expect(yamlScalar('yes')).toBe('"yes"') // a string in YAML 1.2, a boolean in 1.1
    expect(yamlScalar('1.0')).toBe('"1.0"')
    expect(yamlScalar("it's;x")).toBe('"it\'s;x"')
  })
})
