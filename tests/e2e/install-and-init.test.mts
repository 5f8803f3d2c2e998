// The package as an adopter gets it: `npm pack` of this repository, `npm install
// --save-dev ./ci-build-scripts-<v>.tgz` into Go and Node projects shaped like real ones
// (the Go project with its own release Dockerfile, a Makefile whose test target runs lint
// and generation first, and a dozen workflows; the Node project with its own ci.yml and a
// lefthook-style `prepare` that needs a git checkout), then `npx ci-build-scripts init`
// and `npx ci-build-scripts test-and-build` from a subdirectory of the project, unedited,
// with no file of the project changed (the hash of every file it had, node_modules and
// ignored files included, compared at the end). The real npm registry serves the tarball's dependencies
// (once per project, in beforeAll), the real engine builds under BuildKit and the legacy
// builder, the real registry takes the pushes.
//
// Nothing of this repository's own set-up reaches the adopter's commands: no
// NODE_OPTIONS (this repository's .npmrc registers tsx for its own `npx zx`), no npm_*
// variables, and the cwd is the adopter's project.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docker, dockerMaybe, requireDocker, uniqueName } from '../helpers/docker.mts'
import { packProject } from '../helpers/pack.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'
import { adopterEnv, runCommand, type RunResult } from '../helpers/run.mts'
import { PLACEHOLDER_MESSAGE } from '../../lib/init/templates.mts'

const run = promisify(execFile)

/**
 * `npx ci-build-scripts <args>` in `cwd`, as the adopter types it. The deadline only
 * catches a hang: on a shared 2-core machine a push of the Go toolchain image (~600 MB)
 * took over 5 minutes at load 40.
 */
function npx(cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}, timeoutMs = 900_000): Promise<RunResult> {
  return runCommand(`ci-build-scripts ${args[0]}`, ['npx', '--no', 'ci-build-scripts', ...args], { cwd, env: adopterEnv(extra), timeoutMs })
}

const expectExit = (result: RunResult, code: number) => expect(result.exitCode, `exit ${result.exitCode}; stderr:\n${result.stderr}`).toBe(code)

/** A copy of an installed project (its .git and node_modules included) to change freely. */
function copyProject(from: string): string {
  const to = tempDir('cbs-adopter-')
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true })
  return to
}

/**
 * The sha256 of every file under `root` but .git's, by repo-relative path: the ignored
 * ones (node_modules) too, which git status does not see. Symlinks by their target.
 */
function fileHashes(root: string): Map<string, string> {
  const hashes = new Map<string, string>()
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name)
    const rel = path.relative(root, full)
    if (rel === '.git' || rel.startsWith(`.git${path.sep}`)) continue
    if (entry.isSymbolicLink()) hashes.set(rel, `-> ${fs.readlinkSync(full)}`)
    else if (entry.isFile()) hashes.set(rel, createHash('sha256').update(fs.readFileSync(full)).digest('hex'))
  }
  return hashes
}

/** The files of `before` that are gone or changed in `after`. */
function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before].filter(([file, hash]) => after.get(file) !== hash).map(([file]) => file)
}

let tarball = ''
let goProject = ''
let nodeProject = ''
let registry: TestRegistry
const images: string[] = []

/** A dozen workflows, as a Go project of some age has (none is init's). */
const WORKFLOWS = Object.fromEntries(
  ['ci', 'release', 'lint', 'codeql', 'stale', 'docs', 'nightly', 'integration', 'e2e', 'labeler', 'dependabot-auto-merge', 'test-and-build'].map((name) => [
    `.github/workflows/${name}.yaml`,
    `# ${name}\nname: ${name}\non: [push]\nconcurrency:\n  group: ci-\${{ github.ref }}\njobs:\n  ${name}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make ${name}\n`,
  ]),
)

const GO_FILES = {
  '.gitignore': 'node_modules/\nbin/\n',
  'go.mod': 'module example.com/hello\n\ngo 1.19\n',
  // The project's release image: never built by test-and-build, and never replaced.
  Dockerfile: 'FROM golang:1.22-bookworm AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/ ./...\n\nFROM gcr.io/distroless/static\nCOPY --from=build /out/ /usr/local/bin/\n',
  '.dockerignore': 'bin/\n',
  // test runs lint (vet) and generation first; the steps come from it.
  Makefile: '.PHONY: test build vet generate\n\ntest: vet generate\n\tgo test ./...\n\nvet:\n\tgo vet ./...\n\ngenerate:\n\tgo generate ./...\n\nbuild:\n\tgo build -o bin/ ./...\n',
  ...WORKFLOWS,
  'greet/greet.go': 'package greet\n\n//go:generate sh -c "echo generated by go generate"\n\nfunc Hello() string { return "hello" }\n',
  'cmd/hello/main.go': 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/hello/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n',
  // Only inside a container: proves the test step ran in the build image (the host has no Go either).
  'greet/greet_test.go': [
    'package greet',
    '',
    'import (',
    '\t"os"',
    '\t"testing"',
    ')',
    '',
    'func TestHello(t *testing.T) {',
    '\tif _, err := os.Stat("/.dockerenv"); err != nil {',
    '\t\tt.Fatal("not in a container")',
    '\t}',
    '\tif Hello() != "hello" {',
    '\t\tt.Fatal("bad greeting")',
    '\t}',
    '}',
    '',
  ].join('\n'),
}

const NODE_FILES = {
  '.gitignore': 'node_modules/\ndist/\n',
  // A prepare that needs a git checkout, as `lefthook install` and husky do.
  'package.json': JSON.stringify({ name: 'tiny-node', version: '1.0.0', type: 'module', scripts: { prepare: 'git config core.hooksPath .githooks', test: 'node --test', build: 'node build.mjs' } }, null, 2) + '\n',
  '.github/workflows/ci.yml': 'name: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: npm ci\n      - run: npm test\n',
  'src/add.mjs': 'export const add = (a, b) => a + b\n',
  'build.mjs': "import fs from 'node:fs'\nfs.mkdirSync('dist', { recursive: true })\nfs.copyFileSync('src/add.mjs', 'dist/add.mjs')\nconsole.log('built dist/add.mjs')\n",
  // The second test holds only in the build image: the lockfile's dependencies installed in /opt/deps.
  'test/add.test.mjs': [
    "import assert from 'node:assert/strict'",
    "import fs from 'node:fs'",
    "import { test } from 'node:test'",
    "import { add } from '../src/add.mjs'",
    '',
    "test('adds', () => assert.equal(add(2, 3), 5))",
    "test('runs in the build image, with the lockfile installed', () => {",
    "  assert.ok(fs.existsSync('/opt/deps/node_modules/ci-build-scripts/package.json'))",
    '})',
    '',
  ].join('\n'),
}

/** Pack this repository, once; install the tarball into a project (the npm registry serves its dependencies). */
async function installInto(root: string): Promise<void> {
  const name = path.basename(tarball)
  fs.copyFileSync(tarball, path.join(root, name))
  await run('npm', ['install', '--save-dev', `./${name}`], { cwd: root, env: adopterEnv(), timeout: 600_000 })
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'add ci-build-scripts')
}

beforeAll(async () => {
  requireDocker(['debian:bookworm-slim', 'node:20-bookworm-slim'])
  tarball = (await packProject()).tarball
  goProject = makeRepo(GO_FILES)
  nodeProject = makeRepo(NODE_FILES)
  await Promise.all([installInto(goProject), installInto(nodeProject)])
  registry = await startRegistry()
}, 900_000)

afterAll(async () => {
  await registry?.stop()
  // By name: an image that only names a base (the skeleton's) shares the base's id.
  for (const image of images) dockerMaybe('rmi', image)
})

// Each npx start costs seconds, and minutes at a load of 40: room for that.
describe('the packed package', { timeout: 600_000 }, () => {
  it('ships what runs, and nothing of the tests', () => {
    const installed = path.join(goProject, 'node_modules', 'ci-build-scripts')
    expect(fs.existsSync(path.join(installed, 'bin', 'ci-build-scripts.mjs'))).toBe(true)
    expect(fs.existsSync(path.join(installed, 'scripts', 'init.mts'))).toBe(true)
    expect(fs.existsSync(path.join(installed, 'lib', 'core', 'cli.mts'))).toBe(true)
    for (const absent of ['tests', 'bench', 'examples', '.npmrc', 'Dockerfile.build']) expect(fs.existsSync(path.join(installed, absent)), absent).toBe(false)
    const pkg = JSON.parse(fs.readFileSync(path.join(goProject, 'package.json'), 'utf8'))
    expect(pkg.devDependencies['ci-build-scripts']).toMatch(/^file:ci-build-scripts-.*\.tgz$/)
    // The adopter's repository has no loader set-up of its own.
    expect(fs.existsSync(path.join(goProject, '.npmrc'))).toBe(false)
  })

  it('runs a script from a subdirectory, on the repository of the cwd, with no loader configured', async () => {
    const project = copyProject(goProject)
    const sub = path.join(project, 'greet')
    const help = await npx(sub, ['image-tag', '--help'])
    expectExit(help, 0)
    expect(help.stdout).toMatch(/^Usage: /)
    const unknown = await npx(sub, ['no-such-script'])
    expectExit(unknown, 2)
    expect(unknown.stderr).toMatch(/unknown script "no-such-script".*init.*test-and-build/)
    // No build.config.json yet: the script looked for it at the root of *this* repository.
    const tag = await npx(sub, ['image-tag'])
    expectExit(tag, 2)
    expect(tag.stderr).toContain(`not found at ${path.join(fs.realpathSync(project), 'build.config.json')}`)
  })
})

describe('init', { timeout: 600_000 }, () => {
  it('refuses a directory that is not a git repository, writing nothing', async () => {
    const project = copyProject(goProject)
    fs.rmSync(path.join(project, '.git'), { recursive: true })
    const result = await npx(project, ['init'])
    expectExit(result, 2)
    expect(result.stderr).toMatch(/not a git repository: /)
    expect(fs.existsSync(path.join(project, 'build.config.json'))).toBe(false)
    expect(fs.existsSync(path.join(project, 'Dockerfile.build'))).toBe(false)
  })

  it('--dry-run prints the files and what would happen to each, and writes none', async () => {
    const project = copyProject(goProject)
    const result = await npx(project, ['init', '--dry-run'])
    expectExit(result, 0)
    expect(result.stdout).toContain('==> Dockerfile.build (written) <==\n')
    expect(result.stdout).toContain('==> .github/workflows/ci-build-scripts.yml (written) <==\n')
    expect(result.stdout).toMatch(/^left as it was +Dockerfile \(your final image/m)
    expect(git(project, 'status', '--porcelain')).toBe('')
  })

  it('a second init leaves every file as it was (exit 0); --force overwrites', async () => {
    const project = copyProject(goProject)
    expectExit(await npx(project, ['init']), 0)
    fs.writeFileSync(path.join(project, 'Dockerfile.build'), '# mine\n')
    const again = await npx(project, ['init'])
    expectExit(again, 0)
    for (const file of ['Dockerfile.build', 'Dockerfile', 'build.config.json', '.github/workflows/ci-build-scripts.yml', '.circleci/config.yml']) {
      expect(again.stdout).toMatch(new RegExp(`^left as it was +${file.replace(/\./g, '\\.')}`, 'm'))
    }
    expect(fs.readFileSync(path.join(project, 'Dockerfile.build'), 'utf8')).toBe('# mine\n')
    const forced = await npx(project, ['init', '--force'])
    expectExit(forced, 0)
    expect(fs.readFileSync(path.join(project, 'Dockerfile.build'), 'utf8')).toContain('golang-go')
    expect(forced.stdout).toMatch(/^overwritten +Dockerfile$/m) // the project's own, as --force says
  })

  it('an unknown kind of project gets a skeleton that fails test-and-build, saying what to fill in', async () => {
    const project = copyProject(goProject)
    git(project, 'rm', '-q', '-r', 'go.mod', 'greet')
    git(project, 'commit', '-q', '-m', 'not Go any more')
    const n = uniqueName('init-unknown')
    const init = await npx(project, ['init', '--name', n])
    expectExit(init, 0)
    expect(init.stderr).toContain('not a Go or Node project')
    git(project, 'add', '-A')
    git(project, 'commit', '-q', '-m', 'init')
    const result = await npx(project, ['test-and-build'])
    expectExit(result, 1)
    expect(result.stderr).toContain(PLACEHOLDER_MESSAGE('test'))
    expect(result.stderr).toMatch(/✘ +test failed with exit code \d+/)
    images.push(...docker('images', '--format', '{{.Repository}}:{{.Tag}}', `${n}-build`).split('\n').filter(Boolean))
  })
})

// Each project twice: the engine's default builder (BuildKit, buildx is installed) and
// the legacy builder (DOCKER_BUILDKIT=0), each with its own image names.
const BUILDERS = [
  { builder: 'BuildKit', env: {} },
  { builder: 'the legacy builder', env: { DOCKER_BUILDKIT: '0' } },
]
const KINDS = [
  {
    kind: 'Go',
    project: () => goProject,
    sub: 'greet',
    ran: /ok\s+example\.com\/hello\/greet/,
    summary: [
      'written | Dockerfile.build',
      "left as it was | Dockerfile (your final image: build.config.json's image.dockerfile names it)",
      'left as it was | .dockerignore',
      'written | build.config.json',
      'written | .github/workflows/ci-build-scripts.yml',
      'written | .circleci/config.yml',
    ],
  },
  {
    kind: 'Node',
    project: () => nodeProject,
    sub: 'src',
    ran: /# pass 2\n# fail 0/,
    summary: ['written | Dockerfile.build', 'written | Dockerfile', 'written | .dockerignore', 'written | build.config.json', 'written | .github/workflows/ci-build-scripts.yml', 'written | .circleci/config.yml'],
  },
]

describe.each(KINDS)('a $kind project', ({ kind, project: base, sub, ran, summary }) => {
  it.each(BUILDERS)(
    'init, commit, test-and-build green (its tests in the build image), then present; pushed; pulled after rmi ($builder)',
    async ({ env }) => {
      const project = copyProject(base())
      const cwd = path.join(project, sub)
      const n = uniqueName(`init-${kind.toLowerCase()}`)
      const ref = (registryHost?: string) => `${registryHost ? `${registryHost}/` : ''}${n}-build`
      const report = (file: string) => JSON.parse(fs.readFileSync(path.join(project, file), 'utf8'))

      const before = fileHashes(project)

      // 1. init, from a subdirectory: the files land at the root.
      const init = await npx(cwd, ['init', '--name', n], env)
      expectExit(init, 0)
      expect(init.stdout.split('\n').filter(Boolean).map((l) => l.replace(/ {2,}/, ' | '))).toEqual(summary)
      expect(init.stderr).toContain('Next: npx ci-build-scripts test-and-build')
      // No file of the project changed: only new ones.
      expect(git(project, 'status', '--porcelain', '--untracked-files=all').split('\n').filter((l) => !l.startsWith('?? '))).toEqual([])
      git(project, 'add', '-A')
      git(project, 'commit', '-q', '-m', 'ci-build-scripts init')

      // 2. The first run builds the build image and runs the project's tests in it.
      const first = await npx(cwd, ['test-and-build', '--report', path.join(project, 'r1.json')], env)
      expectExit(first, 0)
      expect(first.stderr).toMatch(ran)
      if (kind === 'Go') expect(first.stderr).toContain('generated by go generate') // the Makefile's test ran, generation first
      expect(report('r1.json').image.outcome).toBe('built')
      expect(report('r1.json').steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`)).toEqual(['test ok', 'build ok'])
      const tag = report('r1.json').image.ref.split(':').pop()
      images.push(`${ref()}:${tag}`)

      // 3. The second run finds it.
      const second = await npx(cwd, ['test-and-build', '--report', path.join(project, 'r2.json')], env)
      expectExit(second, 0)
      expect(report('r2.json').image.outcome).toBe('present')

      // 4. With a registry: pushed; then, gone from the daemon, pulled.
      const pushed = await npx(cwd, ['test-and-build', '--registry', registry.host, '--push', '--report', path.join(project, 'r3.json')], env)
      expectExit(pushed, 0)
      expect(report('r3.json').image.outcome).toBe('pushed')
      images.push(`${ref(registry.host)}:${tag}`)
      expect(await registry.tags(`${n}-build`)).toEqual([tag])
      docker('rmi', `${ref(registry.host)}:${tag}`)
      const pulled = await npx(cwd, ['test-and-build', '--registry', registry.host, '--report', path.join(project, 'r4.json')], env)
      expectExit(pulled, 0)
      expect(report('r4.json').image.outcome).toBe('pulled')
      expect(pulled.stderr).toMatch(ran)

      // 5. Every file the project had before init, node_modules and ignored ones included, as it was.
      const after = fileHashes(project)
      expect(before.size).toBeGreaterThan(100)
      expect(changedFiles(before, after)).toEqual([])
    },
    2_400_000,
  )
})
