// The build image init writes for a Node project, built for real with npm, pnpm, Yarn 1
// and Yarn 4 (a node_modules, and Plug'n'Play, whose steps run under the checkout's own
// .pnp.cjs), under BuildKit and the legacy builder. The project is shaped like the ones
// that broke it: a `prepare` script that needs a git checkout (lefthook-style `git
// config core.hooksPath`), which the build image's /opt/deps is not, and a dependency
// whose install script must have run (a packed `file:` tarball whose `install` writes a
// marker, as a native addon or an esbuild-style binary download does). The package
// manager writes the lockfile on the host, in the checkout, as the project's developers
// do; the npm registry serves pnpm and Yarn.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeImagesNamed } from '../helpers/build-image.mts'
import { dockerRun, requireDocker, uniqueName } from '../helpers/docker.mts'
import { packedHash } from '../helpers/packed-hash.mts'
import { git, makeRepo, tempDir, writeFiles } from '../helpers/repo.mts'
import { adopterEnv, runScript, type RunResult } from '../helpers/run.mts'

const run = promisify(execFile)

// `lifecycle`: the root's script that needs the checkout (Yarn 2+ runs no prepare on
// install: husky's docs have Berry projects use postinstall). `declared`: package.json's
// packageManager field, whose version the build image must use; `pinned`: the hash that
// field carries, of the file corepack hashes (computed here from `npm pack`), which the
// build image checks before it installs the manager.
const MANAGERS = [
  { pm: 'npm', lockfile: 'package-lock.json', install: ['npm', 'install', '--no-audit', '--no-fund'], workspace: false, lifecycle: 'prepare' },
  { pm: 'pnpm', lockfile: 'pnpm-lock.yaml', install: ['npx', '--yes', 'pnpm@9.12.3', 'install'], workspace: false, lifecycle: 'prepare', declared: 'pnpm@9.12.3', pinned: { spec: 'pnpm@9.12.3', file: 'tarball', algorithm: 'sha512' } },
  { pm: 'yarn', lockfile: 'yarn.lock', install: ['npx', '--yes', 'yarn@1.22.22', 'install'], workspace: false, lifecycle: 'prepare' },
  // Workspaces: a workspace whose own prepare builds from sources the image does not have.
  { pm: 'npm', lockfile: 'package-lock.json', install: ['npm', 'install', '--no-audit', '--no-fund'], workspace: true, lifecycle: 'prepare' },
  { pm: 'yarn', lockfile: 'yarn.lock', install: ['npx', '--yes', 'yarn@1.22.22', 'install'], workspace: true, lifecycle: 'prepare' },
  {
    pm: 'pnpm',
    lockfile: 'pnpm-lock.yaml',
    install: ['npx', '--yes', 'pnpm@9.12.3', 'install'],
    workspace: true,
    lifecycle: 'prepare',
    files: { 'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n" },
  },
  // Yarn 4 installing a node_modules (Berry's Plug'n'Play is not supported), declared in packageManager.
  {
    pm: 'yarn',
    lockfile: 'yarn.lock',
    // --no-immutable: this install writes the fixture's lockfile, which Yarn 2+ refuses on CI (CI=true) by default.
    install: ['npx', '--yes', '-p', '@yarnpkg/cli-dist@4.5.3', 'yarn', 'install', '--no-immutable'],
    workspace: true,
    lifecycle: 'postinstall',
    declared: 'yarn@4.5.3',
    pinned: { spec: '@yarnpkg/cli-dist@4.5.3', file: 'package/bin/yarn.js', algorithm: 'sha224' },
    files: { '.yarnrc.yml': 'nodeLinker: node-modules\nenableTelemetry: false\n' },
  },
  // Yarn 4 with Plug'n'Play, its default linker (no nodeLinker): no node_modules anywhere,
  // the packages' archives in Yarn's global cache, outside the checkout. That cache is put
  // in a temp dir (YARN_GLOBAL_FOLDER): the main job runs this suite inside its build image,
  // where the steps' container is started by the host's daemon, which mounts host paths;
  // the temp dir is shared with the host at its own path, the container's home is not.
  {
    pm: 'yarn',
    lockfile: 'yarn.lock',
    install: ['npx', '--yes', '-p', '@yarnpkg/cli-dist@4.5.3', 'yarn', 'install', '--no-immutable'],
    workspace: false,
    lifecycle: 'postinstall',
    declared: 'yarn@4.5.3',
    pnp: true,
    files: { '.yarnrc.yml': 'enableTelemetry: false\n' },
  },
] as const

const WORKSPACE = {
  'packages/lib/package.json': JSON.stringify({ name: 'lib', version: '1.0.0', scripts: { prepare: 'node build.mjs' } }),
  'packages/lib/build.mjs': "import fs from 'node:fs'\nfs.writeFileSync('built.txt', 'yes')\n",
}
const BUILDERS = [
  { builder: 'BuildKit', env: {} },
  { builder: 'the legacy builder', env: { DOCKER_BUILDKIT: '0' } },
]

const MARKER = '/opt/deps/node_modules/native-ish/installed-by-its-install-script'
/** Under Plug'n'Play: in the folder Yarn unpacks a package with an install script into. */
const PNP_MARKER = '/opt/deps/.yarn/unplugged/native-ish-*/node_modules/native-ish/installed-by-its-install-script'

/**
 * A package whose install script writes MARKER's file (`plain`: one with no script,
 * `module.exports = 'plain'`), packed to a tarball in `dir`.
 */
async function packDependency(dir: string, plain = false): Promise<string> {
  const src = tempDir('cbs-dep-')
  writeFiles(src, {
    'package.json': JSON.stringify({
      name: plain ? 'plain' : 'native-ish',
      version: '1.0.0',
      ...(plain ? {} : { scripts: { install: "node -e \"require('fs').writeFileSync('installed-by-its-install-script', 'yes')\"" } }),
    }),
    'index.js': plain ? "module.exports = 'plain'\n" : 'module.exports = 42\n',
  })
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: src, env: adopterEnv() })
  return (JSON.parse(stdout) as Array<{ filename: string }>)[0].filename
}

/** What the project's test files import. */
const TEST_IMPORTS = [
  "import assert from 'node:assert/strict'",
  "import { execFileSync } from 'node:child_process'",
  "import fs from 'node:fs'",
  "import { createRequire } from 'node:module'",
  "import os from 'node:os'",
  "import path from 'node:path'",
  "import { test } from 'node:test'",
  '',
]

/** npm can install into a temp dir in the build image (no /node_modules for it to take for a project). */
const NPM_OUTSIDE_TEST = [
  "test('npm installs into a directory outside any project', () => {",
  "  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scratch-'))",
  "  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.resolve('vendor/native-ish-1.0.0.tgz')], { cwd: dir, stdio: 'inherit' })",
  "  assert.ok(fs.existsSync(path.join(dir, 'node_modules/native-ish/index.js')))",
  '})',
  '',
]

/** The project's tests, run by test-and-build in the build image: the dependency's install script ran there. */
const NODE_MODULES_TEST = [
  ...TEST_IMPORTS,
  "test('the dependency\\'s install script ran in the build image', () => {",
  `  assert.equal(fs.readFileSync(${JSON.stringify(MARKER)}, 'utf8'), 'yes')`,
  '})',
  '',
  ...NPM_OUTSIDE_TEST,
].join('\n')

/**
 * The same under Plug'n'Play, run by test-and-build with `yarn test`: the dependencies are
 * required through the checkout's .pnp.cjs (no node_modules anywhere), from its unplugged
 * folder (the install script ran) and from Yarn's global cache.
 */
const PNP_TEST = [
  ...TEST_IMPORTS,
  "test('the dependency resolves under Plug\\'n\\'Play, its install script run', () => {",
  '  assert.ok(process.versions.pnp, "not under Plug\'n\'Play")',
  "  assert.ok(!fs.existsSync('node_modules'))",
  '  const require = createRequire(import.meta.url)',
  "  assert.equal(require('native-ish'), 42)",
  "  const dir = path.dirname(require.resolve('native-ish'))",
  "  assert.match(dir, /\\/\\.yarn\\/unplugged\\//)",
  "  assert.equal(fs.readFileSync(path.join(dir, 'installed-by-its-install-script'), 'utf8'), 'yes')",
  '})',
  '',
  // Yarn would fetch a missing archive again (into the container, where it is lost, and
  // where a non-root uid cannot write): the host's cache is there, mounted read-only.
  "test('a dependency with no install script is read from its archive in the host\\'s Yarn global cache, mounted read-only', () => {",
  '  const require = createRequire(import.meta.url)',
  "  assert.equal(require('plain'), 'plain')",
  "  const file = require.resolve('plain')",
  "  assert.match(file, /\\.zip\\/node_modules\\/plain\\/index\\.js$/)",
  "  assert.ok(path.relative(process.cwd(), file).startsWith('..'), file)",
  "  const cache = path.dirname(file.slice(0, file.indexOf('.zip/') + 4))",
  "  assert.throws(() => fs.accessSync(cache, fs.constants.W_OK), { code: 'EROFS' })",
  '})',
  '',
  ...NPM_OUTSIDE_TEST,
].join('\n')

const names: string[] = []
afterAll(() => {
  removeImagesNamed(...names.map((n) => `${n}-build`))
})
beforeAll(() => requireDocker(['node:20-bookworm-slim']))

describe.each(MANAGERS)('a $pm project (workspaces: $workspace, packageManager: $declared) with a $lifecycle script that needs a git checkout', (manager) => {
  const { pm, lockfile, install, workspace, lifecycle } = manager
  const declared = 'declared' in manager ? manager.declared : undefined
  const pinned = 'pinned' in manager ? manager.pinned : undefined
  const pnp = 'pnp' in manager
  let project = ''
  let hash = ''
  beforeAll(async () => {
    if (pinned) hash = `${pinned.algorithm}.${await packedHash(pinned.spec, pinned.file, pinned.algorithm)}`
    project = makeRepo({
      '.gitignore': 'node_modules/\nreports/\n',
      'package.json':
        JSON.stringify(
          {
            name: `lifecycle-${pm}`,
            version: '1.0.0',
            type: 'module',
            // Fails where there is no checkout: /opt/deps in the build image.
            scripts: { [lifecycle]: 'git config core.hooksPath .githooks', test: 'node --test', build: 'node -e "console.log(1 + 1)"' },
            dependencies: { 'native-ish': 'file:vendor/native-ish-1.0.0.tgz', ...(pnp ? { plain: 'file:vendor/plain-1.0.0.tgz' } : {}) },
            ...(workspace ? { private: true, workspaces: ['packages/*'] } : {}),
            ...(declared ? { packageManager: pinned ? `${declared}+${hash}` : declared } : {}),
          },
          null,
          2,
        ) + '\n',
      'test/deps.test.mjs': pnp ? PNP_TEST : NODE_MODULES_TEST,
      ...(workspace ? WORKSPACE : {}),
      ...('files' in manager ? manager.files : {}),
    })
    fs.mkdirSync(path.join(project, 'vendor'))
    expect(await packDependency(path.join(project, 'vendor'))).toBe('native-ish-1.0.0.tgz')
    if (pnp) expect(await packDependency(path.join(project, 'vendor'), true)).toBe('plain-1.0.0.tgz')
    // The developer's install, in the checkout: it writes the lockfile and runs prepare there.
    const yarnGlobal = pnp ? { YARN_GLOBAL_FOLDER: tempDir('cbs-yarn-global-') } : {}
    await run(install[0], install.slice(1), { cwd: project, env: adopterEnv({ GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...yarnGlobal }), timeout: 300_000 })
    expect(fs.existsSync(path.join(project, lockfile))).toBe(true)
    expect(git(project, 'config', 'core.hooksPath')).toBe('.githooks')
    git(project, 'add', '-A')
    git(project, 'commit', '-q', '-m', 'lockfile')
  }, 400_000)

  it.each(BUILDERS)('init, then test-and-build: the image installs without the root\'s scripts, with the dependency\'s ($builder)', async ({ env }) => {
    // The other builder's run wrote init's files, pass or fail: init writes them afresh.
    for (const file of ['Dockerfile.build', 'Dockerfile', '.dockerignore', 'build.config.json', '.github', '.circleci']) fs.rmSync(path.join(project, file), { recursive: true, force: true })
    const n = uniqueName(`init-${pm}`)
    names.push(n)
    const init = await runScript('init', ['--name', n], { cwd: project, env: { REGISTRY: '' } })
    expect(init.exitCode, init.stderr).toBe(0)
    expect(fs.readFileSync(path.join(project, 'Dockerfile.build'), 'utf8')).toMatch(new RegExp(`npm pkg delete .*scripts\\.${lifecycle}\\b`))
    if (pinned) expect(fs.readFileSync(path.join(project, 'Dockerfile.build'), 'utf8')).toContain(` ${hash.replace('.', ' ')} `)

    const report = path.join(tempDir('cbs-report-'), 'report.json')
    const result: RunResult = await runScript('test-and-build', ['--report', report], { cwd: project, env: { REGISTRY: '', CI: '', ...env }, timeoutMs: 600_000 })
    expect(result.exitCode, result.stderr.slice(-3000)).toBe(0)
    const { image, steps } = JSON.parse(fs.readFileSync(report, 'utf8'))
    expect(image.outcome).toBe('built')
    expect(steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`)).toEqual(['test ok', 'build ok'])
    expect(result.stderr).toMatch(pnp ? /# pass 3\n# fail 0/ : /# pass 2\n# fail 0/)
    // The root's prepare did not run in the image (it would have failed the build), and its
    // own package.json, untouched in the checkout, still has it.
    expect(pnp ? dockerRun(image.ref, 'sh', '-c', `cat ${PNP_MARKER}`) : dockerRun(image.ref, 'cat', MARKER)).toBe('yes')
    if (pnp) {
      // The image's own Plug'n'Play install: its map, and the archives in its own cache.
      expect(dockerRun(image.ref, 'sh', '-c', 'test -f /opt/deps/.pnp.cjs && ! test -e /opt/deps/node_modules && ls /opt/deps/.yarn/cache | grep -c "^native-ish-"')).toBe('1')
    }
    // The package manager at the version package.json declares (not the latest of its line).
    if (declared) expect(dockerRun(image.ref, pm, '--version')).toBe(declared.split('@')[1])
    if (workspace) {
      // The workspace is installed from its manifest alone, its prepare left out (npm and
      // Yarn also link it into node_modules; pnpm links only what depends on it).
      const manifest = JSON.parse(dockerRun(image.ref, 'cat', '/opt/deps/packages/lib/package.json'))
      expect(manifest.name).toBe('lib')
      expect(manifest.scripts?.prepare).toBeUndefined()
      if (pm !== 'pnpm') expect(dockerRun(image.ref, 'readlink', '-f', '/opt/deps/node_modules/lib')).toBe('/opt/deps/packages/lib')
    }
    expect(JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')).scripts[lifecycle]).toBe('git config core.hooksPath .githooks')
  }, 900_000)
})
