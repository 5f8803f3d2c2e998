#!/usr/bin/env zx
// scripts/image-tag.mts: the build image's content tag. Called by pull-or-build and
// test-and-build (through lib/), by CI steps that need the ref, and by people asking
// "why did my tag change?" (`--manifest`).
//   1. Read the flags and build.config.json.
//   2. Hash the declared inputs as they are in the working tree.
//   3. Print the tag (or the ref, the manifest, JSON), or check/rewrite CI configs.
import { main, parseFlags, WorkError } from '../lib/core/cli.mts'
import { openProject } from '../lib/core/project.mts'
import { info, success } from '../lib/core/log.mts'
import { syncRefs } from '../lib/image/ci-refs.mts'
import { buildImageRepository, computeBuildImageTag } from '../lib/image/content-tag.mts'

const usage = `
Usage: npx zx scripts/image-tag.mts [options]

Print the build image's tag: a git object id over the files listed in
buildImage.inputs of build.config.json (working-tree content, so a local change
gives a new tag). Results go to stdout, logs to stderr.

Options:
  --image           print the full ref (<registry>/<name>:<tag>) instead of the tag
  --manifest        print the manifest the tag is the hash of (git ls-tree format)
  --json            print {"tag", "image", "inputs"} as JSON
  --check-refs      exit 1 if .circleci/config.yml or .github/workflows/*.yml name
                    the build image with another tag (lists the stale lines)
  --write-refs      rewrite those references to the current tag, in place
  --repo DIR        the repository (default: the one containing the current directory)
  --config FILE     the config file (default: <repo>/build.config.json)
  --registry HOST   override the registry (env: REGISTRY; empty = local-only)
  -h, --help        show this help

Exit codes: 0 ok, 1 --check-refs found stale references, 2 bad usage or config.
`

await main(async () => {
  // 1. Flags and config.
  const flags = parseFlags(process.argv.slice(3), {
    usage,
    boolean: ['image', 'manifest', 'json', 'check-refs', 'write-refs'],
    string: ['repo', 'config', 'registry'],
  })
  if (!flags) return 0
  const { repo, config } = await openProject(flags)

  // 2. The tag.
  const result = await computeBuildImageTag(repo, config)

  // 3. Output, or the CI config references.
  if (flags['check-refs'] || flags['write-refs']) {
    const write = Boolean(flags['write-refs'])
    const { stale, current } = await syncRefs(repo.root, buildImageRepository(config), result.tag, write)
    for (const s of stale) info(`${s.file}:${s.line}: ${s.found}`)
    if (stale.length === 0) success(`${current} reference(s) to ${buildImageRepository(config)} are current (${result.tag})`)
    else if (write) success(`rewrote ${stale.length} stale reference(s) to ${result.image}`)
    else {
      const files = [...new Set(stale.map((s) => s.file))].join(', ')
      throw new WorkError(`stale build image references in ${files}; run: npx zx scripts/image-tag.mts --write-refs`)
    }
  }
  if (flags.json) {
    const { tag, image, inputs } = result
    process.stdout.write(JSON.stringify({ tag, image, inputs }, null, 2) + '\n')
  } else if (flags.manifest) process.stdout.write(result.manifest)
  else if (flags.image) process.stdout.write(result.image + '\n')
  else if (!flags['check-refs'] && !flags['write-refs']) process.stdout.write(result.tag + '\n')
})
