// Reading this repository's Markdown the way GitHub renders it: headings and their
// anchors, relative links, tables. Pure functions over the text, for the test that keeps
// the docs true to the code (tests/unit/docs.test.mts).
import fs from 'node:fs'
import path from 'node:path'

/** The text without fenced code blocks and inline code spans (links there are not links). */
function withoutCode(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/(`+)[\s\S]*?\1/g, '')
}

/** The text without fenced code blocks (a `#` line in a shell block is no heading). */
function withoutFences(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
}

/** GitHub's anchor for a heading's text: lowercase, punctuation dropped, each space a hyphen. */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
  return rendered.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

/** Every anchor a Markdown file has: one per heading, repeats numbered as GitHub does. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1])
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

export interface Link {
  text: string
  target: string
}

/** Inline links and images whose target is relative: no scheme, not protocol-relative. */
export function relativeLinks(text: string): Link[] {
  return [...withoutCode(text).matchAll(/!?\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
    .map((m) => ({ text: m[1], target: m[2] }))
    .filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target) && !l.target.startsWith('//'))
}

/**
 * What is wrong with the relative links of `file` (absolute path), given the files
 * around it: a target that does not exist, or an anchor its Markdown file lacks.
 */
export function brokenLinks(file: string, text: string, read: (file: string) => string | undefined = readIfExists): string[] {
  const problems: string[] = []
  for (const link of relativeLinks(text)) {
    const [pathPart, anchor] = splitAnchor(link.target)
    const target = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart))
    const exists = target === file || fs.existsSync(target)
    if (!exists) {
      problems.push(`[${link.text}](${link.target}): ${path.relative(path.dirname(file), target)} does not exist`)
      continue
    }
    if (anchor === undefined) continue
    const content = target === file ? text : read(target)
    if (content === undefined || !target.endsWith('.md')) {
      problems.push(`[${link.text}](${link.target}): an anchor into something that is not a Markdown file`)
    } else if (!anchors(content).has(anchor.toLowerCase())) {
      problems.push(`[${link.text}](${link.target}): no heading with the anchor #${anchor}`)
    }
  }
  return problems
}

function splitAnchor(target: string): [string, string | undefined] {
  const i = target.indexOf('#')
  return i < 0 ? [target, undefined] : [target.slice(0, i), target.slice(i + 1)]
}

function readIfExists(file: string): string | undefined {
  return fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : undefined
}

/** The body of the section under the heading `title` (any level), up to the next heading of that level or higher. */
export function section(text: string, title: string): string {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.replace(/^#+\s+/, '').trim() === title)
  if (start < 0) return ''
  const level = lines[start].match(/^#+/)![0].length
  let inFence = false
  const body: string[] = []
  for (const line of lines.slice(start + 1)) {
    if (/^(```|~~~)/.test(line)) inFence = !inFence
    const m = !inFence && line.match(/^(#+) /)
    if (m && m[1].length <= level) break
    body.push(line)
  }
  return body.join('\n')
}

/** The rows of the first Markdown table in `text` whose header row starts with `firstHeader`: cells, trimmed. */
export function tableRows(text: string, firstHeader: string): string[][] {
  const lines = withoutFences(text).split('\n')
  const start = lines.findIndex((l) => l.startsWith('|') && cells(l)[0] === firstHeader)
  if (start < 0) return []
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    rows.push(cells(line))
  }
  return rows
}

function cells(line: string): string[] {
  return line
    .replace(/^\|/, '')
    .replace(/\|\s*$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())
}

/** The inline code spans of a cell, e.g. the key paths of a configuration row. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])
}

/** The contents of the fenced code blocks in `text` whose info string is `lang`. */
export function fencedBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```\s*$/gm)].filter((m) => m[1].trim() === lang).map((m) => m[2])
}
