// The preamble every script shares: the repository it works on (`--repo`, else the
// current directory, found as git finds it) and its build.config.json (`--config`),
// with the registry override (`--registry`, else REGISTRY; an empty value means
// local-only, so `--registry ''` is kept as '' and never read as "absent").
import { loadConfig, type Config } from './config.mts'
import { repoInfo, type RepoInfo } from './git.mts'

export interface ProjectFlags {
  repo?: string
  config?: string
  registry?: string
}

export interface Project {
  repo: RepoInfo
  config: Config
}

export async function openProject(flags: ProjectFlags, env: NodeJS.ProcessEnv = process.env): Promise<Project> {
  const repo = await repoInfo(flags.repo || process.cwd())
  const config = await loadConfig({ root: repo.root, file: flags.config || undefined, registry: flags.registry, env })
  return { repo, config }
}
