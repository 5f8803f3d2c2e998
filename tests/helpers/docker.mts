// The real Docker Engine. Integration tests call requireDocker() first: without an
// engine they fail with one message saying how to provide it, never skip silently.
import { execFileSync } from 'node:child_process'

export const SETUP_HINT = 'start one with `sudo bash .ci/setup-env.sh` (installs docker.io and the registry, starts dockerd, seeds base images)'

export function requireDocker(images: string[] = []): void {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 20_000 })
  } catch {
    throw new Error(`Docker Engine is not reachable (docker info failed): ${SETUP_HINT}`)
  }
  for (const image of images) {
    try {
      execFileSync('docker', ['image', 'inspect', image], { stdio: 'pipe' })
    } catch {
      throw new Error(`base image ${image} is missing: ${SETUP_HINT}`)
    }
  }
}

/** Run docker and return trimmed stdout; throws on failure. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim()
}

/** Like docker(), but returns null instead of throwing. */
export function dockerMaybe(...args: string[]): string | null {
  try {
    return docker(...args)
  } catch {
    return null
  }
}

/** A name no other test (or concurrent test file) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
}
