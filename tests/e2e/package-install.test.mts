// The package as npm publishes it: `npm pack` of this repository (its prepack builds the
// JavaScript), then `npm install` of the tarball into a project with no TypeScript
// anywhere: no typescript, no tsx, no tsconfig, no loader in NODE_OPTIONS or .npmrc.
// Every script starts from the installed bin, in one Node process; the tarball holds the
// built JavaScript, its source maps and the .mts sources they point at, init's CI
// templates beside the built module that reads them, and nothing of this repository's
// tests, benchmarks or tooling; the installed init writes the CI configs the sources
// write; the package's `exports` is closed: the
// config module (its schema, key list and validator) and the JSON Schema file, nothing of
// the rest of lib/. A TypeScript project that installs the same tarball typechecks its
// config against the config module's shipped declarations with its own tsc.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { CIRCLE_PATH, WORKFLOW_PATH } from '../../lib/init/ci-configs.mts'
import { detectProject } from '../../lib/init/project.mts'
import { initFiles } from '../../lib/init/templates.mts'
import { packProject } from '../helpers/pack.mts'
import { makeRepo, tempDir } from '../helpers/repo.mts'
import { adopterEnv, PROJECT_ROOT, runCommand, type RunResult } from '../helpers/run.mts'

const run = promisify(execFile)

const SCRIPTS = fs
  .readdirSync(path.join(PROJECT_ROOT, 'scripts'))
  .filter((f) => f.endsWith('.mts'))
  .map((f) => f.slice(0, -'.mts'.length))

/** What a user of the package needs, and nothing else. */
const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^bin\/ci-build-scripts\.mjs$/,
  /^scripts\/README\.md$/,
  /^scripts\/[a-z-]+\.mts$/,
  // lib's parts, and a feature's folder in one (lib/bots/cherry-pick/).
  /^lib\/[a-z-]+\/(?:[a-z-]+\/)?[a-z-]+\.mts$/,
  /^dist\/(scripts|lib\/[a-z-]+(?:\/[a-z-]+)?)\/[a-z-]+\.mjs(\.map)?$/,
  // init's CI templates, read by the built lib/init/ci-configs.mjs from beside it.
  /^dist\/lib\/init\/ci-templates\/[a-z-]+\.yml$/,
  // The exported module's declarations (and those they import), and the config's JSON Schema.
  /^dist\/lib\/core\/(cli|config|config-checks)\.d\.mts$/,
  /^build\.config\.schema\.json$/,
]

let files: string[] = []
let project = ''
let installed = ''
let tarball = ''

const expectExit = (result: RunResult, code: number) => expect(result.exitCode, `exit ${result.exitCode}; stderr:\n${result.stderr}`).toBe(code)

/** Every directory named `name` anywhere under `dir` (nested node_modules included). */
function findDirs(dir: string, names: Set<string>, found: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const full = path.join(dir, entry.name)
    if (names.has(entry.name)) found.push(full)
    findDirs(full, names, found)
  }
  return found
}

beforeAll(async () => {
  const packed = await packProject()
  files = packed.files
  const filename = path.basename(packed.tarball)
  // A project with nothing of TypeScript, and no .npmrc.
  project = makeRepo({ 'package.json': JSON.stringify({ name: 'plain-js', version: '1.0.0', private: true }, null, 2) + '\n', 'index.js': 'console.log(1)\n' })
  tarball = packed.tarball
  fs.copyFileSync(tarball, path.join(project, filename))
  await run('npm', ['install', '--save-dev', `./${filename}`], { cwd: project, env: adopterEnv(), timeout: 600_000 })
  installed = path.join(project, 'node_modules', 'ci-build-scripts')
}, 900_000)

describe('the packed tarball', () => {
  it('holds the built JavaScript with its source maps, the sources they map to, and nothing else', () => {
    const unexpected = files.filter((f) => !SHIPPED.some((re) => re.test(f)))
    expect(unexpected).toEqual([])
    // Each source compiled, each compiled file from a shipped source: the two trees match.
    const sources = files.filter((f) => /^(scripts|lib)\/.*\.mts$/.test(f)).map((f) => f.slice(0, -'.mts'.length))
    const built = files.filter((f) => f.endsWith('.mjs') && f.startsWith('dist/')).map((f) => f.slice('dist/'.length, -'.mjs'.length))
    expect(built).toEqual(sources)
    expect(sources).toEqual(expect.arrayContaining(SCRIPTS.map((s) => `scripts/${s}`)))
    for (const f of built) expect(files, `dist/${f}.mjs.map`).toContain(`dist/${f}.mjs.map`)
  })

  it('holds init\'s CI templates as they are in lib/init/ci-templates/, beside the built module that reads them', () => {
    const templates = fs.readdirSync(path.join(PROJECT_ROOT, 'lib/init/ci-templates')).sort()
    expect(templates.length).toBeGreaterThan(0)
    expect(files.filter((f) => f.endsWith('.yml'))).toEqual(templates.map((t) => `dist/lib/init/ci-templates/${t}`))
    expect(files).toContain('dist/lib/init/ci-configs.mjs')
    for (const t of templates) {
      expect(fs.readFileSync(path.join(installed, 'dist/lib/init/ci-templates', t), 'utf8'), t).toBe(fs.readFileSync(path.join(PROJECT_ROOT, 'lib/init/ci-templates', t), 'utf8'))
    }
  })

  it('maps every built file to the .mts beside it in the package', () => {
    for (const map of files.filter((f) => f.endsWith('.mjs.map'))) {
      const { sources } = JSON.parse(fs.readFileSync(path.join(installed, map), 'utf8')) as { sources: string[] }
      expect(sources).toHaveLength(1)
      const source = path.relative(installed, path.resolve(path.dirname(path.join(installed, map)), sources[0]))
      expect(source).toBe(map.slice('dist/'.length, -'.mjs.map'.length) + '.mts')
      expect(fs.existsSync(path.join(installed, source)), source).toBe(true)
    }
  })

  it('depends on no TypeScript loader, and nothing of TypeScript is installed', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'))
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx')
    expect(findDirs(path.join(project, 'node_modules'), new Set(['tsx', 'typescript', 'esbuild', '@esbuild']))).toEqual([])
  })
})

describe('the installed package, on Node 20 with no TypeScript', { timeout: 300_000 }, () => {
  it('runs under Node 20', () => {
    expect(process.versions.node.split('.')[0]).toBe('20')
  })

  it.each(SCRIPTS)('%s --help prints its usage through the bin, naming the command that works here', async (name) => {
    const help = await runCommand(`ci-build-scripts ${name}`, [path.join(project, 'node_modules/.bin/ci-build-scripts'), name, '--help'], { cwd: project, env: adopterEnv() })
    expectExit(help, 0)
    expect(help.stdout).toMatch(new RegExp(`^Usage: npx ci-build-scripts ${name} `))
    expect(help.stdout).not.toContain('npx zx')
    expect(help.stderr).toBe('')
  })

  it('runs the script in its own process: one Node, no second one started by the bin', async () => {
    // Every Node process that starts records its pid and argv.
    const dir = tempDir('cbs-count-')
    const log = path.join(dir, 'starts.log')
    const hook = path.join(dir, 'count.cjs')
    fs.writeFileSync(hook, `require('fs').appendFileSync(${JSON.stringify(log)}, process.argv.slice(1).join(' ') + '\\n')\n`)
    const result = await runCommand('ci-build-scripts image-tag', [path.join(project, 'node_modules/.bin/ci-build-scripts'), 'image-tag'], {
      cwd: project,
      env: adopterEnv({ NODE_OPTIONS: `--require=${hook}` }),
    })
    // No build.config.json: the script itself ran, and said so.
    expectExit(result, 2)
    expect(result.stderr).toContain(`build.config.json: not found at ${path.join(fs.realpathSync(project), 'build.config.json')}`)
    const starts = fs.readFileSync(log, 'utf8').trim().split('\n')
    expect(starts).toEqual([expect.stringMatching(/node_modules\/\.bin\/ci-build-scripts image-tag$/)])
  })

  it('init writes the CI configs from the installed templates, as the sources write them', async () => {
    const repo = makeRepo({ 'go.mod': 'module example.com/hello\n\ngo 1.19\n', 'main.go': 'package main\n\nfunc main() {}\n' })
    const args = ['--name', 'hello', '--registry', 'ghcr.io/acme', '--default-branch', 'trunk']
    const result = await runCommand('ci-build-scripts init', [path.join(project, 'node_modules/.bin/ci-build-scripts'), 'init', ...args], { cwd: repo, env: adopterEnv() })
    expectExit(result, 0)
    const expected = initFiles(await detectProject(repo), { name: 'hello', registry: 'ghcr.io/acme', defaultBranch: 'trunk' })
    for (const written of [WORKFLOW_PATH, CIRCLE_PATH]) {
      expect(fs.readFileSync(path.join(repo, written), 'utf8'), written).toBe(expected.find((f) => f.path === written)!.content)
    }
    expect(fs.readFileSync(path.join(repo, WORKFLOW_PATH), 'utf8')).toContain('      packages: read\n')
  })

  it('npx ci-build-scripts runs the installed bin', async () => {
    const result = await runCommand('npx ci-build-scripts', ['npx', '--no', 'ci-build-scripts', 'image-tag', '--help'], { cwd: project, env: adopterEnv() })
    expectExit(result, 0)
    expect(result.stdout).toMatch(/^Usage: /)
  })
})

describe("the package's exports", () => {
  /** Import `specifier` from the adopter's project, as its own code would. */
  const importFrom = (specifier: string) =>
    runCommand('node import', [process.execPath, '--input-type=module', '-e', `await import(${JSON.stringify(specifier)}); console.log('imported')`], {
      cwd: project,
      env: adopterEnv(),
    })

  it.each(['ci-build-scripts/dist/lib/core/cli.mjs', 'ci-build-scripts/lib/core/cli.mts', 'ci-build-scripts/dist/scripts/image-tag.mjs', 'ci-build-scripts'])(
    'refuses an import of %s: the lib is not part of the interface',
    async (specifier) => {
      const result = await importFrom(specifier)
      expectExit(result, 1)
      expect(result.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/)
    },
  )

  it('exports the config module: the schema, the key list and the validator, with their types', async () => {
    const result = await runCommand(
      'node import',
      [
        process.execPath,
        '--input-type=module',
        '-e',
        "const m = await import('ci-build-scripts/config'); console.log(JSON.stringify({ keys: m.configKeys().length, title: m.configJsonSchema().title, ok: m.validateConfig({ buildImage: { name: 'a-build', inputs: ['x'] } }).buildImage.dockerfile }))",
      ],
      { cwd: project, env: adopterEnv() },
    )
    expectExit(result, 0)
    expect(JSON.parse(result.stdout)).toEqual({ keys: expect.any(Number), title: 'build.config.json of ci-build-scripts', ok: 'Dockerfile.build' })
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'))
    expect(fs.existsSync(path.join(installed, pkg.exports['./config'].types))).toBe(true)
    // The file init's $schema names, in the installed package.
    const schema = JSON.parse(fs.readFileSync(path.join(project, 'node_modules/ci-build-scripts/build.config.schema.json'), 'utf8'))
    expect(schema.properties.buildImage.required).toEqual(['name', 'inputs'])
  })

  it('exports its package.json, and only what it lists', async () => {
    const result = await runCommand('node resolve', [process.execPath, '--input-type=module', '-e', "console.log(import.meta.resolve('ci-build-scripts/package.json'))"], {
      cwd: project,
      env: adopterEnv(),
    })
    expectExit(result, 0)
    expect(result.stdout.trim()).toBe(`file://${fs.realpathSync(installed)}/package.json`)
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'))
    expect(JSON.stringify(pkg.exports)).not.toContain('*')
  })
})

describe("the config module's types, in a TypeScript project", { timeout: 300_000 }, () => {
  let tsProject = ''
  /** The project's own tsc over its src/, as its CI would run it. */
  const tsc = () => runCommand('tsc', [path.join(tsProject, 'node_modules/.bin/tsc'), '-p', '.'], { cwd: tsProject, env: adopterEnv() })
  // The versions this repository builds with, so the check needs no registry beyond npm's cache.
  const devVersion = (name: string) => JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string

  beforeAll(async () => {
    tsProject = makeRepo({
      'package.json': JSON.stringify({ name: 'ts-adopter', version: '1.0.0', private: true, type: 'module' }, null, 2) + '\n',
      // Strict, and the package's declarations checked too (no skipLibCheck).
      'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] }, include: ['src/*.mts'] }, null, 2) + '\n',
    })
    fs.copyFileSync(tarball, path.join(tsProject, path.basename(tarball)))
    await run('npm', ['install', '--save-dev', '--prefer-offline', `./${path.basename(tarball)}`, `typescript@${devVersion('typescript')}`, `@types/node@${devVersion('@types/node')}`], {
      cwd: tsProject,
      env: adopterEnv(),
      timeout: 600_000,
    })
  }, 900_000)

  it('accepts a config typed as Config, and refuses an unknown key and a value of the wrong type', async () => {
    fs.mkdirSync(path.join(tsProject, 'src'), { recursive: true })
    fs.writeFileSync(
      path.join(tsProject, 'src/config.mts'),
      [
        "import { validateConfig, type Config } from 'ci-build-scripts/config'",
        "export const loaded: Config = validateConfig({ buildImage: { name: 'acme-build', inputs: ['go.mod'] } })",
        "export const config: Config = { ...loaded, registry: 'ghcr.io/acme', steps: { ...loaded.steps, test: ['make', 'test'], docker: true }, prune: { ...loaded.prune, backend: 'registry' } }",
        "export const team: string | undefined = config.trust.team",
        '',
      ].join('\n'),
    )
    const accepted = await tsc()
    expect(accepted.exitCode, accepted.stdout + accepted.stderr).toBe(0)

    fs.writeFileSync(
      path.join(tsProject, 'src/wrong.mts'),
      [
        "import type { Config } from 'ci-build-scripts/config'",
        "import { loaded } from './config.mjs'",
        "export const typo: Config = { ...loaded, regsitry: 'ghcr.io/acme' }",
        "export const backend: Config = { ...loaded, prune: { ...loaded.prune, backend: 'ftp' } }",
        '',
      ].join('\n'),
    )
    const refused = await tsc()
    expect(refused.exitCode).toBe(2)
    expect(refused.stdout).toMatch(/src\/wrong\.mts\(3,\d+\): error TS\d+: Object literal may only specify known properties, (and|but) 'regsitry' does not exist in type/)
    expect(refused.stdout).toMatch(/src\/wrong\.mts\(4,\d+\): error TS2322: Type '"ftp"' is not assignable to type '[^']*"github-packages"[^']*'/)
    expect(refused.stdout.trim().split('\n')).toHaveLength(2)
  })
})
