// The template files `init` writes its CI configs from (lib/init/ci-templates/), filled
// in. A template is the file as a reader sees it, valid YAML as it stands, with:
//   ((name))                          a value: in a comment line, as text; as the whole
//                                     value of a key (`key: ((name))`), a YAML scalar
//                                     that parses back to exactly the value (quoted when
//                                     it must be). Anywhere else it is refused.
//   # ((if name)) / # ((else)) / # ((end))
//                                     on lines of their own: the lines between kept when
//                                     the flag `name` is set (else the other branch);
//                                     sections nest.
//   ## a note                         a line for the template's reader, not written.
// A value is one line of text: none can add a line, a key or a comment of its own.
import fs from 'node:fs'
import { YAML } from 'zx'
import { UsageError } from '../core/cli.mts'

export interface TemplateFill {
  values: Record<string, string>
  flags: Record<string, boolean>
}

const SLOT = /\(\(([a-z_]+)\)\)/g
const DIRECTIVE = /^\s*# \(\((if ([a-z_]+)|else|end)\)\)\s*$/
const NOTE = /^\s*##/
/** `key: ((name))` or `- key: ((name))`: a slot that is a key's whole value. */
const VALUE_SLOT = /^(\s*(?:- )?[A-Za-z0-9_-]+: )\(\(([a-z_]+)\)\)$/
/** Characters that end a line in YAML 1.1 or 1.2, and the other control characters. */
const NOT_ONE_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/** A template file of lib/init/ci-templates/, beside this module (in lib/ and in dist/). */
export function readTemplate(name: string): string {
  return fs.readFileSync(new URL(`./ci-templates/${name}`, import.meta.url), 'utf8')
}

/**
 * `text` as a YAML scalar that parses back to exactly it, under YAML 1.2 and 1.1 (which
 * CircleCI's parser follows: `yes`, `on` and `1_000` are not strings there): plain when it
 * is a simple word or command, else double-quoted (a JSON string is a YAML one).
 */
export function yamlScalar(text: string): string {
  const readsAs = (version: '1.1' | '1.2') => {
    const doc = YAML.parseDocument(text, { version })
    return doc.errors.length ? undefined : doc.toJS()
  }
  const plain = /^[A-Za-z0-9._/][A-Za-z0-9._/ &=-]*$/.test(text) && readsAs('1.2') === text && readsAs('1.1') === text
  return plain ? text : JSON.stringify(text)
}

/** Where the slots of a line stand, if it has any: in a comment line, or as a key's whole value. */
function slotsOf(line: string): 'comment' | 'value' | { stray: string } | undefined {
  const first = [...line.matchAll(SLOT)][0]
  if (!first) return undefined
  if (/^\s*#/.test(line)) return 'comment'
  return VALUE_SLOT.test(line) ? 'value' : { stray: first[1] }
}

/** `template` (named `name` in errors) with its sections chosen and its slots filled. */
export function renderTemplate(name: string, template: string, fill: TemplateFill): string {
  const fail = (line: number, why: string) => new Error(`${name}:${line}: ${why}`)
  const value = (line: number, slot: string): string => {
    const text = fill.values[slot]
    if (text === undefined) throw fail(line, `no value for ((${slot}))`)
    if (NOT_ONE_LINE.test(text)) throw new UsageError(`${name}: ((${slot})) must be one line of text, got ${JSON.stringify(text)}`)
    return text
  }
  const out: string[] = []
  // The open sections, innermost last: whether the branch being read is kept, and whether it is the else.
  const open: Array<{ keep: boolean; inElse: boolean }> = []
  const lines = template.split('\n')
  lines.forEach((line, i) => {
    const n = i + 1
    if (NOTE.test(line)) return
    const directive = DIRECTIVE.exec(line)
    if (directive) {
      const [, word, flag] = directive
      const section = open.at(-1)
      if (flag !== undefined) {
        if (fill.flags[flag] === undefined) throw fail(n, `no flag for ((if ${flag}))`)
        open.push({ keep: fill.flags[flag], inElse: false })
      } else if (!section) throw fail(n, `((${word})) outside a section`)
      else if (word === 'end') open.pop()
      else if (section.inElse) throw fail(n, 'a second ((else)) in one section')
      else Object.assign(section, { keep: !section.keep, inElse: true })
      return
    }
    // Checked in every section, kept or not: a slot out of place fails every rendering.
    const slots = slotsOf(line)
    if (typeof slots === 'object' && slots) throw fail(n, `((${slots.stray})) is neither in a comment line nor a key's whole value`)
    if (!open.every((s) => s.keep)) return
    if (slots === 'comment') out.push(line.replace(SLOT, (_, slot: string) => value(n, slot)))
    else if (slots === 'value') {
      const [, key, slot] = VALUE_SLOT.exec(line)!
      out.push(key + yamlScalar(value(n, slot)))
    } else out.push(line)
  })
  if (open.length) throw fail(lines.length, `${open.length} section(s) not closed with ((end))`)
  return out.join('\n')
}
