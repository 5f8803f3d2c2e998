// A tiny schema checker for build.config.json, with messages a human can act on: every
// error names the key path and what was expected. Each check also carries the JSON
// Schema of what it accepts, and is typed by what it returns, so the file is described
// once: the same declarations validate it, write the schema editors read (`$schema`),
// list its keys and give the TypeScript type of a validated config (`Checked<...>`).
import { UsageError } from './cli.mts'

export class ConfigError extends UsageError {}

/** The part of JSON Schema (draft 2020-12) the checks write. */
export interface JsonSchema {
  $schema?: string
  $id?: string
  title?: string
  description?: string
  type?: 'string' | 'integer' | 'boolean' | 'array' | 'object'
  enum?: readonly unknown[]
  pattern?: string
  format?: string
  minLength?: number
  minimum?: number
  minItems?: number
  items?: JsonSchema
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  default?: unknown
}

/** Check `value` at key path `at`: return it (normalised, a `T`) or throw a ConfigError. */
export type Check<T = unknown> = ((value: unknown, at: string) => T) & { schema: JsonSchema }

/** The type of what a check returns: a config section's TypeScript type. */
export type Checked<C extends Check> = C extends Check<infer T> ? T : never

/** A check with the schema of what it accepts; its type is what `fn` returns. */
export function check<T>(fn: (value: unknown, at: string) => T, schema: JsonSchema): Check<T> {
  return Object.assign(fn, { schema })
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  return `the ${typeof value} ${String(value)}`
}

export function fail(at: string, expected: string, value: unknown): never {
  throw new ConfigError(`${at}: expected ${expected}, got ${describe(value)}`)
}

export const str = check((v, at) => (typeof v === 'string' && v.trim() !== '' ? v : fail(at, 'a non-empty string', v)), { type: 'string', pattern: '\\S' })

// Stryker disable next-line ConditionalExpression: Number.isInteger is false for anything but a number; the typeof is what types the value
export const count = check((v, at) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fail(at, 'a whole number, 0 or more', v)), {
  type: 'integer',
  minimum: 0,
})

export const bool = check((v, at) => (typeof v === 'boolean' ? v : fail(at, 'true or false', v)), { type: 'boolean' })

/** One of these strings; typed as their union. */
export const oneOf = <const V extends readonly string[]>(...values: V): Check<V[number]> => {
  // Stryker disable next-line ConditionalExpression: includes is false for anything but one of the strings; the typeof is what lets it take `v`
  const isOne = (v: unknown): v is V[number] => typeof v === 'string' && values.includes(v)
  return check((v, at) => (isOne(v) ? v : fail(at, values.map((x) => JSON.stringify(x)).join(', ').replace(/, ([^,]*)$/, ' or $1'), v)), {
    enum: values,
  })
}

export const strList = (min = 0): Check<string[]> =>
  check(
    (v, at) => {
      if (!Array.isArray(v)) fail(at, 'an array of strings', v)
      if (v.length < min) fail(at, `at least ${min} entr${min === 1 ? 'y' : 'ies'}`, v)
      return v.map((item, i) => str(item, `${at}[${i}]`))
    },
    { type: 'array', items: str.schema, ...(min ? { minItems: min } : {}) },
  )

export const strOrList = check((v, at) => (typeof v === 'string' ? [str(v, at)] : strList(1)(v, at)), { anyOf: [str.schema, strList(1).schema] })

export const strMap = check(
  (v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'an object of strings', v)
    for (const [k, item] of Object.entries(v)) if (typeof item !== 'string') fail(`${at}.${k}`, 'a string', item)
    return v as Record<string, string>
  },
  { type: 'object', additionalProperties: { type: 'string' } },
)

/**
 * Whether an object's key must be given (`required`), is filled in when absent
 * (`defaulted`: validation always returns it), or may stay absent (`optional`).
 */
export type Presence = 'required' | 'defaulted' | 'optional'

export interface Field<T = unknown, P extends Presence = Presence> {
  check: Check<T>
  presence: P
  default?: () => T
  /** What the key means, for editors (the schema's description). */
  doc?: string
}

export const required = <T,>(check: Check<T>, doc?: string): Field<T, 'required'> => ({ check, presence: 'required', doc })

/** A key that may be absent: then `fallback()` is its value (`defaulted`), or it stays absent. */
export function optional<T>(check: Check<T>, fallback: NoInfer<() => T>, doc?: string): Field<T, 'defaulted'>
export function optional<T>(check: Check<T>, fallback?: undefined, doc?: string): Field<T, 'optional'>
export function optional<T>(check: Check<T>, fallback?: () => T, doc?: string): Field<T> {
  return fallback ? { check, presence: 'defaulted', default: fallback, doc } : { check, presence: 'optional', doc }
}

/** The type `object(fields)` returns: its required and defaulted keys always there, its optional keys maybe. */
export type Validated<F extends Record<string, Field>> = Flat<
  { [K in keyof F as F[K]['presence'] extends 'optional' ? never : K]: Checked<F[K]['check']> } & {
    [K in keyof F as F[K]['presence'] extends 'optional' ? K : never]?: Checked<F[K]['check']>
  }
>
/** One object type instead of an intersection, as editors show it. */
type Flat<T> = { [K in keyof T]: T[K] }

/** The schema of a field: its check's, with its description and default. */
function fieldSchema(field: Field): JsonSchema {
  const value = field.default?.()
  return { ...field.check.schema, ...(field.doc ? { description: field.doc } : {}), ...(value !== undefined ? { default: value } : {}) }
}

/** An object with exactly these keys (those without a default are required). */
export function object<F extends Record<string, Field>>(fields: F, extra: JsonSchema = {}): Check<Validated<F>> {
  const schema: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, fieldSchema(field)])),
    required: Object.entries(fields)
      .filter(([, field]) => field.presence === 'required')
      .map(([key]) => key),
    additionalProperties: false,
    ...extra,
  }
  if (!schema.required!.length) delete schema.required
  return check((v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'an object', v)
    const input = v as Record<string, unknown>
    for (const key of Object.keys(input)) {
      if (!(key in fields)) {
        const known = Object.keys(fields).join(', ')
        throw new ConfigError(`${at ? `${at}.` : ''}${key}: unknown key (known keys here: ${known})`)
      }
    }
    const out: Record<string, unknown> = {}
    for (const [key, field] of Object.entries(fields)) {
      const where = at ? `${at}.${key}` : key
      if (input[key] === undefined) {
        if (field.presence === 'required') throw new ConfigError(`${where}: required, missing`)
        out[key] = field.default?.()
      } else out[key] = field.check(input[key], where)
    }
    return out as Validated<F>
  }, schema)
}

/** A check whose own rules go beyond its schema's (a cross-field rule, a name's shape): `base`'s schema plus `extra`. */
export const refine = <T,>(base: Check | JsonSchema, fn: (value: unknown, at: string) => T, extra: JsonSchema = {}): Check<T> =>
  check(fn, { ...('schema' in base ? (base as Check).schema : base), ...extra })

/**
 * Every key path a schema describes, parents before children: `buildImage`,
 * `buildImage.name`, ...; an array's items as `generated[].name`.
 */
export function keyPaths(schema: JsonSchema, at = ''): string[] {
  const paths: string[] = []
  // Only an array's schema has `items`.
  if (schema.items?.properties) return keyPaths(schema.items, `${at}[]`)
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const where = at ? `${at}.${key}` : key
    paths.push(where, ...keyPaths(sub, where))
  }
  return paths
}
