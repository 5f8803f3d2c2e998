#!/usr/bin/env zx
// scripts/pull-or-build.mts: make the build image available locally, the cheapest way.
// Called by test-and-build (through lib/image/build-image.mts) and by CI jobs that only need
// the image (CircleCI job `test-and-build`, GitHub Actions `ci.yml`, before a
// `container:` step), and by people on a laptop.
//   1. Read the flags and build.config.json.
//   2. Ensure the image, once the Docker daemon answers: present locally, else pulled
//      from the registry, else built from exactly the declared inputs (pushed with --push).
//   3. Print the ref (or JSON) on stdout; the outcome is on stderr.
import { main, parseFlags, PROJECT_FLAGS, type CommandSpec } from '../lib/core/cli.mts'
import { openProject } from '../lib/core/project.mts'
import { ensureBuildImage } from '../lib/image/build-image.mts'

const command = {
  name: 'pull-or-build',
  about: `
Make the build image (buildImage in build.config.json) available in the local Docker
daemon: present already, pulled from the registry, or built from a temporary context
holding exactly buildImage.inputs. Prints the image ref on stdout; the outcome
(present, pulled, built, pushed) and durations on stderr.

A build reuses the layers of the nearest earlier build image (--cache-from): an
earlier build in the local daemon, else the registry's image of the nearest earlier
commit (HEAD's first-parent ancestors, up to 20, then the merge-base with the default
branch; each commit's tag computed from git objects, with that commit's config). The
log names the cache image, its commit and how far back it is. A shallow clone searches
the history it has (actions/checkout: set fetch-depth). A cache image the registry
cannot serve is a warning, never a failure.
`,
  flags: {
    push: { help: 'push the image when this run built it (or when it is local and the registry lacks it); refused for credentials: warn, exit 0' },
    'require-push': { help: 'implies --push; a push that cannot happen fails the run (exit 1)' },
    'cache-from': { default: true, help: 'build without reusing an earlier build image (no lookup)' },
    json: { help: 'print {"ref", "tag", "outcome", "durations", "cache", ...} as JSON ("cache": the image offered as --cache-from, its commit and distance, or null with a note; only when this run built)' },
    repo: PROJECT_FLAGS.repo,
    config: PROJECT_FLAGS.config,
    registry: PROJECT_FLAGS.registry,
  },
  more: `
Environment:
  REGISTRY                  the registry (overrides build.config.json)
  REGISTRY_USERNAME/_PASSWORD  registry credentials (else the Docker config's)
  REGISTRY_RETRIES          retries for registry errors, pulls and pushes (default 3)
  REGISTRY_RETRY_DELAY_MS   the first backoff delay (default 1000, doubling)
  DOCKER_HOST, DOCKER_CONFIG  as for the docker CLI
  CBS_CACHE_DEPTH           first-parent ancestors searched for a cache image (default 20)

Exit codes: 0 ok, 1 the work failed (build, pull, registry auth), 2 bad usage or config
(including a Dockerfile.build that copies a file not in buildImage.inputs).
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags and config.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const { repo, config } = await openProject(flags)

  // 2. Present, pulled or built (and pushed).
  const result = await ensureBuildImage({
    repo,
    config,
    push: Boolean(flags.push || flags['require-push']),
    requirePush: Boolean(flags['require-push']),
    cacheFrom: flags['cache-from'],
    configFile: flags.config || undefined,
  })

  // 3. The result.
  if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  else process.stdout.write(result.ref + '\n')
})
