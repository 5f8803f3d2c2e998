// Bad input, script by script: each case ends with its exit code and a message naming the
// culprit (a key path, a file, a pattern), before any slow work. Untrusted text (branch
// and tag names, file names, step arguments, a checkout's path) full of shell
// metacharacters runs nothing, which a sentinel file proves, and keeps its exact value.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeBuildRepo } from '../helpers/build-image.mts'
import { docker, dockerRun, uniqueName } from '../helpers/docker.mts'
import { leftInTmp, scriptTmpDir } from '../helpers/leftovers.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { git, makeRepo, tempDir, writeFiles } from '../helpers/repo.mts'
import { PROJECT_ROOT, runScript, type RunResult } from '../helpers/run.mts'

const SCRIPTS = ['image-tag', 'pull-or-build', 'test-and-build', 'push-images', 'cherry-pick'] as const
// No CI of the machine running the tests, no credentials (push-images wants both or neither).
const ENV = {
  REGISTRY_USERNAME: '',
  REGISTRY_PASSWORD: '',
  REGISTRY_RETRIES: '1',
  REGISTRY_RETRY_DELAY_MS: '50',
  ...Object.fromEntries(['CI', 'GITHUB_ACTIONS', 'GITHUB_REF', 'GITHUB_HEAD_REF', 'GITHUB_EVENT_NAME', 'GITHUB_EVENT_PATH', 'CIRCLECI', 'CIRCLE_TAG', 'CIRCLE_BRANCH', 'CIRCLE_PULL_REQUEST'].map((n) => [n, ''])),
}

const { registry, name } = useRegistryScene()

function run(script: string, repo: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runScript(script, args, { cwd: repo, env: { ...ENV, REGISTRY: registry.host, ...env } })
}

const VALID = { buildImage: { name: 'acme-build', inputs: ['tools'] }, image: { name: 'acme' }, steps: { test: ['true'] } }

describe.concurrent('bad configuration: exit 2, naming the key, for every script', () => {
  const cases: Array<[string, string | object, string]> = [
    ['malformed JSON', '{"buildImage": {"name": "acme-build",', 'build.config.json: not valid JSON'],
    ['a wrong type', { ...VALID, buildImage: { name: 'acme-build', inputs: 'tools' } }, 'build.config.json: buildImage.inputs: expected an array of strings, got the string "tools"'],
    ['an unknown key', { ...VALID, buildImage: { name: 'acme-build', inputs: ['tools'], input: ['x'] } }, 'build.config.json: buildImage.input: unknown key (known keys here: name, dockerfile, inputs, buildArgs)'],
    ['an empty inputs list', { ...VALID, buildImage: { name: 'acme-build', inputs: [] } }, 'build.config.json: buildImage.inputs: expected at least 1 entry, got an array'],
  ]
  it.each(SCRIPTS.flatMap((script) => cases.map(([what, config, message]) => [script, what, config, message] as const)))(
    '%s: %s',
    async (script, _what, config, message) => {
      const repo = makeBuildRepo({ name: 'acme-build' })
      writeFiles(repo, { 'build.config.json': typeof config === 'string' ? config : JSON.stringify(config) })
      const result = await run(script, repo)
      expect(result.exitCode, result.stderr).toBe(2)
      expect(result.stderr).toContain(message)
      expect(result.stdout).toBe('')
    },
  )
})

describe.concurrent('missing files and inputs that escape the repository: exit 2, naming the file', () => {
  it.each(['image-tag', 'pull-or-build', 'test-and-build', 'push-images'])('%s: buildImage.dockerfile missing', async (script) => {
    const repo = makeBuildRepo({ name: name('rel-bad-df'), files: { Dockerfile: 'FROM busybox:latest\n' }, config: { buildImage: { name: 'acme-build', dockerfile: 'Dockerfile.nope', inputs: ['tools'] }, image: { name: 'acme' }, steps: { test: ['true'] } } })
    const result = await run(script, repo)
    expect(result.exitCode, result.stderr).toBe(2)
    expect(result.stderr).toContain('buildImage.dockerfile: "Dockerfile.nope" is not in the repository (or is ignored by git)')
  })

  it('push-images: image.dockerfile missing, before building anything', async () => {
    const n = name('rel-bad-final-df')
    const repo = makeBuildRepo({ name: n, config: { image: { name: `${n}-app`, dockerfile: 'Dockerfile.final' } } })
    const result = await run('push-images', repo)
    expect(result.exitCode, result.stderr).toBe(2)
    expect(result.stderr).toContain(`Error: image.dockerfile: "Dockerfile.final" not found in ${repo}`)
    expect(result.stderr).not.toMatch(/Step \d+\/\d+/)
  })

  it.each([
    // The config names the offending entry (inputs[0]); a symlink is found among the files.
    ['pull-or-build', ['../outside'], 'buildImage.inputs[0]: "../outside" reaches outside the repository'],
    ['pull-or-build', ['/etc/passwd'], 'buildImage.inputs[0]: "/etc/passwd" reaches outside the repository'],
    ['pull-or-build', ['tools', 'escape'], 'buildImage.inputs: escape is a symlink pointing outside the repository (/etc/passwd)'],
    ['test-and-build', ['tools', 'escape'], 'buildImage.inputs: escape is a symlink pointing outside the repository (/etc/passwd)'],
  ])('%s: inputs %j', async (script, inputs, message) => {
    const n = name('rel-bad-escape')
    const repo = makeBuildRepo({ name: n, files: { escape: { symlink: '/etc/passwd' } }, inputs, config: { steps: { test: ['true'] } } })
    const result = await run(script, repo, [], { REGISTRY: '' })
    expect(result.exitCode, result.stderr).toBe(2)
    expect(result.stderr).toContain(message)
    expect(docker('image', 'ls', '-q', '--filter', `label=dev.ci-build-scripts.build-image=${n}`)).toBe('')
  })
})

// Shell metacharacters: `$(...)`, backticks, `;`, `|`, `&`, quotes. Each would create the
// sentinel (relative: in whatever directory a shell ran it; absolute: in /tmp) if any
// shell ever evaluated it.
describe.concurrent('shell metacharacters are data', () => {
  /** A unique sentinel name, and the metacharacter payloads that would create it. */
  function sentinel() {
    const id = uniqueName('pwned')
    const payloads = {
      subshell: `$(touch\${IFS}${id})`,
      backticks: `\`touch\${IFS}${id}\``,
      separator: `;touch\${IFS}${id};`,
      /** With a `/`: fit for a branch name, not for a file name. */
      absolute: `$(touch\${IFS}/tmp/${id})`,
    }
    return {
      id,
      payloads,
      /** Where the sentinel would be: the script's cwd, the repository, the tests' cwd, /tmp, the script's TMPDIR. */
      found(...dirs: string[]) {
        return [...dirs, PROJECT_ROOT, '/tmp'].map((d) => path.join(d, id)).filter((f) => fs.existsSync(f))
      },
    }
  }

  it('push-images --force-branch on a branch named with $(...), backticks and ;: pushed under the sanitized tag, the name kept exactly', async () => {
    const s = sentinel()
    const branch = `feature/${s.payloads.subshell}${s.payloads.backticks}${s.payloads.separator}${s.payloads.absolute}|cat&`
    const n = name('rel-meta-branch')
    const repo = makeRepo(
      { 'Dockerfile.build': 'FROM busybox:latest\n', Dockerfile: 'ARG BUILD_IMAGE\nFROM ${BUILD_IMAGE}\nARG VERSION\nRUN echo "$VERSION" > /version\n' },
      { buildImage: { name: n, inputs: ['Dockerfile.build'] }, image: { name: `${n}-app` } },
    )
    git(repo, 'checkout', '-q', '-b', branch)
    const tmp = scriptTmpDir()
    const result = await run('push-images', repo, ['--force-branch', '--json'], { TMPDIR: tmp })
    expect(result.exitCode, result.stderr).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.ref).toMatchObject({ kind: 'branch', name: branch })
    // Docker tags allow [A-Za-z0-9_.-]: every other run of characters becomes one '-' (documented in the README).
    // A Docker tag has at most 128 characters: longer names are cut (and lose a trailing '-').
    const sanitized = `feature-touch-IFS-${s.id}-touch-IFS-${s.id}-touch-IFS-${s.id}-touch-IFS-tmp-${s.id}-cat`.slice(0, 128).replace(/[.-]+$/, '')
    expect((await registry.tags(`${n}-app`)).sort()).toEqual([sanitized, `sha-${git(repo, 'rev-parse', 'HEAD').slice(0, 12)}`].sort())
    expect(await registry.tagState(`${n}-app`, sanitized)).toBe('complete')
    expect(result.stderr).toContain(`branch ${branch}`)
    expect(s.found(repo, tmp)).toEqual([])
    expect(leftInTmp(tmp)).toEqual([])
  })

  it('push-images on a tag named with metacharacters: not a release, nothing pushed, the name kept exactly', async () => {
    const s = sentinel()
    const tag = `v1.2.3${s.payloads.separator}${s.payloads.subshell}`
    const n = name('rel-meta-tag')
    const repo = makeRepo({ 'Dockerfile.build': 'FROM busybox:latest\n', Dockerfile: 'FROM busybox:latest\n' }, { buildImage: { name: n, inputs: ['Dockerfile.build'] }, image: { name: `${n}-app` } })
    git(repo, 'tag', tag)
    git(repo, 'checkout', '-q', '--detach', tag)
    // On CircleCI, the tag build names it; on a laptop, a tag at HEAD that is no release is not a candidate.
    const onCi = await run('push-images', repo, [], { CIRCLE_TAG: tag })
    expect(onCi.exitCode, onCi.stderr).toBe(0)
    expect(onCi.stderr).toContain(`tag ${tag} (from CIRCLE_TAG) is not a release tag (vX.Y.Z[-pre]): nothing to push`)
    expect(onCi.stdout).toBe('')
    const local = await run('push-images', repo)
    expect(local.exitCode, local.stderr).toBe(0)
    expect(local.stderr).toContain('nothing to push')
    expect(await registry.tags(`${n}-app`)).toEqual([])
    expect(s.found(repo)).toEqual([])
  })

  it('image-tag and pull-or-build with input files named with metacharacters and quotes: hashed and copied under their exact names', async () => {
    const s = sentinel()
    const files = [`tools/${s.payloads.subshell}.txt`, `tools/${s.payloads.backticks}.txt`, `tools/a${s.payloads.separator}.txt`, `tools/it's "quoted" & piped|.txt`]
    const n = name('rel-meta-paths')
    const repo = makeBuildRepo({ name: n, files: Object.fromEntries(files.map((f) => [f, `${f}\n`])) })
    const manifest = await run('image-tag', repo, ['--manifest'], { REGISTRY: '' })
    expect(manifest.exitCode, manifest.stderr).toBe(0)
    expect(manifest.stdout).toBe(git(repo, 'ls-tree', '-r', '--full-tree', 'HEAD', '--', 'Dockerfile.build', 'tools') + '\n')

    const tmp = scriptTmpDir()
    const built = await run('pull-or-build', repo, [], { REGISTRY: '', TMPDIR: tmp })
    expect(built.exitCode, built.stderr).toBe(0)
    const listing = dockerRun(built.stdout.trim(), 'sh', '-c', 'cd /opt/tools && for f in *; do printf "%s\\n" "$f"; done')
    expect(listing.split('\n').sort()).toEqual(['link', 'run.sh', 'version', ...files.map((f) => f.slice('tools/'.length))].sort())
    expect(s.found(repo, tmp)).toEqual([])
    expect(leftInTmp(tmp)).toEqual([])
  })

  it('test-and-build in a checkout whose path has metacharacters, with step arguments full of them: the files get the exact names', async () => {
    const s = sentinel()
    const args = [s.payloads.subshell, s.payloads.backticks, `x${s.payloads.separator}`, `it's "q" $HOME`]
    const n = name('rel-meta-steps')
    const origin = makeBuildRepo({ name: n, config: { steps: { test: ['touch', ...args], build: ['sh', '-c', 'printf "%s\\n" "$1" > arg.txt', 'sh', s.payloads.subshell] } } })
    const repo = path.join(tempDir('cbs-meta-'), `checkout ${s.payloads.subshell} ${s.payloads.backticks}${s.payloads.separator}`)
    git(path.dirname(repo), 'clone', '-q', origin, repo)
    const tmp = scriptTmpDir()
    const result = await run('test-and-build', repo, [], { REGISTRY: '', TMPDIR: tmp })
    expect(result.exitCode, result.stderr).toBe(0)
    for (const a of args) expect(fs.existsSync(path.join(repo, a)), a).toBe(true)
    expect(fs.readFileSync(path.join(repo, 'arg.txt'), 'utf8')).toBe(`${s.payloads.subshell}\n`)
    expect(s.found(repo, origin, tmp)).toEqual([])
    expect(leftInTmp(tmp)).toEqual([])
  })
})
