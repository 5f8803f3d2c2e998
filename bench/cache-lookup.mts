#!/usr/bin/env zx
// bench/cache-lookup.mts: what the registry cache lookup (lib/image/cache-image.mts) adds
// to a build, against the real registry on loopback. A repository of 22 commits, each
// changing an input (so every commit has its own tag); the baseline is the one manifest
// HEAD pull-or-build already sends for the current tag before it builds. Cases:
//   - nearest: the parent commit's image is in the registry (the common case);
//   - worst: none of the 20 first-parent ancestors has one (every tag computed, every
//     HEAD sent, a few at a time), plus the merge-base check.
// Alternating pairs (baseline, case), the ratio and the added time taken pair by pair.
// Target: at most a few hundred milliseconds.
//
//   npx zx bench/cache-lookup.mts [--pairs N]
import { $, fs, minimist, os, path } from 'zx'
import { loadConfig } from '../lib/core/config.mts'
import { repoInfo } from '../lib/core/git.mts'
import { table } from '../lib/core/log.mts'
import { buildImageTagAt } from '../lib/image/content-tag.mts'
import { CACHE_DEPTH, registryCacheImage } from '../lib/image/cache-image.mts'
import { manifestDigest } from '../lib/image/registry.mts'
import { startRegistry } from '../tests/helpers/registry.mts'
import { pushImage } from '../tests/helpers/registry-images.mts'

const argv = minimist(process.argv.slice(3), { default: { pairs: 9 } })
const pairs = Number(argv.pairs)
const load = async () => (await $({ quiet: true })`uptime`).stdout.trim().replace(/^.*load average/, 'load average')
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-cache-lookup-'))
const registry = await startRegistry()
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** A repository of `commits` commits, each changing the build image's input; returns its root. */
async function fixture(name: string, commits: number): Promise<string> {
  const root = path.join(work, name)
  await fs.mkdirp(path.join(root, 'tools'))
  await fs.writeFile(path.join(root, 'Dockerfile.build'), 'FROM busybox:latest\nCOPY tools /opt/tools\n')
  await fs.writeJson(path.join(root, 'build.config.json'), { registry: registry.host, buildImage: { name, inputs: ['tools'] } })
  for (let i = 0; i < 50; i++) await fs.writeFile(path.join(root, `src-${i}.go`), `package main // ${i}\n`) // not inputs
  const g = $({ cwd: root, quiet: true, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } })
  await g`git init -q -b main`
  for (let i = 0; i < commits; i++) {
    await fs.writeFile(path.join(root, 'tools/version'), `${i}\n`)
    await g`git add -A`
    await g`git -c user.name=bench -c user.email=bench@example.com commit -q -m ${`commit ${i}`}`
  }
  return root
}

try {
  const rows = [['case', 'median', 'ratio to one HEAD (pair by pair, median)', 'added (pair by pair, median)', 'target']]
  const all: string[] = []
  let baselineMedian = 0
  for (const [label, hit] of [
    ['lookup, the parent has an image (1 tag asked)', true],
    [`lookup, none of ${CACHE_DEPTH} ancestors has one (${CACHE_DEPTH} tags asked)`, false],
  ] as const) {
    const name = `bench-lookup-${hit ? 'hit' : 'miss'}-${process.pid}`
    const root = await fixture(name, CACHE_DEPTH + 2)
    const repo = await repoInfo(root)
    const config = await loadConfig({ root, env: {} })
    const head = await buildImageTagAt(repo, 'HEAD')
    const parent = await buildImageTagAt(repo, 'HEAD~1')
    if (!head.tag || !parent.tag) throw new Error('fixture without tags')
    if (hit) await pushImage(registry, name, [parent.tag])
    // The current tag is absent (the image must be built): what pull-or-build asks first.
    const baseline = async () => {
      const t = performance.now()
      if ((await manifestDigest(`${registry.host}/${name}:${head.tag}`, { retries: 0 })) !== null) throw new Error('the current tag exists')
      return performance.now() - t
    }
    const lookup = async () => {
      const t = performance.now()
      const found = await registryCacheImage({ repo, config, tag: head.tag!, retries: 0, baseDelayMs: 10, env: {} })
      if (Boolean(found.image) !== hit) throw new Error(`unexpected lookup result: ${JSON.stringify(found)}`)
      return performance.now() - t
    }
    await baseline() // warm-up: the connection, git's object cache
    await lookup()
    const measured: Array<[number, number]> = []
    for (let i = 0; i < pairs; i++) measured.push([await baseline(), await lookup()])
    baselineMedian = med(measured.map((p) => p[0]))
    rows.push([label, `${med(measured.map((p) => p[1])).toFixed(0)} ms`, `${med(measured.map(([a, b]) => b / a)).toFixed(1)}x`, `${med(measured.map(([a, b]) => b - a)).toFixed(0)} ms`, '<= 300 ms added'])
    all.push(`${label}: ${measured.map(([a, b]) => `${a.toFixed(0)}/${b.toFixed(0)}`).join('  ')}`)
  }
  rows.splice(1, 0, ['one manifest HEAD of the current tag (baseline)', `${baselineMedian.toFixed(0)} ms`, '1.0x', '', ''])
  console.log(`\nThe registry cache lookup against a loopback registry (${pairs} alternating pairs per case; ${os.cpus().length} cores, node ${process.version}; ${await load()})\n`)
  console.log(table(rows))
  console.log(`\npairs (baseline/lookup) ms:\n${all.join('\n')}`)
} finally {
  await registry.stop()
  await fs.remove(work)
}
