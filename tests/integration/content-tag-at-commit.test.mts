// buildImageTagAt: the build image's tag of any commit from git objects alone, checked
// against what image-tag prints on a real clean checkout of each commit, through a
// history where the inputs, their modes, the config and the build args all change.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoInfo } from '../../lib/core/git.mts'
import { buildImageTagAt, buildImageTagsAlongFirstParent } from '../../lib/image/content-tag.mts'
import { git, makeRepo, tempDir, writeFiles } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

const config = (inputs: string[], extra: object = {}) => JSON.stringify({ buildImage: { name: 'acme-build', inputs, ...extra } }, null, 2) + '\n'

function commitAll(root: string, message: string): string {
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '--allow-empty', '-m', message)
  return git(root, 'rev-parse', 'HEAD')
}

/** What image-tag prints on a clean checkout of `commit` (a detached worktree of it). */
async function imageTagAt(root: string, commit: string): Promise<string> {
  const dir = path.join(tempDir('cbs-checkout-'), 'wt')
  git(root, 'worktree', 'add', '-q', '--detach', dir, commit)
  try {
    const r = await runScript('image-tag', ['--repo', dir], { env: { REGISTRY: '' } })
    expect(r.exitCode, r.stderr).toBe(0)
    return r.stdout.trim()
  } finally {
    git(root, 'worktree', 'remove', '--force', dir)
  }
}

describe('buildImageTagAt', () => {
  it('equals image-tag on a clean checkout of every commit, the config changing between them', async () => {
    const root = makeRepo({ 'README.md': 'before the build image existed\n' })
    const commits: Record<string, string> = { 'no config yet': git(root, 'rev-parse', 'HEAD') }
    writeFiles(root, {
      'Dockerfile.build': 'FROM busybox:latest\n',
      'package.json': '{}\n',
      'tools/install.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'tools/odd "name" ü.txt': 'quoted\n',
      'link-to-package': { symlink: 'package.json' },
      'build.config.json': config(['package.json', 'tools/', 'link-to-package']),
    })
    commits['first config'] = commitAll(root, 'build image')
    writeFiles(root, { 'package.json': '{"dependencies":{}}\n' })
    commits['an input changed'] = commitAll(root, 'bump')
    fs.chmodSync(path.join(root, 'tools/install.sh'), 0o644)
    commits['a mode changed'] = commitAll(root, 'chmod')
    writeFiles(root, { 'build.config.json': config(['package.json', 'tools/', '!tools/odd*', 'extra.txt'], { buildArgs: { GO: '1.22' } }), 'extra.txt': 'x\n' })
    commits['the config changed'] = commitAll(root, 'config')
    writeFiles(root, { 'README.md': 'unrelated\n' })
    commits['an unrelated change'] = commitAll(root, 'docs')

    const repo = await repoInfo(root)
    const tags: Record<string, string | null> = {}
    for (const [name, commit] of Object.entries(commits)) {
      const at = await buildImageTagAt(repo, commit)
      tags[name] = at.tag
      if (name === 'no config yet') {
        expect(at).toMatchObject({ tag: null, reason: 'build.config.json is not in that commit' })
        continue
      }
      expect(at.tag, name).toBe(await imageTagAt(root, commit))
    }
    // Each change of the inputs, their modes or the config is a new tag; an unrelated one is not.
    const distinct = ['first config', 'an input changed', 'a mode changed', 'the config changed'].map((n) => tags[n])
    expect(new Set(distinct).size).toBe(4)
    expect(tags['an unrelated change']).toBe(tags['the config changed'])
  })

  it('a commit whose config does not validate, or whose input is gone, has no tag and says why', async () => {
    const root = makeRepo({ 'Dockerfile.build': 'FROM busybox:latest\n', 'a.txt': 'a\n' }, { buildImage: { name: 'acme-build', inputs: ['a.txt'] } })
    writeFiles(root, { 'build.config.json': '{ "buildImage": { "name": "acme-build", "input": ["a.txt"] } }\n' })
    const typo = commitAll(root, 'typo')
    writeFiles(root, { 'build.config.json': config(['b.txt']) })
    const missing = commitAll(root, 'missing input')
    const repo = await repoInfo(root)
    expect(await buildImageTagAt(repo, typo)).toMatchObject({ tag: null, reason: expect.stringContaining('buildImage.input') })
    expect(await buildImageTagAt(repo, missing)).toMatchObject({ tag: null, reason: expect.stringContaining('"b.txt" matches no file') })
  })

  it('buildImageTagsAlongFirstParent: the tags buildImageTagAt gives each commit of HEAD\'s first-parent line, through deletions, modes, symlinks, a merge and a config change', async () => {
    const root = makeRepo({ 'README.md': 'before the build image existed\n' })
    writeFiles(root, {
      'Dockerfile.build': 'FROM busybox:latest\n',
      'tools/a.txt': 'a\n',
      'tools/b.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'tools/odd "name" ü.txt': 'quoted\n',
      'build.config.json': config(['tools/']),
    })
    commitAll(root, 'build image')
    fs.rmSync(path.join(root, 'tools/a.txt'))
    commitAll(root, 'an input deleted')
    fs.chmodSync(path.join(root, 'tools/b.sh'), 0o644)
    commitAll(root, 'a mode changed')
    writeFiles(root, { 'tools/link': { symlink: 'b.sh' } })
    commitAll(root, 'a symlink added')
    // A merge: its first-parent changes are everything the side branch brought in.
    git(root, 'checkout', '-qb', 'side')
    writeFiles(root, { 'tools/c.txt': 'c\n' })
    commitAll(root, 'side: an input')
    git(root, 'checkout', '-q', 'main')
    writeFiles(root, { 'README.md': 'unrelated\n' })
    commitAll(root, 'docs')
    git(root, 'merge', '-q', '--no-ff', '--no-edit', 'side')
    writeFiles(root, { 'build.config.json': config(['tools/', '!tools/odd*'], { buildArgs: { GO: '1.22' } }) })
    commitAll(root, 'the config changed')
    writeFiles(root, { 'tools/link': 'now a file\n' })
    commitAll(root, 'a symlink became a file')

    const repo = await repoInfo(root)
    const along = await buildImageTagsAlongFirstParent(repo, 50)
    expect(along.map((a) => a.commit)).toEqual(git(root, 'rev-list', '--first-parent', 'HEAD').split('\n'))
    for (const at of along) expect(at).toEqual(await buildImageTagAt(repo, at.commit))
    expect(new Set(along.map((a) => a.tag)).size).toBe(along.length - 1) // only 'docs' left the inputs alone
    expect(along.at(-1)).toMatchObject({ tag: null, reason: 'build.config.json is not in that commit' })
    // The bound, and a repository without commits.
    expect((await buildImageTagsAlongFirstParent(repo, 3)).map((a) => a.commit)).toEqual(along.slice(0, 3).map((a) => a.commit))
    const empty = tempDir('cbs-empty-')
    git(empty, 'init', '-q')
    expect(await buildImageTagsAlongFirstParent(await repoInfo(empty), 5)).toEqual([])
  })
})
