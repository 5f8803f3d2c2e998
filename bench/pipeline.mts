#!/usr/bin/env zx
// bench/pipeline.mts: the timing table for examples/go-app, in one invocation.
//   old way  rebuild the build image from scratch (docker build --no-cache), then
//            test and build in it: what a content-addressed build image replaces
//   cold     an input changed: test-and-build rebuilds, the previous image as cache
//   warm     tag unchanged, image only in the registry (a fresh CI runner): pulled
//   hot      image already local: present
//   floor    raw `docker pull` of the warm image + the same test and build in one
//            `docker run`: what warm cannot beat
// Targets (issue 8): warm within 1.10x of its floor, and at least 2.5x faster than
// the old way. Warm and floor alternate, --runs times each, medians reported.
//
//   npm run bench:pipeline [-- --runs N]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { minimist } from 'zx'
import { markdownTable, mmss, table } from '../lib/core/log.mts'
import { forgetBuildCache } from '../tests/helpers/build-cache.mts'
import { startFaultProxy } from '../tests/helpers/fault-proxy.mts'
import { startRegistry } from '../tests/helpers/registry.mts'

const args = minimist(process.argv.slice(3), { default: { runs: 3 } })
const runs = Number(args.runs)
const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const uid = `${process.getuid!()}:${process.getgid!()}`

interface Row {
  image: number
  test: number
  build: number
  total: number
}

function run(cmd: string, argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, argv, { ...options, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`)
  return r.stdout.trim()
}

function timed(fn: () => unknown): number {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}

/** test and build in ONE container, each timed inside it (nanosecond marks). */
function rawSteps(ref: string, repo: string): { test: number; build: number } {
  const script = 's=$(date +%s%N); make test >&2; t=$(date +%s%N); make build >&2; e=$(date +%s%N); echo "$s $t $e"'
  const out = run('docker', ['run', '--rm', '--user', uid, '-v', `${repo}:${repo}`, '-w', repo, ref, 'sh', '-c', script])
  const [s, t, e] = out.split(/\s+/).map(Number)
  return { test: (t - s) / 1e6, build: (e - t) / 1e6 }
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-bench-pipeline-'))
const registry = await startRegistry()
// Every pull goes through a proxy that counts the bytes it serves (no faults): a row that
// claims a pull must show the download really happened.
const proxy = await startFaultProxy(registry.host, {}, 2 * 60 * 60_000)
const served = () => proxy.requests.reduce((sum, r) => sum + (r.bytes ?? 0), 0)
const env = { ...process.env, REGISTRY: proxy.host, FORCE_COLOR: '0', CI: 'true' }
const made: string[] = []

/** test-and-build through the script, as CI calls it; its --report gives the phases. */
function testAndBuild(repo: string, extra: string[] = []): Row & { outcome: string; ref: string } {
  const report = path.join(workDir, 'report.json')
  const total = timed(() => run('npx', ['zx', 'scripts/test-and-build.mts', '--repo', repo, '--report', report, ...extra], { cwd: project, env }))
  const r = JSON.parse(fs.readFileSync(report, 'utf8'))
  const step = (n: string) => r.steps.find((s: { name: string }) => s.name === n).durationMs
  made.push(r.image.ref)
  return { image: r.image.durationMs, test: step('test'), build: step('build'), total, outcome: r.image.outcome, ref: r.image.ref }
}

try {
  // The fixture: a git copy of examples/go-app.
  const repo = path.join(workDir, 'go-app')
  fs.cpSync(path.join(project, 'examples/go-app'), repo, { recursive: true, filter: (src) => !src.includes(`${path.sep}bin`) })
  // A first layer unique to this run: no other image on the daemon (another test's
  // go-app build, say) shares the toolchain layers, so removing ours really empties the
  // cache, as on a fresh runner.
  const dockerfile = path.join(repo, 'Dockerfile.build')
  const marker = `bench-${process.pid}-${Date.now()}`
  fs.writeFileSync(dockerfile, fs.readFileSync(dockerfile, 'utf8').replace(/^(FROM .*)$/m, `$1\nRUN echo ${marker} > /etc/bench-run`))
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' }
  run('git', ['init', '-q', '-b', 'main'], { cwd: repo })
  run('git', ['add', '-A'], { cwd: repo })
  run('git', ['commit', '-q', '-m', 'go-app'], { cwd: repo, env: gitEnv })

  // old way: the image rebuilt from nothing on every commit, then test and build.
  const oldRef = `bench-pipeline-old-${process.pid}`
  made.push(oldRef)
  process.stderr.write('old way: docker build --no-cache ...\n')
  const oldImage = timed(() => run('docker', ['build', '--no-cache', '-q', '-t', oldRef, '-f', 'Dockerfile.build', '.'], { cwd: repo, env: { ...process.env, DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? '0' } }))
  // Its total counts the container's start and stop, as the floor's and the scripts' do.
  const oldStarted = performance.now()
  const oldSteps = rawSteps(oldRef, repo)
  const old: Row = { image: oldImage, ...oldSteps, total: oldImage + (performance.now() - oldStarted) }

  // The image for the warm/hot rows, built and pushed once (outside the measurements).
  process.stderr.write('seeding the registry with the current build image ...\n')
  const seedRef = testAndBuild(repo, ['--push']).ref

  // cold: an input changed (the Makefile); rebuilt with the previous image as cache, pushed.
  fs.appendFileSync(path.join(repo, 'Makefile'), '\n# a change to an input of the build image\n')
  run('git', ['commit', '-q', '-am', 'touch the Makefile'], { cwd: repo, env: gitEnv })
  process.stderr.write('cold ...\n')
  const cold = testAndBuild(repo, ['--push'])
  const ref = cold.ref
  // From here on, only `ref` holds the toolchain's layers: removing it leaves the daemon
  // like a fresh runner's (the base image aside), so warm and floor really pull.
  for (const other of [oldRef, seedRef]) if (other !== ref) run('docker', ['rmi', other])

  // Under BuildKit, `docker rmi` leaves the layers in the build cache, and a pull of them
  // then downloads nothing. Before every pull the image is removed and so are the cache
  // records of this run's layers (the marked step and all built on it; never the global
  // cache, which other builds on this daemon use). What a pull must download: every layer
  // but the base image's.
  const [name, tag] = ref.slice(proxy.host.length + 1).split(':')
  const manifest = (await (await registry.api(`/v2/${name}/manifests/${tag}`)).json()) as { layers?: Array<{ size: number }> }
  // Unfinished (issue 12): in its one trial run this manifest had no layers list; say what came back.
  if (!manifest.layers) throw new Error(`the registry's manifest of ${name}:${tag} lists no layers: ${JSON.stringify(manifest).slice(0, 500)}`)
  const mustDownload = manifest.layers.slice(1).reduce((sum, l) => sum + l.size, 0)
  const downloaded: number[] = []
  const forget = () => {
    run('docker', ['rmi', ref])
    forgetBuildCache(marker)
  }
  const checkDownload = (what: string, before: number) => {
    const bytes = served() - before
    if (bytes < mustDownload) throw new Error(`${what} downloaded ${bytes} bytes, less than the ${mustDownload} of its layers: the daemon still had them, the row would measure no pull`)
    downloaded.push(bytes)
  }

  // warm and its floor, alternating; hot after each warm run.
  const warm: Row[] = []
  const hot: Row[] = []
  const floor: Row[] = []
  for (let i = 1; i <= runs; i++) {
    process.stderr.write(`warm/hot/floor run ${i}/${runs} ...\n`)
    forget()
    let before = served()
    const w = testAndBuild(repo)
    if (w.outcome !== 'pulled') throw new Error(`warm run was ${w.outcome}, not pulled`)
    checkDownload(`warm run ${i}`, before)
    warm.push(w)
    const h = testAndBuild(repo)
    if (h.outcome !== 'present') throw new Error(`hot run was ${h.outcome}, not present`)
    hot.push(h)
    forget()
    before = served()
    const pull = timed(() => run('docker', ['pull', '-q', ref]))
    checkDownload(`floor run ${i}`, before)
    const t0 = performance.now()
    const steps = rawSteps(ref, repo)
    floor.push({ image: pull, ...steps, total: pull + (performance.now() - t0) })
  }

  const median = (rows: Row[]): Row => {
    const m = (k: keyof Row) => [...rows.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(rows.length / 2)]
    return { image: m('image'), test: m('test'), build: m('build'), total: m('total') }
  }
  const line = (label: string, r: Row) => [label, mmss(r.image), mmss(r.test), mmss(r.build), mmss(r.total), `${(old.total / r.total).toFixed(2)}x`]
  const rows = [
    ['run', 'image', 'test', 'build', 'total', 'speed-up vs old way'],
    line('old way (rebuild image)', old),
    line(`cold (input changed, ${cold.outcome})`, cold),
    line(`warm (pulled), median of ${runs}`, median(warm)),
    line(`hot (present), median of ${runs}`, median(hot)),
    line(`floor for warm: raw pull + run, median of ${runs}`, median(floor)),
  ]
  const warmVsFloor = median(warm).total / median(floor).total
  const summary = [
    `warm / floor: ${warmVsFloor.toFixed(3)}x (target <= 1.10x); old way / warm: ${(old.total / median(warm).total).toFixed(2)}x (target >= 2.5x)`,
    `image ${ref}: ${(Number(run('docker', ['image', 'inspect', '--format', '{{.Size}}', ref])) / 1e6).toFixed(0)} MB; every warm and floor pull downloaded ${(Math.min(...downloaded) / 1e6).toFixed(0)} to ${(Math.max(...downloaded) / 1e6).toFixed(0)} MB (its layers but the base: ${(mustDownload / 1e6).toFixed(0)} MB compressed)`,
    `builder: ${process.env.DOCKER_BUILDKIT === '0' ? 'legacy (DOCKER_BUILDKIT=0)' : 'BuildKit'}; ${run('docker', ['version', '--format', 'Docker Engine {{.Server.Version}}'])}`,
    `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${new Date().toISOString().slice(0, 10)}`,
  ]
  process.stdout.write(`\nexamples/go-app pipeline (mm:ss)\n\n${table(rows)}\n\n${summary.join('\n')}\n\nmarkdown:\n\n${markdownTable(rows)}\n`)
} finally {
  for (const ref of new Set(made)) spawnSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' })
  await proxy.stop()
  await registry.stop()
  fs.rmSync(workDir, { recursive: true, force: true })
}
