// `image-tag --check-refs` / `--write-refs` against the real registry: a CI config names
// the build image by tag alone only while the registry does not have that tag; once it
// does, the reference is pinned by the digest the registry gives the tag, and a pin the
// registry contradicts (the tag was pushed over) is reported and never re-pinned.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pushImage } from '../helpers/registry-images.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { makeRepo, tempDir } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

let registry: TestRegistry
let locked: TestRegistry
beforeAll(async () => {
  registry = await startRegistry()
  locked = await startRegistry({ auth: { username: 'ci', password: `pw-${Math.random().toString(36).slice(2)}` } })
})
afterAll(async () => {
  await registry?.stop()
  await locked?.stop()
})

// No REGISTRY (this repository's own set-up: build.config.json names none, the CI config
// names the image under its registry); no credentials but those a test gives; no retries.
const baseEnv = () => ({ REGISTRY: undefined, REGISTRY_USERNAME: undefined, REGISTRY_PASSWORD: undefined, DOCKER_CONFIG: tempDir(), REGISTRY_RETRIES: '0' })

const OLD = '0'.repeat(40)

/** A repository whose CircleCI config and workflow name `<host>/<name>:<OLD>`. */
function project(host: string, name: string) {
  const ref = `${host}/${name}:${OLD}`
  const circle = `version: 2.1\njobs:\n  publish:\n    docker:\n      - image: ${ref}\n    steps: [checkout]\n`
  const workflow = `on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    container: ${ref}\n    steps: [{ run: echo }]\n`
  const root = makeRepo(
    { 'Dockerfile.build': `FROM busybox:latest\n# ${name}\n`, 'go.mod': 'module x\n', '.circleci/config.yml': circle, '.github/workflows/ci.yml': workflow },
    { buildImage: { name, inputs: ['go.mod'] } },
  )
  const read = () => ({
    circle: fs.readFileSync(path.join(root, '.circleci/config.yml'), 'utf8'),
    workflow: fs.readFileSync(path.join(root, '.github/workflows/ci.yml'), 'utf8'),
  })
  return { root, ref, circle, workflow, read }
}

const imageTag = (root: string, args: string[], env: NodeJS.ProcessEnv = {}) => runScript('image-tag', args, { cwd: root, env: { ...baseEnv(), ...env } })

describe('the build image pinned by digest in the CI configs', () => {
  it('by tag alone while the registry lacks the tag; pinned once it has it; a tag pushed over is reported and never re-pinned', async () => {
    const name = `pin-${Math.random().toString(36).slice(2, 8)}-build`
    const p = project(registry.host, name)
    const tag = (await imageTag(p.root, [])).stdout.trim()
    const byTag = `${registry.host}/${name}:${tag}`

    // 1. An input changed: the references are stale. The registry has no image of the new
    //    tag yet (only the default branch pushes it), so they are rewritten by tag alone.
    let r = await imageTag(p.root, ['--check-refs'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`.circleci/config.yml:5: ${p.ref}: not the current tag (${byTag} is)`)
    r = await imageTag(p.root, ['--write-refs'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(p.read()).toEqual({ circle: p.circle.replace(p.ref, byTag), workflow: p.workflow.replace(p.ref, byTag) })

    // 2. Accepted by tag alone while the registry does not have it, saying so.
    r = await imageTag(p.root, ['--check-refs'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain(`.circleci/config.yml:5: ${byTag}: by tag alone, which the registry does not have yet; once the default branch has pushed it, run --write-refs to pin its digest`)

    // 3. The default branch pushes the image: tag alone is no longer enough.
    const pushed = await pushImage(registry, name, [tag])
    r = await imageTag(p.root, ['--check-refs'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`${byTag}: named by tag alone, though the registry has it as ${pushed.digest}: pin the digest (--write-refs)`)
    expect(r.stderr).toContain('run: npx zx scripts/image-tag.mts --write-refs (and commit)')
    expect(p.read().circle).toBe(p.circle.replace(p.ref, byTag)) // the check writes nothing

    // 4. --write-refs pins the registry's digest, in every file, changing nothing else.
    r = await imageTag(p.root, ['--write-refs'])
    expect(r.exitCode, r.stderr).toBe(0)
    const pinned = `${byTag}@${pushed.digest}`
    expect(p.read()).toEqual({ circle: p.circle.replace(p.ref, pinned), workflow: p.workflow.replace(p.ref, pinned) })
    r = await imageTag(p.root, ['--check-refs'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain(`2 reference(s) to ${name} are current (${tag})`)

    // 5. Someone pushes another image over the content tag: the check fails, and
    //    --write-refs refuses to follow it (exit 1, the files as they were).
    const over = await pushImage(registry, name, [tag])
    expect(over.digest).not.toBe(pushed.digest)
    for (const flag of ['--check-refs', '--write-refs']) {
      r = await imageTag(p.root, [flag])
      expect(r.exitCode, flag).toBe(1)
      expect(r.stderr).toContain(`${pinned}: the registry's tag now points at ${over.digest}, not the pinned digest: the content tag was pushed over`)
      expect(r.stderr).toContain('Find out who pushed it before pinning anything')
      expect(p.read()).toEqual({ circle: p.circle.replace(p.ref, pinned), workflow: p.workflow.replace(p.ref, pinned) })
    }
  })

  it('a stale reference goes straight to the new tag pinned, when the registry has it already', async () => {
    const name = `pin-${Math.random().toString(36).slice(2, 8)}-build`
    const p = project(registry.host, name)
    const tag = (await imageTag(p.root, [])).stdout.trim()
    const { digest } = await pushImage(registry, name, [tag])
    const r = await imageTag(p.root, ['--write-refs'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain(`now ${registry.host}/${name}:${tag}@${digest}`)
    expect(p.read().circle).toBe(p.circle.replace(p.ref, `${registry.host}/${name}:${tag}@${digest}`))
  })

  it('with the registry in the config (or REGISTRY), the references are checked against it too: --check-refs asks for the pin, --write-refs writes it', async () => {
    const name = `pin-${Math.random().toString(36).slice(2, 8)}-build`
    const p = project(registry.host, name)
    const withRegistry = { REGISTRY: registry.host }
    const tag = (await imageTag(p.root, [], withRegistry)).stdout.trim()
    const { digest } = await pushImage(registry, name, [tag])
    fs.writeFileSync(path.join(p.root, '.circleci/config.yml'), p.circle.replace(p.ref, `${registry.host}/${name}:${tag}`))
    const r = await imageTag(p.root, ['--check-refs'], withRegistry)
    expect(r.exitCode, r.stderr).toBe(1)
    expect(r.stderr).toContain(`named by tag alone, though the registry has it as ${digest}`)
    expect((await imageTag(p.root, ['--write-refs'], withRegistry)).exitCode).toBe(0)
    expect(p.read().circle).toBe(p.circle.replace(p.ref, `${registry.host}/${name}:${tag}@${digest}`))
  })

  it('a registry that refuses an anonymous read leaves the digest unchecked, with a warning; with credentials it is checked', async () => {
    const name = `pin-${Math.random().toString(36).slice(2, 8)}-build`
    const p = project(locked.host, name)
    const tag = (await imageTag(p.root, [])).stdout.trim()
    const { digest } = await pushImage(locked, name, [tag])
    const byTag = `${locked.host}/${name}:${tag}`
    expect((await imageTag(p.root, ['--write-refs'])).exitCode).toBe(0)
    expect(p.read().circle).toBe(p.circle.replace(p.ref, byTag)) // no digest without read access

    let r = await imageTag(p.root, ['--check-refs'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain(`${byTag}: the digest was not checked: registry ${locked.host} refused an anonymous read (HTTP 401); set REGISTRY_USERNAME and REGISTRY_PASSWORD to check the digest`)

    // The credentials are for the configured registry (REGISTRY, as CI sets it) and no other host.
    const credentials = { REGISTRY: locked.host, REGISTRY_USERNAME: locked.auth!.username, REGISTRY_PASSWORD: locked.auth!.password }
    r = await imageTag(p.root, ['--check-refs'], credentials)
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`though the registry has it as ${digest}`)
    expect(r.stderr).not.toContain(locked.auth!.password)
    expect((await imageTag(p.root, ['--write-refs'], credentials)).exitCode).toBe(0)
    expect(p.read().circle).toBe(p.circle.replace(p.ref, `${byTag}@${digest}`))

    // Credentials the registry refuses are an error, not a skipped check.
    r = await imageTag(p.root, ['--check-refs'], { ...credentials, REGISTRY_PASSWORD: 'wrong-password-123' })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`registry ${locked.host} refused the credentials`)
  })
})
