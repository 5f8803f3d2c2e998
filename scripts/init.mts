#!/usr/bin/env zx
// scripts/init.mts: set a repository up to use ci-build-scripts (`npx ci-build-scripts
// init`, run once by a maintainer; no CI job calls it).
//   1. Read the flags; find the repository from the current directory.
//   2. Tell what the project is: Go (go.mod), Node (package.json + a lockfile), or unknown.
//   3. Render its files: Dockerfile.build, Dockerfile, .dockerignore, build.config.json,
//      .github/workflows/ci-build-scripts.yml, .circleci/config.yml.
//   4. Plan: write what is absent, leave what exists as it was (a Dockerfile is the
//      project's final image), merge into an existing CircleCI config; --force overwrites.
//      With --dry-run show the plan and stop.
//   5. Write; print what happened to each file and the next command.
import { flag, main, parseFlags, PROJECT_FLAGS, UsageError, type CommandSpec } from '../lib/core/cli.mts'
import { git, repoInfo } from '../lib/core/git.mts'
import { info, success, warn } from '../lib/core/log.mts'
import { toolCommand } from '../lib/init/ci-configs.mts'
import { defaultImageName, detectProject } from '../lib/init/project.mts'
import { initFiles } from '../lib/init/templates.mts'
import { planWrites, summary, writePlanned } from '../lib/init/write.mts'

const command = {
  name: 'init',
  about: `
Write what this repository needs to run its CI with ci-build-scripts, for the project
it finds at the repository root:
  Go (go.mod)            Dockerfile.build on debian:bookworm-slim with Go and
                         \`go mod download\`; steps \`go test ./...\` / \`go build ./...\`
                         (\`make test\` / \`make build\` when the Makefile has them)
  Node (package.json +   Dockerfile.build on node:20-bookworm-slim with the lockfile's
  a lockfile)            dependencies (npm, pnpm, Yarn 1, or Yarn 2+ with a node_modules
                         or Plug'n'Play;
                         the version packageManager declares); steps from the test and
                         build scripts
  anything else          a commented skeleton: test-and-build fails, saying what to
                         fill in, until it is done
and for all: Dockerfile (the final image, FROM the build image), .dockerignore,
build.config.json, .github/workflows/ci-build-scripts.yml and .circleci/config.yml.

An existing file is never overwritten (but with --force) and never a reason to stop:
  Dockerfile             your final image: left as it is, and build.config.json names it
                         (then no .dockerignore is written)
  .circleci/config.yml   init's jobs and workflow are added to it, its own text kept as
                         it is; when that cannot be done safely, it is left and the lines
                         to add are printed
  anything else          left as it was
What happened to each file (written, merged, left as it was) goes to stdout; the next
command to run to stderr.
`,
  flags: {
    registry: { type: 'string', value: 'HOST', help: 'where images go, e.g. ghcr.io/acme (default: none, local-only: nothing is pushed and the CI configs have no push-images job)' },
    base: { type: 'string', value: 'IMAGE', help: 'the build image\'s base (default: debian:bookworm-slim for Go, node:20-bookworm-slim for Node)' },
    name: { type: 'string', value: 'NAME', help: 'the final image\'s name; the build image is NAME-build (default: from go.mod\'s module, package.json\'s name, or the directory)' },
    'default-branch': { type: 'string', value: 'B', help: 'the branch that pushes and publishes (default: the current branch)' },
    force: { help: 'overwrite files that exist (an existing CircleCI config too)' },
    'dry-run': { help: 'print the files and what would happen to each; write nothing' },
    repo: PROJECT_FLAGS.repo,
  },
  more: `
Exit codes: 0 done (whatever existed); 2 bad usage or not a git repository.
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags and the repository.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const repo = await repoInfo(flag(flags, 'repo') ?? process.cwd())
  const name = flag(flags, 'name')
  if (name !== undefined && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name)) {
    throw new UsageError(`--name: expected a lowercase image name like "acme", got ${JSON.stringify(name)}`)
  }
  const registry = flag(flags, 'registry')?.replace(/\/+$/, '')

  // 2. The project.
  const project = await detectProject(repo.root)
  if (project.kind === 'unknown') warn(`not a Go or Node project (${project.reason}): writing a skeleton to fill in`)
  else info(`a ${project.kind === 'go' ? `Go module (${project.module})` : `Node project (${project.lockfile})`}`)

  // 3. Its files.
  const current = await git(repo.root)`git symbolic-ref --quiet --short HEAD`.nothrow()
  const files = initFiles(project, {
    name: name ?? defaultImageName(project, repo.root),
    registry,
    base: flag(flags, 'base'),
    defaultBranch: flag(flags, 'default-branch') ?? ((current.exitCode === 0 && current.stdout.trim()) || 'main'),
  })

  // 4. What happens to each file: written when absent; an existing one left as it was (or,
  //    CircleCI's config, merged into); --force overwrites. A dry run shows it all and stops.
  const outcomes = await planWrites(repo.root, files, Boolean(flags.force))
  if (flags['dry-run']) {
    for (const o of outcomes) if (o.status !== 'left') process.stdout.write(`==> ${o.file.path} (${o.status === 'merged' ? 'merged' : 'written'}) <==\n${o.content}\n`)
    process.stdout.write(summary(outcomes, true))
    success('dry run: nothing written')
    return 0
  }

  // 5. Write, and say what happened to each file and what comes next.
  await writePlanned(repo.root, outcomes)
  process.stdout.write(summary(outcomes, false))
  info(
    project.kind === 'unknown'
      ? `Next: fill in Dockerfile.build and the steps of build.config.json, then: ${toolCommand(project)} test-and-build`
      : `Next: ${toolCommand(project)} test-and-build`,
  )
  return 0
})
