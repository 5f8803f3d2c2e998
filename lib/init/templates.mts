// The files `init` writes for a project: its build image (Dockerfile.build), its final
// image (Dockerfile), build.config.json, and the two CI configs (ci-configs.mts), with
// what init does where one exists already. Pure functions of the project and the
// options: the tests read what they return.
import { CONFIG_SCHEMA_FILE, type Config } from '../core/config.mts'
import { actionsWorkflow, CIRCLE_PATH, circleConfig, circlePieces, HEADER, WORKFLOW_PATH } from './ci-configs.mts'
import { mergeCircleConfig, type CircleMerge } from './circleci-merge.mts'
import { nodeInstall } from './package-manager.mts'
import type { GoProject, NodeProject, Project, UnknownProject } from './project.mts'
import { TOOL_PACKAGE } from './project.mts'

export { CIRCLE_PATH, WORKFLOW_PATH }

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
  /** Kept when it exists, --force or not (a `.dockerignore`). */
  keepExisting?: boolean
  /** Why leaving an existing one is right, for the summary. */
  whenPresent?: string
  /** How init's part goes into an existing one (CircleCI's single config file). */
  merge?: (existing: string) => CircleMerge
  /** Written only when init writes this file too (a `.dockerignore` for init's own Dockerfile). */
  onlyWith?: string
}

/** Default bases. Go comes from Debian's packages; Node's official slim image has node and npm. */
export const DEFAULT_BASE = { go: 'debian:bookworm-slim', node: 'node:20-bookworm-slim', unknown: 'debian:bookworm-slim' } as const


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
    `# can write. The module cache is ${project.vendored ? 'empty (vendor/ has the modules)' : 'baked in (go mod download, below)'} and left writable,`,
    '# so a step that needs a module the image lacks can still fetch it.',
    'ENV GOPATH=/tmp/go \\',
    '    GOCACHE=/tmp/go-cache \\',
    '    GOMODCACHE=/opt/go/pkg/mod \\',
    '    GOFLAGS=-modcacherw \\',
    '    CGO_ENABLED=0',
    '',
    ...(project.vendored
      ? [
          '# No module download: vendor/ holds the modules, and go reads them from your checkout',
          '# (-mod=vendor is the default where vendor/modules.txt is). Tools pinned in a',
          '# tools.go are vendored too: `go run` or `go install` them from vendor/.',
          'RUN mkdir -p "$GOMODCACHE" && chmod -R a+rwX /opt/go',
        ]
      : [
          `# The modules of go.mod${project.hasGoSum ? ' and go.sum' : ''} (a tools.go's tools among them), downloaded once per change of ${project.hasGoSum ? 'those files' : 'it'}.`,
          ...(project.hasGoSum ? [] : ['# (No go.sum yet: once the module has dependencies, add go.sum here and to buildImage.inputs.)']),
          'WORKDIR /opt/go/src',
          `COPY ${modFiles} ./`,
          'RUN mkdir -p "$GOMODCACHE" \\',
          ' && go mod download \\',
          ' && chmod -R a+rwX /opt/go',
        ]),
    'WORKDIR /',
    '',
  ].join('\n')
}

/**
 * The root package's own scripts that npm, pnpm and Yarn run on install (npm's ci.js runs
 * these seven; `dependencies` after node_modules changes).
 */
export const ROOT_LIFECYCLE = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare', 'dependencies'] as const

/** A word for sh: single-quoted unless it is plainly safe. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9._/@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

function nodeBuildImage(project: NodeProject, name: string, base?: string): string {
  const { setup, install } = nodeInstall(project)
  const files = ['package.json', project.lockfile, ...(project.npmrc ? ['.npmrc'] : [])]
  const berry = project.yarnBerry?.files ?? []
  const pnp = Boolean(project.yarnBerry?.pnp)
  const manifests = project.workspaceFiles.filter((f) => f.endsWith('package.json'))
  const deleted = ROOT_LIFECYCLE.map((s) => `scripts.${s}`).join(' ')
  // Under Plug'n'Play there is no node_modules/.bin to put on PATH.
  const env = [
    ...(pnp ? [] : ['PATH=/opt/deps/node_modules/.bin:$PATH']),
    'npm_config_cache=/tmp/.npm',
    'npm_config_update_notifier=false',
    ...(project.yarnBerry ? ['YARN_GLOBAL_FOLDER=/tmp/.yarn-berry', 'YARN_ENABLE_TELEMETRY=0'] : []),
  ]
  return [
    `# ${name}'s build image: Node.js and the dependencies of ${project.lockfile}, installed`,
    '# once per change of the lockfile. The test and build steps of build.config.json run',
    '# in it (one container, your checkout mounted, as your uid); it is also the first stage',
    '# of the final image (Dockerfile). Its tag is the hash of buildImage.inputs.',
    `# ${HEADER}`,
    `FROM ${base ?? DEFAULT_BASE.node}`,
    ...(setup.length ? ['', ...setup] : []),
    '',
    ...(pnp
      ? [
          '# The dependencies live in /opt/deps as Yarn\'s Plug\'n\'Play installs them: .pnp.cjs',
          '# (and .pnp.loader.mjs), the packages\' archives in .yarn/cache, those with install',
          '# scripts unpacked in .yarn/unplugged. The steps run under your checkout\'s own install',
          '# (the one ci-build-scripts runs from: the same lockfile), test-and-build mounting',
          '# read-only the folders outside the checkout it reads (Yarn\'s global cache); the final',
          '# image (Dockerfile) takes this one.',
        ]
      : [
          '# The dependencies live in /opt/deps/node_modules, their binaries on PATH. The steps',
          '# use your checkout\'s own node_modules (the one ci-build-scripts runs from: the same',
          '# lockfile); the final image (Dockerfile) links its node_modules to these. Nothing at',
          '# /node_modules: npm run in a directory outside any project (a test that installs',
          '# into a temp dir) would take / for its project and try to replace it.',
        ]),
    'WORKDIR /opt/deps',
    `COPY ${files.join(' ')} ./`,
    // A packed tarball the lockfile installs from (`file:x.tgz`) keeps its path, and so do
    // Yarn 2+'s .yarnrc.yml, release and plugins, and each workspace's package.json (the
    // JSON form: a path is data, spaces and all).
    ...project.localFiles.map((f) => `COPY ${f} ./${f}`),
    ...[...berry, ...project.workspaceFiles].map((f) => `COPY ${JSON.stringify([f, `./${f}`]).replace(/","/g, '", "')}`),
    '# Your package\'s own lifecycle scripts (prepare: husky, lefthook install, a build)',
    '# need the checkout, which is not here: they are taken out of this copy of',
    '# package.json. The dependencies\' install scripts (native addons, esbuild\'s binary)',
    '# run as they do on your machine.',
    ...(project.workspaceFiles.length
      ? [
          '# The same for each workspace\'s package.json: only the manifests are here.',
          `RUN for manifest in package.json ${manifests.map(shellQuote).join(' ')}; do \\`,
          `      (cd "$(dirname "$manifest")" && npm pkg delete ${deleted}) || exit 1; \\`,
          '    done \\',
        ]
      : [`RUN npm pkg delete ${deleted} \\`]),
    ` && ${install}`,
    `# The steps run as your uid, a user with no home here: npm's${project.yarnBerry ? ' and Yarn\'s' : ''} cache goes to /tmp.`,
    ...env.map((setting, i) => `${i ? '    ' : 'ENV '}${setting}${i < env.length - 1 ? ' \\' : ''}`),
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
    ...(project.yarnBerry?.pnp
      ? [
          '# The build image\'s Plug\'n\'Play install in place of the context\'s, which was made',
          '# elsewhere (its .pnp.cjs reads archives from that machine\'s paths).',
          'RUN mkdir -p .yarn \\',
          ' && for f in .pnp.cjs .pnp.loader.mjs .yarn/cache .yarn/unplugged .yarn/install-state.gz; do \\',
          '      rm -rf "$f" && { [ ! -e "/opt/deps/$f" ] || cp -a "/opt/deps/$f" "$f"; } || exit 1; \\',
          '    done',
        ]
      : [
          '# The build image\'s dependencies, unless the context brought a node_modules of its own.',
          'RUN [ -e node_modules ] || ln -s /opt/deps/node_modules node_modules',
        ]),
    'ARG VERSION=dev',
    ...(project.scripts.build ? [`RUN ${run.join(' ')} build`] : []),
    // Under Plug'n'Play, node finds the dependencies only through Yarn (`yarn node`).
    `CMD ${JSON.stringify(project.scripts.start ? start : project.yarnBerry?.pnp ? ['yarn', 'node', '.'] : ['node', '.'])}`,
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
  if (project.kind === 'go') return project.vendored ? ['Dockerfile.build'] : ['Dockerfile.build', 'go.mod', ...(project.hasGoSum ? ['go.sum'] : [])]
  if (project.kind === 'node') {
    return ['Dockerfile.build', 'package.json', project.lockfile, ...(project.npmrc ? ['.npmrc'] : []), ...(project.yarnBerry?.files ?? []), ...project.localFiles, ...project.workspaceFiles]
  }
  return ['Dockerfile.build']
}

function configFile(project: Project, options: InitOptions): string {
  const config: ConfigFile = {
    // The file's JSON Schema, in the installed package: editors complete and check the keys.
    $schema: `./node_modules/${TOOL_PACKAGE}/${CONFIG_SCHEMA_FILE}`,
    ...(options.registry ? { registry: options.registry } : {}),
    defaultBranch: options.defaultBranch,
    buildImage: { name: `${options.name}-build`, dockerfile: 'Dockerfile.build', inputs: buildImageInputs(project) },
    image: { name: options.name, dockerfile: 'Dockerfile', context: '.' },
    steps: steps(project),
  }
  return JSON.stringify(config, null, 2) + '\n'
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
  const pieces = circlePieces(project, options)
  return [
    { path: 'Dockerfile.build', content: buildImage },
    // A project's own Dockerfile is its release image: image.dockerfile names it as it is
    // (a final image need not start FROM the build image).
    { path: 'Dockerfile', content: final, whenPresent: 'your final image: build.config.json\'s image.dockerfile names it' },
    // Only for init's Dockerfile: a project's own has the build context it was written for.
    { path: '.dockerignore', content: DOCKERIGNORE, keepExisting: true, onlyWith: 'Dockerfile' },
    { path: 'build.config.json', content: configFile(project, options) },
    { path: WORKFLOW_PATH, content: actionsWorkflow(project, options) },
    { path: CIRCLE_PATH, content: circleConfig(project, options), merge: (existing) => mergeCircleConfig(existing, pieces) },
  ]
}
