// The CI configs `init` writes: a GitHub Actions workflow under a name of its own
// (WORKFLOW_PATH, beside the project's workflows) and a CircleCI config, both calling the
// installed package, one script per step, as this repository's own do. Pure functions of
// the project and the options; the CircleCI jobs and workflow also come as the blocks
// that go under `jobs:` and `workflows:`, to add them to a config the project has
// (circleci-merge.mts).
import type { Project } from './project.mts'
import { TOOL_PACKAGE } from './project.mts'
import type { CirclePieces } from './circleci-merge.mts'
import type { InitOptions } from './templates.mts'

/** Where the workflow goes: a name no project's own workflow is likely to have. */
export const WORKFLOW_PATH = `.github/workflows/${TOOL_PACKAGE}.yml`
/** CircleCI reads one config file: an existing one is merged into (or its lines printed), never replaced. */
export const CIRCLE_PATH = '.circleci/config.yml'
/** The names init's CircleCI jobs and workflow take, in its own file or merged into the project's. */
export const CIRCLE_JOBS = ['test-and-build', 'push-images'] as const
export const CIRCLE_WORKFLOW = TOOL_PACKAGE

export const HEADER = `Written by \`npx ${TOOL_PACKAGE} init\`; yours to edit.`

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

/**
 * How CI installs the package (the repository's own lockfile has it as a devDependency).
 * `noScripts` for a job holding a token that can push: no dependency's install script runs there.
 * Corepack gives the runner the package manager package.json's `packageManager` declares.
 */
function installCommand(project: Project, noScripts = false): string {
  const flag = noScripts ? ' --ignore-scripts' : ''
  if (project.kind === 'node' && project.packageManager === 'pnpm') return `corepack enable && pnpm install --frozen-lockfile${flag}`
  // Yarn 2+ has no --ignore-scripts: --mode=skip-build runs no package's scripts.
  if (project.kind === 'node' && project.yarnBerry) return `corepack enable && yarn install --immutable${noScripts ? ' --mode=skip-build' : ''}`
  if (project.kind === 'node' && project.packageManager === 'yarn') return `corepack enable && yarn install --frozen-lockfile${flag}`
  return `npm ci${flag}`
}

/**
 * How CI runs the package's command: `npx`, or `yarn` under Plug'n'Play, which has no
 * node_modules/.bin for npx to find it in (npx would fetch it from the registry instead).
 */
export function toolCommand(project: Project): string {
  return `${project.kind === 'node' && project.yarnBerry?.pnp ? 'yarn' : 'npx'} ${TOOL_PACKAGE}`
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

export function actionsWorkflow(project: Project, options: InitOptions): string {
  const tool = toolCommand(project)
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
    `# (\`${tool} <script> --help\` says what each does).`,
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
    `# Same jobs as CircleCI's (${CIRCLE_PATH}). ${HEADER}`,
    `name: ${TOOL_PACKAGE}`,
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
    '# A group of its own (the workflow\'s name): the project\'s other workflows have theirs.',
    'concurrency:',
    '  group: ${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}',
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
    `        run: ${tool} test-and-build --report reports/test-and-build.json`,
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
      `        run: ${tool} push-images`,
      ...env(creds?.push),
    )
  }
  return lines.join('\n') + '\n'
}

/** init's CircleCI jobs and workflow: the blocks under `jobs:` and `workflows:`. */
export function circlePieces(project: Project, options: InitOptions): CirclePieces {
  const tool = toolCommand(project)
  const install = (noScripts: boolean) => [
    ...(noScripts ? ['      # No install scripts: this job holds a token that can push.'] : []),
    '      - run:',
    '          name: install',
    `          command: ${installCommand(project, noScripts)}`,
  ]
  const jobs = [
    '  test-and-build:',
    '    # `docker run` with the checkout mounted needs a machine (Docker, git and Node.js).',
    '    machine:',
    '      image: ubuntu-2204:current',
    '    steps:',
    '      - checkout # a full clone: the earlier commits whose build image is the cache',
    ...install(false),
    '      - run:',
    '          name: test-and-build',
    `          command: ${tool} test-and-build --report reports/test-and-build.json`,
    '      - store_artifacts:',
    '          path: reports',
  ]
  if (options.registry) {
    jobs.push(
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
      `          command: ${tool} push-images`,
    )
  }
  const workflows = [
    `  ${CIRCLE_WORKFLOW}:`,
    '    jobs:',
    '      - test-and-build:',
    '          filters:',
    '            tags:',
    '              only: /^v.*/',
  ]
  if (options.registry) {
    workflows.push(
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
  return { jobs, workflows }
}

/** What init's CircleCI part does, as comments: the head of its own config file. */
export function circleComments(options: InitOptions): string[] {
  return [
    `# The on-commit CI on CircleCI: the same jobs as ${WORKFLOW_PATH}, every step one`,
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
  ]
}

/** init's own CircleCI config, for a project that has none. */
export function circleConfig(project: Project, options: InitOptions): string {
  const { jobs, workflows } = circlePieces(project, options)
  return [...circleComments(options), 'version: 2.1', '', 'jobs:', ...jobs, '', 'workflows:', ...workflows].join('\n') + '\n'
}

/** A string as a YAML scalar that parses back to exactly it. */
function yamlString(s: string): string {
  return /^[A-Za-z0-9._/-]+$/.test(s) && !/^[0-9.]+$/.test(s) ? s : JSON.stringify(s)
}
