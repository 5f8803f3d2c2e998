// image-tag against real git: the tag is git's own formula, content-addressed, and
// the script's CLI behaves (exit codes, messages, CI ref sync).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/core/config.mts'
import { quoteGitPath, repoInfo } from '../../lib/core/git.mts'
import { computeBuildImageTag } from '../../lib/image/content-tag.mts'
import { git, GIT_ENV, makeRepo, tempDir, writeFiles } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

async function tagOf(root: string): Promise<string> {
  const repo = await repoInfo(root)
  return (await computeBuildImageTag(repo, await loadConfig({ root, env: {} }))).tag
}

/** The same formula, computed by git itself. */
function gitFormula(root: string, paths: string[]): string {
  const tree = execFileSync('git', ['ls-tree', '-r', '--full-tree', 'HEAD', '--', ...paths], { cwd: root, env: GIT_ENV })
  return execFileSync('git', ['hash-object', '--stdin'], { cwd: root, input: tree, env: GIT_ENV, encoding: 'utf8' }).trim()
}

const config = (inputs: string[], extra: object = {}) => ({ buildImage: { name: 'acme-build', inputs }, ...extra })

describe('image-tag equals git ls-tree | git hash-object on a clean tree', () => {
  it('with executable inputs, subdirectories, spaces, quotes and non-ASCII names', async () => {
    const files = {
      'Dockerfile.build': 'FROM busybox:latest\n',
      'package.json': '{}\n',
      'tools/install.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'tools/deep/er/file.txt': 'x\n',
      'with space/a b.txt': 'space\n',
      'ünïcödé/naïve.txt': 'utf8\n',
      'odd/quote"back\\slash.txt': 'odd\n',
      'odd/tab\there.txt': 'tab\n',
      'link-to-package': { symlink: 'package.json' },
      'not-an-input.txt': 'ignored by the config\n',
    }
    const root = makeRepo(files, config(['package.json', 'tools/**', 'with space', 'ünïcödé/*.txt', 'odd/', 'link-to-package']))
    const inputs = Object.keys(files).filter((f) => f !== 'not-an-input.txt')
    expect(await tagOf(root)).toBe(gitFormula(root, inputs))
  })

  it('git quotes paths exactly as quoteGitPath does', () => {
    const root = makeRepo({ 'a"b': '1', 'c\\d': '2', 'é': '3', 'tab\tx': '4', 'new\nline': '5', plain: '6', 'sp ace': '7' })
    const fromGit = git(root, 'ls-files').split('\n')
    const ours = ['a"b', 'c\\d', 'é', 'tab\tx', 'new\nline', 'plain', 'sp ace'].map(quoteGitPath)
    expect(ours.sort()).toEqual(fromGit.sort())
  })
})

describe('the tag follows the inputs content, and nothing else', () => {
  const base = {
    'Dockerfile.build': 'FROM busybox:latest\n',
    'go.mod': 'module x\n',
    'main.go': 'package main\n',
    '.gitignore': 'secret.env\n',
  }

  it('modified input -> new tag; revert -> old tag; non-input change -> same tag', async () => {
    const root = makeRepo(base, config(['go.mod', '*.env', 'extra/**']))
    // untracked inputs need a match at the start: create one so the patterns are valid
    writeFiles(root, { 'extra/one.txt': '1\n', 'a.env': 'A=1\n' })
    const clean = await tagOf(root)
    writeFiles(root, { 'go.mod': 'module y\n' })
    const modified = await tagOf(root)
    expect(modified).not.toBe(clean)
    writeFiles(root, { 'go.mod': 'module x\n' })
    expect(await tagOf(root)).toBe(clean)
    writeFiles(root, { 'main.go': 'package main // changed\n' })
    expect(await tagOf(root)).toBe(clean)
  })

  it('an untracked, not-ignored input counts; an ignored file never does', async () => {
    const root = makeRepo({ ...base, 'keep.env': 'K=1\n' }, config(['*.env']))
    const before = await tagOf(root)
    writeFiles(root, { 'secret.env': 'TOKEN=hunter2\n' })
    expect(await tagOf(root)).toBe(before)
    writeFiles(root, { 'new.env': 'N=1\n' })
    const withNew = await tagOf(root)
    expect(withNew).not.toBe(before)
    const repo = await repoInfo(root)
    const result = await computeBuildImageTag(repo, await loadConfig({ root, env: {} }))
    expect(result.inputs.map((i) => i.path)).toEqual(['Dockerfile.build', 'keep.env', 'new.env'])
  })

  it('renaming an input or flipping its executable bit changes the tag', async () => {
    const root = makeRepo({ ...base, 'tools/a.sh': '#!/bin/sh\n' }, config(['tools/**']))
    const before = await tagOf(root)
    fs.chmodSync(path.join(root, 'tools/a.sh'), 0o755)
    const executable = await tagOf(root)
    expect(executable).not.toBe(before)
    fs.chmodSync(path.join(root, 'tools/a.sh'), 0o644)
    expect(await tagOf(root)).toBe(before)
    fs.renameSync(path.join(root, 'tools/a.sh'), path.join(root, 'tools/b.sh'))
    expect(await tagOf(root)).not.toBe(before)
  })

  it('build args are part of the tag; the same args give the same tag', async () => {
    const root = makeRepo(base, config(['go.mod']))
    const plain = await tagOf(root)
    const withArgs = config(['go.mod'], {})
    ;(withArgs.buildImage as Record<string, unknown>).buildArgs = { GO_VERSION: '1.22' }
    writeFiles(root, { 'build.config.json': JSON.stringify(withArgs) })
    const a = await tagOf(root)
    expect(a).not.toBe(plain)
    expect(await tagOf(root)).toBe(a)
    ;(withArgs.buildImage as Record<string, unknown>).buildArgs = { GO_VERSION: '1.23' }
    writeFiles(root, { 'build.config.json': JSON.stringify(withArgs) })
    expect(await tagOf(root)).not.toBe(a)
  })
})

describe('image-tag CLI', () => {
  const files = { 'Dockerfile.build': 'FROM busybox:latest\n', 'go.mod': 'module x\n' }

  it('prints the tag, the ref, the manifest and JSON on stdout', async () => {
    const root = makeRepo(files, config(['go.mod'], { registry: 'ghcr.io/acme' }))
    const tag = await runScript('image-tag', [], { cwd: root })
    expect(tag.exitCode).toBe(0)
    expect(tag.stdout).toBe(gitFormula(root, ['Dockerfile.build', 'go.mod']) + '\n')
    const t = tag.stdout.trim()
    expect((await runScript('image-tag', ['--image', '--repo', root])).stdout).toBe(`ghcr.io/acme/acme-build:${t}\n`)
    expect((await runScript('image-tag', ['--image', '--repo', root], { env: { REGISTRY: '' } })).stdout).toBe(`acme-build:${t}\n`)
    expect((await runScript('image-tag', ['--manifest', '--repo', root])).stdout).toBe(
      execFileSync('git', ['ls-tree', '-r', '--full-tree', 'HEAD', '--', 'Dockerfile.build', 'go.mod'], { cwd: root, encoding: 'utf8' }),
    )
    const json = JSON.parse((await runScript('image-tag', ['--json', '--repo', root])).stdout)
    expect(json).toMatchObject({ tag: t, image: `ghcr.io/acme/acme-build:${t}` })
    expect(json.inputs.map((i: { path: string }) => i.path)).toEqual(['Dockerfile.build', 'go.mod'])
  })

  it('exit 2 naming the pattern, the directory or the key', async () => {
    const root = makeRepo(files, config(['go.mod', 'tools/*.sh']))
    let r = await runScript('image-tag', ['--repo', root])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('"tools/*.sh" matches no file')
    expect(r.stdout).toBe('')

    const notRepo = tempDir()
    r = await runScript('image-tag', ['--repo', notRepo])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain(`not a git repository: ${notRepo}`)

    const noConfig = makeRepo(files)
    r = await runScript('image-tag', [], { cwd: noConfig })
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/build\.config\.json: not found/)

    writeFiles(noConfig, { 'build.config.json': JSON.stringify({ buildImage: { name: 'x', inputs: ['go.mod'], dockerFile: 'D' } }) })
    r = await runScript('image-tag', [], { cwd: noConfig })
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('buildImage.dockerFile: unknown key')

    writeFiles(noConfig, { 'build.config.json': '{"buildImage": {' })
    r = await runScript('image-tag', [], { cwd: noConfig })
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('not valid JSON')

    r = await runScript('image-tag', ['--frobnicate', '--repo', root])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('unknown flag --frobnicate')
  })

  it('refuses inputs that escape the repository', async () => {
    for (const [inputs, message] of [
      [['../outside'], '"../outside" reaches outside the repository'],
      [['/etc/passwd'], '"/etc/passwd" reaches outside the repository'],
      [['escape'], 'escape is a symlink pointing outside the repository'],
    ] as const) {
      const root = makeRepo({ ...files, escape: { symlink: '/etc/passwd' } }, config([...inputs]))
      const r = await runScript('image-tag', ['--repo', root])
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.stderr).toContain(message)
    }
  })

  it('--help prints usage on stdout and exits 0', async () => {
    const r = await runScript('image-tag', ['--help'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/^Usage: npx zx scripts\/image-tag\.mts/)
    expect(r.stdout).toContain('--check-refs')
  })

  it('--check-refs lists stale references in CI configs; --write-refs rewrites only those', async () => {
    const stale = 'ghcr.io/acme/acme-build:' + '0'.repeat(40)
    const other = 'ghcr.io/acme/other-build:' + '1'.repeat(40)
    const circle = `version: 2.1\njobs:\n  lint:\n    docker:\n      - image: ${stale}\n      - image: ${other}\n`
    const workflow = `on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    container: ${stale}\n    steps: [{ run: echo }]\n`
    const root = makeRepo(
      { ...files, '.circleci/config.yml': circle, '.github/workflows/ci.yml': workflow, '.github/workflows/other.yaml': 'on: push\n' },
      config(['go.mod'], { registry: 'ghcr.io/acme' }),
    )
    const tag = (await runScript('image-tag', ['--repo', root])).stdout.trim()
    // ghcr.io is unreachable here: the digests go unchecked (a warning), at once.
    const env = { REGISTRY_RETRIES: '0', REGISTRY_USERNAME: undefined, REGISTRY_PASSWORD: undefined, DOCKER_CONFIG: tempDir() }

    let r = await runScript('image-tag', ['--check-refs', '--repo', root], { env })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('.circleci/config.yml:5')
    expect(r.stderr).toContain('.github/workflows/ci.yml:5')
    expect(r.stderr).toContain('--write-refs')
    expect(r.stderr).not.toContain('other-build')

    r = await runScript('image-tag', ['--write-refs', '--repo', root], { env })
    expect(r.exitCode).toBe(0)
    const current = `ghcr.io/acme/acme-build:${tag}`
    expect(fs.readFileSync(path.join(root, '.circleci/config.yml'), 'utf8')).toBe(circle.replace(stale, current))
    expect(fs.readFileSync(path.join(root, '.github/workflows/ci.yml'), 'utf8')).toBe(workflow.replace(stale, current))

    // The rewrite touched config files only: the tag (and so the refs) stay current.
    r = await runScript('image-tag', ['--check-refs', '--repo', root], { env })
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toContain('2 reference(s)')
  })
})

describe('git processes', () => {
  it('do not grow with the number of inputs', async () => {
    const bin = tempDir()
    const log = path.join(bin, 'calls.log')
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim()
    fs.writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${realGit}" "$@"\n`, { mode: 0o755 })
    const count = async (n: number) => {
      const files: Record<string, string> = { 'Dockerfile.build': 'FROM busybox:latest\n' }
      for (let i = 0; i < n; i++) files[`inputs/f${i}.txt`] = `${i}\n`
      const root = makeRepo(files, config(['inputs/**']))
      fs.rmSync(log, { force: true })
      const r = await runScript('image-tag', ['--repo', root], { env: { PATH: `${bin}:${process.env.PATH}` } })
      expect(r.exitCode, r.stderr).toBe(0)
      return fs.readFileSync(log, 'utf8').trim().split('\n')
    }
    const few = await count(3)
    const many = await count(600)
    expect(many.length).toBe(few.length)
    expect(few.length).toBeLessThanOrEqual(3)
  })
})
