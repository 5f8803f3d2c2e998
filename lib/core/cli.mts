// Argument parsing, exit codes and the one top-level error handler every script uses.
//   exit 0: done; exit 1: the work failed; exit 2: bad usage or bad configuration.
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

export interface FlagSpec {
  /** Shown by --help: usage line, description, flags. */
  usage: string
  boolean?: readonly string[]
  string?: readonly string[]
  /** Flags that may be given more than once (`--to a --to b`). */
  repeatable?: readonly string[]
  alias?: Record<string, string>
  default?: Record<string, unknown>
  /** The script takes operands (`merge-reports PATH...`): positional arguments are allowed. */
  operands?: boolean
}

type Names<List> = List extends readonly (infer Name extends string)[] ? Name : never

/**
 * The parsed flags, typed from the spec: booleans are booleans, strings are a string or
 * absent (`--registry ''` stays ''), repeatables are lists.
 */
export type Flags<S extends FlagSpec = FlagSpec> = { _: string[] } & { [K in Names<S['boolean']>]: boolean } & {
  [K in Names<S['string']>]?: string
} & { [K in Names<S['repeatable']>]: string[] }

/**
 * Parse argv strictly: unknown flags and missing values are usage errors (exit 2),
 * `--help` prints the usage to stdout and returns null (the caller exits 0).
 */
export function parseFlags<const S extends FlagSpec>(args: string[], spec: S): Flags<S> | null {
  const strings = [...(spec.string ?? []), ...(spec.repeatable ?? [])]
  const booleans = [...(spec.boolean ?? []), 'help']
  const known = new Set([...strings, ...booleans, ...Object.keys(spec.alias ?? {})])
  const flags = minimist(args, {
    boolean: booleans,
    string: strings,
    alias: { h: 'help', ...spec.alias },
    default: spec.default,
    unknown: (arg: string) => {
      if (!arg.startsWith('-')) return true
      const name = arg.replace(/^--?(no-)?/, '').split('=')[0]
      if (known.has(name) || name === 'h') return true
      throw new UsageError(`unknown flag ${arg} (see --help)`)
    },
  }) as Record<string, unknown> & { _: string[] }
  if (flags.help) {
    process.stdout.write(spec.usage.trim() + '\n')
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
    if (!spec.repeatable?.includes(name) && Array.isArray(value)) {
      throw new UsageError(`--${name} was given more than once`)
    }
  }
  for (const name of spec.repeatable ?? []) {
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
