// The whole pipeline, end to end, as CI runs it: the scripts as processes on a
// temporary git copy of examples/go-app, against the real registry and Docker Engine.
//   test-and-build (built and pushed) -> again (present) -> without the local image
//   (pulled) -> push-images on v0.1.0 (0.1.0 and latest) -> the final image prints 0.1.0.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docker, dockerRun, dockerMaybe, requireDocker } from '../helpers/docker.mts'
import { startRegistry, type TestRegistry } from '../helpers/registry.mts'
import { git, tempDir } from '../helpers/repo.mts'
import { PROJECT_ROOT, runScript } from '../helpers/run.mts'

/** A git repository holding a copy of examples/go-app, on main, tagged v0.1.0. */
function goAppCopy(): string {
  const root = tempDir('cbs-go-app-')
  fs.cpSync(path.join(PROJECT_ROOT, 'examples/go-app'), root, {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}bin`),
  })
  git(root, 'init', '-q', '-b', 'main')
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'go-app')
  git(root, 'tag', 'v0.1.0')
  return root
}

describe('examples/go-app through the scripts', () => {
  let registry: TestRegistry
  let root: string
  const refs: string[] = []
  beforeAll(async () => {
    requireDocker(['debian:bookworm-slim', 'busybox:latest'])
    registry = await startRegistry()
    root = goAppCopy()
  })
  afterAll(async () => {
    for (const ref of refs) dockerMaybe('rmi', '-f', ref)
    await registry?.stop()
  })

  // No credentials: the loopback registry is open (the suite's REGISTRY_PASSWORD alone
  // would be a half-set login, which push-images rightly refuses).
  const env = () => ({ REGISTRY: registry.host, CI: 'true', REGISTRY_PASSWORD: '' })
  // The first run builds the toolchain image (Go from Debian's mirror) and pushes ~800 MB:
  // minutes on a busy machine. Every later run is seconds; the default bound applies.
  async function testAndBuild(args: string[] = [], timeoutMs?: number) {
    const report = path.join(tempDir(), 'report.json')
    const r = await runScript('test-and-build', ['--report', report, ...args], { cwd: root, env: env(), timeoutMs })
    expect(r.exitCode, r.stderr).toBe(0)
    return { ...r, report: JSON.parse(fs.readFileSync(report, 'utf8')) }
  }

  it('builds and pushes, then finds the image present, then pulls it; pushes the release', async () => {
    // 1. First run: the build image does not exist anywhere: built, and pushed.
    const first = await testAndBuild(['--push'], 600_000)
    expect(first.report.image.outcome).toBe('pushed')
    expect(first.report.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['test:ok', 'build:ok'])
    const buildRef: string = first.report.image.ref
    refs.push(buildRef)
    const [repository, tag] = buildRef.slice(registry.host.length + 1).split(':')
    expect(await registry.tags(repository)).toEqual([tag])
    // The build step's binary is in the checkout, owned by us, and prints the version.
    const binary = path.join(root, 'bin/go-app')
    expect(fs.statSync(binary).uid).toBe(process.getuid!())
    expect(first.stderr).toMatch(/image \((built|pushed)\)/)

    // 2. Same inputs: present, nothing built or pulled.
    const second = await testAndBuild()
    expect(second.report.image.outcome).toBe('present')
    expect(second.report.image.ref).toBe(buildRef)

    // 3. Another runner (no local image): pulled from the registry, not built.
    docker('rmi', buildRef)
    const third = await testAndBuild()
    expect(third.report.image.outcome).toBe('pulled')

    // 4. push-images on the release tag v0.1.0 (checked out, as a tag build does): 0.1.0 and latest.
    git(root, 'checkout', '-q', '--detach', 'v0.1.0')
    const push = await runScript('push-images', [], { cwd: root, env: env(), timeoutMs: 240_000 })
    expect(push.exitCode, push.stderr).toBe(0)
    expect(await registry.tags('go-app')).toEqual(expect.arrayContaining(['0.1.0', 'latest']))
    const finalRef = `${registry.host}/go-app:0.1.0`
    refs.push(finalRef, `${registry.host}/go-app:latest`)
    expect(push.stdout).toContain(`${finalRef}@sha256:`)
    expect(await registry.digest('go-app', 'latest')).toBe(await registry.digest('go-app', '0.1.0'))

    // 5. The pushed final image, pulled fresh, runs and prints its version.
    dockerMaybe('rmi', '-f', finalRef, `${registry.host}/go-app:latest`)
    docker('pull', finalRef)
    expect(dockerRun(finalRef)).toBe('0.1.0')
  }, 900_000) // a cold build installs Go from Debian's mirror: minutes on a busy 2-core machine
})
