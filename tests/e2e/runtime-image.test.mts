// The runtime image (this repository's Dockerfile) as a CI step, in a repository with no
// Node.js at all: a Go module with no package.json. Both `init` and `test-and-build` run
// from the image, exactly as README's "Without Node.js" documents:
//   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:$PWD" -w "$PWD" IMAGE <script>
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docker, dockerMaybe, requireDocker, uniqueName } from '../helpers/docker.mts'
import { git, makeRepo } from '../helpers/repo.mts'
import { PROJECT_ROOT, runCommand, runScript } from '../helpers/run.mts'

const image = uniqueName('cbs-runtime')
const made: string[] = []

beforeAll(async () => {
  requireDocker(['node:20-bookworm-slim', 'debian:bookworm-slim'])
  // This repository's build image (local-only: no pulls from its registry), then the runtime image FROM it.
  const build = await runScript('pull-or-build', [], { cwd: PROJECT_ROOT, env: { REGISTRY: '' }, timeoutMs: 900_000 })
  expect(build.exitCode, build.stderr).toBe(0)
  const built = await runCommand('docker build', ['docker', 'build', '-q', '--build-arg', `BUILD_IMAGE=${build.stdout.trim()}`, '-t', image, PROJECT_ROOT], { timeoutMs: 900_000 })
  expect(built.exitCode, built.stderr).toBe(0)
  made.push(image)
}, 1_200_000)

afterAll(() => {
  for (const ref of made) dockerMaybe('rmi', ref)
})

/** `docker run` of the runtime image in `dir`, as README documents it. */
const inImage = (dir: string, args: string[]) =>
  runCommand(`runtime image ${args[0]}`, ['docker', 'run', '--rm', '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', `${dir}:${dir}`, '-w', dir, image, ...args], { timeoutMs: 600_000 })

describe('the runtime image as a CI step', () => {
  it('inits and runs test-and-build in a Go repository with no Node.js', async () => {
    const project = makeRepo({
      'go.mod': 'module example.com/hello\n\ngo 1.19\n',
      'greet/greet.go': 'package greet\n\nfunc Hello() string { return "hello" }\n',
      'greet/greet_test.go': 'package greet\n\nimport "testing"\n\nfunc TestHello(t *testing.T) {\n\tif Hello() != "hello" {\n\t\tt.Fatal("bad")\n\t}\n}\n',
    })
    const root = fs.realpathSync(project)
    expect(fs.existsSync(path.join(root, 'package.json'))).toBe(false)
    const n = uniqueName('rt-go')

    const init = await inImage(root, ['init', '--name', n])
    expect(init.exitCode, init.stderr).toBe(0)
    expect(init.stdout).toContain('build.config.json')
    git(root, 'add', '-A')
    git(root, 'commit', '-q', '-m', 'init')

    const result = await inImage(root, ['test-and-build', '--report', 'report.json'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/ok\s+example\.com\/hello\/greet/)
    const report = JSON.parse(fs.readFileSync(path.join(root, 'report.json'), 'utf8'))
    made.push(report.image.ref)
    expect(report.image.outcome).toBe('built')
    expect(docker('image', 'inspect', '--format', '{{.Id}}', report.image.ref)).toMatch(/^sha256:/)
  }, 900_000)
})
