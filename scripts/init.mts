#!/usr/bin/env zx
// scripts/init.mts: set a repository up to use ci-build-scripts (`npx ci-build-scripts
// init`, run once by a maintainer; no CI job calls it).
//   1. Read the flags; find the repository from the current directory.
//   2. Tell what the project is: Go (go.mod), Node (package.json + a lockfile), or unknown.
//   3. Render its files: Dockerfile.build, Dockerfile, .dockerignore, build.config.json,
//      .github/workflows/ci.yml, .circleci/config.yml.
//   4. Refuse to overwrite an existing file (unless --force); with --dry-run print them.
//   5. Write them; print what was written and the next command.
import { flag, main, parseFlags, UsageError } from '../lib/core/cli.mts'
import { git, repoInfo } from '../lib/core/git.mts'
import { info, success, warn } from '../lib/core/log.mts'
import { defaultImageName, detectProject } from '../lib/init/project.mts'
import { initFiles } from '../lib/init/templates.mts'
import { planWrites, writePlanned } from '../lib/init/write.mts'

const usage = `
Usage: npx ci-build-scripts init [options]

Write what this repository needs to run its CI with ci-build-scripts, for the project
it finds at the repository root:
  Go (go.mod)            Dockerfile.build on debian:bookworm-slim with Go and
                         \`go mod download\`; steps \`go test ./...\` / \`go build ./...\`
                         (\`make test\` / \`make build\` when the Makefile has them)
  Node (package.json +   Dockerfile.build on node:20-bookworm-slim with the lockfile's
  a lockfile)            dependencies; steps from the test and build scripts
  anything else          a commented skeleton: test-and-build fails, saying what to
                         fill in, until it is done
and for all: Dockerfile (the final image, FROM the build image), .dockerignore (when
absent), build.config.json, .github/workflows/ci.yml and .circleci/config.yml.
The paths written go to stdout; the next command to run to stderr.

Options:
  --registry HOST       where images go, e.g. ghcr.io/acme (default: none, local-only:
                        nothing is pushed and the CI configs have no push-images job)
  --base IMAGE          the build image's base (default: debian:bookworm-slim for Go,
                        node:20-bookworm-slim for Node)
  --name NAME           the final image's name; the build image is NAME-build
                        (default: from go.mod's module, package.json's name, or the directory)
  --default-branch B    the branch that pushes and publishes (default: the current branch)
  --force               overwrite files that exist
  --dry-run             print the files instead of writing them
  --repo DIR            the repository (default: the one containing the current directory)
  -h, --help            show this help

Exit codes: 0 written; 2 bad usage, not a git repository, or a file exists (named;
nothing is written).
`

await main(async () => {
  // 1. Flags and the repository.
  const flags = parseFlags(process.argv.slice(3), {
    usage,
    boolean: ['force', 'dry-run'],
    string: ['registry', 'base', 'name', 'default-branch', 'repo'],
  })
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

  // 4. Nothing overwritten without --force; a dry run stops here.
  const plan = await planWrites(repo.root, files, Boolean(flags.force))
  if (flags['dry-run']) {
    for (const file of plan.write) process.stdout.write(`==> ${file.path} <==\n${file.content}\n`)
    for (const file of plan.kept) info(`${file.path} exists: kept`)
    success(`dry run: ${plan.write.length} file(s) shown, nothing written`)
    return 0
  }

  // 5. Write, and say what comes next.
  await writePlanned(repo.root, plan)
  for (const file of plan.write) process.stdout.write(file.path + '\n')
  for (const file of plan.kept) info(`${file.path} exists: kept`)
  success(`wrote ${plan.write.length} file(s) in ${repo.root}`)
  info(
    [
      'Next:',
      `  git add ${plan.write.map((f) => f.path).join(' ')}`,
      '  npx ci-build-scripts test-and-build',
      ...(project.kind === 'unknown' ? ['(it fails until Dockerfile.build and the steps of build.config.json are filled in)'] : []),
    ].join('\n'),
  )
  return 0
})
