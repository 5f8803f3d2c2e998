// A content tag no branch can forge: with `signing` in build.config.json, an image under a
// content tag counts only when its cosign signature verifies against the configured key.
// The attack, reproduced against the real registry with real cosign key pairs: a branch
// that may push to the registry runs `pull-or-build --push` without the publishing job's
// key, so an image it built (its own random stamp in the early layer) sits under the
// content tag main is about to use. Then, on a fresh runner: pull-or-build never pulls it,
// the cache lookup never offers it, push-images replaces it and signs what it publishes,
// and image-tag never pins its digest; a signature from another key changes nothing; the
// publisher's signature makes it the toolchain. Under BuildKit and the legacy builder,
// wherever an image is built.
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { removeImagesNamed } from '../helpers/build-image.mts'
import { cacheRecords, forgetBuildCache } from '../helpers/build-cache.mts'
import { keyPair, requireCosign, sign, verify, type KeyPair } from '../helpers/cosign.mts'
import { docker, imageFile } from '../helpers/docker.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { git, makeRepo } from '../helpers/repo.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

const BUILDERS = [
  ['BuildKit', {}],
  ['the legacy builder', { DOCKER_BUILDKIT: '0' }],
] as const

// Fast retries, no registry credentials, no signing key unless a test gives one.
const FAST = { REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '10', REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '', GITHUB_BASE_REF: '', COSIGN_PRIVATE_KEY: '', COSIGN_PASSWORD: '' }
const CI_VARS = { CI: '', GITHUB_ACTIONS: '', GITHUB_REF: '', GITHUB_HEAD_REF: '', GITHUB_EVENT_NAME: '', CIRCLECI: '', CIRCLE_TAG: '', CIRCLE_BRANCH: '', CIRCLE_PULL_REQUEST: '' }

// The final image keeps the build image's stamp: it shows which build image it was built FROM.
const FINAL_DOCKERFILE = `ARG BUILD_IMAGE
FROM \${BUILD_IMAGE} AS build
FROM busybox:latest
COPY --from=build /stamp /app/stamp
`

const scene = useRegistryScene()
let publisher: KeyPair
let impostor: KeyPair
beforeAll(() => {
  requireCosign()
  publisher = keyPair()
  impostor = keyPair()
})

interface Fixture {
  repo: string
  n: string
  app: string
  marker: string
}

/** A repository whose build image's early layer writes a random stamp; signed with the publisher's key (cosign.pub committed). */
function signedRepo(prefix: string, files: Record<string, string> = {}): Fixture {
  const n = scene.name(prefix)
  const app = scene.name(`${prefix}-app`)
  const marker = `signing-${n}`
  const repo = makeRepo(
    {
      'Dockerfile.build': `FROM busybox:latest\nRUN echo ${marker} > /marker && cat /proc/sys/kernel/random/uuid > /stamp\nCOPY tools /opt/tools\n`,
      'tools/version': '1\n',
      'cosign.pub': publisher.publicKey,
      Dockerfile: FINAL_DOCKERFILE,
      '.dockerignore': '.git\n',
      ...files,
    },
    { defaultBranch: 'main', buildImage: { name: n, inputs: ['Dockerfile.build', 'tools'] }, image: { name: app }, signing: { publicKey: 'cosign.pub' } },
  )
  return { repo, n, app, marker }
}

const stamp = (ref: string, file = '/stamp') => imageFile(ref, file)

/** The daemon as on a fresh CI runner: none of the fixture's images, no build cache of its layers. */
function freshRunner(f: Fixture): void {
  removeImagesNamed(f.n, f.app)
  forgetBuildCache(f.marker)
  expect(cacheRecords().filter((r) => r.description.includes(f.marker))).toEqual([])
}

async function run(script: string, args: string[], f: Fixture, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runScript(script, args, { cwd: f.repo, env: { ...FAST, ...CI_VARS, REGISTRY: scene.registry.host, ...env } })
}

interface Outcome {
  ref: string
  tag: string
  outcome: string
  reason?: string
  cache?: { image: { ref: string; source: string } | null; note?: string }
}

async function pullOrBuild(f: Fixture, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult & { json: Outcome }> {
  const result = await run('pull-or-build', ['--json', ...args], f, env)
  expect(result.exitCode, result.stderr).toBe(0)
  return { ...result, json: JSON.parse(result.stdout) as Outcome }
}

/**
 * The attack: a branch with push access to the registry but not the publishing job's key
 * pushes its own build under the content tag. Returns the forged image's ref, digest and
 * stamp; the daemon is then as on a fresh runner.
 */
async function forge(f: Fixture, builder: NodeJS.ProcessEnv) {
  const attack = await pullOrBuild(f, ['--push'], builder)
  expect(attack.json.outcome).toBe('pushed')
  // No key: pushed unsigned, with a warning that says what readers will make of it.
  expect(attack.stderr).toContain('cannot sign')
  expect(attack.stderr).toContain('pushed unsigned')
  const forgedStamp = stamp(attack.json.ref)
  const repository = attack.json.ref.slice(0, attack.json.ref.lastIndexOf(':'))
  const digest = (await scene.registry.digest(repository.slice(scene.registry.host.length + 1), attack.json.tag))!
  expect(digest).toMatch(/^sha256:/)
  freshRunner(f)
  return { ref: attack.json.ref, tag: attack.json.tag, repository, digest, forgedStamp }
}

describe.each(BUILDERS)('signed content tags, under %s', (_builder, builder) => {
  it('pull-or-build never pulls a forged image under the current tag, nor one signed by another key: it builds with a loud warning; the publisher\'s signature makes it the one pulled', async () => {
    const f = signedRepo('cbs-sign-pull')
    const forged = await forge(f, builder)

    const first = await pullOrBuild(f, [], builder)
    expect(first.json).toMatchObject({ ref: forged.ref, outcome: 'built', reason: 'not-signed' })
    expect(first.stderr).toContain(`${forged.ref} (${forged.digest}) has no valid signature from the key cosign.pub: NOT TRUSTED, treated as absent; BUILDING ${forged.ref} LOCALLY`)
    expect(stamp(forged.ref)).not.toBe(forged.forgedStamp)

    // A valid signature, but from another key: refused the same way.
    sign(`${forged.repository}@${forged.digest}`, impostor)
    freshRunner(f)
    const second = await pullOrBuild(f, [], builder)
    expect(second.json).toMatchObject({ outcome: 'built', reason: 'not-signed' })
    expect(stamp(forged.ref)).not.toBe(forged.forgedStamp)

    // Signed by the publisher (as if its job had pushed it): pulled, by the verified digest.
    sign(`${forged.repository}@${forged.digest}`, publisher)
    freshRunner(f)
    const third = await pullOrBuild(f, [], builder)
    expect(third.json).toMatchObject({ outcome: 'pulled' })
    expect(third.json.reason).toBeUndefined()
    expect(stamp(forged.ref)).toBe(forged.forgedStamp)
    expect(third.stderr).not.toContain('NOT TRUSTED')
  }, 300_000) // four runs of the script, three fresh runners

  it('the registry cache lookup never offers a forged image of the parent commit; signed by the publisher, it is the cache, by its digest', async () => {
    const f = signedRepo('cbs-sign-cache')
    const forged = await forge(f, builder)
    fs.writeFileSync(path.join(f.repo, 'tools/version'), '2\n')
    git(f.repo, 'commit', '-qam', 'tools 2')

    const unsigned = await pullOrBuild(f, [], builder)
    expect(unsigned.json.outcome).toBe('built')
    expect(unsigned.json.cache?.image).toBeNull()
    expect(unsigned.stderr).toContain(`cache: ${forged.ref} (${forged.digest}) has no valid signature from the key cosign.pub: NOT TRUSTED, not used as cache`)
    // The early layer was built anew, not taken from the forged image.
    expect(stamp(unsigned.json.ref)).not.toBe(forged.forgedStamp)

    sign(`${forged.repository}@${forged.digest}`, publisher)
    freshRunner(f)
    const signed = await pullOrBuild(f, [], builder)
    expect(signed.json.outcome).toBe('built')
    expect(signed.json.cache?.image).toMatchObject({ ref: `${forged.ref}@${forged.digest}`, source: 'registry' })
    expect(stamp(signed.json.ref)).toBe(forged.forgedStamp)
  }, 300_000)

  it('push-images replaces a forged build image under the content tag, builds the final image FROM its own build, and signs both by digest; a re-run signs nothing again', async () => {
    const f = signedRepo('cbs-sign-push')
    const forged = await forge(f, builder)
    const keyEnv = { ...builder, COSIGN_PRIVATE_KEY: publisher.privateKey, COSIGN_PASSWORD: publisher.password }

    const result = await run('push-images', ['--json'], f, keyEnv)
    expect(result.exitCode, result.stderr).toBe(0)
    const images = (JSON.parse(result.stdout) as { images: Array<{ ref: string; kind: string; action: string; digest: string; existing: string | null }> }).images
    const buildImage = images.find((i) => i.kind === 'build-image')!
    expect(buildImage).toMatchObject({ ref: forged.ref, action: 'update', existing: forged.digest })
    expect(buildImage.digest).not.toBe(forged.digest)
    expect(result.stderr).toContain('NOT TRUSTED')
    // The final image was built FROM this run's build image, not the forged one.
    const finals = images.filter((i) => i.kind !== 'build-image')
    expect(finals.length).toBeGreaterThan(0)
    expect(stamp(finals[0].ref, '/app/stamp')).toBe(stamp(forged.ref))
    expect(stamp(finals[0].ref, '/app/stamp')).not.toBe(forged.forgedStamp)
    // Both signed by the publisher's key, by digest; not by the impostor's.
    const finalRepository = finals[0].ref.slice(0, finals[0].ref.lastIndexOf(':'))
    expect(verify(`${forged.repository}@${buildImage.digest}`, publisher)).toBe(0)
    expect(verify(`${finalRepository}@${finals[0].digest}`, publisher)).toBe(0)
    expect(verify(`${finalRepository}@${finals[0].digest}`, impostor)).toBe(12)
    // The private key is a secret (COSIGN_PASSWORD is checked by runScript by its name).
    const keyBody = publisher.privateKey.split('\n')[1]
    for (const text of [result.stdout, result.stderr, ...result.commands]) expect(text).not.toContain(keyBody)

    const again = await run('push-images', ['--json'], f, keyEnv)
    expect(again.exitCode, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout) as { images: Array<{ action: string }> }).images.map((i) => i.action).every((a) => a === 'unchanged')).toBe(true)
    expect(again.stderr).not.toMatch(/sign \S+@sha256/)
  }, 300_000)
})

describe('signed content tags: the pins in CI configs, and the publishing job\'s key', () => {
  it('image-tag --write-refs never pins a forged digest, nor one signed by another key; --check-refs asks for the pin once the publisher signed it', async () => {
    const f = signedRepo('cbs-sign-refs')
    // As this repository runs it: no registry in the config, the CI config names it.
    const local = { REGISTRY: '' }
    const tag = (await run('image-tag', [], f, local)).stdout.trim()
    const repository = `${scene.registry.host}/${f.n}`
    const config = `jobs:\n  build:\n    docker:\n      - image: ${repository}:${tag}\n`
    fs.mkdirSync(path.join(f.repo, '.circleci'))
    fs.writeFileSync(path.join(f.repo, '.circleci/config.yml'), config)
    // The attacker's image under the tag: any image will do for a pin.
    docker('tag', 'busybox:latest', `${repository}:${tag}`)
    docker('push', '-q', `${repository}:${tag}`)
    docker('rmi', `${repository}:${tag}`)
    const digest = (await scene.registry.digest(f.n, tag))!

    for (const signer of [undefined, impostor]) {
      if (signer) sign(`${repository}@${digest}`, signer)
      const write = await run('image-tag', ['--write-refs'], f, local)
      expect(write.exitCode, write.stderr).toBe(0)
      expect(write.stderr).toContain(`${repository}:${tag} (${digest}) has no valid signature from the key cosign.pub: NOT TRUSTED, treated as not pushed yet (never pinned)`)
      expect(fs.readFileSync(path.join(f.repo, '.circleci/config.yml'), 'utf8')).toBe(config)
      const check = await run('image-tag', ['--check-refs'], f, local)
      expect(check.exitCode, check.stderr).toBe(0)
      expect(check.stderr).toContain('the registry does not have yet')
    }

    sign(`${repository}@${digest}`, publisher)
    const check = await run('image-tag', ['--check-refs'], f, local)
    expect(check.exitCode).toBe(1)
    expect(check.stderr).toContain(`named by tag alone, though the registry has it as ${digest}`)
    const write = await run('image-tag', ['--write-refs'], f, local)
    expect(write.exitCode, write.stderr).toBe(0)
    expect(fs.readFileSync(path.join(f.repo, '.circleci/config.yml'), 'utf8')).toBe(config.replace(`${tag}\n`, `${tag}@${digest}\n`))
  })

  it('push-images with signing.publicKey needs COSIGN_PRIVATE_KEY and COSIGN_PASSWORD: exit 2 before any build, naming both', async () => {
    const f = signedRepo('cbs-sign-nokey')
    const result = await run('push-images', [], f, {})
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('set COSIGN_PRIVATE_KEY')
    expect(result.stderr).not.toContain('build ')
  })
})
