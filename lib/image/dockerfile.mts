// What a Dockerfile reads from its build context: the sources of COPY and ADD (and of
// RUN --mount=type=bind). Checked against the build context before building, so a
// file the tag does not cover fails with a message naming the fix, the same way under
// the legacy builder and BuildKit (whose error texts differ); a failed build's output
// is read back for what the static check could not see.
import picomatch from 'picomatch'
import { ConfigError, type Config } from '../core/config.mts'
import type { InputFile } from './content-tag.mts'

export interface ContextSource {
  /** COPY, ADD or RUN (a bind mount). */
  instruction: string
  /** The source as written, variables substituted. */
  source: string
  /** 1-based line where the instruction starts. */
  line: number
}

interface Instruction {
  keyword: string
  args: string
  line: number
}

/** Split into instructions: comments dropped, continuation lines joined (the escape directive honoured). */
export function instructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/)
  let escape = '\\'
  // Parser directives come first, before any instruction, blank line or other comment.
  for (const line of lines) {
    const m = /^#\s*(\w+)\s*=\s*(\S+)\s*$/.exec(line)
    if (!m) break
    // The backslash is the default: `escape=\` changes nothing, any other value is invalid.
    if (m[1].toLowerCase() === 'escape' && m[2] === '`') escape = '`'
  }
  const out: Instruction[] = []
  let current: { text: string; line: number } | undefined
  lines.forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '')
    if (!current) {
      // Stryker disable next-line Regex: a blank line read as an instruction yields none, so `|$` only saves work
      if (/^\s*(#|$)/.test(line)) return
      current = { text: '', line: i + 1 }
    } else if (/^\s*#/.test(line)) return // comments inside a continuation are dropped
    if (line.endsWith(escape)) {
      current.text += line.slice(0, -1) + ' '
      return
    }
    current.text += line
    const m = /^\s*(\w+)(.*)/s.exec(current.text)
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: current.line })
    current = undefined
  })
  return out
}

/** Shell-like words: whitespace-separated, quotes removed; or a JSON array. */
function words(args: string): string[] {
  // Stryker disable next-line ConditionalExpression,StringLiteral: only a shortcut, JSON.parse of anything else is no array either
  if (args.startsWith('[')) {
    try {
      // Docker refuses an array of anything but strings; read as strings, it names the same files.
      return (JSON.parse(args) as unknown[]).map(String)
    } catch {
      // not JSON after all: fall through to the shell form
    }
  }
  return [...args.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3])
}

/** Replace $VAR / ${VAR} from `vars`; undefined when a variable is unknown. */
function substitute(word: string, vars: Map<string, string>): string | undefined {
  let unknown = false
  const out = word.replace(/\$\{(\w+)(?::?[-+][^}]*)?\}|\$(\w+)/g, (_, a, b) => {
    const value = vars.get(a ?? b)
    if (value === undefined) unknown = true
    // Stryker disable next-line StringLiteral: a word with an unknown variable is dropped whole, so what stands in for it is never read
    return value ?? ''
  })
  return unknown ? undefined : out
}

/**
 * The context paths a Dockerfile reads: COPY/ADD sources (not `--from=` stages, URLs,
 * git refs or heredocs) and RUN `--mount=type=bind` sources without `from=`. Variables
 * resolve from ARG defaults and `buildArgs`; a source with an unknown variable is
 * skipped (it cannot be checked statically).
 */
export function contextSources(text: string, buildArgs: Record<string, string> = {}): ContextSource[] {
  // Variables are kept across stages: a slight over-approximation (a stage may not
  // redeclare an ARG) that only ever resolves more sources, never fewer.
  const vars = new Map<string, string>()
  const sources: ContextSource[] = []
  for (const ins of instructions(text)) {
    if (ins.keyword === 'ARG') {
      for (const w of words(ins.args)) {
        const [name, ...rest] = w.split('=')
        const value = name in buildArgs ? buildArgs[name] : rest.length ? rest.join('=') : undefined
        if (value !== undefined) vars.set(name, value)
      }
      continue
    }
    if (ins.keyword === 'ENV') {
      const ws = words(ins.args)
      // `ENV NAME the value` (the old form: one variable, the rest its value) or `ENV A=1 B=2`.
      // Stryker disable next-line ConditionalExpression: `ENV NAME` alone sets NAME empty in either branch
      if (ws.length >= 2 && !ws[0].includes('=')) vars.set(ws[0], ws.slice(1).join(' '))
      else
        for (const w of ws) {
          const [name, ...value] = w.split('=')
          vars.set(name, value.join('='))
        }
      continue
    }
    if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
      const ws = words(ins.args)
      const options = ws.filter((w, i) => w.startsWith('--') && ws.slice(0, i).every((x) => x.startsWith('--')))
      if (options.some((o) => o.startsWith('--from='))) continue
      // Every word but the last (the destination) is a source.
      for (const raw of ws.slice(options.length, -1)) {
        if (raw.startsWith('<<')) continue // heredoc: inline content
        // ADD fetches URLs and git repositories; COPY cannot, so there a URL is a (missing) file.
        if (ins.keyword === 'ADD' && /^([\w.+-]+:\/\/|git@)/.test(raw)) continue
        const source = substitute(raw, vars)
        if (source !== undefined) sources.push({ instruction: ins.keyword, source, line: ins.line })
      }
      continue
    }
    if (ins.keyword === 'RUN') {
      for (const m of ins.args.matchAll(/--mount=(\S+)/g)) {
        const opts = new Map(m[1].split(',').map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)] as [string, string]))
        if ((opts.get('type') ?? 'bind') !== 'bind' || opts.has('from')) continue
        const source = substitute(opts.get('source') ?? opts.get('src') ?? '.', vars)
        if (source !== undefined) sources.push({ instruction: 'RUN --mount', source, line: ins.line })
      }
    }
  }
  return sources
}

/**
 * Whether a source (relative to the context, as COPY reads it) matches something among
 * `files` (context-relative paths): the file itself, a directory holding files, or a
 * wildcard matching either. `.` and `/` mean the whole context.
 */
export function sourceExists(source: string, files: string[]): boolean {
  const clean = source.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '').replace(/\/\.$/, '')
  if (clean === '' || clean === '.') return true
  if (/[*?[]/.test(clean)) {
    const isMatch = picomatch(clean, { dot: true })
    return files.some((f) => {
      const parts = f.split('/')
      // A wildcard may match a directory: test every prefix of the path.
      return parts.some((_, i) => isMatch(parts.slice(0, i + 1).join('/')))
    })
  }
  return files.some((f) => f === clean || f.startsWith(clean + '/'))
}

/** The sources that are not in the context: each one is a file the user must add to `inputs`. */
export function missingSources(text: string, files: string[], buildArgs: Record<string, string> = {}): ContextSource[] {
  return contextSources(text, buildArgs).filter((s) => !sourceExists(s.source, files))
}

/**
 * The stages a build of the Dockerfile's last stage runs besides that one: those it
 * copies from (`COPY --from=`, `RUN --mount=from=`) or builds on (`FROM <stage>`),
 * directly or through another, by name (`AS tools`) or by number. BuildKit's inline cache
 * holds the last stage's layers only: these are the stages a fresh runner rebuilds unless
 * a full (mode=max) cache was exported.
 */
export function earlierStages(text: string): string[] {
  const stages: Array<{ name: string; base: string; uses: string[] }> = []
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const ws = words(ins.args).filter((w) => !w.startsWith('--'))
      stages.push({ name: ws[1]?.toLowerCase() === 'as' && ws[2] ? ws[2] : String(stages.length), base: ws[0] ?? '', uses: [] })
      continue
    }
    const current = stages[stages.length - 1]
    if (!current) continue
    if (ins.keyword === 'COPY' || ins.keyword === 'ADD') for (const m of ins.args.matchAll(/(?:^|\s)--from=(\S+)/g)) current.uses.push(m[1])
    if (ins.keyword === 'RUN') for (const m of ins.args.matchAll(/--mount=\S*?\bfrom=([^,\s]+)/g)) current.uses.push(m[1])
  }
  const byName = (ref: string) => stages.find((s, i) => s.name.toLowerCase() === ref.toLowerCase() || String(i) === ref)
  const needed = new Set<string>()
  const visit = (stage: (typeof stages)[number]) => {
    for (const ref of [stage.base, ...stage.uses]) {
      const dep = byName(ref)
      if (dep && dep !== stage && !needed.has(dep.name)) {
        needed.add(dep.name)
        visit(dep)
      }
    }
  }
  if (stages.length) visit(stages[stages.length - 1])
  return stages.filter((s) => needed.has(s.name)).map((s) => s.name)
}

// --- the checks before and after a build of the build image ---

/** A source the build image's inputs lack: the config error that names the fix. */
export function notInInputs(dockerfile: string, source: string): ConfigError {
  return new ConfigError(`${dockerfile} copies ${JSON.stringify(source)}, which is not in buildImage.inputs: add it to "inputs" in build.config.json`)
}

const quoted = (sources: ContextSource[]) => sources.map((s) => `${JSON.stringify(s.source)} (line ${s.line})`).join(', ')

/**
 * Refuse, before building, a Dockerfile that reads a context path the inputs do not
 * hold: every such source in one message, those in the repository (add them to the
 * inputs) told apart from those that are nowhere (fix the Dockerfile). Exit 2.
 * `listRepoFiles` gives the files git sees (tracked and untracked, not ignored); it is
 * asked only when a source is missing.
 */
export async function checkContextSources(dockerfile: string, text: string, inputs: InputFile[], config: Config, listRepoFiles: () => Promise<string[]>): Promise<void> {
  const missing = missingSources(text, inputs.map((f) => f.path), config.buildImage.buildArgs)
  if (!missing.length) return
  const repoFiles = await listRepoFiles()
  const unlisted = missing.filter((s) => sourceExists(s.source, repoFiles))
  const absent = missing.filter((s) => !unlisted.includes(s))
  const parts: string[] = []
  if (unlisted.length === 1 && !absent.length) throw notInInputs(dockerfile, unlisted[0].source)
  if (unlisted.length) {
    const one = unlisted.length === 1
    parts.push(`${quoted(unlisted)}, which ${one ? 'is' : 'are'} in the repository but not in buildImage.inputs: add ${one ? 'it' : 'them'} to "inputs" in build.config.json`)
  }
  if (absent.length) {
    const one = absent.length === 1
    parts.push(`${quoted(absent)}, which ${one ? 'is' : 'are'} not in the repository at all: fix the ${one ? 'instruction' : 'instructions'}, or create and commit the ${one ? 'file' : 'files'}`)
  }
  throw new ConfigError(`${dockerfile} copies ${parts.join('; and ')}`)
}

/** `COPY . .` and the like: the context is the inputs, not the repository, which is worth saying once. */
export function copiesWholeContext(text: string, config: Config): ContextSource | undefined {
  return contextSources(text, config.buildImage.buildArgs).find((s) => (s.source.replace(/\/\.$/, '').replace(/\/+$/, '') || '.') === '.')
}

/**
 * The source a failed COPY/ADD named, from a build's output, for what the static check
 * could not see (a .dockerignore among the inputs, a variable it could not resolve).
 * Legacy builder: `COPY failed: file not found in build context ...: stat x: file does not exist`;
 * BuildKit: `failed to compute cache key: ... "/x": not found`.
 */
export function missingFromOutput(output: string): string | undefined {
  const legacy = /(?:COPY|ADD) failed: .*?(?:stat|lstat) (\S+?): file does not exist/.exec(output)
  if (legacy) return legacy[1].replace(/^\/+/, '')
  const buildkit = /failed to (?:compute cache key|calculate checksum)[^\n]*?"\/?([^"\n]+)": not found/.exec(output)
  if (buildkit) return buildkit[1]
  const nomatch = /(?:COPY|ADD) failed: no source files were specified|lstat [^\n]*?\/([^/\n:]+): no such file or directory/.exec(output)
  return nomatch?.[1]
}
