// Adding init's CircleCI jobs and workflow to a config the project already has. CircleCI
// reads one file, so init cannot put its own beside it. The project's text is never
// re-serialised: init's blocks are inserted after the last entry of `jobs:` and of
// `workflows:`, indented as the project's entries are, so every byte of the project's
// file (comments, quoting, indentation, anchors) stays where it was. yaml's document API
// says where those maps end, and parses the result to prove the merge changed nothing
// but the added entries; when that cannot be shown, nothing is merged and the user gets
// the exact lines to add.
import { isDeepStrictEqual } from 'node:util'
import { YAML } from 'zx'

/** init's part of a CircleCI config: the blocks that go under `jobs:` and `workflows:`, indented by two spaces. */
export interface CirclePieces {
  jobs: string[]
  workflows: string[]
}

export type CircleMerge =
  /** The project's text with init's entries inserted; `added` names them. */
  | { kind: 'merged'; content: string; added: string[] }
  /** init's entries are there already, as init writes them. */
  | { kind: 'present' }
  /** Not merged: why, and the lines to add by hand. */
  | { kind: 'manual'; reason: string; lines: string }

type YamlMap = InstanceType<typeof YAML.YAMLMap>

/** The lines a user adds by hand: each block under the key it belongs to. */
export function manualLines(pieces: CirclePieces): string {
  return ['jobs:', ...pieces.jobs, '', 'workflows:', ...pieces.workflows, ''].join('\n')
}

/** The keys a block of entries (indented by two spaces) defines. */
function blockKeys(block: string[]): string[] {
  return block.flatMap((line) => {
    const m = /^ {2}([^\s#:][^:]*):\s*(#.*)?$/.exec(line)
    return m ? [m[1]] : []
  })
}

/** The column where a block map's keys start. */
function keyColumn(text: string, map: YamlMap): number {
  const first = (map.items[0]?.key as { range?: [number, number, number] } | undefined)?.range?.[0]
  if (first === undefined) return 2
  return first - (text.lastIndexOf('\n', first - 1) + 1)
}

/** `block` (indented by two) re-indented so its keys start at `column`. */
function reindent(block: string[], column: number): string {
  return block.map((line) => (line === '' ? '' : ' '.repeat(column) + line.slice(2))).join('\n') + '\n'
}

/**
 * Merge `pieces` into the CircleCI config `text`, or say why not. Never merged: a config
 * that does not parse, a dynamic (`setup: true`) config, one without `workflows` (adding
 * one would stop CircleCI from running its `build` job), flow-style maps, and job or
 * workflow names that are the project's own.
 */
export function mergeCircleConfig(text: string, pieces: CirclePieces): CircleMerge {
  const manual = (reason: string): CircleMerge => ({ kind: 'manual', reason, lines: manualLines(pieces) })
  const doc = YAML.parseDocument(text)
  if (doc.errors.length) return manual(`it does not parse as YAML (${doc.errors[0].message.split('\n')[0]})`)
  const root = doc.contents
  if (!YAML.isMap(root) || root.flow) return manual('its top level is not a block mapping')
  if (root.get('setup') === true) return manual('it is a dynamic (setup) config: add the jobs to the config it continues with')

  const ours = YAML.parse(manualLines(pieces)) as { jobs: Record<string, unknown>; workflows: Record<string, unknown> }
  const sections = [
    { key: 'jobs', block: pieces.jobs, names: blockKeys(pieces.jobs) },
    { key: 'workflows', block: pieces.workflows, names: blockKeys(pieces.workflows) },
  ] as const
  const workflows = root.get('workflows', true)
  if (workflows === undefined) return manual('it has no workflows: adding one would stop CircleCI from running its build job on its own')

  // Where each block goes, and whether init's entries are there already.
  const inserts: Array<{ at: number; text: string }> = []
  let present = 0
  for (const { key, block, names } of sections) {
    const map = root.get(key, true)
    if (map === undefined) {
      // Orbs' jobs only: a `jobs:` of init's own, at the end.
      inserts.push({ at: text.length, text: `${key}:\n${reindent(block, 2)}` })
      continue
    }
    if (!YAML.isMap(map) || map.flow || !map.range) return manual(`its ${key} is not a block mapping`)
    const taken = names.filter((name) => map.has(name))
    if (taken.length === names.length && taken.every((name) => isDeepStrictEqual(doc.toJS()[key][name], ours[key][name]))) {
      present++
      continue
    }
    if (taken.length) return manual(`it has ${key} named ${taken.join(', ')} already`)
    inserts.push({ at: map.range[1], text: reindent(block, map.items.length ? keyColumn(text, map) : 2) })
  }
  if (present === sections.length) return { kind: 'present' }
  if (present) return manual('it has some of init\'s entries but not all')

  // Insert from the end, so earlier offsets stay right; each block after a blank line.
  let merged = text
  for (const { at, text: block } of inserts.sort((a, b) => b.at - a.at)) {
    const before = merged.slice(0, at)
    const gap = before === '' || before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n'
    merged = before + gap + block + merged.slice(at)
  }

  // The proof: the result parses, and is the project's config plus init's entries, nothing else.
  const check = YAML.parseDocument(merged)
  const expected = doc.toJS() as Record<string, Record<string, unknown>>
  for (const { key } of sections) expected[key] = { ...(expected[key] ?? {}), ...ours[key] }
  if (check.errors.length || !isDeepStrictEqual(check.toJS(), expected)) return manual('inserting the entries would not have left the rest of it as it is')
  return { kind: 'merged', content: merged, added: sections.flatMap(({ key, names }) => names.map((n) => `${key}.${n}`)) }
}
