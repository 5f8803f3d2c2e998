// Argument parsing, exit codes and the one top-level error handler every script uses.
//   exit 0: done; exit 1: the work failed; exit 2: bad usage or bad configuration.
import path from 'node:path'
import { minimist, ProcessOutput } from 'zx'
import { failure, redact } from './log.mts'

/** Bad flags, bad config, bad input: the user must change how they call us. Exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2
}

/** The work itself failed (a build, a push, a conflicting pick). Exit 1 unless told otherwise. */
export class WorkError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.exitCode = exitCode
  }
}

/** One flag: its kind, the placeholder of its value, and the line --help shows for it. */
export interface FlagDef {
  /** A switch (the default), one value, or a value that may be given more than once (`--to a --to b`). */
  type?: 'boolean' | 'string' | 'repeatable'
  /** The value's name in --help (`DIR` in `--repo DIR`); string and repeatable flags. */
  value?: string
  /** A switch that is on unless `--no-<name>` is given; --help shows `--no-<name>`. */
  default?: true
  /** What it does, one paragraph: --help wraps it. */
  help: string
}

/**
 * A script's interface, declared once: --help is generated from it (`helpText`), the
 * parser takes its flags from it, and tests/unit/script-interfaces.test.mts checks the
 * flag tables of scripts/README.md against it.
 */
export interface CommandSpec {
  /** The script's name: scripts/<name>.mts, `npx ci-build-scripts <name>`. */
  name: string
  /** What follows the command in the usage line (default `[options]`); more lines for more forms. */
  synopsis?: readonly string[]
  /** What the script does, after the usage line. */
  about: string
  flags: Readonly<Record<string, FlagDef>>
  /** Environment, exit codes and the like, after the flags. */
  more?: string
  /** The script takes operands (`merge-reports PATH...`): positional arguments are allowed. */
  operands?: boolean
}

/** The flags every script that works on a repository and its config takes. */
export const PROJECT_FLAGS = {
  repo: { type: 'string', value: 'DIR', help: 'the repository (default: the one containing the current directory)' },
  config: { type: 'string', value: 'FILE', help: 'the config file (default: <repo>/build.config.json)' },
  registry: { type: 'string', value: 'HOST', help: 'override the registry (env: REGISTRY; empty = local-only)' },
} as const satisfies Record<string, FlagDef>

type FlagValue<D> = D extends { type: 'string' } ? string | undefined : D extends { type: 'repeatable' } ? string[] : boolean

/**
 * The parsed flags, typed from the spec: booleans are booleans, strings are a string or
 * absent (`--registry ''` stays ''), repeatables are lists.
 */
export type Flags<S extends CommandSpec = CommandSpec> = { _: string[] } & { -readonly [K in keyof S['flags']]: FlagValue<S['flags'][K]> }

/**
 * The command that runs `script` where its text is read: `npx ci-build-scripts <script>`
 * when this process was started by the package's command (an adopter's repository, the
 * runtime image), `npx zx scripts/<script>.mts` when zx runs the source (this repository).
 */
export function commandFor(script: string, argv1 = process.argv[1] ?? ''): string {
  return /^ci-build-scripts(\.mjs)?$/.test(path.basename(argv1)) ? `npx ci-build-scripts ${script}` : `npx zx scripts/${script}.mts`
}

/** Words of `text` in lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines
}

const HELP_WIDTH = 88
const FLAG_COLUMN = 21

/** The --help of a script: usage lines, what it does, every flag with its help, the rest. */
export function helpText(spec: CommandSpec, command = commandFor(spec.name)): string {
  const synopsis = spec.synopsis ?? ['[options]']
  const usage = synopsis.map((s, i) => `${i === 0 ? 'Usage: ' : '       '}${command} ${s}`.trimEnd())
  const flags = Object.entries(spec.flags).map(([name, def]) => {
    const left = `  --${def.default ? 'no-' : ''}${name}${def.value ? ` ${def.value}` : ''}`
    const [first, ...rest] = wrap(def.help, HELP_WIDTH - FLAG_COLUMN)
    const head = left.length < FLAG_COLUMN - 1 ? `${left.padEnd(FLAG_COLUMN)}${first}` : `${left}\n${' '.repeat(FLAG_COLUMN)}${first}`
    return [head, ...rest.map((l) => ' '.repeat(FLAG_COLUMN) + l)].join('\n')
  })
  flags.push('  -h, --help'.padEnd(FLAG_COLUMN) + 'show this help')
  const parts = [usage.join('\n'), spec.about.trim(), `Options:\n${flags.join('\n')}`]
  if (spec.more) parts.push(spec.more.trim())
  return parts.join('\n\n') + '\n'
}

/**
 * Parse argv strictly: unknown flags and missing values are usage errors (exit 2),
 * `--help` prints the usage to stdout and returns null (the caller exits 0).
 */
export function parseFlags<const S extends CommandSpec>(args: string[], spec: S): Flags<S> | null {
  const defs = Object.entries(spec.flags)
  const repeatable = defs.filter(([, d]) => d.type === 'repeatable').map(([n]) => n)
  const strings = defs.filter(([, d]) => d.type === 'string' || d.type === 'repeatable').map(([n]) => n)
  const booleans = [...defs.filter(([, d]) => (d.type ?? 'boolean') === 'boolean').map(([n]) => n), 'help']
  const known = new Set([...strings, ...booleans])
  const flags = minimist(args, {
    boolean: booleans,
    string: strings,
    alias: { h: 'help' },
    default: Object.fromEntries(defs.filter(([, d]) => d.default).map(([n]) => [n, true])),
    unknown: (arg: string) => {
      if (!arg.startsWith('-')) return true
      const name = arg.replace(/^--?(no-)?/, '').split('=')[0]
      if (known.has(name) || name === 'h') return true
      throw new UsageError(`unknown flag ${arg} (see --help)`)
    },
  }) as Record<string, unknown> & { _: string[] }
  if (flags.help) {
    process.stdout.write(helpText(spec))
    return null
  }
  // No script takes positional arguments: one would be silently ignored, and the run
  // would target the current directory's repository, or run every step.
  if (flags._.length && !spec.operands) throw new UsageError(unexpectedArgument(String(flags._[0]), strings))
  for (const name of strings) {
    const value = flags[name]
    const values = Array.isArray(value) ? value : [value]
    if (values.some((v) => v === '' && args.some((a) => a === `--${name}`))) {
      throw new UsageError(`--${name} needs a value`)
    }
    if (!repeatable.includes(name) && Array.isArray(value)) {
      throw new UsageError(`--${name} was given more than once`)
    }
  }
  for (const name of repeatable) {
    const value = flags[name]
    flags[name] = value === undefined ? [] : Array.isArray(value) ? value : [value]
  }
  return flags as Flags<S>
}

/** `unexpected argument "test" (did you mean --only test, or --repo DIR?)`: the flags it may have meant. */
function unexpectedArgument(arg: string, strings: string[]): string {
  const guesses: string[] = []
  if (strings.includes('only')) guesses.push(`--only ${arg}`)
  if (strings.includes('repo')) guesses.push(arg.includes('/') || arg === '.' || arg === '..' ? `--repo ${arg}` : '--repo DIR')
  const hint = guesses.length ? `did you mean ${guesses.join(', or ')}?` : 'see --help'
  return `unexpected argument ${JSON.stringify(arg)} (${hint})`
}

/** The string value of a flag, or undefined when absent. */
export function flag<F extends object>(flags: F, name: keyof F & string): string | undefined {
  const value = (flags as Record<string, unknown>)[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Turn any thrown value into the one-line report and exit code the conventions promise. */
export function reportError(error: unknown): number {
  if (error instanceof UsageError || error instanceof WorkError) {
    failure(`Error: ${error.message}`)
    return error.exitCode
  }
  if (error instanceof ProcessOutput) {
    const detail = error.stderr.trim().split('\n').slice(-5).join('\n') || `exit code ${error.exitCode}`
    failure(`Error: a command failed: ${detail}`)
    return 1
  }
  process.stderr.write(redact(error instanceof Error ? (error.stack ?? error.message) : String(error)) + '\n')
  return 1
}

/**
 * The top-level handler. Sets process.exitCode rather than calling process.exit(), so
 * buffered output is never cut short. The body may return an exit code.
 */
export async function main(body: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? 0
  } catch (error) {
    process.exitCode = reportError(error)
  }
}
