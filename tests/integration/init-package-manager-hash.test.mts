// The hash a packageManager field pins (`pnpm@9.12.3+sha512.<hex>`), checked by the build
// image init writes before it installs the manager, against the real npm registry:
//   - the file init checks is the one corepack hashes: corepack's own pins (its
//     config.json's defaults, written from what it downloads: the npm registry's tarball,
//     and for Yarn 2+ the single-file release of repo.yarnpkg.com) match it;
//   - a hash that is not the package's fails the build, under BuildKit and the legacy
//     builder, naming the hash expected and the one the registry's package has.
// A hash that matches is built end to end, under both builders, by the pnpm and Yarn 4
// projects of init-node-lifecycle.test.mts.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HASH_CHECK, hashedFile } from '../../lib/init/package-manager.mts'
import { removeImagesNamed } from '../helpers/build-image.mts'
import { docker, requireDocker, uniqueName } from '../helpers/docker.mts'
import { packedHash } from '../helpers/packed-hash.mts'
import { makeRepo, tempDir } from '../helpers/repo.mts'
import { adopterEnv, runScript } from '../helpers/run.mts'

const run = promisify(execFile)

const BUILDERS = [
  { builder: 'BuildKit', env: {} },
  { builder: 'the legacy builder', env: { DOCKER_BUILDKIT: '0' } },
]

// Corepack's defaults (nodejs/corepack, config.json): a version and the hash corepack took
// of the file it downloaded. For Yarn 4 that file came from repo.yarnpkg.com, which init
// never reads: the match shows the npm package carries the same bytes.
const COREPACK_PINS = [
  { field: 'npm@10.5.0+sha1.726f91df5b1b14d9637c8819d7e71cb873c395a1', spec: 'npm@10.5.0', project: { packageManager: 'npm' } },
  { field: 'pnpm@8.15.4+sha1.c85a4305534f76d461407b59277b954bac97b5c4', spec: 'pnpm@8.15.4', project: { packageManager: 'pnpm' } },
  { field: 'yarn@1.22.21+sha1.1959a18351b811cdeedbd484a8f86c3cc3bbaf72', spec: 'yarn@1.22.21', project: { packageManager: 'yarn' } },
  {
    field: 'yarn@4.1.1+sha224.00f08619463229f8ba40c4ee90e8c2e4ced1f11c3115c26f3b98432e',
    spec: '@yarnpkg/cli-dist@4.1.1',
    project: { packageManager: 'yarn', yarnBerry: { files: [] as string[] } },
  },
] as const

describe('the file init checks is the one corepack hashes', () => {
  it.each(COREPACK_PINS)('$field: init\'s check passes the npm registry\'s package', async ({ field, spec, project }) => {
    const [declared, build] = field.split('+')
    const [algorithm, hex] = build.split('.')
    const file = hashedFile(project)
    expect(await packedHash(spec, file, algorithm)).toBe(hex)
    // The check the Dockerfile runs, on that file: it passes.
    const dir = tempDir('cbs-pack-pm-')
    const { stdout } = await run('npm', ['pack', '--silent', spec], { cwd: dir, env: adopterEnv(), timeout: 300_000 })
    if (file !== 'tarball') await run('tar', ['-xzf', stdout.trim(), file], { cwd: dir })
    const checked = await run('node', ['-e', HASH_CHECK, declared, algorithm, hex, file === 'tarball' ? stdout.trim() : file], { cwd: dir, env: adopterEnv() })
    expect(checked.stdout).toContain(`${declared}: ${algorithm} ${hex}, as packageManager pins it`)
  }, 300_000)
})

// A hash of the right form that is not the package's: the real one with its last digit changed.
const WRONG = [
  { pm: 'pnpm', lockfile: 'pnpm-lock.yaml', declared: 'pnpm@9.12.3', spec: 'pnpm@9.12.3', file: 'tarball', algorithm: 'sha512', files: {} },
  {
    pm: 'yarn',
    lockfile: 'yarn.lock',
    declared: 'yarn@4.5.3',
    spec: '@yarnpkg/cli-dist@4.5.3',
    file: 'package/bin/yarn.js',
    algorithm: 'sha256',
    files: { '.yarnrc.yml': 'nodeLinker: node-modules\n' },
  },
] as const

const names: string[] = []
afterAll(() => {
  removeImagesNamed(...names.map((n) => `${n}-build`))
})

describe.each(WRONG)('$declared pinned with a hash that is not its package\'s', ({ pm, lockfile, declared, spec, file, algorithm, files }) => {
  let actual = ''
  let wrong = ''
  beforeAll(async () => {
    requireDocker(['node:20-bookworm-slim'])
    actual = await packedHash(spec, file, algorithm)
    wrong = actual.slice(0, -1) + (actual.endsWith('0') ? '1' : '0')
  }, 300_000)

  it.each(BUILDERS)('test-and-build fails at the manager\'s layer, naming the expected and the actual hash; nothing installed ($builder)', async ({ env }) => {
    const project = makeRepo({
      'package.json': JSON.stringify({ name: `pinned-${pm}`, version: '1.0.0', packageManager: `${declared}+${algorithm}.${wrong}`, scripts: { test: 'node -e 1' } }, null, 2) + '\n',
      // Never read: the build stops before the install.
      [lockfile]: '',
      ...files,
    })
    const n = uniqueName(`pinned-${pm}`)
    names.push(n)
    const init = await runScript('init', ['--name', n], { cwd: project, env: { REGISTRY: '' } })
    expect(init.exitCode, init.stderr).toBe(0)
    expect(fs.readFileSync(path.join(project, 'Dockerfile.build'), 'utf8')).toContain(` ${declared} ${algorithm} ${wrong} `)

    const report = path.join(tempDir('cbs-report-'), 'report.json')
    const result = await runScript('test-and-build', ['--report', report], { cwd: project, env: { REGISTRY: '', CI: '', ...env }, timeoutMs: 600_000 })
    expect(result.exitCode, result.stderr.slice(-3000)).toBe(1)
    expect(result.stderr).toContain(
      `${declared}: the package from the npm registry does not match the hash of packageManager in package.json: expected ${algorithm} ${wrong}, got ${algorithm} ${actual}`,
    )
    expect(JSON.parse(fs.readFileSync(report, 'utf8')).image.outcome).toBe('failed')
    expect(docker('images', '--quiet', `${n}-build`)).toBe('')
  }, 600_000)
})
