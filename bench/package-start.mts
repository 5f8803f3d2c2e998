#!/usr/bin/env zx
// bench/package-start.mts: the start-up of the installed package. `npm pack` of this
// repository, installed into a fresh project with no TypeScript (a git repository with
// 10 build image inputs), then, in alternating rounds, the whole-process wall time of:
//   - `node -e 0`;
//   - `node` importing zx and printing: the floor of any zx script;
//   - `node_modules/.bin/ci-build-scripts image-tag`: the installed command (target: at
//     most 1.6x the floor, the ratio taken pair by pair);
//   - `npx zx hello.mjs`, and this repository's `npx zx scripts/image-tag.mts` on the
//     same fixture (from the sources, tsx registered by its .npmrc), for comparison;
//   - `npx ci-build-scripts image-tag`: the installed command through npm's npx.
//
//   npx zx bench/package-start.mts [--runs N]
import { performance } from 'node:perf_hooks'
import { fs, minimist, os, path } from 'zx'
import { table } from '../lib/core/log.mts'
import { adopterEnv, exec, installPackage, loadLine, median, pairRatios } from './measure.mts'

const argv = minimist(process.argv.slice(3), { default: { runs: 9 } })
const runs = Number(argv.runs)
const repo = path.resolve(import.meta.dirname, '..')
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-package-start-'))
// The adopter's environment: none of this repository's loader set-up or npm_* variables.
const env = adopterEnv(process.env)

try {
  // The package, installed into a project whose build image has 10 inputs.
  const project = path.join(work, 'project')
  for (let i = 0; i < 10; i++) await fs.outputFile(path.join(project, 'inputs', `file-${i}.txt`), `content ${i}\n`)
  await fs.writeFile(path.join(project, 'Dockerfile.build'), 'FROM busybox:latest\n')
  await fs.writeJson(path.join(project, 'build.config.json'), { buildImage: { name: 'bench-build', inputs: ['inputs/**'] } })
  await fs.writeJson(path.join(project, 'package.json'), { name: 'bench-project', version: '1.0.0', private: true })
  await fs.writeFile(path.join(project, '.gitignore'), 'node_modules/\n*.tgz\n')
  await installPackage(repo, work, project, env)
  await exec('git', ['init', '-q', '-b', 'main'], { cwd: project })
  await exec('git', ['add', '-A'], { cwd: project })
  await exec('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-m', 'fixture'], { cwd: project })

  await fs.writeFile(path.join(work, 'hello.mjs'), "echo('hello')\n")
  const cases: Array<{ label: string; cmd: string[]; cwd?: string; env?: NodeJS.ProcessEnv; target?: number }> = [
    { label: '`node -e 0`', cmd: [process.execPath, '-e', '0'] },
    { label: '`node` importing zx and printing (the floor)', cmd: [process.execPath, '--input-type=module', '-e', "import { echo } from 'zx'; echo('hello')"] },
    { label: '`npx zx hello.mjs`', cmd: ['npx', '--no', 'zx', path.join(work, 'hello.mjs')] },
    // This repository's own way, from its sources (tsx registered by its .npmrc), on the same fixture.
    { label: '`npx zx scripts/image-tag.mts` (this repository)', cmd: ['npx', 'zx', 'scripts/image-tag.mts', '--repo', project], cwd: repo, env: process.env },
    { label: '`node_modules/.bin/ci-build-scripts image-tag`', cmd: [path.join(project, 'node_modules/.bin/ci-build-scripts'), 'image-tag'], target: 1.6 },
    { label: '`npx ci-build-scripts image-tag`', cmd: ['npx', '--no', 'ci-build-scripts', 'image-tag'] },
  ]
  const times = cases.map(() => [] as number[])
  const loadBefore = loadLine()
  // One warm-up round (page cache), then `runs` rounds, each running every case once in turn.
  for (let round = 0; round <= runs; round++) {
    for (const [i, c] of cases.entries()) {
      const started = performance.now()
      const { stdout: out } = await exec(c.cmd[0], c.cmd.slice(1), { cwd: c.cwd ?? project, env: c.env ?? env })
      if (round > 0) times[i].push(performance.now() - started)
      if (c.label.includes('image-tag') && !/^[0-9a-f]{40}$/.test(out)) throw new Error(`${c.label} printed ${JSON.stringify(out)}, not a tag`)
    }
  }
  const floor = times[1]
  const rows = [['command', 'wall (median)', 'vs the floor, pair by pair (median)', 'target']]
  for (const [i, c] of cases.entries()) {
    const { ratios, median: ratio } = pairRatios(times[i], floor)
    rows.push([c.label, `${(median(times[i]) / 1000).toFixed(3)} s`, `${ratio.toFixed(2)}x (${ratios.map((r) => r.toFixed(2)).join(' ')})`, c.target ? `<= ${c.target.toFixed(2)}x` : ''])
  }
  console.log(`\nThe installed package's start-up (${runs} alternating rounds; ${os.cpus().length} cores, node ${process.version})`)
  console.log(`before: ${loadBefore}; after: ${loadLine()}\n`)
  console.log(table(rows))
} finally {
  await fs.remove(work)
}
