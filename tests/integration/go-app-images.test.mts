// examples/go-app's images, used the way the scripts use them: the build image builds
// from its inputs alone, `make test` and `make build` run in it as the host's (non-root)
// user with the checkout mounted, and the final image, built FROM the build image with
// the build args push-images passes, prints its version.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/core/config.mts'
import { docker, dockerRun, dockerMaybe, requireDocker, uniqueName } from '../helpers/docker.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'
import { PROJECT_ROOT } from '../helpers/run.mts'

const EXAMPLE = path.join(PROJECT_ROOT, 'examples/go-app')

/** Every file of the example, as makeRepo wants them. */
function exampleFiles(): Record<string, string> {
  const files: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else files[path.relative(EXAMPLE, full)] = fs.readFileSync(full, 'utf8')
    }
  }
  walk(EXAMPLE)
  return files
}

describe('examples/go-app images', () => {
  const buildImage = uniqueName('ciconf-go-app-build')
  const finalImage = uniqueName('ciconf-go-app')
  // CI runs the container as the runner's user: a uid that is not root, and has no home in the image.
  const uid = process.getuid?.() || 4321
  let repo: string

  beforeAll(() => {
    requireDocker(['debian:bookworm-slim', 'busybox:latest'])
    repo = makeRepo(exampleFiles())
    git(repo, 'tag', 'v0.1.0')
    if (process.getuid?.() === 0) {
      for (const p of fs.readdirSync(repo, { recursive: true, encoding: 'utf8' })) fs.chownSync(path.join(repo, p), uid, uid)
      fs.chownSync(repo, uid, uid)
    }
  })
  afterAll(() => {
    for (const image of [finalImage, buildImage]) dockerMaybe('rmi', '-f', image)
  })

  it('the build image builds from buildImage.inputs alone', async () => {
    // As pull-or-build does: a context holding exactly the inputs.
    const config = await loadConfig({ root: repo, env: {} })
    const context = tempDir('cbs-context-')
    for (const input of config.buildImage.inputs) fs.copyFileSync(path.join(repo, input), path.join(context, input))
    docker('build', '-q', '-f', path.join(context, config.buildImage.dockerfile), '-t', buildImage, context)
    expect(dockerRun(buildImage, 'go', 'version')).toMatch(/^go version go1\.\d+/)
  }, 600_000)

  it('runs make test (no test cache) and make build as a non-root user, with the checkout mounted', () => {
    const out = dockerRun('-u', `${uid}:${uid}`, '-v', `${repo}:${repo}`, '-w', repo, buildImage, 'sh', '-c', 'make test 2>&1 && make build 2>&1')
    expect(out).toContain('go test -count=1 ./...')
    expect(out).toMatch(/^ok\s+example\.com\/go-app\/pkg\/greeting/m)
    const binary = path.join(repo, 'bin/go-app')
    expect(fs.statSync(binary).uid).toBe(uid)
    // The version comes from git describe when none is given.
    expect(dockerRun('-v', `${repo}:${repo}:ro`, buildImage, binary, 'version')).toBe('0.1.0')
  })

  it('the final image builds FROM the build image and prints the version it was given', () => {
    docker('build', '-q', '--build-arg', `BUILD_IMAGE=${buildImage}`, '--build-arg', 'VERSION=1.2.3', '-t', finalImage, repo)
    expect(dockerRun(finalImage)).toBe('1.2.3')
    expect(dockerRun(finalImage, 'version')).toBe('1.2.3')
    expect(dockerRun(finalImage, 'hello', 'CI')).toBe('Hello, CI!')
  })
})
