// The build image's content tag: a git object id over the declared inputs.
//
//   manifest = one `git ls-tree` line per input file, over the working-tree content
//   tag      = git hash-object of the manifest
//
// On a clean tree (and no build args) that is exactly
//   git ls-tree -r --full-tree HEAD -- <inputs> | git hash-object --stdin
// the formula a Makefile can use for the same tag. A dirty input gives the tag of its new
// content. Git runs a fixed number of times whatever the number of inputs.
import { fs, path } from 'zx'
import { CONFIG_FILE, ConfigError, validateConfig, type Config } from '../core/config.mts'
import { compileGlobs } from '../core/globs.mts'
import { blobId, compareBytes, git, hashFiles, listWorktreeFiles, quoteGitPath, type RepoInfo } from '../core/git.mts'

export interface InputFile {
  path: string
  mode: '100644' | '100755' | '120000'
  id: string
}

export interface BuildImageTag {
  tag: string
  /** `<registry>/<name>:<tag>`, or `<name>:<tag>` in local-only mode. */
  image: string
  manifest: string
  inputs: InputFile[]
}

/**
 * Which files the inputs name: the Dockerfile always, then each glob (the repository
 * glob rules of lib/core/globs.mts; the config has already refused globs that reach
 * outside the repository). A pattern that matches nothing is an error.
 */
export function selectInputs(files: string[], dockerfile: string, patterns: string[]): string[] {
  const fileSet = new Set(files)
  if (!fileSet.has(dockerfile)) {
    throw new ConfigError(`buildImage.dockerfile: ${JSON.stringify(dockerfile)} is not in the repository (or is ignored by git)`)
  }
  const { includes, excluded } = compileGlobs(patterns)
  const selected = new Set([dockerfile])
  for (const glob of includes) {
    const matched = files.filter(glob.matches)
    if (matched.length === 0) {
      throw new ConfigError(`buildImage.inputs: ${JSON.stringify(glob.pattern)} matches no file (files ignored by git do not count)`)
    }
    for (const file of matched) selected.add(file)
  }
  return [...selected].filter((f) => f === dockerfile || !excluded(f)).sort(compareBytes)
}

/** Mode and blob id of each input as it is in the working tree. */
export async function describeInputs(repo: RepoInfo, paths: string[]): Promise<InputFile[]> {
  const modes = new Map<string, InputFile['mode']>()
  const links = new Map<string, string>()
  for (const p of paths) {
    const full = path.join(repo.root, p)
    // Synchronous on purpose: ten thousand lstat calls are several times faster this way.
    const stat = fs.lstatSync(full, { throwIfNoEntry: false })
    if (!stat) continue // tracked but deleted in the working tree: not an input any more
    if (stat.isSymbolicLink()) {
      const target = fs.readlinkSync(full)
      const inside = path.relative(repo.root, path.resolve(path.dirname(full), target))
      if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
        throw new ConfigError(`buildImage.inputs: ${p} is a symlink pointing outside the repository (${target})`)
      }
      links.set(p, target)
      modes.set(p, '120000')
    } else if (stat.isFile()) modes.set(p, stat.mode & 0o111 ? '100755' : '100644')
    else throw new ConfigError(`buildImage.inputs: ${p} is not a regular file (a submodule?)`)
  }
  const ids = await hashFiles(
    repo.root,
    paths.filter((p) => modes.has(p) && !links.has(p)),
  )
  return paths
    .filter((p) => modes.has(p))
    .map((p) => ({
      path: p,
      mode: modes.get(p)!,
      id: links.has(p) ? blobId(links.get(p)!, repo.objectFormat) : ids.get(p)!,
    }))
}

/** The manifest text: `git ls-tree` lines, then one line per build arg. */
export function manifestText(inputs: InputFile[], buildArgs: Record<string, string>): string {
  const lines = inputs.map((f) => `${f.mode} blob ${f.id}\t${quoteGitPath(f.path)}`)
  for (const key of Object.keys(buildArgs).sort(compareBytes)) {
    lines.push(`build-arg ${key}=${JSON.stringify(buildArgs[key])}`)
  }
  return lines.map((l) => l + '\n').join('')
}

/** `<registry>/<name>` or `<name>`: the repository part of the build image's ref. */
export function buildImageRepository(config: Config): string {
  return config.registry ? `${config.registry}/${config.buildImage.name}` : config.buildImage.name
}

/** Compute the build image's tag for the repository's working tree. */
export async function computeBuildImageTag(repo: RepoInfo, config: Config): Promise<BuildImageTag> {
  const files = await listWorktreeFiles(repo.root)
  const paths = selectInputs(files, config.buildImage.dockerfile, config.buildImage.inputs)
  const inputs = await describeInputs(repo, paths)
  const manifest = manifestText(inputs, config.buildImage.buildArgs)
  const tag = blobId(manifest, repo.objectFormat)
  return { tag, image: `${buildImageRepository(config)}:${tag}`, manifest, inputs }
}

/** The tag of a commit, or why it has none (no config there, or one that does not validate). */
export type TagAtCommit = { commit: string; tag: string } | { commit: string; tag: null; reason: string }

/**
 * The build image's tag at `commit`, from git objects alone (no checkout, no working
 * tree): the config and the inputs as that commit has them. Equal to what image-tag
 * prints on a clean checkout of the commit. Two git processes, whatever the inputs.
 * `configFile` is the config's path inside the repository.
 */
export async function buildImageTagAt(repo: RepoInfo, commit: string, configFile = CONFIG_FILE): Promise<TagAtCommit> {
  // `--end-of-options`: a ref name that starts with '-' (from a remote) stays a ref.
  const listing = await git(repo.root)`git ls-tree -r -z --full-tree --end-of-options ${commit}`
  const blobs = treeBlobs(listing.stdout)
  return tagOfTree(repo, commit, blobs, configFile, new Map())
}

/** A commit's files: path -> mode and blob id (regular files and symlinks). */
type TreeBlobs = Map<string, { mode: InputFile['mode']; id: string }>

/** The blobs of `git ls-tree -r -z` output (submodules, which are not blobs, left out). */
export function treeBlobs(listing: string): TreeBlobs {
  const blobs: TreeBlobs = new Map()
  for (const record of listing.split('\0')) {
    const m = /^(\d{6}) blob ([0-9a-f]+)\t([\s\S]+)/.exec(record)
    if (m) blobs.set(m[3], { mode: m[1] as InputFile['mode'], id: m[2] })
  }
  return blobs
}

/** The tag of one commit's tree; `configs` caches the parsed config by blob id (commits mostly share one). */
async function tagOfTree(repo: RepoInfo, commit: string, blobs: TreeBlobs, configFile: string, configs: Map<string, Promise<Config | ConfigError>>): Promise<TagAtCommit> {
  const configBlob = blobs.get(configFile)
  if (!configBlob) return { commit, tag: null, reason: `${configFile} is not in that commit` }
  if (!configs.has(configBlob.id)) configs.set(configBlob.id, readConfigBlob(repo, configBlob.id, configFile))
  const config = await configs.get(configBlob.id)!
  if (config instanceof ConfigError) return { commit, tag: null, reason: config.message }
  try {
    const paths = selectInputs([...blobs.keys()], config.buildImage.dockerfile, config.buildImage.inputs)
    const inputs = paths.map((p) => ({ path: p, ...blobs.get(p)! }))
    return { commit, tag: blobId(manifestText(inputs, config.buildImage.buildArgs), repo.objectFormat) }
  } catch (error) {
    if (error instanceof ConfigError) return { commit, tag: null, reason: error.message }
    throw error
  }
}

/** A config blob, validated; a ConfigError (returned, not thrown) when it does not validate. */
async function readConfigBlob(repo: RepoInfo, id: string, configFile: string): Promise<Config | ConfigError> {
  const text = (await git(repo.root)`git cat-file blob ${id}`).stdout
  try {
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (error) {
      throw new ConfigError(`${configFile}: not valid JSON: ${(error as Error).message}`)
    }
    return validateConfig(raw, configFile)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
}

/**
 * The tags of HEAD and its first-parent ancestors, nearest first (at most `count`
 * commits; fewer when the history, or a shallow clone's, ends sooner). The same tags as
 * buildImageTagAt gives each commit, but from three git processes whatever the count:
 * HEAD's tree, then `git log --raw` walked back (each commit's changes against its first
 * parent, undone one commit at a time), plus one `git cat-file` per distinct config.
 */
export async function buildImageTagsAlongFirstParent(repo: RepoInfo, count: number, configFile = CONFIG_FILE): Promise<TagAtCommit[]> {
  const $git = git(repo.root)
  const [listing, log] = await Promise.all([
    $git({ nothrow: true })`git ls-tree -r -z --full-tree HEAD`,
    $git({ nothrow: true })`git log --first-parent --diff-merges=first-parent --no-renames --no-abbrev --raw -z --format=${'%x01%H'} --max-count=${String(count)} HEAD --`,
  ])
  if (listing.exitCode !== 0 || log.exitCode !== 0) return [] // no commit yet
  const blobs = treeBlobs(listing.stdout)
  // Each commit with its changes against its first parent: `:<old mode> <new mode> <old id> <new id> <status>` then the path.
  const commits: Array<{ commit: string; changes: Array<{ path: string; mode: string; id: string }> }> = []
  const tokens = log.stdout.split('\0')
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i].replace(/^\n+/, '')
    if (token.startsWith('\x01')) commits.push({ commit: token.slice(1).trim(), changes: [] })
    else if (token.startsWith(':') && commits.length) {
      const [oldMode, , oldId] = token.slice(1).split(' ')
      commits[commits.length - 1].changes.push({ path: tokens[++i], mode: oldMode, id: oldId })
    }
  }
  const configs = new Map<string, Promise<Config | ConfigError>>()
  const tags: TagAtCommit[] = []
  for (const { commit, changes } of commits) {
    tags.push(await tagOfTree(repo, commit, blobs, configFile, configs))
    // Undo this commit: its first parent's files.
    for (const c of changes) {
      if (/^0+$/.test(c.mode)) blobs.delete(c.path)
      else if (c.mode === '100644' || c.mode === '100755' || c.mode === '120000') blobs.set(c.path, { mode: c.mode, id: c.id })
      else blobs.delete(c.path) // a submodule: not a blob
    }
  }
  return tags
}
