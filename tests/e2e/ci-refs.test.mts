// `image-tag --check-refs` as CI runs it (the CircleCI job test-and-build): it passes on
// this repository (whose configs name the build image nowhere: push-images runs on a
// machine), and on a copy whose CircleCI config gains a docker-executor job naming the
// build image by its content tag it catches that name going stale, which `--write-refs`
// then repairs. (Pinning by digest, against a real registry: tests/integration/image-tag-digest.test.mts.)
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeRepo } from '../helpers/repo.mts'
import { PROJECT_ROOT, runScript } from '../helpers/run.mts'

// REGISTRY in the caller's environment would change which references are checked.
// ghcr.io is unreachable from the tests: its digests go unchecked (a warning), at once.
const env = { REGISTRY: undefined, REGISTRY_RETRIES: '0', REGISTRY_USERNAME: undefined, REGISTRY_PASSWORD: undefined }

/** A repository with this one's build.config.json, build image inputs and CI configs, plus a job in the build image. */
async function copyOfThisRepository(): Promise<string> {
  const files = ['build.config.json', 'Dockerfile.build', 'package.json', 'package-lock.json', '.npmrc', '.circleci/config.yml']
  const repo = makeRepo(Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')])))
  const tag = (await runScript('image-tag', [], { cwd: repo, env })).stdout.trim()
  const lint = `  lint:\n    docker:\n      - image: ghcr.io/acme/ci-build-scripts-build:${tag}\n    steps:\n      - checkout\n\n`
  const config = path.join(repo, '.circleci/config.yml')
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('\njobs:\n', `\njobs:\n${lint}`))
  return repo
}

describe('image-tag --check-refs on the CI configs', () => {
  it('passes on this repository', async () => {
    const result = await runScript('image-tag', ['--check-refs'], { env })
    expect(result.stderr).toMatch(/0 reference\(s\) to \S+-build are current/)
    expect(result.exitCode).toBe(0)
  })

  it('fails once an input of the build image changes, and --write-refs brings the reference up to date', async () => {
    const repo = await copyOfThisRepository()
    const config = path.join(repo, '.circleci/config.yml')
    const before = fs.readFileSync(config, 'utf8')
    expect((await runScript('image-tag', ['--check-refs'], { cwd: repo, env })).exitCode).toBe(0)

    fs.appendFileSync(path.join(repo, 'Dockerfile.build'), '# a change to the toolchain\n')
    const stale = await runScript('image-tag', ['--check-refs'], { cwd: repo, env })
    expect(stale.exitCode).toBe(1)
    expect(stale.stderr).toMatch(/\.circleci\/config\.yml:\d+: \S+-build:[0-9a-f]{40}/)
    expect(stale.stderr).toContain('--write-refs')

    expect((await runScript('image-tag', ['--write-refs'], { cwd: repo, env })).exitCode).toBe(0)
    expect((await runScript('image-tag', ['--check-refs'], { cwd: repo, env })).exitCode).toBe(0)
    const tag = (await runScript('image-tag', [], { cwd: repo, env })).stdout.trim()
    const after = fs.readFileSync(config, 'utf8')
    // Only the tag changed.
    expect(after).toContain(`-build:${tag}`)
    expect(after.replace(tag, 'TAG')).toBe(before.replace(/(-build:)[0-9a-f]{40}/, '$1TAG'))
  })
})
