#!/usr/bin/env zx
// bench/image-tag.mts: wall time of `npx zx scripts/image-tag.mts` with 10 and with
// 10,000 input files, against a bare `npx zx` hello-world run in the same invocation.
// Target: at most 1.5x the hello-world in both cases.
//
//   npx zx bench/image-tag.mts [--runs N]
import { $, fs, minimist, os, path } from 'zx'
import { table } from '../lib/core/log.mts'

const argv = minimist(process.argv.slice(3), { default: { runs: 7 } })
const runs = Number(argv.runs)
const project = path.resolve(import.meta.dirname, '..')
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-image-tag-'))

/** A git repository whose build image has `n` input files (plus the Dockerfile). */
async function fixture(n: number): Promise<string> {
  const root = path.join(work, `repo-${n}`)
  await fs.mkdirp(path.join(root, 'inputs'))
  for (let i = 0; i < n; i++) {
    await fs.outputFile(path.join(root, 'inputs', `d${i % 100}`, `file-${i}.txt`), `content ${i}\n`)
  }
  await fs.writeFile(path.join(root, 'Dockerfile.build'), 'FROM busybox:latest\n')
  await fs.writeJson(path.join(root, 'build.config.json'), { buildImage: { name: 'bench-build', inputs: ['inputs/**'] } })
  const g = $({ cwd: root, quiet: true })
  await g`git init -q -b main`
  await g`git add -A`
  await g`git -c user.name=bench -c user.email=bench@example.com commit -q -m fixture`
  return root
}

/** Median wall time of `cmd`, after one warm-up run. */
async function median(cmd: string[]): Promise<number> {
  const times: number[] = []
  for (let i = 0; i <= runs; i++) {
    const started = performance.now()
    await $({ cwd: project, quiet: true })`${cmd}`
    if (i > 0) times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

try {
  const hello = path.join(work, 'hello.mts')
  await fs.writeFile(hello, "const greeting: string = 'hello'\necho(greeting)\n")
  const small = await fixture(10)
  const large = await fixture(10_000)

  const baseline = await median(['npx', 'zx', hello])
  const rows = [['case', 'median', 'ratio to hello-world', 'target']]
  rows.push(['npx zx hello-world (baseline)', `${baseline.toFixed(0)} ms`, '1.00x', ''])
  for (const [label, root] of [['image-tag, 10 inputs', small], ['image-tag, 10,000 inputs', large]]) {
    const t = await median(['npx', 'zx', 'scripts/image-tag.mts', '--repo', root])
    rows.push([label, `${t.toFixed(0)} ms`, `${(t / baseline).toFixed(2)}x`, '<= 1.50x'])
  }
  console.log(`\nimage-tag benchmark (${runs} runs each, median; ${os.cpus().length} cores, node ${process.version})\n`)
  console.log(table(rows))
} finally {
  await fs.remove(work)
}
