#!/usr/bin/env zx
// bench/test-and-build.mts: the warm path of the on-commit job, through the scripts and
// by hand. "Warm" = the tag is unchanged and the build image is in the registry but not
// in the local daemon (a fresh CI runner). Both sides do the same work:
//   scripts: npx zx scripts/test-and-build.mts   (tag, HEAD, pull, one container, 2 steps)
//   raw:     docker pull <ref> && docker run --rm ... sh -c '<test> && <build>'
// Runs alternate (scripts, raw, scripts, raw, ...) so that load on the machine hits both
// alike; the ratio is taken pair by pair and its median reported. Before every run the
// image is removed and so are the build cache records of its layers (under BuildKit,
// `docker rmi` leaves them in the build cache and a pull then downloads nothing): the
// first layer carries a marker only this run uses, and only the records of it and of
// what is built on it are pruned, never the shared global cache. Every pull goes through
// a proxy that counts the bytes served; a run that did not download the image's layers
// stops the bench. Prints every run, the medians, the pair ratios.
//
//   npm run bench:test-and-build [-- --runs N --size-mb M --zx npx|bin]
// --zx bin starts the script with node_modules/.bin/zx instead of `npx zx` (what CI and
// the README use): the difference is npx's own start-up.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { minimist } from 'zx'
import { mmss, table } from '../lib/core/log.mts'
import { forgetBuildCache } from '../tests/helpers/build-cache.mts'
import { startFaultProxy } from '../tests/helpers/fault-proxy.mts'
import { startRegistry } from '../tests/helpers/registry.mts'
import { exec, imageLayers, layerCount, machineLine, median, pairRatios } from './measure.mts'

// 1 GB of toolchain: what a Go/Node build image with its module cache weighs (the
// toolchain image of a large Go project took 1:17 to pull on CircleCI). --size-mb makes it smaller or larger.
const args = minimist(process.argv.slice(3), { string: ['zx'], default: { runs: 5, 'size-mb': 1024, zx: 'npx' } })
const runs = Number(args.runs)
const sizeMb = Number(args['size-mb'])
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const sh = (cmd: string, argv: string[], cwd?: string) => execFileSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
const dockerQuiet = (...argv: string[]) => spawnSync('docker', argv, { stdio: 'ignore' }).status

/**
 * Wall time of a command. It runs asynchronously: the proxy that counts the bytes of
 * every pull lives in this process, and a synchronous child would stall it.
 */
async function timed(cmd: string, argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const t0 = performance.now()
  await exec(cmd, argv, options)
  return performance.now() - t0
}

// --- the fixture: a build image FROM debian:bookworm-slim plus a toolchain-sized layer ---
const name = `bench-tab-${process.pid}`
const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-bench-repo-'))
const registry = await startRegistry()
const proxy = await startFaultProxy(registry.host, {}, 2 * 60 * 60_000)
const blobBytes = () => proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).reduce((sum, r) => sum + (r.bytes ?? 0), 0)
const marker = `${name}-${Date.now()}`
// Steps that do a little work: read the toolchain, write outputs into the checkout.
const test = 'find /opt/toolchain -type f | wc -l > out/files.txt && sha256sum /opt/toolchain/blob > out/blob.sha'
const build = 'mkdir -p out/dist && tar -czf out/dist/tools.tgz -C /opt tools && ls -l out/dist > out/build.txt'
try {
  fs.mkdirSync(path.join(repo, 'tools'))
  fs.writeFileSync(path.join(repo, 'tools', 'versions.txt'), 'go 1.22\nnode 20\n')
  fs.writeFileSync(
    path.join(repo, 'Dockerfile.build'),
    [
      'FROM debian:bookworm-slim',
      // This run's marker: the cache records of every layer from here on are this run's alone.
      `RUN echo ${marker} > /etc/bench-run`,
      // A toolchain-sized layer (incompressible bytes plus a copy of /usr/lib) makes the
      // pull take measurable time; the base stays local, as on a runner with it cached.
      `RUN mkdir -p /opt/toolchain && head -c ${sizeMb}M /dev/urandom > /opt/toolchain/blob && cp -r /usr/lib /opt/toolchain/lib`,
      'COPY tools /opt/tools',
      '',
    ].join('\n'),
  )
  fs.writeFileSync(path.join(repo, '.gitignore'), 'out/\n')
  fs.writeFileSync(
    path.join(repo, 'build.config.json'),
    JSON.stringify({ buildImage: { name, inputs: ['tools'] }, steps: { test: ['sh', '-c', test], build: ['sh', '-c', build] } }, null, 2),
  )
  fs.mkdirSync(path.join(repo, 'out'))
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' }
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo })
  execFileSync('git', ['add', '-A'], { cwd: repo })
  execFileSync('git', ['commit', '-q', '-m', 'bench'], { cwd: repo, env: gitEnv })

  // Build and push the image once, through the script (outside the measurements).
  const env = { ...process.env, REGISTRY: proxy.host, FORCE_COLOR: '0' }
  const npx = 'npx'
  // How the measured script is started: as CI does (`npx zx`), or through the local bin.
  const [zxCmd, ...zxArgs] = args.zx === 'bin' ? [path.join(root, 'node_modules/.bin/zx')] : ['npx', 'zx']
  const zxLabel = args.zx === 'bin' ? 'node_modules/.bin/zx' : 'npx zx'
  // As CI calls them: `npx zx scripts/...` from the project root (where tsx resolves).
  await timed(npx, ['zx', 'scripts/pull-or-build.mts', '--push', '--repo', repo], { cwd: root, env })
  const ref = sh(npx, ['zx', 'scripts/image-tag.mts', '--image', '--repo', repo, '--registry', proxy.host], root)
  const size = sh('docker', ['image', 'inspect', '--format', '{{.Size}}', ref])
  const uid = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`
  // What a pull must download: the image's layers but the base's.
  const at = ref.lastIndexOf(':')
  const mustDownload = (await imageLayers(registry.api, ref.slice(proxy.host.length + 1, at), ref.slice(at + 1))).slice(layerCount('debian:bookworm-slim')).reduce((sum, l) => sum + l.size, 0)
  const forget = () => {
    dockerQuiet('rmi', ref)
    forgetBuildCache(marker)
  }
  const pulled = async (what: string, run: () => Promise<number>) => {
    forget()
    const before = blobBytes()
    const ms = await run()
    const bytes = blobBytes() - before
    if (bytes < mustDownload) throw new Error(`${what} downloaded ${bytes} bytes, less than the ${mustDownload} of the image's layers: the daemon still had them, so it measured no pull`)
    return ms
  }

  const rows: string[][] = [['run', 'scripts', 'raw', `${zxLabel} startup`]]
  const scripts: number[] = []
  const raw: number[] = []
  const startup: number[] = []
  const ms = (x: number) => `${(x / 1000).toFixed(2)}s`
  for (let i = 1; i <= runs; i++) {
    scripts.push(await pulled(`scripts run ${i}`, () => timed(zxCmd, [...zxArgs, 'scripts/test-and-build.mts', '--repo', repo], { cwd: root, env })))
    raw.push(
      await pulled(`raw run ${i}`, () =>
        timed('sh', ['-c', 'docker pull "$1" && docker run --rm --user "$2" -v "$3:$3" -w "$3" "$1" sh -c "$4 && $5"', 'sh', ref, uid, repo, test, build]),
      ),
    )
    // The floor under any zx script on Node 20: (npx,) node, the tsx loader, zx.
    startup.push(await timed(zxCmd, [...zxArgs, '-e', '0'], { cwd: root, env }))
    rows.push([String(i), ms(scripts[i - 1]), ms(raw[i - 1]), ms(startup[i - 1])])
    process.stderr.write(`run ${i}/${runs}: scripts ${ms(scripts[i - 1])}, raw ${ms(raw[i - 1])}, startup ${ms(startup[i - 1])}\n`)
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  rows.push(['median', ms(median(scripts)), ms(median(raw)), ms(median(startup))])
  rows.push(['mean', ms(mean(scripts)), ms(mean(raw)), ms(mean(startup))])
  const pairs = pairRatios(scripts, raw)
  const ratio = pairs.median
  const overhead = median(scripts) - median(raw)

  process.stdout.write(
    [
      `test-and-build, warm path (tag unchanged, image only in the registry), ${runs} runs each`,
      `image: ${ref} (${(Number(size) / 1e6).toFixed(0)} MB, a ${sizeMb} MB toolchain layer on debian:bookworm-slim)`,
      `scripts: ${zxLabel} scripts/test-and-build.mts`,
      `raw:     docker pull + docker run --rm (the same test and build commands, one container)`,
      '',
      table(rows),
      '',
      `scripts / raw, pair by pair: ${pairs.ratios.map((r) => r.toFixed(3)).join(' ')}; median ${ratio.toFixed(3)}  -> overhead ${((ratio - 1) * 100).toFixed(1)}% (target <= 10%)`,
      `every run downloaded at least the image's ${(mustDownload / 1e6).toFixed(0)} MB of layers (but the base) through the counting proxy`,
      `overhead per run: ${ms(overhead)} (${mmss(median(scripts))} vs ${mmss(median(raw))}), of which starting zx (${zxLabel} -e 0) ~${ms(median(startup))}`,
      `machine: ${machineLine()}`,
      '',
    ].join('\n'),
  )
} finally {
  for (const ref of sh('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']).split('\n')) {
    if (ref.includes(`/${name}:`) || ref.startsWith(`${name}:`)) dockerQuiet('rmi', '-f', ref)
  }
  forgetBuildCache(marker)
  await proxy.stop()
  await registry.stop()
  fs.rmSync(repo, { recursive: true, force: true })
}
