// What kind of project `init` is looking at, read from the files at the repository root
// (never run: a Makefile is read for its targets, package.json for its scripts).
//   go       a go.mod
//   node     a package.json with a lockfile (package-lock.json, pnpm-lock.yaml, yarn.lock:
//            Yarn 1, or Yarn 2+ with a node_modules or Plug'n'Play)
//   unknown  anything else: init writes a skeleton to fill in
import { fs, glob, path, YAML } from 'zx'
import { UsageError } from '../core/cli.mts'
import { parsePackageManager, type PinnedHash } from './package-manager.mts'

export type PackageManager = 'npm' | 'pnpm' | 'yarn'

export interface GoProject {
  kind: 'go'
  /** The module path of go.mod (its last segment names the images by default). */
  module: string
  hasGoSum: boolean
  /** A vendor/ directory (vendor/modules.txt): the build reads the modules from the checkout. */
  vendored: boolean
  /** Targets of the root Makefile that init uses as steps instead of `go test` / `go build`. */
  makeTargets: { test: boolean; build: boolean }
}

export interface NodeProject {
  kind: 'node'
  /** package.json's name, without a scope. */
  name?: string
  packageManager: PackageManager
  /** The version in package.json's `packageManager` field (`pnpm@9.1.0`), if any. */
  packageManagerVersion?: string
  /** The hash the field pins after the version (`+sha512.<hex>`): the build image checks the manager against it. */
  packageManagerHash?: PinnedHash
  lockfile: string
  /** The scripts of package.json that init turns into steps (and the final image's start). */
  scripts: { test: boolean; build: boolean; start: boolean }
  /** Repo-relative files the lockfile installs from (`file:` tarballs): inputs of the build image. */
  localFiles: string[]
  /** An .npmrc at the root: an input (it can name the registry and its settings). */
  npmrc: boolean
  /**
   * Repo-relative files the install reads besides the root's: pnpm-workspace.yaml, and the
   * package.json of every workspace (npm ci fails without them). Inputs of the build image.
   */
  workspaceFiles: string[]
  /**
   * Yarn 2+ (Berry), with the repo-relative files its install reads besides the lockfile:
   * .yarnrc.yml, the release its yarnPath names, its plugins. Inputs of the build image.
   * `pnp`: it installs Plug'n'Play (Berry's default linker: no node_modules, a .pnp.cjs).
   */
  yarnBerry?: { files: string[]; pnp?: boolean }
}

export interface UnknownProject {
  kind: 'unknown'
  /** Why init could not tell (shown, and written into the skeleton). */
  reason: string
}

export type Project = GoProject | NodeProject | UnknownProject

const LOCKFILES: Array<[string, PackageManager]> = [
  ['package-lock.json', 'npm'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
]

/** This package's name on npm: the dependency an adopting repository adds. */
export const TOOL_PACKAGE = 'ci-build-scripts'

const exists = (file: string) => fs.pathExists(file)

/** The targets a Makefile defines at the start of a line (`test:`, `build: deps`). */
export function makefileTargets(text: string): Set<string> {
  const targets = new Set<string>()
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9_.\-/ ]+?)\s*::?(?!=)/.exec(line)
    if (m) for (const t of m[1].split(/\s+/)) if (t) targets.add(t)
  }
  return targets
}

/** The module path of a go.mod, or undefined when it has no `module` line. */
export function goModule(text: string): string | undefined {
  const m = /^\s*module\s+("?)([^\s"]+)\1\s*(\/\/.*)?$/m.exec(text)
  return m?.[2]
}

/**
 * The `file:` dependencies of package.json that point at files inside the repository
 * (a packed tarball): `npm ci` in the build image needs them in its context.
 */
export function localFileDependencies(pkg: Record<string, unknown>): string[] {
  const files = new Set<string>()
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const deps = pkg[field]
    if (typeof deps !== 'object' || deps === null) continue
    for (const spec of Object.values(deps as Record<string, unknown>)) {
      if (typeof spec !== 'string' || !spec.startsWith('file:')) continue
      const rel = path.posix.normalize(spec.slice('file:'.length).replace(/^\.\//, ''))
      // A directory (a workspace, a sibling checkout) or a path outside the repository
      // cannot be one input file; those are left to the user (init says so).
      if (/\.(tgz|tar\.gz)$/.test(rel) && !rel.startsWith('../') && !path.posix.isAbsolute(rel)) files.add(rel)
    }
  }
  return [...files].sort()
}

/** The workspace patterns of package.json (`workspaces`: an array, or Yarn 1's `{ packages }`) or of pnpm-workspace.yaml. */
export function workspacePatterns(pkg: Record<string, unknown>, pnpmWorkspace?: string): string[] {
  const field = pkg.workspaces
  const list = Array.isArray(field) ? field : typeof field === 'object' && field !== null ? (field as { packages?: unknown }).packages : undefined
  const fromPnpm = pnpmWorkspace === undefined ? undefined : (YAML.parse(pnpmWorkspace) as { packages?: unknown } | null)?.packages
  return [...(Array.isArray(list) ? list : []), ...(Array.isArray(fromPnpm) ? fromPnpm : [])].filter((p): p is string => typeof p === 'string')
}

/** The package.json of each workspace the patterns name, repo-relative, sorted. */
async function workspaceManifests(root: string, patterns: string[]): Promise<string[]> {
  if (!patterns.length) return []
  const manifests = patterns.map((p) => {
    const negated = p.startsWith('!')
    const dir = p.replace(/^!/, '').replace(/^\.\//, '').replace(/\/+$/, '')
    return `${negated ? '!' : ''}${dir}/package.json`
  })
  const found = await glob(manifests, { cwd: root, ignore: ['**/node_modules/**'], dot: false })
  return found.filter((f) => f !== 'package.json').sort()
}

/**
 * For a yarn.lock: undefined for Yarn 1; for Yarn 2+ (a packageManager of yarn@2 or later,
 * a .yarnrc.yml, or a lockfile with Berry's `__metadata`) the files its install reads
 * (.yarnrc.yml, the release of its yarnPath, its plugins), and whether it installs
 * Plug'n'Play (Berry's default linker) instead of a node_modules.
 */
async function berryFiles(root: string, version: string | undefined): Promise<{ files: string[]; pnp: boolean } | undefined> {
  const at = (file: string) => path.join(root, file)
  const rc = (await exists(at('.yarnrc.yml'))) ? ((YAML.parse(await fs.readFile(at('.yarnrc.yml'), 'utf8')) ?? {}) as Record<string, unknown>) : undefined
  const berry = version
    ? Number(version.split('.')[0]) >= 2
    : rc !== undefined || /^__metadata:/m.test((await fs.readFile(at('yarn.lock'), 'utf8')).slice(0, 4096))
  if (!berry) return undefined
  const pnp = rc?.nodeLinker !== 'node-modules' && rc?.nodeLinker !== 'pnpm'
  if (!rc) return { files: [], pnp }
  // Paths inside the repository only: anything else is not an input init can name.
  const inside = (p: unknown): p is string => typeof p === 'string' && !path.posix.isAbsolute(p) && !path.posix.normalize(p).startsWith('../')
  const plugins = Array.isArray(rc.plugins) ? rc.plugins.map((p) => (typeof p === 'string' ? p : (p as { path?: unknown } | null)?.path)) : []
  return { files: ['.yarnrc.yml', ...[rc.yarnPath, ...plugins].filter(inside).map((p) => path.posix.normalize(p))], pnp }
}

/** Read the project at `root`. */
export async function detectProject(root: string): Promise<Project> {
  const at = (file: string) => path.join(root, file)

  if (await exists(at('go.mod'))) {
    const module = goModule(await fs.readFile(at('go.mod'), 'utf8'))
    if (!module) throw new UsageError('go.mod has no module line (is it a Go module?)')
    let targets = new Set<string>()
    for (const name of ['GNUmakefile', 'Makefile', 'makefile']) {
      if (await exists(at(name))) {
        targets = makefileTargets(await fs.readFile(at(name), 'utf8'))
        break
      }
    }
    return {
      kind: 'go',
      module,
      hasGoSum: await exists(at('go.sum')),
      vendored: await exists(at('vendor/modules.txt')),
      makeTargets: { test: targets.has('test'), build: targets.has('build') },
    }
  }

  if (await exists(at('package.json'))) {
    let lock: [string, PackageManager] | undefined
    for (const candidate of LOCKFILES) {
      if (await exists(at(candidate[0]))) {
        lock = candidate
        break
      }
    }
    if (lock) {
      let pkg: Record<string, unknown>
      try {
        pkg = JSON.parse(await fs.readFile(at('package.json'), 'utf8'))
      } catch (error) {
        throw new UsageError(`package.json is not valid JSON: ${(error as Error).message}`)
      }
      const pnpmWorkspace = lock[1] === 'pnpm' && (await exists(at('pnpm-workspace.yaml'))) ? await fs.readFile(at('pnpm-workspace.yaml'), 'utf8') : undefined
      const scripts = (typeof pkg.scripts === 'object' && pkg.scripts !== null ? pkg.scripts : {}) as Record<string, unknown>
      const has = (name: string) => typeof scripts[name] === 'string' && (scripts[name] as string).trim() !== ''
      // The manager of the lockfile at the declared version (and hash), or its default.
      const declared = parsePackageManager(pkg.packageManager)
      const manager = declared?.name === lock[1] ? declared : undefined
      const version = manager?.version
      const yarnBerry = lock[1] === 'yarn' ? await berryFiles(root, version) : undefined
      const deps = ['dependencies', 'devDependencies', 'optionalDependencies'].flatMap((f) =>
        typeof pkg[f] === 'object' && pkg[f] !== null ? Object.keys(pkg[f] as object) : [],
      )
      // npm's default test script (`echo "Error: no test specified" && exit 1`) is not a test.
      const scriptNames = { test: has('test') && !/no test specified/.test(String(scripts.test)), build: has('build'), start: has('start') }
      // A package.json that only installs this package (a Go or Python repository that
      // added it for its CI) is tooling, not a Node project.
      if (deps.every((d) => d === TOOL_PACKAGE) && !scriptNames.test && !scriptNames.build && !scriptNames.start) {
        return { kind: 'unknown', reason: `package.json only installs ${TOOL_PACKAGE} (no go.mod, no dependencies, no test or build script)` }
      }
      return {
        kind: 'node',
        name: typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '') : undefined,
        packageManager: lock[1],
        packageManagerVersion: version,
        packageManagerHash: manager?.hash,
        lockfile: lock[0],
        scripts: scriptNames,
        localFiles: localFileDependencies(pkg),
        npmrc: await exists(at('.npmrc')),
        yarnBerry: yarnBerry && (yarnBerry.pnp ? yarnBerry : { files: yarnBerry.files }),
        workspaceFiles: [...(pnpmWorkspace === undefined ? [] : ['pnpm-workspace.yaml']), ...(await workspaceManifests(root, workspacePatterns(pkg, pnpmWorkspace)))],
      }
    }
    return { kind: 'unknown', reason: 'a package.json without a lockfile (package-lock.json, pnpm-lock.yaml or yarn.lock): install once to write one' }
  }
  return { kind: 'unknown', reason: 'no go.mod and no package.json with a lockfile' }
}

/**
 * The images' base name: a lowercase Docker repository name made from the Go module's
 * last segment, package.json's name, or the directory's name.
 */
export function defaultImageName(project: Project, root: string): string {
  const raw =
    project.kind === 'go' ? project.module.split('/').filter((s) => !/^v\d+$/.test(s)).pop() : project.kind === 'node' ? project.name : undefined
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
  return clean(raw ?? '') || clean(path.basename(root)) || 'app'
}
