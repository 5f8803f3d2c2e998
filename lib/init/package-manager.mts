// The package manager of a Node project's build image: package.json's `packageManager`
// field read as corepack reads it (`pnpm@9.1.0+sha512.<hex>`), and the Dockerfile lines
// that install that manager from the npm registry with `npm install -g`, its hash checked
// first when the field pins one. Pure: the tests read what it returns.
//
// Corepack cannot be used in the image: it fetches Yarn 2+ from repo.yarnpkg.com, and from
// the npm registry (COREPACK_NPM_REGISTRY) it insists on the registry's signatures, which
// a mirror may not serve. So the image checks the hash itself, on the bytes corepack hashes:
//   npm, pnpm, Yarn 1  the package's tarball (corepack downloads it from the npm registry)
//   Yarn 2+            the single-file release corepack downloads from repo.yarnpkg.com,
//                      which is bin/yarn.js of the npm package @yarnpkg/cli-dist
import { UsageError } from '../core/cli.mts'
import type { NodeProject, PackageManager } from './project.mts'

/** The hashes corepack writes after `+`, with the length of each one's hex digest. */
export const HASH_HEX_LENGTH = { sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 } as const
export type HashAlgorithm = keyof typeof HASH_HEX_LENGTH

export interface PinnedHash {
  algorithm: HashAlgorithm
  /** Lowercase hex, of the algorithm's length: it goes into a RUN line as it is. */
  hex: string
}

export interface DeclaredManager {
  name: PackageManager
  version: string
  hash?: PinnedHash
}

// A version as corepack writes it, and nothing else: the field's parts go into a RUN line
// of the Dockerfile, so anything looser (`pnpm@9;curl …`) is no declaration at all.
const FIELD = /^(npm|pnpm|yarn)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+([0-9A-Za-z.-]+))?$/

/**
 * package.json's `packageManager`, or undefined when it is absent or not one corepack
 * could run. A `+` part must be a hash corepack checks (`sha512.<hex>`): anything else
 * there is a UsageError, as it is corepack's.
 */
export function parsePackageManager(field: unknown): DeclaredManager | undefined {
  if (typeof field !== 'string') return undefined
  const m = FIELD.exec(field)
  if (!m) return undefined
  const [, name, version, build] = m
  if (build === undefined) return { name: name as PackageManager, version }
  const [algorithm, hex, ...rest] = build.split('.')
  if (!Object.hasOwn(HASH_HEX_LENGTH, algorithm) || rest.length || !isHex(hex, HASH_HEX_LENGTH[algorithm as HashAlgorithm])) {
    const names = Object.keys(HASH_HEX_LENGTH).join(', ')
    throw new UsageError(
      `package.json's packageManager ${JSON.stringify(field)}: after + corepack expects <algorithm>.<hex digest> (${names}; lowercase hex of the algorithm's length), as \`corepack use\` writes it; fix it or leave the hash out`,
    )
  }
  return { name: name as PackageManager, version, hash: { algorithm: algorithm as HashAlgorithm, hex } }
}

function isHex(text: string | undefined, length: number): boolean {
  return text !== undefined && text.length === length && /^[0-9a-f]+$/.test(text)
}

/**
 * The check of a downloaded file against the pinned hash, as `node -e CHECK <what>
 * <algorithm> <hex> <file>`: on a mismatch it names both hashes and exits 1. No single
 * quote in it: it is written single-quoted into the RUN line.
 */
export const HASH_CHECK = [
  'const [what, algorithm, expected, file] = process.argv.slice(1);',
  'const actual = require("node:crypto").createHash(algorithm).update(require("node:fs").readFileSync(file)).digest("hex");',
  'if (actual !== expected) {',
  '  console.error(`${what}: the package from the npm registry does not match the hash of packageManager in package.json: expected ${algorithm} ${expected}, got ${algorithm} ${actual}`);',
  '  process.exit(1);',
  '}',
  'console.log(`${what}: ${algorithm} ${actual}, as packageManager pins it`);',
].join(' ')

/** The file of the package corepack hashes: Yarn 2+'s release in @yarnpkg/cli-dist, else the tarball. */
export function hashedFile(project: Pick<NodeProject, 'packageManager' | 'yarnBerry'>): 'tarball' | 'package/bin/yarn.js' {
  return project.packageManager === 'yarn' && project.yarnBerry ? 'package/bin/yarn.js' : 'tarball'
}

/**
 * The RUN lines that install `spec` (`pnpm@9.1.0`) globally and print its version with
 * `check`: `npm install -g` from the registry, or, with a pinned hash, `npm pack` into a
 * temp dir, the hash checked (see the header), then `npm install -g` of that tarball.
 * `before` runs first (removing the base's Yarn 1).
 */
function installGlobally(project: NodeProject, spec: string, check: string, before: string[] = []): string[] {
  const hash = project.packageManagerHash
  if (!hash) {
    if (!before.length) return [`RUN npm install -g --no-audit --no-fund ${spec} && ${check}`]
    return [`RUN ${before.join(' \\\n && ')} \\`, ` && npm install -g --no-audit --no-fund ${spec} \\`, ` && ${check}`]
  }
  const declared = `${project.packageManager}@${project.packageManagerVersion}`
  const file = hashedFile(project)
  return [
    `# ${declared}, checked against the ${hash.algorithm} packageManager pins before it is installed:`,
    `# the hash of ${file === 'tarball' ? 'the package\'s tarball' : 'its single-file release (bin/yarn.js of the package)'}, as corepack checks it.`,
    `RUN ${[...before, 'dir="$(mktemp -d)"'].join(' \\\n && ')} \\`,
    ' && cd "$dir" \\',
    ` && tgz="$(npm pack --silent ${spec})" \\`,
    ...(file === 'tarball' ? [] : [` && tar -xzf "$tgz" ${file} \\`]),
    ` && node -e '${HASH_CHECK}' ${declared} ${hash.algorithm} ${hash.hex} ${file === 'tarball' ? '"$tgz"' : file} \\`,
    ' && npm install -g --no-audit --no-fund "$dir/$tgz" \\',
    ' && cd / && rm -rf "$dir" \\',
    ` && ${check}`,
  ]
}

/**
 * The package manager, at the version package.json's `packageManager` field declares
 * (its hash checked when the field pins one), and the command that installs the lockfile
 * with it.
 */
export function nodeInstall(project: NodeProject): { setup: string[]; install: string } {
  const v = project.packageManagerVersion
  // The official node images ship Yarn 1 as `yarn` and `yarnpkg`: a declared version replaces it.
  const removeYarn = ['bin="$(npm prefix -g)/bin"', 'rm -f "$bin/yarn" "$bin/yarnpkg"']
  switch (project.packageManager) {
    case 'pnpm':
      return {
        setup: installGlobally(project, `pnpm@${v ?? '9'}`, 'pnpm --version'),
        install: 'pnpm install --frozen-lockfile && pnpm store prune',
      }
    case 'yarn':
      if (project.yarnBerry) {
        return {
          // Yarn 2+ is published on npm as @yarnpkg/cli-dist. Without a declared version, the
          // latest 4: a yarnPath in .yarnrc.yml then hands over to the project's own release.
          setup: installGlobally(project, `@yarnpkg/cli-dist@${v ?? '4'}`, 'yarn --version', removeYarn),
          // Plug'n'Play's packages are the archives of its cache: kept, in /opt/deps/.yarn/cache,
          // and Yarn's global folder (its mirror of them, its index) dropped.
          install: project.yarnBerry.pnp
            ? 'YARN_ENABLE_GLOBAL_CACHE=false YARN_GLOBAL_FOLDER=/tmp/.yarn-install yarn install --immutable && rm -rf /tmp/.yarn-install'
            : 'yarn install --immutable && yarn cache clean --all',
        }
      }
      return {
        // The official node images ship Yarn 1; install it where the base has none.
        setup: v ? installGlobally(project, `yarn@${v}`, 'yarn --version', removeYarn) : [`RUN command -v yarn >/dev/null || npm install -g --no-audit --no-fund yarn@1; yarn --version`],
        install: 'yarn install --frozen-lockfile && yarn cache clean',
      }
    default:
      return {
        setup: v ? installGlobally(project, `npm@${v}`, 'npm --version') : [],
        install: 'npm ci --no-audit --no-fund && npm cache clean --force',
      }
  }
}
