// build.config.json: declared once, then loaded, validated, overrides applied.
// The declaration below is the file's description: it validates it (every error names
// the key path and what was expected; unknown keys are errors, so a typo (`"input"` for
// `"inputs"`) never passes silently), writes its JSON Schema, lists its keys, and is the
// TypeScript type of a validated config (`Config`, and its sections' types below it).
import { fs, path } from 'zx'
import { bool, check, ConfigError, count, fail, keyPaths, object, oneOf, optional, refine, required, str, strList, strMap, strOrList, type Checked, type JsonSchema } from './config-checks.mts'

export { ConfigError } from './config-checks.mts'
export type { JsonSchema } from './config-checks.mts'
import { globProblem } from './globs.mts'

export const CONFIG_FILE = 'build.config.json'
/** The JSON Schema of build.config.json at the package's root (`npm run schema` writes it from configJsonSchema). */
export const CONFIG_SCHEMA_FILE = 'build.config.schema.json'

/** The OIDC issuer of GitHub Actions' tokens: keyless signatures made in a workflow carry it. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com'

// `true` is GitHub's own default method (a merge commit); a method name picks that one.
const autoMergeSetting = check(
  (v, at) => (v === false ? false : v === true ? 'merge' : v === 'merge' || v === 'squash' || v === 'rebase' ? v : fail(at, 'true, false, "merge", "squash" or "rebase"', v)),
  { enum: [true, false, 'merge', 'squash', 'rebase'] },
)

// A generated entry's name is part of a branch name (`update-generated/<name>`) and of log lines.
const generatedName = check(
  (v, at) =>
    typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v) && !v.endsWith('.lock') && !v.includes('..')
      ? v
      : fail(at, 'a name of letters, digits, ".", "_" and "-" (it becomes the branch update-generated/<name>)', v),
  { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
)

// Globs over repo-relative paths (lib/core/globs.mts): nothing absolute, nothing reaching
// out of the repository.
const repoGlobs = refine(strList(1), (v, at) => {
  const list = strList(1)(v, at)
  list.forEach((p, i) => {
    const problem = globProblem(p)
    if (problem) throw new ConfigError(`${at}[${i}]: ${problem}`)
  })
  return list
})
const repoPath = refine(str, (v, at) => {
  const p = str(v, at)
  const problem = globProblem(p)
  if (problem || p.startsWith('!')) throw new ConfigError(`${at}: ${problem ?? `${JSON.stringify(p)} is not a file path`}`)
  return p
})

// steps.shard: how the test step is split across CI nodes. The units are the files git
// sees matching `units` (globs), or the lines `list` prints when run in the build image:
// exactly one of the two. `test` is the command, whose element "{units}" becomes the
// shard's units; `junit`, the JUnit file it writes (repo-relative), each shard's copy
// renamed to name the shard.
const shardFields = object(
  {
    units: optional(repoGlobs),
    list: optional(strList(1)),
    test: required(strList(1)),
    junit: optional(repoPath),
  },
  { oneOf: [{ required: ['units'] }, { required: ['list'] }] },
)
const shardSection = refine(shardFields, (v, at) => {
  const shard = shardFields(v, at)
  if ((shard.units === undefined) === (shard.list === undefined)) {
    throw new ConfigError(`${at}: set exactly one of units (globs of files) or list (a command printing one unit per line)`)
  }
  if (!shard.test.includes('{units}')) {
    fail(`${at}.test`, 'a command with the element "{units}" (it becomes the shard\'s units, one argument each)', shard.test)
  }
  return shard
})

// trust.team: `org/team-slug`, as GitHub spells them (an organisation login, a team's slug).
const TEAM_SLUG = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\/[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$/
const teamSlug = check(
  (v, at) =>
    typeof v === 'string' && TEAM_SLUG.test(v) ? v : fail(at, 'a team as "org/team-slug" (the slug as in the team\'s URL: lowercase letters, digits, "-" and "_")', v),
  { type: 'string', pattern: TEAM_SLUG.source },
)

const regexp = refine(str, (v, at) => {
  const source = str(v, at)
  try {
    new RegExp(source)
  } catch (error) {
    throw new ConfigError(`${at}: not a regular expression: ${(error as Error).message}`)
  }
  return source
}, { format: 'regex' })

// signing: who must have signed an image. A key pair (`publicKey`, a repo-relative path
// to cosign's public key; the publishing job signs with COSIGN_PRIVATE_KEY and
// COSIGN_PASSWORD), or keyless signing: `identity`, the certificate identity (the
// publishing workflow, `https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main`),
// or `identityRegexp` (main and release tags: `...ci\.yml@refs/(heads/main|tags/v.*)$`),
// and `issuer`, the OIDC issuer (GitHub Actions' by default). Exactly one of the three.
const signingFields = object(
  { publicKey: optional(repoPath), identity: optional(str), identityRegexp: optional(regexp), issuer: optional(str) },
  { oneOf: [{ required: ['publicKey'] }, { required: ['identity'] }, { required: ['identityRegexp'] }] },
)
const signingSection = refine(signingFields, (v, at) => {
  const signing = signingFields(v, at)
  const set = (['publicKey', 'identity', 'identityRegexp'] as const).filter((key) => signing[key] !== undefined)
  if (set.length !== 1) {
    throw new ConfigError(
      `${at}: set exactly one of publicKey (the path of cosign's public key), identity or identityRegexp (the keyless signer's certificate identity)${set.length ? `, not ${set.join(' and ')}` : ''}`,
    )
  }
  if (signing.publicKey !== undefined && signing.issuer !== undefined) {
    throw new ConfigError(`${at}.issuer: only with identity or identityRegexp (a key pair has no issuer)`)
  }
  for (const key of Object.keys(signing) as Array<keyof typeof signing>) if (signing[key] === undefined) delete signing[key]
  if (!signing.publicKey) signing.issuer ??= GITHUB_ACTIONS_ISSUER
  return signing
})

// ecr.moveTags: tag names, `*` matching any run of characters (ECR's WILDCARD filters).
const ECR_TAG_FILTER = /^[A-Za-z0-9_.*-]{1,128}$/
const ecrTagFilters = check(
  (v, at) => {
    const list = strList()(v, at)
    list.forEach((tag, i) => {
      if (!ECR_TAG_FILTER.test(tag)) fail(`${at}[${i}]`, 'a tag name (letters, digits, "_", ".", "-"), "*" matching any characters', tag)
    })
    return list
  },
  { type: 'array', items: { type: 'string', pattern: ECR_TAG_FILTER.source } },
)

const generatedEntry = object({ name: required(generatedName), command: required(strList(1)), paths: required(repoGlobs) })

// The sections whose defaults are read elsewhere (`defaultCherryPick()`, ...): each
// default is written once, in its key's declaration.
const cherryPickSection = object({
  labelPrefix: optional(str, () => 'cherry-pick/'),
  targetBranches: optional(strOrList, () => ['release-*']),
  reviewers: optional(bool, () => false, "request reviews on the pick's pull request from the original's requested reviewers"),
  milestone: optional(bool, () => false, "put the pick's pull request in the original's milestone"),
  autoMerge: optional(autoMergeSetting, () => false, "enable auto-merge on the pick's pull request: true (a merge commit) or the method; false leaves it off"),
})

const pruneSection = object({
  keepRecent: optional(count, () => 20),
  graceDays: optional(count, () => 14),
  finalImage: optional(bool, () => false),
  // registry: the registry API's DELETE by digest; github-packages: GitHub's Packages API,
  // by package version id (what ghcr.io needs); auto: github-packages for ghcr.io, the
  // registry API elsewhere.
  backend: optional(oneOf('auto', 'registry', 'github-packages'), () => 'auto'),
})

const ecrSection = object({
  createRepositories: optional(bool, () => false, 'create a missing repository before the first push (push-images, pull-or-build --push)'),
  // ECR's own names (CreateRepository's `imageTagMutability`).
  tagMutability: optional(oneOf('MUTABLE', 'IMMUTABLE'), () => 'MUTABLE', 'the tag mutability of the repositories it creates'),
  // Every other moving tag in an immutable repository (say one with an exclusion filter)
  // is skipped with a warning; a refusal of one of these is an error.
  moveTags: optional(ecrTagFilters, () => [], 'moving tags (`*` as wildcard) pushed even where the repository holds them immutable'),
})

/** The `cherryPick` section when the file leaves it out (or there is no file: see `optional`). */
export const defaultCherryPick = (): CherryPickConfig => cherryPickSection({}, 'cherryPick')
/** The `ecr` section's defaults (also on an ECR host without the section). */
export const defaultEcr = (): EcrConfig => ecrSection({}, 'ecr')
/** The `prune` section when the file leaves it out. */
export const defaultPrune = (): PruneConfig => pruneSection({}, 'prune')

const schema = object({
  registry: optional(str, undefined, 'where build and final images live, e.g. ghcr.io/acme; absent: local-only (the local daemon is the cache). REGISTRY and --registry override it'),
  defaultBranch: optional(str, undefined, 'the default branch, for the tag policy; absent: asked of git and CI'),
  // A release tag on a commit of any other branch is refused.
  releaseBranches: optional(strOrList, undefined, 'globs of the branches besides the default one whose commits may be released; absent: cherryPick.targetBranches'),
  buildImage: required(
    object({
      name: required(str),
      dockerfile: optional(repoPath, () => 'Dockerfile.build'),
      inputs: required(repoGlobs, 'globs over repo-relative paths of the files that define the build image: its tag is their hash'),
      buildArgs: optional(strMap, () => ({})),
    }),
  ),
  image: optional(
    object({
      name: required(str),
      dockerfile: optional(str, () => 'Dockerfile'),
      context: optional(str, () => '.'),
    }),
  ),
  steps: optional(
    object({
      test: optional(strList(1)),
      build: optional(strList(1)),
      integration: optional(strList(1)),
      env: optional(strList(), () => [], 'env var names (or PREFIX*) passed into the test and build container, besides CI and GitHub\'s and CircleCI\'s default variables'),
      integrationEnv: optional(strList(), () => [], 'the only env var names (besides CI\'s own) passed into the integration container'),
      // For test suites that drive Docker themselves: the socket and its group, the host
      // network, the temp directory at its own path.
      docker: optional(bool, () => false, 'give the steps the host\'s Docker Engine (its socket, the host network)'),
      shard: optional(shardSection, undefined, 'split the test step across CI nodes (test-and-build --shard K/N)'),
    }),
    () => ({ env: [], integrationEnv: [], docker: false }),
  ),
  cherryPick: optional(cherryPickSection, () => defaultCherryPick()),
  prune: optional(pruneSection, () => defaultPrune(), 'what the registry clean-up (prune-images) keeps'),
  // The bots: approving integration runs, `/cherry-pick`.
  trust: optional(object({ team: optional(teamSlug, undefined, 'org/team-slug: its active members are trusted as people with write access are') }), () => ({}), 'who the bots trust besides people with write, maintain or admin access'),
  // The publishing job signs the build image and the final image by digest, and an image
  // under a content tag whose signature does not verify is treated as absent.
  signing: optional(signingSection, undefined, 'image signatures (cosign): publicKey, or identity / identityRegexp (keyless); absent: nothing is signed or verified'),
  // Amazon ECR, and any registry configured with this section: whether push-images and
  // pull-or-build --push create a missing repository, with which tag mutability, and
  // which tags to move even in an immutable repository.
  ecr: optional(ecrSection, undefined, 'Amazon ECR; absent: on an ECR host the defaults apply, elsewhere nothing ECR-specific'),
  generated: optional(
    refine({ type: 'array', items: generatedEntry.schema }, (v, at) => {
      if (!Array.isArray(v)) fail(at, 'an array', v)
      const entries = v.map((item, i) => generatedEntry(item, `${at}[${i}]`))
      const names = entries.map((e) => e.name)
      const dup = names.find((n, i) => names.indexOf(n) !== i)
      if (dup) throw new ConfigError(`${at}: the name ${JSON.stringify(dup)} is used twice`)
      return entries
    }),
    () => [],
  ),
  $schema: optional(str, undefined, 'the JSON Schema of this file, for editors (init writes it); not read otherwise'),
})

/** build.config.json once validated (`validateConfig`, `loadConfig`): the declaration's type, its defaults filled in. */
export type Config = Checked<typeof schema>
/** `steps.shard`. */
export type ShardConfig = Checked<typeof shardSection>
/** `signing`: a key pair or a keyless identity. */
export type SigningConfig = Checked<typeof signingSection>
/** `ecr`. */
export type EcrConfig = Checked<typeof ecrSection>
/** Tag mutability as ECR names it (CreateRepository's `imageTagMutability`). */
export type TagMutability = EcrConfig['tagMutability']
/** `cherryPick`. */
export type CherryPickConfig = Checked<typeof cherryPickSection>
/** How the pick's pull request merges itself once its checks pass (`cherryPick.autoMerge`). */
export type AutoMergeMethod = Exclude<CherryPickConfig['autoMerge'], false>
/** An entry of `generated`. */
export type GeneratedFile = Checked<typeof generatedEntry>
/** `prune`: what the registry clean-up keeps, and how it deletes. */
export type PruneConfig = Checked<typeof pruneSection>
/** How prune-images deletes (`prune.backend`). */
export type PruneBackendSetting = PruneConfig['backend']


/**
 * The JSON Schema of build.config.json, from the same declarations that validate it:
 * what editors complete and check (`"$schema"`, which init writes). Two rules only the
 * validator knows: the build image's name is a lowercase image name, and
 * steps.shard.test holds the element "{units}".
 */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'build.config.json of ci-build-scripts',
    ...schema.schema,
  }
}

/** Every key build.config.json may hold, as key paths (`buildImage.inputs`, `generated[].name`), parents first. */
export function configKeys(): string[] {
  return keyPaths(schema.schema)
}

/** Validate an already-parsed config object. `source` names the file in messages. */
export function validateConfig(raw: unknown, source = CONFIG_FILE): Config {
  try {
    const config = schema(raw, '') as Config
    // A tag must be reproducible: the name is part of every ref, so check its shape early.
    if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(config.buildImage.name)) {
      throw new ConfigError(`buildImage.name: expected a lowercase image name like "acme-build", got ${JSON.stringify(config.buildImage.name)}`)
    }
    return config
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${source}: ${error.message}`)
    throw error
  }
}

/**
 * JSON.parse's message with the line and column instead of a character position
 * (`Unexpected token } in JSON at position 118` -> `line 7, column 3: Unexpected token }`).
 * Node 20 says `at position N`; Node 22 also says `(line L column C)`.
 */
export function jsonErrorAt(text: string, message: string): string {
  const m = /\s*(?:in JSON )?at position (\d+)(?: \(line \d+ column \d+\))?/.exec(message)
  const bare = message.replace(/^JSON\.parse: /, '')
  if (!m) return /end of (JSON|data) input/i.test(message) ? `line ${text.split('\n').length}: ${bare} (the file ends early)` : bare
  const before = text.slice(0, Number(m[1]))
  const line = before.split('\n').length
  const column = Number(m[1]) - before.lastIndexOf('\n')
  return `line ${line}, column ${column}: ${bare.replace(m[0], '').trim()}`
}

export interface LoadOptions {
  /** The repository root; the config is `<root>/build.config.json` unless `file` is given. */
  root: string
  /** An explicit config path (`--config`), relative to the current directory. */
  file?: string
  /** `--registry`: beats the env and the file. */
  registry?: string
  env?: NodeJS.ProcessEnv
  /**
   * For scripts that need no build image (cherry-pick): when `<root>/build.config.json`
   * does not exist, resolve to undefined instead of failing, and the caller uses its
   * defaults. A file that exists is validated in full; an explicit `file` must exist.
   */
  optional?: boolean
}

/**
 * Read and validate the config, then apply overrides: the `REGISTRY` env var beats the
 * file, a `--registry` flag beats both. An empty value means "no registry" (local-only).
 */
export async function loadConfig(options: LoadOptions & { optional: true }): Promise<Config | undefined>
export async function loadConfig(options: LoadOptions): Promise<Config>
export async function loadConfig({ root, file, registry, env = process.env, optional = false }: LoadOptions): Promise<Config | undefined> {
  const where = file ? path.resolve(file) : path.join(root, CONFIG_FILE)
  const shown = file ?? CONFIG_FILE
  let text: string
  try {
    text = await fs.readFile(where, 'utf8')
  } catch (error) {
    if (optional && !file && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`${shown}: not found at ${where} (create it, or pass --config FILE)`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${shown}: not valid JSON: ${jsonErrorAt(text, (error as Error).message)}`)
  }
  const config = validateConfig(raw, shown)
  const override = registry ?? env.REGISTRY
  if (override !== undefined) config.registry = override.trim() === '' ? undefined : override.trim()
  if (config.registry) config.registry = config.registry.replace(/\/+$/, '')
  return config
}
