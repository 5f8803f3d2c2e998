// Each script's interface is declared once (its `command`, a CommandSpec): --help is
// generated from it, and the flag tables of scripts/README.md must name exactly the flags
// it declares. Every script runs as a process (`npx zx scripts/<name>.mts --help`), so
// what is compared is what a user reads.
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT, runScript } from '../helpers/run.mts'

const SCRIPTS = fs
  .readdirSync(path.join(PROJECT_ROOT, 'scripts'))
  .filter((f) => f.endsWith('.mts'))
  .map((f) => f.slice(0, -'.mts'.length))

/** The flags of a --help's Options section (`--no-cache-from` as written), --help left out. */
function helpFlags(help: string): string[] {
  const options = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? ''
  return [...options.matchAll(/^ {2}(?:-h, )?--([a-z][a-z-]*)/gm)].map((m) => m[1]).filter((f) => f !== 'help')
}

/**
 * The flags named in the first column of the flag tables (`| flag | meaning |`, or
 * `| flag / variable | meaning |`) of `## <script>.mts` in scripts/README.md, up to the
 * next script's section.
 */
function readmeFlags(readme: string, script: string): string[] | undefined {
  const sections = readme.split(/^## /m)
  const section = sections.find((s) => s.startsWith(`${script}.mts\n`))
  if (!section) return undefined
  const flags = new Set<string>()
  let inTable = false
  for (const line of section.split('\n')) {
    if (/^\| flag( \/ variable)? \| meaning \|$/.test(line)) inTable = true
    else if (!line.startsWith('|')) inTable = false
    else if (inTable) for (const m of line.split('|')[1].matchAll(/--([a-z][a-z-]*)/g)) flags.add(m[1])
  }
  return [...flags]
}

const helps = new Map<string, string>()
beforeAll(async () => {
  await Promise.all(
    SCRIPTS.map(async (name) => {
      const result = await runScript(name, ['--help'])
      expect(result.exitCode, result.stderr).toBe(0)
      helps.set(name, result.stdout)
    }),
  )
}, 300_000)

describe('each script interface, declared once', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'scripts/README.md'), 'utf8')

  it.each(SCRIPTS)('%s: scripts/README.md tables exactly the flags --help shows', (name) => {
    const help = helps.get(name)!
    expect(help).toMatch(new RegExp(`^Usage: npx zx scripts/${name}\\.mts`))
    const declared = helpFlags(help)
    expect(declared.length).toBeGreaterThan(0)
    const documented = readmeFlags(readme, name)
    expect(documented, `scripts/README.md has no "## ${name}.mts" section`).toBeDefined()
    expect([...documented!].sort()).toEqual([...declared].sort())
  })

  it('reads the README tables as written: a flag missing from a table, or one too many, is seen', () => {
    const text = '## x.mts\n\nprose --not-a-flag\n\n| flag | meaning |\n| --- | --- |\n| `--a`, `--b DIR` | see above |\n| `--no-c` | off |\n\n| --d | not in a flag table |\n## y.mts\n| flag | meaning |\n| `--e` | e |\n'
    expect(readmeFlags(text, 'x')).toEqual(['a', 'b', 'no-c'])
    expect(readmeFlags(text, 'z')).toBeUndefined()
    expect(helpFlags('Usage: x\n\nOptions:\n  --a DIR     a\n              --not-this\n  --no-c      c\n  -h, --help  help\n\nMore --d\n')).toEqual(['a', 'no-c'])
  })
})
