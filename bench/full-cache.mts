#!/usr/bin/env zx
// bench/full-cache.mts: a fresh runner with a multi-stage build image whose builder stage
// runs an expensive step and then copies the lockfile (`FROM busybox AS tools`, the
// expensive RUN, `COPY deps.lock`, a RUN on it; the last stage copies from `tools`). The
// lockfile changed; the daemon holds none of the fixture's layers; the parent commit's
// image (and, where the engine exported one, its full registry cache) is only in the
// registry.
//   old way          docker build --no-cache, then the steps
//   cold, inline     test-and-build against a registry that holds the parent's image alone
//                    (its inline cache: the last stage's layers): the builder stage reruns
//   cold, mode=max   test-and-build against the registry the parent's job pushed to, which
//                    holds <tag>-cache beside the image: the expensive layer is reused
//   floor            `docker buildx build --cache-from type=registry,ref=<tag>-cache` by
//                    hand, then the steps: what cold, mode=max cannot beat
// Targets: cold, mode=max at least 2x faster than the old way, the builder stage reused in
// every pair (the image carries the parent's random `built-by`).
//
// Method (the team's rule): the four rows run in turn (old, inline, mode=max, floor), --runs
// pairs; each ratio is taken pair by pair and its median reported; the load is logged beside
// every run. Before every run the fixture's images and the build cache records of its layers
// are removed (a marker only this run uses; never the global cache: the daemon is shared),
// and the bytes a proxy in front of each registry served are checked against the layers a
// reuse must download. Needs an engine that can export a registry cache (the containerd
// image store, or a buildx builder outside the daemon):
//
//   DOCKER_HOST=unix:///run/cbs-containerd/docker.sock npm run bench:full-cache -- --own-daemon [--runs N --compute-mb M --tools-mb T]
//
// --own-daemon: the daemon is this bench's alone while it runs; its whole build cache is
// pruned before every run (never pass it for a daemon others use).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { minimist } from 'zx'
import { markdownTable, table } from '../lib/core/log.mts'
import { canExportCache, currentBuilder } from '../lib/image/docker.mts'
import { cacheRecords, forgetBuildCache } from '../tests/helpers/build-cache.mts'
import { imageFile } from '../tests/helpers/docker.mts'
import { startFaultProxy, type FaultProxy } from '../tests/helpers/fault-proxy.mts'
import { startRegistry, type TestRegistry } from '../tests/helpers/registry.mts'
import { exec, fixtureFlags, imageLayers, loadLine, machineLine, median, pairRatios } from './measure.mts'

const args = minimist(process.argv.slice(3), { boolean: ['own-daemon'], default: { runs: 5, 'compute-mb': 2048, 'tools-mb': 100 } })
const { runs, computeMb, toolsMb } = fixtureFlags(args)
if (process.env.DOCKER_BUILDKIT === '0') throw new Error('the legacy builder exports no registry cache: run this bench under BuildKit')
if (!(await canExportCache(await currentBuilder()))) {
  throw new Error('this engine cannot export a registry cache (the classic image store with the docker driver): run it against the containerd store, e.g. DOCKER_HOST=unix:///run/cbs-containerd/docker.sock')
}
const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const uid = `${process.getuid!()}:${process.getgid!()}`

interface Row {
  image: number
  steps: number
  total: number
  load: number
}

const run = async (cmd: string, argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => (await exec(cmd, argv, options)).stdout
const log = (message: string) => process.stderr.write(`${message} (${loadLine()})\n`)
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const x = (r: number) => `${r.toFixed(2)}x`
const pairText = (r: { ratios: number[]; median: number }) => `${r.ratios.map(x).join(' ')}; median ${r.median.toFixed(3)}x`
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' }
const load1 = () => os.loadavg()[0]
/** Each run's figures as it ends, so a bench cut short still leaves what it measured. */
const say = (what: string, r: Row) => process.stderr.write(`  ${what}: image ${s(r.image)}, steps ${s(r.steps)}, total ${s(r.total)} (load ${r.load.toFixed(1)} at its start)\n`)

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-bench-full-cache-'))
const name = `bench-fullcache-${process.pid}`
const marker = `${name}-${Date.now()}`
const made = new Set<string>()
const servers: Array<{ stop: () => Promise<void> }> = []

/** A registry behind a proxy that counts the blob bytes it serves. */
async function countedRegistry(): Promise<{ registry: TestRegistry; proxy: FaultProxy; bytes: () => number }> {
  const registry = await startRegistry()
  servers.push(registry)
  const proxy = await startFaultProxy(registry.host, {}, 2 * 60 * 60_000)
  servers.unshift(proxy)
  const bytes = () => proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).reduce((sum, r) => sum + (r.bytes ?? 0), 0)
  return { registry, proxy, bytes }
}

try {
  const loadBefore = loadLine()
  const full = await countedRegistry()
  const inline = await countedRegistry()
  const repo = path.join(workDir, 'repo')
  fs.mkdirSync(repo)
  // The builder stage: a run marker, the expensive step (SHA-256 of --compute-mb MiB and
  // --tools-mb MiB of random "tools", whose checksum `built-by` tells a reuse), then the lockfile.
  fs.writeFileSync(
    path.join(repo, 'Dockerfile.build'),
    [
      'FROM busybox:latest AS tools',
      `RUN echo ${marker} > /bench-run`,
      // The marker in every RUN: a record imported from the registry cache is not built on
      // the marker step's record, so it is found by its own text (seen: a floor run reused the
      // expensive layer after the prune, having downloaded 2 KB).
      `RUN : ${marker} && mkdir -p /opt/toolchain && dd if=/dev/zero bs=1M count=${computeMb} 2>/dev/null | sha256sum > /opt/toolchain/computed \\`,
      ` && dd if=/dev/urandom bs=1M count=${toolsMb} of=/opt/toolchain/tools.bin 2>/dev/null && sha256sum /opt/toolchain/tools.bin > /opt/toolchain/built-by`,
      'COPY deps.lock /opt/deps.lock',
      `RUN : ${marker} && cp /opt/deps.lock /opt/toolchain/deps-installed`,
      'FROM busybox:latest',
      'COPY --from=tools /opt/toolchain /opt/toolchain',
      '',
    ].join('\n'),
  )
  fs.writeFileSync(path.join(repo, 'deps.lock'), 'dep 1\n')
  fs.writeFileSync(path.join(repo, '.gitignore'), 'out/\n')
  const test = 'cat /opt/toolchain/deps-installed /opt/toolchain/computed'
  const build = 'mkdir -p out && cp /opt/toolchain/built-by out/'
  fs.writeFileSync(path.join(repo, 'build.config.json'), JSON.stringify({ buildImage: { name, inputs: ['Dockerfile.build', 'deps.lock'] }, steps: { test: ['sh', '-c', test], build: ['sh', '-c', build] } }, null, 2))
  const commitAll = async (message: string) => {
    if (!fs.existsSync(path.join(repo, '.git'))) await run('git', ['init', '-q', '-b', 'main'], { cwd: repo })
    await run('git', ['add', '-A'], { cwd: repo })
    await run('git', ['commit', '-q', '-m', message], { cwd: repo, env: gitEnv })
  }
  await commitAll('the fixture')
  // Read without running the image: docker run's output can be lost on a loaded machine.
  const builtBy = async (ref: string) => imageFile(ref, '/opt/toolchain/built-by')
  const steps = async (ref: string) => {
    const t0 = performance.now()
    await run('docker', ['run', '--rm', '--user', uid, '-v', `${repo}:${repo}`, '-w', repo, ref, 'sh', '-c', `${test} >&2 && ${build}`])
    return performance.now() - t0
  }

  const report = path.join(workDir, 'report.json')
  const testAndBuild = async (host: string, extra: string[] = []) => {
    const env = { ...process.env, REGISTRY: host, FORCE_COLOR: '0', CI: 'true', REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '' }
    const t0 = performance.now()
    const { stderr } = await exec('npx', ['zx', 'scripts/test-and-build.mts', '--repo', repo, '--report', report, ...extra], { cwd: project, env })
    const total = performance.now() - t0
    const r = JSON.parse(fs.readFileSync(report, 'utf8'))
    made.add(r.image.ref)
    const stepMs = r.steps.reduce((sum: number, st: { durationMs: number }) => sum + st.durationMs, 0)
    return { row: { image: r.image.durationMs as number, steps: stepMs as number, total }, ref: r.image.ref as string, outcome: r.image.outcome as string, cache: r.image.cache, log: stderr }
  }

  // Everything of the fixture's the daemon holds: a fresh runner has none of it.
  const forget = async () => {
    for (const ref of (await run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n')) {
      if (ref.includes(name)) await run('docker', ['rmi', '-f', ref])
    }
    // Under the containerd store a step's `mount / from exec` record (the writable mount its
    // command ran in) can outlive the prune: it is no cache a later build reuses, and a
    // reuse of the expensive layer must still download it, which the byte checks below demand.
    forgetBuildCache(marker)
    forgetBuildCache(name)
    // On a daemon only this bench uses (--own-daemon), its whole build cache goes: under the
    // containerd store, records of the fixture's steps were seen to outlive the prune by marker
    // and serve the next run's steps from the daemon.
    if (args['own-daemon']) await run('docker', ['buildx', 'prune', '--all', '--force'])
    const left = cacheRecords().filter((r) => (r.description.includes(marker) || r.description.includes(name)) && !r.description.startsWith('mount / from exec'))
    if (left.length) throw new Error(`the build cache still holds ${left.length} records of the fixture after pruning them: ${left.map((r) => r.description).join('; ')}`)
    await run('sync', [])
  }

  // The parent commit: its job pushes the image and exports the full cache; the other registry gets the image alone.
  log('full cache: building and pushing the parent commit\'s image and its full registry cache ...')
  await forget()
  const parent = await testAndBuild(full.proxy.host, ['--push'])
  if (parent.outcome !== 'pushed') throw new Error(`the parent's image was ${parent.outcome}, not pushed: ${parent.log.slice(-1500)}`)
  if (parent.cache?.export?.outcome !== 'exported') throw new Error(`the parent's job exported no full cache (${JSON.stringify(parent.cache?.export)}): ${parent.log.slice(-1500)}`)
  const cacheRef = parent.cache.export.ref as string
  const parentBuiltBy = await builtBy(parent.ref)
  const inlineParent = inline.proxy.host + parent.ref.slice(full.proxy.host.length)
  await run('docker', ['tag', parent.ref, inlineParent])
  made.add(inlineParent)
  await run('docker', ['push', '-q', inlineParent])

  // What a reuse of the expensive layer must download at least: that layer (the largest of the cache's).
  const at = cacheRef.lastIndexOf(':')
  const cacheLayers = await imageLayers(full.registry.api, cacheRef.slice(full.proxy.host.length + 1, at), cacheRef.slice(at + 1))
  const mustDownload = Math.max(...cacheLayers.map((l) => l.size))

  // The change: the lockfile, copied after the expensive step.
  fs.writeFileSync(path.join(repo, 'deps.lock'), 'dep 2\n')
  await commitAll('bump a dependency')

  const rows = { old: [] as Row[], inline: [] as Row[], max: [] as Row[], floor: [] as Row[] }
  const reused = { inline: 0, max: 0, floor: 0 }
  const downloaded = { max: [] as number[], floor: [] as number[] }
  let inlineLog = ''
  let maxLog = ''
  for (let i = 1; i <= runs; i++) {
    // old way: rebuilt from nothing.
    log(`full cache, pair ${i}/${runs}: old way ...`)
    await forget()
    let load = load1()
    const oldRef = `${name}-old:latest`
    made.add(oldRef)
    const t0 = performance.now()
    await run('docker', ['build', '--no-cache', '-q', '-t', oldRef, '-f', 'Dockerfile.build', '.'], { cwd: repo })
    const oldImage = performance.now() - t0
    const oldSteps = await steps(oldRef)
    rows.old.push({ image: oldImage, steps: oldSteps, total: performance.now() - t0, load })
    say('old way', rows.old.at(-1)!)

    // cold, inline cache only.
    log(`full cache, pair ${i}/${runs}: cold with the inline cache ...`)
    await forget()
    load = load1()
    const c = await testAndBuild(inline.proxy.host)
    if (c.outcome !== 'built') throw new Error(`cold (inline) run ${i} was ${c.outcome}, not built`)
    if ((await builtBy(c.ref)) === parentBuiltBy) reused.inline++
    // The inline cache holds no layer of the builder stage: its expensive step runs again,
    // unless the daemon still had the fixture's layers, and then no row here means anything.
    if (/all \d+ steps from cache/.test(c.log)) throw new Error(`cold (inline) run ${i} took every step from cache: the daemon still had the fixture's layers (under the containerd store, give the bench a daemon of its own and --own-daemon)`)
    inlineLog ||= c.log.split('\n').filter((l) => /^[^#].*cache/i.test(l)).join('\n')
    rows.inline.push({ ...c.row, load })
    say('cold, inline', rows.inline.at(-1)!)

    // cold, mode=max cache.
    log(`full cache, pair ${i}/${runs}: cold with the mode=max cache ...`)
    await forget()
    load = load1()
    let before = full.bytes()
    const m = await testAndBuild(full.proxy.host)
    if (m.outcome !== 'built') throw new Error(`cold (mode=max) run ${i} was ${m.outcome}, not built`)
    downloaded.max.push(full.bytes() - before)
    if ((await builtBy(m.ref)) === parentBuiltBy) {
      reused.max++
      if (full.bytes() - before < mustDownload) throw new Error(`cold (mode=max) run ${i} reused the expensive layer but downloaded ${full.bytes() - before} bytes, less than its ${mustDownload}: the daemon still had it`)
    }
    maxLog ||= m.log.split('\n').filter((l) => /^[^#].*cache/i.test(l)).join('\n')
    rows.max.push({ ...m.row, load })
    say('cold, mode=max', rows.max.at(-1)!)

    // floor: the same build by hand, BuildKit reading the cache ref.
    log(`full cache, pair ${i}/${runs}: floor (docker buildx build --cache-from the cache ref) ...`)
    await forget()
    load = load1()
    before = full.bytes()
    const floorRef = `${name}-floor:latest`
    made.add(floorRef)
    const t1 = performance.now()
    await run('docker', ['buildx', 'build', '-q', '--provenance=false', '--cache-from', `type=registry,ref=${cacheRef}`, '-t', floorRef, '-f', 'Dockerfile.build', '.'], { cwd: repo })
    const floorImage = performance.now() - t1
    const floorSteps = await steps(floorRef)
    rows.floor.push({ image: floorImage, steps: floorSteps, total: performance.now() - t1, load })
    say('floor', rows.floor.at(-1)!)
    downloaded.floor.push(full.bytes() - before)
    if ((await builtBy(floorRef)) === parentBuiltBy) {
      reused.floor++
      if (full.bytes() - before < mustDownload) throw new Error(`floor run ${i} reused the expensive layer but downloaded ${full.bytes() - before} bytes, less than its ${mustDownload}: the daemon still had it`)
    }
  }
  await forget()

  const med = (rs: Row[]): Row => ({ image: median(rs.map((r) => r.image)), steps: median(rs.map((r) => r.steps)), total: median(rs.map((r) => r.total)), load: median(rs.map((r) => r.load)) })
  const loads = (rs: Row[]) => rs.map((r) => r.load.toFixed(1)).join(' ')
  const line = (label: string, rs: Row[]) => {
    const r = med(rs)
    return [label, s(r.image), s(r.steps), s(r.total), x(med(rows.old).total / r.total), loads(rs)]
  }
  const table_ = [
    ['run', 'image', 'steps', 'total', 'speed-up vs old way', 'load (1 min) per run'],
    line(`old way (docker build --no-cache), median of ${runs}`, rows.old),
    line(`cold, inline cache only (the parent's image), median of ${runs}`, rows.inline),
    line(`cold, mode=max cache (<tag>-cache), median of ${runs}`, rows.max),
    line(`floor: docker buildx build --cache-from <tag>-cache + run, median of ${runs}`, rows.floor),
  ]
  const totals = (rs: Row[]) => rs.map((r) => r.total)
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`
  const summary = [
    `old way / cold, mode=max, pair by pair: ${pairText(pairRatios(totals(rows.old), totals(rows.max)))} (target >= 2x)`,
    `old way / cold, inline, pair by pair: ${pairText(pairRatios(totals(rows.old), totals(rows.inline)))}`,
    `cold, mode=max / floor, pair by pair: ${pairText(pairRatios(totals(rows.max), totals(rows.floor)))}`,
    `the builder stage's expensive layer reused: mode=max ${reused.max} of ${runs}, floor ${reused.floor} of ${runs}, inline ${reused.inline} of ${runs}`,
    `downloaded: mode=max ${downloaded.max.map(mb).join(', ')}; floor ${downloaded.floor.map(mb).join(', ')} (the expensive layer: ${mb(mustDownload)} compressed)`,
    ...(inlineLog ? [`the inline run's log:\n${inlineLog.trim()}`] : []),
    ...(maxLog ? [`the mode=max run's log:\n${maxLog.trim()}`] : []),
    `fixture: ${computeMb} MiB of SHA-256 and ${toolsMb} MiB of random tools in the builder stage; cache ref ${cacheRef}`,
  ]
  process.stdout.write(`\na fresh runner, multi-stage build image (builder stage expensive, lockfile changed)\n\n${table(table_)}\n\n${summary.join('\n')}\n\nmarkdown:\n\n${markdownTable(table_)}\n\nstarted at ${loadBefore}; finished on ${machineLine()}\n`)
} finally {
  for (const ref of made) spawnSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' })
  for (const server of servers) await server.stop()
  fs.rmSync(workDir, { recursive: true, force: true })
}
