// Run steps in ONE container (one start, warm caches: the proposal's combined step):
//   docker run -d ... sh -c <sleep loop>   once, as the host's uid:gid, repo mounted at its own path
//   docker exec <step>                     per step, output streamed to stderr
//   docker rm -f                           in a finally, and on SIGINT/SIGTERM
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { $ } from 'zx'
import { interrupted, onInterrupt, WorkError } from './cli.mts'
import { removeContainer, streamed, tail } from './docker.mts'
import { git } from './git.mts'
import { failure, seconds, success } from './log.mts'
import type { StepPlan, StepResult } from './steps.mts'

/** Containers we start carry this label (value: the repository root) so they can be found. */
export const CONTAINER_LABEL = 'dev.ci-build-scripts.repo'
/** HOME inside the container: a tmpfs owned by the user, since the image's own home is not. */
export const CONTAINER_HOME = '/home/ci-build'

export interface ContainerSpec {
  image: string
  /** The repository root: mounted at the same path, and the working directory. */
  root: string
  /** Extra host directories mounted at the same path (a worktree's git common dir). */
  mounts?: string[]
  /** `uid:gid`; default: the invoking user's. */
  user?: string
}

/** Where a checkout's git data lives when it is not under the root (a `git worktree`). */
export async function gitDirsOutside(root: string): Promise<string[]> {
  const out = await git(root)`git rev-parse --path-format=absolute --git-common-dir`.nothrow()
  if (out.exitCode !== 0) return []
  const common = out.stdout.trim()
  const rel = path.relative(root, common)
  return rel.startsWith('..') || path.isAbsolute(rel) ? [common] : []
}

export function invokingUser(): string {
  return `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`
}

/** `docker run` arguments for the long-lived step container. */
export function runArgs(name: string, spec: ContainerSpec): string[] {
  const user = spec.user ?? invokingUser()
  const [uid, gid] = user.split(':')
  const args = ['run', '--detach', '--name', name, '--label', `${CONTAINER_LABEL}=${spec.root}`, '--user', user]
  for (const dir of [spec.root, ...(spec.mounts ?? [])]) args.push('--volume', `${dir}:${dir}`)
  args.push('--workdir', spec.root)
  args.push('--tmpfs', `${CONTAINER_HOME}:exec,uid=${uid},gid=${gid},mode=0755`, '--env', `HOME=${CONTAINER_HOME}`)
  // git refuses a repository owned by another uid unless it is a safe.directory; the
  // GIT_CONFIG_* variables set it as command-line config, without writing any file.
  args.push('--env', 'GIT_CONFIG_COUNT=1', '--env', 'GIT_CONFIG_KEY_0=safe.directory', '--env', `GIT_CONFIG_VALUE_0=${spec.root}`)
  // Keep the container alive between steps; TERM ends it at once.
  args.push('--entrypoint', 'sh', spec.image, '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done')
  return args
}

/** `docker exec` arguments for one step: env vars by name only (values come from our env). */
export function execArgs(name: string, root: string, plan: StepPlan): string[] {
  return ['exec', '--workdir', root, ...plan.env.flatMap((n) => ['--env', n]), name, ...plan.command]
}

/**
 * Start one container, run the steps in order in it (stopping at the first failure),
 * remove it. Each step's output goes to stderr; its exit code and duration are returned.
 * The container is removed on every exit path, SIGINT/SIGTERM included.
 */
export async function runSteps(spec: ContainerSpec, plans: StepPlan[]): Promise<StepResult[]> {
  const name = `ci-steps-${randomBytes(6).toString('hex')}`
  let starting: Promise<unknown> = Promise.resolve()
  // On an interrupt, wait for a `docker run` in flight so the container it creates is removed too.
  const remove = onInterrupt(async () => {
    await starting.catch(() => undefined)
    await removeContainer(name)
  })
  try {
    const start = $({ quiet: true, nothrow: true })`docker ${runArgs(name, spec)}`
    starting = start
    const started = await start
    if (started.exitCode !== 0) throw new WorkError(`could not start a container from ${spec.image}: ${tail(started, 2)}`)

    const results: StepResult[] = []
    for (const plan of plans) {
      const t0 = performance.now()
      const out = await streamed(execArgs(name, spec.root, plan))
      const result: StepResult = { name: plan.name, exitCode: out.exitCode ?? 1, durationMs: performance.now() - t0 }
      results.push(result)
      if (interrupted()) break
      if (result.exitCode === 0) success(`${plan.name}: ${plan.command.join(' ')} (${seconds(result.durationMs)})`)
      else {
        failure(`${plan.name} failed with exit code ${result.exitCode}: ${plan.command.join(' ')} (${seconds(result.durationMs)})`)
        break
      }
    }
    return results
  } finally {
    await remove()
  }
}
