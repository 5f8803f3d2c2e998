#!/usr/bin/env zx
// bench/pipeline.mts: the timing tables of the on-commit job, in one invocation, under
// the builder of the environment (BuildKit; DOCKER_BUILDKIT=0 for the legacy builder).
//
// Table 1, examples/go-app (its toolchain from Debian's mirror):
//   old way  rebuild the build image from nothing (docker build --no-cache), then test
//            and build in it: what a content-addressed build image replaces
//   cold     an input changed: test-and-build rebuilds, the previous image local as cache
//   warm     tag unchanged, image only in the registry (a fresh CI runner): pulled
//   hot      image already local: present
//   floor    raw `docker pull` of the warm image + the same test and build in one
//            `docker run`: what warm cannot beat
// Targets: warm within 1.10x of its floor, at least 2.5x faster than the old way.
//
// Table 2, a fresh runner: a fixture whose early layer is expensive to build
// (~30 s of deterministic computing) and cheap to pull, whose last layer copies an input.
//   old way           docker build --no-cache, then the steps
//   cold, fresh runner that input changed, the daemon holds none of the fixture's layers,
//                     the parent commit's image is only in the registry: test-and-build
//   floor             raw `docker pull` of the parent's image + the same
//                     `docker build --cache-from <parent>` by hand + the steps
//   by hand, no pull  (BuildKit only) `docker build --cache-from <parent in the registry>`
//                     by hand + the steps: BuildKit fetching the layers itself, as the
//                     scripts have it do; cold against it is what the scripts add
//   warm              the new image pushed, the daemon emptied again: pulled
// Targets: fresh-runner cold at least 2x faster than the old way, within 1.15x of its floor.
//
// Method (the team's rule): a row and its floor run as alternating pairs (A B A B ...),
// --runs pairs (at least 5); the ratio is taken pair by pair and its median reported.
// Before every run that claims a pull or a fresh runner, the fixture's images are removed
// and so are the build cache records of this run's layers (a marker only this run uses;
// never the global cache: the daemon is shared), and after it the bytes a proxy in front
// of the registry served are checked against the layers the run had to download.
//
// --installed: every run of a script goes through the package as an adopter gets it:
// `npm pack` of this checkout (built JavaScript), installed into a temp project, its
// `node_modules/.bin/ci-build-scripts <name>` run in one Node process with no tsx loader;
// the start-up measured in each fresh-runner pair is then that bin's `test-and-build --help`.
// By default the scripts run from this checkout's sources: `npx zx scripts/<name>.mts`.
//
//   npm run bench:pipeline [-- --runs N --only go-app|fresh-runner --compute-mb M --tools-mb T --installed]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { minimist } from 'zx'
import { markdownTable, table } from '../lib/core/log.mts'
import { cacheRecords, forgetBuildCache } from '../tests/helpers/build-cache.mts'
import { startFaultProxy } from '../tests/helpers/fault-proxy.mts'
import { startRegistry } from '../tests/helpers/registry.mts'
import { adopterEnv, builderName, exec, fixtureFlags, imageLayers, installPackage, layerCount, loadLine, machineLine, median, pairRatios, scriptRunner } from './measure.mts'

const args = minimist(process.argv.slice(3), { string: ['only'], boolean: ['installed'], default: { runs: 5, 'compute-mb': 3072, 'tools-mb': 400 } })
// --tools-mb: the size of what the expensive step leaves behind (a real toolchain image's
// compilers and modules: hundreds of MB); random, so it neither compresses nor dedupes.
const { runs, computeMb, toolsMb } = fixtureFlags(args)
if (args.only && !['go-app', 'fresh-runner'].includes(args.only)) throw new Error(`--only takes go-app or fresh-runner, not ${args.only}`)
const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const uid = `${process.getuid!()}:${process.getgid!()}`
const BASE = 'debian:bookworm-slim'

interface Row {
  image: number
  test: number
  build: number
  total: number
}

// Every child runs asynchronously (exec): the counting proxy lives in this process.
const run = async (cmd: string, argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => (await exec(cmd, argv, options)).stdout

/**
 * Before a timed run: write out what earlier runs left in the page cache (a pull writes
 * hundreds of MB). Otherwise the disk flushes it during the next run, which then waits on
 * I/O it did not cause: seen as cold runs whose git and registry calls took 5x longer.
 */
const settle = () => run('sync', [])

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

const log = (message: string) => process.stderr.write(`${message} (${loadLine()})\n`)
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const x = (r: number) => `${r.toFixed(2)}x`
/** `1.08x 1.14x ...; median 1.083x`: pairRatios' result as the tables print it. */
const pairText = (r: { ratios: number[]; median: number }) => `${r.ratios.map(x).join(' ')}; median ${r.median.toFixed(3)}x`
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' }

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-bench-pipeline-'))
const registry = await startRegistry()
// Every pull goes through a proxy that counts the bytes it serves (no faults): a row that
// claims a pull must show the download really happened.
const proxy = await startFaultProxy(registry.host, {}, 2 * 60 * 60_000)
const blobBytes = () => proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).reduce((sum, r) => sum + (r.bytes ?? 0), 0)
const env = { ...process.env, REGISTRY: proxy.host, FORCE_COLOR: '0', CI: 'true' }
const made = new Set<string>()

// How the scripts run: from this checkout's sources, or (--installed, set up in
// installScripts) through the packed package installed into a project of its own, as an
// adopter's CI runs them.
let scripts = scriptRunner(project, env)
async function installScripts(): Promise<void> {
  const installDir = path.join(workDir, 'installed')
  fs.mkdirSync(installDir)
  fs.writeFileSync(path.join(installDir, 'package.json'), JSON.stringify({ name: 'bench-installed', version: '1.0.0', private: true }))
  log('packing this checkout and installing the tarball ...')
  const bin = await installPackage(project, workDir, installDir, adopterEnv(process.env))
  scripts = scriptRunner(project, env, { bin, project: installDir })
}

/** test and build in ONE container, each timed inside it (nanosecond marks). */
async function rawSteps(ref: string, repo: string, test: string, build: string): Promise<{ test: number; build: number }> {
  const script = 's=$(date +%s%N); sh -c "$1" >&2; t=$(date +%s%N); sh -c "$2" >&2; e=$(date +%s%N); echo "$s $t $e"'
  const out = await run('docker', ['run', '--rm', '--user', uid, '-v', `${repo}:${repo}`, '-w', repo, ref, 'sh', '-c', script, 'steps', test, build])
  const [s0, t, e] = out.split(/\s+/).map(Number)
  return { test: (t - s0) / 1e6, build: (e - t) / 1e6 }
}

/** test-and-build through the script, as CI calls it; its --report gives the phases. */
async function testAndBuild(repo: string, extra: string[] = []): Promise<Row & { outcome: string; ref: string; log: string }> {
  const report = path.join(workDir, 'report.json')
  let stderr = ''
  const total = await timed(async () => {
    const [cmd, ...argv] = scripts.command('test-and-build', ['--repo', repo, '--report', report, ...extra])
    stderr = (await exec(cmd, argv, { cwd: scripts.cwd, env: scripts.env })).stderr
  })
  const r = JSON.parse(fs.readFileSync(report, 'utf8'))
  const step = (n: string) => r.steps.find((st: { name: string }) => st.name === n).durationMs
  made.add(r.image.ref)
  return { image: r.image.durationMs, test: step('test'), build: step('build'), total, outcome: r.image.outcome, ref: r.image.ref, log: stderr }
}

/** What a pull of `ref` (through the proxy) must download on a runner that has the base image: its layers but the base's, compressed. */
async function layersToDownload(ref: string, skipLast = 0): Promise<number> {
  const at = ref.lastIndexOf(':')
  const layers = await imageLayers(registry.api, ref.slice(proxy.host.length + 1, at), ref.slice(at + 1))
  return layers.slice(layerCount(BASE), layers.length - skipLast).reduce((sum, l) => sum + l.size, 0)
}

function requireDownload(what: string, bytes: number, mustDownload: number): void {
  if (bytes < mustDownload) throw new Error(`${what} downloaded ${bytes} bytes, less than the ${mustDownload} of its layers: the daemon still had them, the row would measure no pull`)
}

/** The git repository of a fixture, committed. */
async function commitAll(repo: string, message: string): Promise<void> {
  if (!fs.existsSync(path.join(repo, '.git'))) await run('git', ['init', '-q', '-b', 'main'], { cwd: repo })
  await run('git', ['add', '-A'], { cwd: repo })
  await run('git', ['commit', '-q', '-m', message], { cwd: repo, env: gitEnv })
}

const tables: string[] = []

// --- Table 1: examples/go-app --------------------------------------------------------
async function goApp(): Promise<void> {
  // The fixture: a git copy of examples/go-app.
  const repo = path.join(workDir, 'go-app')
  fs.cpSync(path.join(project, 'examples/go-app'), repo, { recursive: true, filter: (src) => !src.includes(`${path.sep}bin`) })
  // A first layer unique to this run: no other image on the daemon (another test's
  // go-app build, say) shares the toolchain layers, so removing ours really empties the
  // cache, as on a fresh runner.
  const dockerfile = path.join(repo, 'Dockerfile.build')
  const marker = `bench-${process.pid}-${Date.now()}`
  fs.writeFileSync(dockerfile, fs.readFileSync(dockerfile, 'utf8').replace(/^(FROM .*)$/m, `$1\nRUN echo ${marker} > /etc/bench-run`))
  await commitAll(repo, 'go-app')

  // old way: the image rebuilt from nothing on every commit, then test and build.
  const oldRef = `bench-pipeline-old-${process.pid}`
  made.add(oldRef)
  log('go-app, old way: docker build --no-cache ...')
  const oldImage = await timed(() => run('docker', ['build', '--no-cache', '-q', '-t', oldRef, '-f', 'Dockerfile.build', '.'], { cwd: repo }))
  // Its total counts the container's start and stop, as the floor's and the scripts' do.
  const oldStarted = performance.now()
  const oldSteps = await rawSteps(oldRef, repo, 'make test', 'make build')
  const old: Row = { image: oldImage, ...oldSteps, total: oldImage + (performance.now() - oldStarted) }

  // The image for the warm/hot rows, built and pushed once (outside the measurements).
  log('go-app: seeding the registry with the current build image ...')
  const seedRef = (await testAndBuild(repo, ['--push'])).ref

  // cold: an input changed (the Makefile); rebuilt with the previous image as cache, pushed.
  fs.appendFileSync(path.join(repo, 'Makefile'), '\n# a change to an input of the build image\n')
  await commitAll(repo, 'touch the Makefile')
  log('go-app, cold ...')
  const cold = await testAndBuild(repo, ['--push'])
  const ref = cold.ref
  // From here on, only `ref` holds the toolchain's layers: removing it leaves the daemon
  // like a fresh runner's (the base image aside), so warm and floor really pull.
  for (const other of [oldRef, seedRef]) if (other !== ref) await run('docker', ['rmi', other])

  // Under BuildKit, `docker rmi` leaves the layers in the build cache, and a pull of them
  // then downloads nothing. Before every pull the image is removed and so are the cache
  // records of this run's layers (the marked step and all built on it).
  const mustDownload = await layersToDownload(ref)
  const downloaded: number[] = []
  const forget = async () => {
    await run('docker', ['rmi', ref])
    forgetBuildCache(marker)
    await settle()
  }

  // warm and its floor as alternating pairs; hot after each warm run.
  const warm: Row[] = []
  const hot: Row[] = []
  const floor: Row[] = []
  for (let i = 1; i <= runs; i++) {
    log(`go-app, pair ${i}/${runs}: warm (and hot), then floor ...`)
    await forget()
    let before = blobBytes()
    const w = await testAndBuild(repo)
    if (w.outcome !== 'pulled') throw new Error(`warm run ${i} was ${w.outcome}, not pulled`)
    requireDownload(`warm run ${i}`, blobBytes() - before, mustDownload)
    downloaded.push(blobBytes() - before)
    warm.push(w)
    const h = await testAndBuild(repo)
    if (h.outcome !== 'present') throw new Error(`hot run ${i} was ${h.outcome}, not present`)
    hot.push(h)
    await forget()
    before = blobBytes()
    const pull = await timed(() => run('docker', ['pull', '-q', ref]))
    requireDownload(`floor run ${i}`, blobBytes() - before, mustDownload)
    downloaded.push(blobBytes() - before)
    const t0 = performance.now()
    const steps = await rawSteps(ref, repo, 'make test', 'make build')
    floor.push({ image: pull, ...steps, total: pull + (performance.now() - t0) })
  }

  const med = (rows: Row[]): Row => ({ image: median(rows.map((r) => r.image)), test: median(rows.map((r) => r.test)), build: median(rows.map((r) => r.build)), total: median(rows.map((r) => r.total)) })
  const pairs = pairRatios(warm.map((r) => r.total), floor.map((r) => r.total))
  const line = (label: string, r: Row) => [label, s(r.image), s(r.test), s(r.build), s(r.total), x(old.total / r.total)]
  const rows = [
    ['run', 'image', 'test', 'build', 'total', 'speed-up vs old way'],
    line('old way (rebuild image, --no-cache)', old),
    line(`cold (input changed, ${cold.outcome})`, cold),
    line(`warm (pulled), median of ${runs}`, med(warm)),
    line(`hot (present), median of ${runs}`, med(hot)),
    line(`floor for warm: raw pull + run, median of ${runs}`, med(floor)),
  ]
  const summary = [
    `warm / floor, pair by pair: ${pairText(pairs)} (target <= 1.10x)`,
    `old way / warm: ${x(old.total / med(warm).total)} (target >= 2.5x); old way / floor: ${x(old.total / med(floor).total)}`,
    `image ${ref}: ${(Number(await run('docker', ['image', 'inspect', '--format', '{{.Size}}', ref])) / 1e6).toFixed(0)} MB; each warm and floor pull downloaded ${(Math.min(...downloaded) / 1e6).toFixed(1)} to ${(Math.max(...downloaded) / 1e6).toFixed(1)} MB through the proxy (its layers but the base: ${(mustDownload / 1e6).toFixed(1)} MB compressed)`,
  ]
  tables.push(`examples/go-app pipeline (${builderName()}; the scripts run as ${scripts.label})\n\n${table(rows)}\n\n${summary.join('\n')}\n\nmarkdown:\n\n${markdownTable(rows)}\n`)
}

// --- Table 2: a fresh runner -----------------------------------------------------------
async function freshRunner(): Promise<void> {
  const name = `bench-fresh-${process.pid}`
  const marker = `${name}-${Date.now()}`
  const repo = path.join(workDir, 'fresh')
  fs.mkdirSync(path.join(repo, 'tools'), { recursive: true })
  // Early layers expensive to build, cheap to pull, as a toolchain image's are: a run
  // marker, then ~30 s of deterministic computing (SHA-256 of --compute-mb MiB of zeros) whose
  // results are smaller (the digest and --tools-mb MiB standing in for compiled tools). `built-by`
  // is random, so an image carrying the parent's value reused the parent's layer.
  fs.writeFileSync(
    path.join(repo, 'Dockerfile.build'),
    [
      `FROM ${BASE}`,
      `RUN echo ${marker} > /etc/bench-run`,
      `RUN mkdir -p /opt/toolchain && head -c ${computeMb}M /dev/zero | sha256sum > /opt/toolchain/computed \\`,
      ` && head -c ${toolsMb}M /dev/urandom > /opt/toolchain/tools.bin && sha256sum /opt/toolchain/tools.bin > /opt/toolchain/built-by`,
      // The late layer: an input that changes more often (a dependency bump).
      'COPY tools /opt/tools',
      '',
    ].join('\n'),
  )
  fs.writeFileSync(path.join(repo, 'tools', 'versions.txt'), 'eksctl-deps 1\n')
  fs.writeFileSync(path.join(repo, '.gitignore'), 'out/\n')
  const test = 'cat /opt/tools/versions.txt /opt/toolchain/computed'
  const build = 'mkdir -p out && cp /opt/toolchain/built-by out/'
  fs.writeFileSync(
    path.join(repo, 'build.config.json'),
    JSON.stringify({ buildImage: { name, inputs: ['Dockerfile.build', 'tools'] }, steps: { test: ['sh', '-c', test], build: ['sh', '-c', build] } }, null, 2),
  )
  await commitAll(repo, 'the fixture')
  const builtBy = (ref: string) => run('docker', ['run', '--rm', ref, 'cat', '/opt/toolchain/built-by'])

  // Everything of the fixture's the daemon holds: images, and the build cache records of
  // its layers (the marker's step and those on it; and what the cache import recorded
  // under the image's name). A fresh runner has none of it.
  const forget = async () => {
    for (const ref of (await run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n')) {
      if (ref.includes(name)) await run('docker', ['rmi', '-f', ref])
    }
    forgetBuildCache(marker)
    forgetBuildCache(name)
    const left = cacheRecords().filter((r) => r.description.includes(marker) || r.description.includes(name))
    if (left.length) throw new Error(`the build cache still holds ${left.length} records of the fixture after pruning them: ${left.map((r) => r.description).join('; ')}`)
    await settle()
  }
  // The build context a by-hand build gets: the inputs, as the scripts' temp context holds them.
  const context = path.join(workDir, 'fresh-context')
  const copyContext = () => {
    fs.rmSync(context, { recursive: true, force: true })
    fs.mkdirSync(context)
    for (const f of ['Dockerfile.build', 'tools']) fs.cpSync(path.join(repo, f), path.join(context, f), { recursive: true })
  }

  // The parent commit's image, built and pushed (outside the measurements).
  log('fresh runner: building and pushing the parent commit\'s image ...')
  const parent = await testAndBuild(repo, ['--push'])
  if (parent.outcome !== 'pushed') throw new Error(`the parent's image was ${parent.outcome}, not pushed: ${parent.log.slice(-1500)}`)
  const parentBuiltBy = (await builtBy(parent.ref))

  // The change: an input of the late layer only.
  fs.writeFileSync(path.join(repo, 'tools', 'versions.txt'), 'eksctl-deps 2\n')
  await commitAll(repo, 'bump a dependency')
  copyContext()
  // What reusing the parent's layers must download: its layers but the base's and its last (the COPY, which changed).
  const mustDownload = await layersToDownload(parent.ref, 1)

  // old way: rebuilt from nothing, then the steps.
  await forget()
  const oldRef = `${name}-old:latest`
  log('fresh runner, old way: docker build --no-cache ...')
  const oldImage = await timed(() => run('docker', ['build', '--no-cache', '-q', '-t', oldRef, '-f', 'Dockerfile.build', '.'], { cwd: context }))
  const oldStarted = performance.now()
  const old: Row = { image: oldImage, ...(await rawSteps(oldRef, repo, test, build)), total: 0 }
  old.total = oldImage + (performance.now() - oldStarted)

  // cold on a fresh runner and its floor, alternating pairs.
  const cold: Row[] = []
  const floor: Row[] = []
  const coldBytes: number[] = []
  const floorBytes: number[] = []
  const startup: number[] = []
  let reused = 0
  let coldLog = ''
  // BuildKit can read a registry cache itself; the legacy builder cannot (it needs the image local).
  const lazy: Row[] = []
  const lazyBytes: number[] = []
  const buildkit = builderName(env) === 'BuildKit'
  // The same build by hand, on an emptied daemon, after a raw pull of the parent's image
  // (the floor) or with none (BuildKit fetching the layers it reuses): timed, then checked
  // for the download and for the parent's expensive layer.
  const byHand = async (what: string, ref: string, pullFirst: boolean): Promise<{ row: Row; bytes: number }> => {
    await forget()
    const before = blobBytes()
    const t0 = performance.now()
    if (pullFirst) await run('docker', ['pull', '-q', parent.ref])
    const pulled = performance.now()
    await run('docker', ['build', '-q', '--build-arg', 'BUILDKIT_INLINE_CACHE=1', '--cache-from', parent.ref, '-t', ref, '-f', 'Dockerfile.build', '.'], { cwd: context })
    const image = performance.now() - t0
    const bytes = blobBytes() - before
    requireDownload(what, bytes, mustDownload)
    const t1 = performance.now()
    const steps = await rawSteps(ref, repo, test, build)
    const row = { image, ...steps, total: image + (performance.now() - t1) }
    if ((await builtBy(ref)) !== parentBuiltBy) throw new Error(`${what} re-ran the expensive step: docker build --cache-from ${parent.ref} did not reuse it${pullFirst ? ` (pull ${s(pulled - t0)})` : ''}, so it is no floor`)
    return { row, bytes }
  }
  for (let i = 1; i <= runs; i++) {
    log(`fresh runner, pair ${i}/${runs}: cold through test-and-build, then the floor by hand ...`)
    await forget()
    const before = blobBytes()
    const c = await testAndBuild(repo)
    const bytes = blobBytes() - before
    if (c.outcome !== 'built') throw new Error(`cold run ${i} was ${c.outcome}, not built`)
    const reusedHere = (await builtBy(c.ref)) === parentBuiltBy
    // A reuse without the download would mean the layers were still local: not a fresh runner.
    if (reusedHere) requireDownload(`cold run ${i} (it reused the parent's layer)`, bytes, mustDownload)
    if (reusedHere) reused++
    coldLog ||= c.log.split('\n').find((l) => !l.startsWith('#') && /cache/i.test(l)) ?? ''
    cold.push(c)
    coldBytes.push(bytes)

    const f = await byHand(`floor run ${i}`, `${name}-floor:latest`, true)
    floor.push(f.row)
    floorBytes.push(f.bytes)
    if (buildkit) {
      const l = await byHand(`by-hand registry build ${i}`, `${name}-lazy:latest`, false)
      lazy.push(l.row)
      lazyBytes.push(l.bytes)
    }
    // What the script pays before its first step, in the same pair: the part of cold's
    // distance to the floor that is start-up, not the image.
    const [cmd, ...argv] = scripts.startup('test-and-build')
    startup.push(await timed(() => exec(cmd, argv, { cwd: scripts.cwd, env: scripts.env })))
  }

  // warm: the new commit's image in the registry, the daemon emptied before each pull.
  log('fresh runner: pushing the new commit\'s image for the warm rows ...')
  await forget()
  const pushed = await testAndBuild(repo, ['--push'])
  const mustDownloadWarm = await layersToDownload(pushed.ref)
  const warm: Row[] = []
  for (let i = 1; i <= runs; i++) {
    log(`fresh runner, warm ${i}/${runs} ...`)
    await forget()
    const before = blobBytes()
    const w = await testAndBuild(repo)
    if (w.outcome !== 'pulled') throw new Error(`warm run ${i} was ${w.outcome}, not pulled`)
    requireDownload(`warm run ${i}`, blobBytes() - before, mustDownloadWarm)
    warm.push(w)
  }
  await forget()

  const med = (rows: Row[]): Row => ({ image: median(rows.map((r) => r.image)), test: median(rows.map((r) => r.test)), build: median(rows.map((r) => r.build)), total: median(rows.map((r) => r.total)) })
  const pairs = pairRatios(cold.map((r) => r.total), floor.map((r) => r.total))
  const imagePairs = pairRatios(cold.map((r) => r.image), floor.map((r) => r.image))
  const withoutStartup = pairRatios(cold.map((r, i) => r.total - startup[i]), floor.map((r) => r.total))
  const line = (label: string, r: Row) => [label, s(r.image), s(r.test), s(r.build), s(r.total), x(old.total / r.total)]
  const rows = [
    ['run', 'image', 'test', 'build', 'total', 'speed-up vs old way'],
    line('old way (rebuild image, --no-cache)', old),
    line(`cold on a fresh runner (input of the last layer changed), median of ${runs}`, med(cold)),
    line(`floor for it: raw pull + docker build --cache-from + run, median of ${runs}`, med(floor)),
    ...(buildkit ? [line(`by hand, no pull: docker build --cache-from <registry ref> + run, median of ${runs}`, med(lazy))] : []),
    line(`warm (pulled), median of ${runs}`, med(warm)),
  ]
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`
  const summary = [
    `cold on a fresh runner / floor, pair by pair: ${pairText(pairs)} (target <= 1.15x)`,
    `old way / cold on a fresh runner: ${x(old.total / med(cold).total)} (target >= 2x); old way / floor: ${x(old.total / med(floor).total)}`,
    `the image phase alone (the lookup and the build against the floor's pull and build), pair by pair: ${pairText(imagePairs)}`,
    ...(buildkit
      ? [
          `by hand, no pull / floor (BuildKit fetching the cache itself against pull then build), run by run: ${pairText(pairRatios(lazy.map((r) => r.total), floor.map((r) => r.total)))}; it downloaded ${lazyBytes.map(mb).join(', ')}`,
          `cold / by hand, no pull (what the scripts add to the same build), run by run: ${pairText(pairRatios(cold.map((r) => r.total), lazy.map((r) => r.total)))}`,
        ]
      : []),
    `start-up (${scripts.startupLabel}) in each pair: ${startup.map(s).join(', ')}; cold minus it / floor, pair by pair: ${pairText(withoutStartup)}`,
    `cold reused the parent's expensive layer in ${reused} of ${runs} runs${reused < runs ? ' (the others rebuilt it: no cache image found or used)' : ''}; it downloaded ${coldBytes.map(mb).join(', ')}; the floor ${floorBytes.map(mb).join(', ')} (the parent's layers but the base and the changed one: ${mb(mustDownload)} compressed)`,
    ...(coldLog ? [`the cold run's log: ${coldLog.trim()}`] : []),
    `fixture: ${computeMb} MiB of SHA-256 in the expensive step, ${toolsMb} MiB of results; image ${pushed.ref}`,
  ]
  tables.push(`a fresh runner: cold with the parent's image only in the registry (${builderName()}; the scripts run as ${scripts.label})\n\n${table(rows)}\n\n${summary.join('\n')}\n\nmarkdown:\n\n${markdownTable(rows)}\n`)
}

try {
  const loadBefore = loadLine()
  if (args.installed) await installScripts()
  if (args.only !== 'fresh-runner') await goApp()
  if (args.only !== 'go-app') await freshRunner()
  process.stdout.write(`\n${tables.join('\n')}\nstarted at ${loadBefore}; finished on ${machineLine()}\n`)
} finally {
  for (const ref of made) spawnSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' })
  await proxy.stop()
  await registry.stop()
  fs.rmSync(workDir, { recursive: true, force: true })
}
