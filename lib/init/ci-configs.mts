// The CI configs `init` writes: a GitHub Actions workflow under a name of its own
// (WORKFLOW_PATH, beside the project's workflows) and a CircleCI config, both calling the
// installed package, one script per step, as this repository's own do. Each is a template
// file in ci-templates/ (read it to see what init writes), filled here from the project
// and the options; the CircleCI jobs and workflow also come as the blocks that go under
// `jobs:` and `workflows:`, to add them to a config the project has (circleci-merge.mts).
import type { Project } from './project.mts'
import { TOOL_PACKAGE } from './project.mts'
import type { CirclePieces } from './circleci-merge.mts'
import { readTemplate, renderTemplate } from './render-template.mts'
import type { InitOptions } from './templates.mts'

/** Where the workflow goes: a name no project's own workflow is likely to have. */
export const WORKFLOW_PATH = `.github/workflows/${TOOL_PACKAGE}.yml`
/** CircleCI reads one config file: an existing one is merged into (or its lines printed), never replaced. */
export const CIRCLE_PATH = '.circleci/config.yml'

export const HEADER = `Written by \`npx ${TOOL_PACKAGE} init\`; yours to edit.`

/** The template files, in ci-templates/. */
export const WORKFLOW_TEMPLATE = 'github-workflow.yml'
export const CIRCLE_TEMPLATE = 'circleci-config.yml'

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
 * The templates' values and flags. `ghcr` chooses the credentials: on GHCR the workflow's
 * own token pulls and the push job pushes with the environment's token (the workflow's
 * header says why); elsewhere, the registry's own secrets.
 */
function fill(project: Project, options: InitOptions) {
  return {
    values: {
      ...(options.registry ? { registry: options.registry } : {}),
      default_branch: options.defaultBranch,
      install: installCommand(project),
      install_without_scripts: installCommand(project, true),
      tool: toolCommand(project),
      test_and_build: `${toolCommand(project)} test-and-build --report reports/test-and-build.json`,
      push_images: `${toolCommand(project)} push-images`,
    },
    flags: { registry: Boolean(options.registry), ghcr: options.registry !== undefined && /^ghcr\.io(\/|$)/.test(options.registry) },
  }
}

export function actionsWorkflow(project: Project, options: InitOptions): string {
  return renderTemplate(WORKFLOW_TEMPLATE, readTemplate(WORKFLOW_TEMPLATE), fill(project, options))
}

/** init's own CircleCI config, for a project that has none. */
export function circleConfig(project: Project, options: InitOptions): string {
  return renderTemplate(CIRCLE_TEMPLATE, readTemplate(CIRCLE_TEMPLATE), fill(project, options))
}

/** init's CircleCI jobs and workflow: the blocks under `jobs:` and `workflows:` of its config. */
export function circlePieces(project: Project, options: InitOptions): CirclePieces {
  const lines = circleConfig(project, options).split('\n')
  const block = (key: string) => {
    const start = lines.indexOf(`${key}:`)
    const end = lines.findIndex((line, i) => i > start && /^\S/.test(line))
    const body = lines.slice(start + 1, end < 0 ? lines.length : end)
    while (body.at(-1) === '') body.pop()
    return body
  }
  return { jobs: block('jobs'), workflows: block('workflows') }
}
