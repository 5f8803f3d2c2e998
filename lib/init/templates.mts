// The files `init` writes for a project: its build image (Dockerfile.build), its final
// image (Dockerfile), build.config.json, and the two CI configs that call the installed
// package, one script per step, as this repository's own do. Pure functions of the
// project and the options: the tests read what they return.
import type { Config } from '../core/config.mts'
import type { GoProject, NodeProject, Project, UnknownProject } from './project.mts'
import { TOOL_PACKAGE } from './project.mts'

export interface InitOptions {
  /** The final image's name; the build image is `<name>-build`. */
  name: string
  /** `--registry`: where images go. Absent: local-only mode (no pushes, no push-images job). */
  registry?: string
  /** `--base`: the build image's base instead of the default for the project's kind. */
  base?: string
  /** The branch that pushes (`--push`) and publishes. */
  defaultBranch: string
}

export interface InitFile {
  /** Repo-relative, with `/`. */
  path: string
  content: string
  /** Written only when absent; an existing one is kept, never an error (a `.dockerignore`). */
  keepExisting?: boolean
}

/** Default bases. Go comes from Debian's packages; Node's official slim image has node and npm. */
export const DEFAULT_BASE = { go: 'debian:bookworm-slim', node: 'node:20-bookworm-slim', unknown: 'debian:bookworm-slim' } as const

/**
 * Actions pinned by commit, as this repository's workflows are: a tag can be moved to
 * other code, a commit cannot. The comment names the release, for people and for bots
 * that update pins.
 */
export const ACTIONS = {
  checkout: 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2',
  setupNode: 'actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0',
  uploadArtifact: 'actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2',
} as const

const HEADER = `Written by \`npx ${TOOL_PACKAGE} init\`; yours to edit.`

/** What each step of the skeleton prints until it is filled in. */
export const PLACEHOLDER_MESSAGE = (step: 'test' | 'build') =>
  `build.config.json: steps.${step} is a placeholder written by ${TOOL_PACKAGE} init; set it to your ${step} command (and the toolchain in Dockerfile.build)`

// --- Dockerfile.build -----------------------------------------------------------------

function goBuildImage(project: GoProject, name: string, base?: string): string {
  const modFiles = project.hasGoSum ? 'go.mod go.sum' : 'go.mod'
  // The default base's apt step is the one examples/go-app uses, so the two share a
  // cached layer. A named base may bring its own Go (golang:1.22-bookworm): then apt
  // is skipped and that Go is used.
  const toolchain = base
    ? [
        `FROM ${base}`,
        '',
        '# Go from the base image when it has one, else from Debian\'s packages (the base must',
        '# then be Debian-based).',
        'RUN if ! command -v go >/dev/null; then \\',
        '      apt-get update \\',
        '      && apt-get install -y --no-install-recommends golang-go make git ca-certificates \\',
        '      && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \\',
        '    fi \\',
        ' && go version',
      ]
    : [
        `FROM ${DEFAULT_BASE.go}`,
        '',
        '# Go from Debian\'s packages (bookworm: Go 1.19), so the image needs nothing but the',
        '# Debian mirror. For a newer Go, start from an image that has it:',
        `#   npx ${TOOL_PACKAGE} init --force --base golang:1.22-bookworm`,
        'RUN apt-get update \\',
        ' && apt-get install -y --no-install-recommends golang-go make git ca-certificates \\',
        ' && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \\',
        ' && go version',
      ]
  return [
    `# ${name}'s build image: the toolchain the test and build steps of build.config.json`,
    '# run in (one container, your checkout mounted, as your uid), and the first stage of',
    '# the final image (Dockerfile). Its tag is the hash of buildImage.inputs: change one of',
    '# them and CI builds (and pushes) a new image; otherwise every runner reuses it.',
    `# ${HEADER}`,
    ...toolchain,
    '',
    '# The steps run as your uid, a user with no home here: Go\'s caches go where anyone',
    '# can write. The module cache is baked in (go mod download, below) and left writable,',
    '# so a step that needs a module the image lacks can still fetch it.',
    'ENV GOPATH=/tmp/go \\',
    '    GOCACHE=/tmp/go-cache \\',
    '    GOMODCACHE=/opt/go/pkg/mod \\',
    '    GOFLAGS=-modcacherw \\',
    '    CGO_ENABLED=0',
    '',
    `# The modules of go.mod${project.hasGoSum ? ' and go.sum' : ''}, downloaded once per change of ${project.hasGoSum ? 'those files' : 'it'}.`,
    ...(project.hasGoSum ? [] : ['# (No go.sum yet: once the module has dependencies, add go.sum here and to buildImage.inputs.)']),
    'WORKDIR /opt/go/src',
    `COPY ${modFiles} ./`,
    'RUN mkdir -p "$GOMODCACHE" \\',
    ' && go mod download \\',
    ' && chmod -R a+rwX /opt/go',
    'WORKDIR /',
    '',
  ].join('\n')
}

function nodeInstall(project: NodeProject): { setup: string[]; install: string } {
  const v = project.packageManagerVersion
  switch (project.packageManager) {
    case 'pnpm':
      return {
        setup: [`RUN npm install -g --no-audit --no-fund pnpm@${v ?? '9'} && pnpm --version`],
        install: 'pnpm install --frozen-lockfile && pnpm store prune',
      }
    case 'yarn':
      return {
        // The official node images ship Yarn 1; install it where the base has none.
        setup: [`RUN command -v yarn >/dev/null || npm install -g --no-audit --no-fund yarn@${v ?? '1'}; yarn --version`],
        install: 'yarn install --frozen-lockfile && yarn cache clean',
      }
    default:
      return { setup: [], install: 'npm ci --no-audit --no-fund && npm cache clean --force' }
  }
}

function nodeBuildImage(project: NodeProject, name: string, base?: string): string {
  const { setup, install } = nodeInstall(project)
  const files = ['package.json', project.lockfile, ...(project.npmrc ? ['.npmrc'] : [])]
  return [
    `# ${name}'s build image: Node.js and the dependencies of ${project.lockfile}, installed`,
    '# once per change of the lockfile. The test and build steps of build.config.json run',
    '# in it (one container, your checkout mounted, as your uid); it is also the first stage',
    '# of the final image (Dockerfile). Its tag is the hash of buildImage.inputs.',
    `# ${HEADER}`,
    `FROM ${base ?? DEFAULT_BASE.node}`,
    ...(setup.length ? ['', ...setup] : []),
    '',
    '# The dependencies live in /opt/deps. A checkout without node_modules finds them',
    '# through /node_modules (Node looks in every parent directory up to /), their',
    '# binaries are on PATH; a checkout with its own node_modules uses those (the same',
    '# lockfile, so the same versions).',
    'WORKDIR /opt/deps',
    `COPY ${files.join(' ')} ./`,
    // A packed tarball the lockfile installs from (`file:x.tgz`) keeps its path.
    ...project.localFiles.map((f) => `COPY ${f} ./${f}`),
    `RUN ${install} \\`,
    ' && ln -s /opt/deps/node_modules /node_modules',
    '# The steps run as your uid, a user with no home here: npm\'s cache goes to /tmp.',
    'ENV PATH=/opt/deps/node_modules/.bin:$PATH \\',
    '    npm_config_cache=/tmp/.npm \\',
    '    npm_config_update_notifier=false',
    'WORKDIR /',
    '',
  ].join('\n')
}

function unknownBuildImage(project: UnknownProject, name: string, base?: string): string {
  return [
    `# ${name}'s build image: the toolchain your test and build steps run in.`,
    `# ${TOOL_PACKAGE} init could not tell what this project is (${project.reason}),`,
    '# so this is a skeleton: test-and-build fails, saying so, until it is filled in.',
    '#   1. Install the toolchain below.',
    '#   2. Copy the files that pin your dependencies (a lockfile) and install them, and list',
    '#      those files in buildImage.inputs of build.config.json: the image\'s tag is their hash.',
    '#   3. Set steps.test and steps.build in build.config.json.',
    `# ${HEADER}`,
    `FROM ${base ?? DEFAULT_BASE.unknown}`,
    '',
    '# RUN apt-get update \\',
    '#  && apt-get install -y --no-install-recommends <your toolchain> \\',
    '#  && rm -rf /var/lib/apt/lists/*',
    '# WORKDIR /opt/deps',
    '# COPY <your lockfile> ./',
    '# RUN <install the dependencies>',
    '# WORKDIR /',
    '',
  ].join('\n')
}

// --- Dockerfile (the final image) -----------------------------------------------------

const FINAL_HEADER = (name: string) => [
  `# ${name}'s final image, built by \`npx ${TOOL_PACKAGE} push-images\` FROM the build image`,
  '# (the same toolchain the tests ran with). Build args it passes:',
  '#   BUILD_IMAGE  the build image\'s ref (Dockerfile.build)',
  '#   VERSION      1.2.3 for a release tag v1.2.3, the short sha on the default branch',
  `# ${HEADER}`,
  'ARG BUILD_IMAGE',
  '',
]

function goFinal(name: string): string {
  return [
    ...FINAL_HEADER(name),
    'FROM ${BUILD_IMAGE} AS build',
    'WORKDIR /src',
    'COPY . .',
    'ARG VERSION=dev',
    '# Every main package of the module, into /out.',
    'RUN mkdir -p /out && go build -ldflags "-X main.version=${VERSION}" -o /out/ ./...',
    '',
    `FROM ${DEFAULT_BASE.go}`,
    'COPY --from=build /out/ /usr/local/bin/',
    'USER 65534:65534',
    '# CMD ["<your binary>"]',
    '',
  ].join('\n')
}

function nodeFinal(project: NodeProject, name: string): string {
  const run = project.packageManager === 'npm' ? ['npm', 'run'] : [project.packageManager, 'run']
  const start = project.packageManager === 'npm' ? ['npm', 'start'] : [project.packageManager, 'start']
  return [
    ...FINAL_HEADER(name),
    'FROM ${BUILD_IMAGE}',
    'WORKDIR /app',
    'COPY . .',
    'ARG VERSION=dev',
    ...(project.scripts.build ? [`RUN ${run.join(' ')} build`] : []),
    `CMD ${JSON.stringify(project.scripts.start ? start : ['node', '.'])}`,
    '',
  ].join('\n')
}

function unknownFinal(name: string): string {
  return [...FINAL_HEADER(name), 'FROM ${BUILD_IMAGE}', 'WORKDIR /src', 'COPY . .', 'ARG VERSION=dev', '# RUN <your build>', '# CMD ["<your program>"]', ''].join('\n')
}

const DOCKERIGNORE = ['# Not part of the final image\'s build context.', '.git', 'node_modules', 'reports', ''].join('\n')

// --- build.config.json -----------------------------------------------------------------

type ConfigFile = Omit<Config, 'steps' | 'cherryPick' | 'generated' | 'buildImage' | 'prune' | 'trust'> & {
  buildImage: Omit<Config['buildImage'], 'buildArgs'>
  steps: { test: string[]; build: string[] }
}

function steps(project: Project): { test: string[]; build: string[] } {
  const placeholder = (step: 'test' | 'build') => ['sh', '-c', `echo "${PLACEHOLDER_MESSAGE(step)}" >&2; exit 1`]
  if (project.kind === 'go') {
    return {
      test: project.makeTargets.test ? ['make', 'test'] : ['go', 'test', './...'],
      build: project.makeTargets.build ? ['make', 'build'] : ['go', 'build', './...'],
    }
  }
  if (project.kind === 'node') {
    const pm = project.packageManager
    return {
      test: project.scripts.test ? [pm, 'test'] : placeholder('test'),
      build: project.scripts.build ? [pm, 'run', 'build'] : placeholder('build'),
    }
  }
  return { test: placeholder('test'), build: placeholder('build') }
}

export function buildImageInputs(project: Project): string[] {
  if (project.kind === 'go') return ['Dockerfile.build', 'go.mod', ...(project.hasGoSum ? ['go.sum'] : [])]
  if (project.kind === 'node') return ['Dockerfile.build', 'package.json', project.lockfile, ...(project.npmrc ? ['.npmrc'] : []), ...project.localFiles]
  return ['Dockerfile.build']
}

function configFile(project: Project, options: InitOptions): string {
  const config: ConfigFile = {
    ...(options.registry ? { registry: options.registry } : {}),
    defaultBranch: options.defaultBranch,
    buildImage: { name: `${options.name}-build`, dockerfile: 'Dockerfile.build', inputs: buildImageInputs(project) },
    image: { name: options.name, dockerfile: 'Dockerfile', context: '.' },
    steps: steps(project),
  }
  return JSON.stringify(config, null, 2) + '\n'
}

// --- CI configs ------------------------------------------------------------------------

/**
 * How CI installs the package (the repository's own lockfile has it as a devDependency).
 * `noScripts` for a job holding a token that can push: no dependency's install script runs there.
 */
function installCommand(project: Project, noScripts = false): string {
  const flag = noScripts ? ' --ignore-scripts' : ''
  if (project.kind === 'node' && project.packageManager === 'pnpm') return `corepack enable && pnpm install --frozen-lockfile${flag}`
  if (project.kind === 'node' && project.packageManager === 'yarn') return `corepack enable && yarn install --frozen-lockfile${flag}`
  return `npm ci${flag}`
}

/**
 * GHCR: the workflow's own token pulls (`packages: read`); the push job pushes with the
 * environment `publish`'s secrets REGISTRY_PUSH_USERNAME and REGISTRY_PUSH_TOKEN, never
 * with the workflow token (any branch's workflow can ask for `packages: write`). Any
 * other registry, secrets named REGISTRY_USERNAME and REGISTRY_PASSWORD: the
 * repository's (read-only: every branch's workflow can read them) and the environment
 * `publish`'s (may push: an environment's secret wins over the repository's).
 */
function actionsCredentials(registry: string): { username: string; password: string; packages: boolean; push: { username: string; password: string } } {
  return /^ghcr\.io(\/|$)/.test(registry)
    ? { username: '${{ github.actor }}', password: '${{ secrets.GITHUB_TOKEN }}', packages: true, push: { username: '${{ secrets.REGISTRY_PUSH_USERNAME }}', password: '${{ secrets.REGISTRY_PUSH_TOKEN }}' } }
    : { username: '${{ secrets.REGISTRY_USERNAME }}', password: '${{ secrets.REGISTRY_PASSWORD }}', packages: false, push: { username: '${{ secrets.REGISTRY_USERNAME }}', password: '${{ secrets.REGISTRY_PASSWORD }}' } }
}

function actionsWorkflow(project: Project, options: InitOptions): string {
  const creds = options.registry ? actionsCredentials(options.registry) : undefined
  const permissions = (packages: boolean) => ['      contents: read', ...(creds?.packages && packages ? ['      packages: read'] : [])]
  const setup = (noScripts: boolean) => [
    `      - uses: ${ACTIONS.checkout}`,
    '        with:',
    '          fetch-depth: 0 # history: versions (git describe), and the earlier commits whose build image is the cache',
    '          persist-credentials: false',
    `      - uses: ${ACTIONS.setupNode}`,
    '        with:',
    '          node-version: 20',
    ...(noScripts ? ['      # No install scripts: this job holds a token that can push.'] : []),
    `      - run: ${installCommand(project, noScripts)}`,
  ]
  const env = (c?: { username: string; password: string }) => (c ? ['        env:', `          REGISTRY_USERNAME: ${c.username}`, `          REGISTRY_PASSWORD: ${c.password}`] : [])
  const lines = [
    '# The on-commit CI: every step is one ci-build-scripts call',
    `# (\`npx ${TOOL_PACKAGE} <script> --help\` says what each does).`,
    '#   test-and-build  every push and pull request: the build image (pulled, or built when',
    '#                   its inputs changed), then the test and build steps in one container.',
    ...(options.registry
      ? [
          '#                   Read-only: it pushes nothing, so no branch or pull request (a fork\'s',
          '#                   included) can change a published image; a new build image is built',
          '#                   locally until the default branch has pushed it.',
          `#   push-images     the default branch and release tags v*, in the environment \`publish\`:`,
          `#                   the build image (under its content tag, never overwritten) and the`,
          `#                   final image, to ${options.registry}. Protect the environment (Settings >`,
          '#                   Environments): deployment branches and tags = the default branch and v*,',
          '#                   and required reviewers. Add a tag ruleset on v* (Settings > Rules) so',
          '#                   that only maintainers create, move or delete them, and protect the',
          '#                   release branches: push-images refuses a release tag whose commit is on',
          '#                   neither the default branch nor a release branch (releaseBranches).',
          ...(creds?.packages
            ? [
                '# Secrets REGISTRY_PUSH_USERNAME and REGISTRY_PUSH_TOKEN of the environment `publish`: a',
                '# token that may write the packages. The workflow token only reads them: any branch\'s',
                '# workflow can ask for `packages: write`, so give this repository\'s workflows Read on',
                '# each package (Package settings > Manage Actions access; "Inherit access" off).',
              ]
            : [
                '# Secrets REGISTRY_USERNAME and REGISTRY_PASSWORD: in the repository, a token that may',
                '# only pull (every branch\'s workflow can read repository secrets); in the environment',
                '# `publish`, a token that may push (an environment\'s secret wins over the repository\'s).',
              ]),
        ]
      : ['#                   No registry is configured: the image is built on each runner.']),
    '# No dependency cache: these jobs hold registry credentials, and a cache written by one',
    '# run (a pull request\'s) would be restored into them.',
    `# Same jobs as .circleci/config.yml. ${HEADER}`,
    'name: ci',
    '',
    'on:',
    '  push:',
    "    branches: ['**']",
    "    tags: ['v*']",
    '  pull_request:',
    '',
    '# Nothing by default; each job asks for what it needs.',
    'permissions: {}',
    '',
    'concurrency:',
    '  group: ci-${{ github.event.pull_request.number || github.ref }}',
    "  cancel-in-progress: ${{ github.event_name == 'pull_request' }}",
    '',
    'jobs:',
    '  test-and-build:',
    '    runs-on: ubuntu-latest',
    '    timeout-minutes: 60',
    '    permissions:',
    ...permissions(true),
    '    steps:',
    ...setup(false),
    '      - name: test-and-build',
    `        run: npx ${TOOL_PACKAGE} test-and-build --report reports/test-and-build.json`,
    ...env(creds),
    '      - name: Timing report',
    '        if: ${{ !cancelled() }}',
    `        uses: ${ACTIONS.uploadArtifact}`,
    '        with:',
    '          name: reports',
    '          path: reports/',
    '          if-no-files-found: ignore',
  ]
  if (creds) {
    lines.push(
      '',
      '  push-images:',
      '    needs: test-and-build',
      '    if: >-',
      "      github.event_name == 'push' && (",
      "        github.ref == format('refs/heads/{0}', github.event.repository.default_branch)",
      "        || startsWith(github.ref, 'refs/tags/v'))",
      '    runs-on: ubuntu-latest',
      '    timeout-minutes: 30',
      '    environment: publish',
      '    permissions:',
      ...permissions(false),
      '    steps:',
      ...setup(true),
      '      - name: push-images',
      `        run: npx ${TOOL_PACKAGE} push-images`,
      ...env(creds?.push),
    )
  }
  return lines.join('\n') + '\n'
}

function circleConfig(project: Project, options: InitOptions): string {
  const install = (noScripts: boolean) => [
    ...(noScripts ? ['      # No install scripts: this job holds a token that can push.'] : []),
    '      - run:',
    '          name: install',
    `          command: ${installCommand(project, noScripts)}`,
  ]
  const lines = [
    '# The on-commit CI on CircleCI: the same jobs as .github/workflows/ci.yml, every step one',
    `# ci-build-scripts call (\`npx ${TOOL_PACKAGE} <script> --help\` says what each does).`,
    ...(options.registry
      ? [
          '#   test-and-build  every commit and release tag; it pushes nothing.',
          `#   push-images     ${options.defaultBranch} and release tags v*, with the context \`publish\`: the build`,
          `#                   image (under its content tag, never overwritten) and the final image,`,
          `#                   to ${options.registry}.`,
          '# Project environment variables reach every branch\'s pipeline: REGISTRY_USERNAME and',
          '# REGISTRY_PASSWORD there are a token that may only pull. CircleCI does not give them to',
          '# a fork\'s pull request, which then builds the build image locally and stays green.',
          '# Context `publish` (Organization Settings > Contexts): REGISTRY_USERNAME and',
          '# REGISTRY_PASSWORD of a token that may push (a context\'s variables win over the',
          `# project's). Restrict it to \`pipeline.git.branch == "${options.defaultBranch}" or pipeline.git.tag`,
          '# starts-with "v"` (and to a security group of maintainers). On GitHub, add a tag ruleset on',
          '# v* (only maintainers create, move or delete them) and protect the release branches:',
          '# push-images refuses a release tag whose commit is on neither the default branch nor a',
          '# release branch (releaseBranches).',
        ]
      : ['# No registry is configured: the build image is built on each machine.']),
    `# ${HEADER}`,
    'version: 2.1',
    '',
    'jobs:',
    '  test-and-build:',
    '    # `docker run` with the checkout mounted needs a machine (Docker, git and Node.js).',
    '    machine:',
    '      image: ubuntu-2204:current',
    '    steps:',
    '      - checkout # a full clone: the earlier commits whose build image is the cache',
    ...install(false),
    '      - run:',
    '          name: test-and-build',
    `          command: npx ${TOOL_PACKAGE} test-and-build --report reports/test-and-build.json`,
    '      - store_artifacts:',
    '          path: reports',
  ]
  if (options.registry) {
    lines.push(
      '',
      '  push-images:',
      '    # On a machine, never in an image a tag names: this job holds the push token.',
      '    machine:',
      '      image: ubuntu-2204:current',
      '    steps:',
      '      - checkout',
      ...install(true),
      '      - run:',
      '          name: push-images',
      `          command: npx ${TOOL_PACKAGE} push-images`,
    )
  }
  lines.push(
    '',
    'workflows:',
    '  ci:',
    '    jobs:',
    '      - test-and-build:',
    '          filters:',
    '            tags:',
    '              only: /^v.*/',
  )
  if (options.registry) {
    lines.push(
      '      - push-images:',
      '          context: publish',
      '          requires:',
      '            - test-and-build',
      '          filters:',
      '            branches:',
      `              only: ${yamlString(options.defaultBranch)}`,
      '            tags:',
      '              only: /^v.*/',
    )
  }
  return lines.join('\n') + '\n'
}

/** A string as a YAML scalar that parses back to exactly it. */
function yamlString(s: string): string {
  return /^[A-Za-z0-9._/-]+$/.test(s) && !/^[0-9.]+$/.test(s) ? s : JSON.stringify(s)
}

// --- all of them -----------------------------------------------------------------------

/** The files init writes for `project`, in the order it reports them. */
export function initFiles(project: Project, options: InitOptions): InitFile[] {
  const buildImage =
    project.kind === 'go'
      ? goBuildImage(project, options.name, options.base)
      : project.kind === 'node'
        ? nodeBuildImage(project, options.name, options.base)
        : unknownBuildImage(project, options.name, options.base)
  const final = project.kind === 'go' ? goFinal(options.name) : project.kind === 'node' ? nodeFinal(project, options.name) : unknownFinal(options.name)
  return [
    { path: 'Dockerfile.build', content: buildImage },
    { path: 'Dockerfile', content: final },
    { path: '.dockerignore', content: DOCKERIGNORE, keepExisting: true },
    { path: 'build.config.json', content: configFile(project, options) },
    { path: '.github/workflows/ci.yml', content: actionsWorkflow(project, options) },
    { path: '.circleci/config.yml', content: circleConfig(project, options) },
  ]
}
