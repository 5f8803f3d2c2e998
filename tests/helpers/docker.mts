// The real Docker Engine. Integration tests call requireDocker() first: without an
// engine they fail with one message saying how to provide it, never skip silently.
import { execFileSync, spawnSync } from 'node:child_process'

export const SETUP_HINT = 'start one with `sudo bash .ci/setup-env.sh` (installs docker.io and the registry, starts dockerd, seeds base images)'

export function requireDocker(images: string[] = []): void {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 20_000 })
  } catch {
    throw new Error(`Docker Engine is not reachable (docker info failed): ${SETUP_HINT}`)
  }
  for (const image of images) {
    try {
      execFileSync('docker', ['image', 'inspect', image], { stdio: 'pipe', timeout: 20_000 })
    } catch {
      throw new Error(`base image ${image} is missing: ${SETUP_HINT}`)
    }
  }
}

/**
 * The longest a test's own docker command may take (the go-app image, ~800 MB, pulls in
 * well under a minute). These calls are synchronous: one that never returned would stop
 * the worker's event loop, and with it every vitest timeout, so CI would wait forever.
 */
export const DOCKER_TIMEOUT_MS = 240_000

/** Run docker and return trimmed stdout; throws on failure, or when it takes longer than DOCKER_TIMEOUT_MS. */
export function docker(...args: string[]): string {
  try {
    // maxBuffer: `docker buildx du --verbose` on a shared daemon prints over a megabyte (4,300 records
    // made 1.08 MB here); past the 1 MiB default the call failed, and dockerMaybe() read that as "no output".
    return execFileSync('docker', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: DOCKER_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024 }).trim()
  } catch (error) {
    const e = error as { code?: string; signal?: string; stderr?: string; message: string }
    if (e.code === 'ETIMEDOUT' || e.signal === 'SIGKILL') throw new Error(`docker ${args.join(' ')}: no answer within ${DOCKER_TIMEOUT_MS / 1000} s (killed); its stderr: ${String(e.stderr ?? '').trim().slice(-500)}`)
    throw error
  }
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

/**
 * `docker run --rm ARGS...` (ARGS: run's flags, the image, the command), its stdout
 * trimmed, read from the container's log after it ended: the stream `docker run` attaches
 * can come back without the output on a loaded machine, which a test would read as
 * empty. Throws with the exit code and the log's stderr when the command fails.
 */
export function dockerRun(...args: string[]): string {
  const id = docker('create', ...args)
  try {
    docker('start', id)
    const exitCode = docker('wait', id)
    const result = spawnSync('docker', ['logs', id], { encoding: 'utf8', timeout: DOCKER_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024 })
    if (result.status !== 0) throw new Error(`docker logs ${id} (docker run ${args.join(' ')}): ${result.stderr.trim().slice(-500)}`)
    if (exitCode !== '0') throw new Error(`docker run ${args.join(' ')}: exit code ${exitCode}: ${result.stderr.trim().slice(-1000)}`)
    return result.stdout.trim()
  } finally {
    dockerMaybe('rm', '-f', id)
  }
}

/**
 * A text file in an image, trimmed, read without running anything: `docker cp` from a
 * created (never started) container. `docker run <image> cat <file>` can return without
 * the file's output on a loaded machine, which a test would read as an empty file.
 */
export function imageFile(ref: string, file: string): string {
  const id = docker('create', ref, 'true')
  try {
    const tar = execFileSync('docker', ['cp', `${id}:${file}`, '-'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: DOCKER_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 })
    // One file: a 512-byte ustar header (its size in octal at offset 124), then the content.
    const size = parseInt(tar.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8)
    if (!Number.isInteger(size)) throw new Error(`docker cp ${ref}:${file}: not a tar stream`)
    return tar.subarray(512, 512 + size).toString('utf8').trim()
  } finally {
    dockerMaybe('rm', '-f', id)
  }
}
