// The lib/ layout is the architecture (CONTRIBUTING.md, "Layout"): six parts, and what
// each may import. Read from the import lines of every lib module.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../helpers/run.mts'

type Part = 'core' | 'image' | 'runner' | 'publish' | 'bots' | 'init'
const PARTS: Part[] = ['core', 'image', 'runner', 'publish', 'bots', 'init']

/** Which parts a part may import from (itself included). */
const MAY_IMPORT: Record<Part, Part[]> = {
  core: ['core'],
  image: ['core', 'image'],
  // The test runner starts its container from the build image the image pipeline made.
  runner: ['core', 'image', 'runner'],
  publish: ['core', 'image', 'publish'],
  // update-generated runs its generator in the build image, through the runner's container.
  bots: ['core', 'image', 'runner', 'bots'],
  init: ['core', 'init'],
}

/** The bots' shared layer: the one thing the bot features (cherry-pick, update-generated, approval) share. */
const BOTS_SHARED = ['bots/github.mts', 'bots/remote.mts']

/** `lib/<part>/<file>` (or `lib/<part>/<folder>/<file>`) -> the lib-relative paths it imports. */
function importsOf(libDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const read = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) read(file)
      else if (entry.name.endsWith('.mts')) {
        const text = fs.readFileSync(file, 'utf8')
        const targets = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) =>
          path.relative(libDir, path.resolve(dir, m[1])),
        )
        out.set(path.relative(libDir, file), targets)
      }
    }
  }
  read(libDir)
  return out
}

/**
 * The bot feature a bots module belongs to: `bots/<feature>.mts`, or any module of the
 * feature folder `bots/<feature>/`. Modules of one feature import each other freely.
 */
function botFeature(file: string): string {
  return file.split('/')[1].replace(/\.mts$/, '')
}

/** Every import that breaks the rules, as `from -> to: why`. */
function violations(imports: Map<string, string[]>): string[] {
  const bad: string[] = []
  for (const [from, targets] of imports) {
    const part = from.split('/')[0] as Part
    if (!from.includes('/') || !PARTS.includes(part)) {
      bad.push(`${from}: not in one of lib/${PARTS.join(', lib/')}`)
      continue
    }
    for (const to of targets) {
      const toPart = to.split('/')[0] as Part
      if (!MAY_IMPORT[part].includes(toPart)) bad.push(`${from} -> ${to}: ${part} may not import ${toPart}`)
      else if (part === 'bots' && toPart === 'bots' && !BOTS_SHARED.includes(from) && !BOTS_SHARED.includes(to) && botFeature(from) !== botFeature(to)) {
        bad.push(`${from} -> ${to}: bot features do not import each other (share through ${BOTS_SHARED.join(' or ')})`)
      }
    }
  }
  return bad
}

describe('lib/ layout', () => {
  const imports = importsOf(path.join(PROJECT_ROOT, 'lib'))

  it('has its modules in the six parts and every import follows the rules', () => {
    expect(imports.size).toBeGreaterThan(15)
    // A feature folder's modules are read too.
    expect([...imports.keys()]).toContain('bots/cherry-pick/pick.mts')
    expect([...imports.keys()]).toEqual(expect.arrayContaining(['runner/steps.mts', 'runner/container.mts', 'runner/shard.mts']))
    expect(violations(imports)).toEqual([])
  })

  it('the check sees a broken rule: core importing up, the image pipeline importing the runner, a bot importing another (a file or a folder), a module outside the parts', () => {
    const broken = new Map(imports)
    broken.set('core/git.mts', [...(imports.get('core/git.mts') ?? []), 'image/docker.mts'])
    broken.set('bots/update-generated.mts', [...(imports.get('bots/update-generated.mts') ?? []), 'bots/cherry-pick/pick.mts'])
    broken.set('bots/cherry-pick/source.mts', [...(imports.get('bots/cherry-pick/source.mts') ?? []), 'bots/approval.mts', 'publish/prune.mts'])
    broken.set('runner/steps.mts', ['publish/release-tags.mts'])
    broken.set('image/build-image.mts', [...(imports.get('image/build-image.mts') ?? []), 'runner/steps.mts'])
    broken.set('stray.mts', [])
    const found = violations(broken)
    expect(found).toHaveLength(7)
    expect(found).toEqual(
      expect.arrayContaining([
        'core/git.mts -> image/docker.mts: core may not import image',
        'runner/steps.mts -> publish/release-tags.mts: runner may not import publish',
        'image/build-image.mts -> runner/steps.mts: image may not import runner',
        'bots/update-generated.mts -> bots/cherry-pick/pick.mts: bot features do not import each other (share through bots/github.mts or bots/remote.mts)',
        'bots/cherry-pick/source.mts -> bots/approval.mts: bot features do not import each other (share through bots/github.mts or bots/remote.mts)',
        'bots/cherry-pick/source.mts -> publish/prune.mts: bots may not import publish',
        'stray.mts: not in one of lib/core, lib/image, lib/runner, lib/publish, lib/bots, lib/init',
      ]),
    )
  })
})
