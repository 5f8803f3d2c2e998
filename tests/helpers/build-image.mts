// Fixture repositories whose build image comes from a seeded base image, and cleanup of
// the images a test file made (by its unique name, never "everything").
import { docker, dockerMaybe } from './docker.mts'
import { makeRepo, type FileSpec } from './repo.mts'

export interface FixtureOptions {
  /** The build image name (use uniqueName()). */
  name: string
  dockerfile?: string
  files?: Record<string, FileSpec>
  inputs?: string[]
  /** Merged into build.config.json. */
  config?: Record<string, unknown>
}

/**
 * A repository with a small build image: `FROM busybox:latest`, the `tools/` directory
 * as input (a file, an executable script, a symlink), plus a README that is not an input.
 */
export function makeBuildRepo(options: FixtureOptions): string {
  const files: Record<string, FileSpec> = {
    'Dockerfile.build': options.dockerfile ?? 'FROM busybox:latest\nCOPY tools /opt/tools\nRUN cat /opt/tools/version > /version\n',
    'tools/version': '1\n',
    'tools/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
    'tools/link': { symlink: 'run.sh' },
    'README.md': 'not an input\n',
    ...options.files,
  }
  return makeRepo(files, { buildImage: { name: options.name, inputs: options.inputs ?? ['tools'] }, ...options.config })
}

/** Every local image whose repository ends with `/<name>` or is `<name>`, for any of `names`, as refs. */
export function imagesNamed(...names: string[]): string[] {
  const out = dockerMaybe('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}') ?? ''
  return out.split('\n').filter((ref) => {
    const repo = ref.slice(0, ref.lastIndexOf(':'))
    return names.some((name) => repo === name || repo.endsWith(`/${name}`))
  })
}

/**
 * Remove every local image of these names (one image list, one `rmi` for them all: the
 * list is slow on a busy daemon, the containerd store's most of all).
 */
export function removeImagesNamed(...names: string[]): void {
  if (names.length === 0) return
  const refs = imagesNamed(...names)
  if (refs.length) dockerMaybe('rmi', '-f', ...refs)
}

/** Labels and creation time of a local image. */
export function inspectImage(ref: string): { id: string; created: string; labels: Record<string, string> } {
  const [info] = JSON.parse(docker('image', 'inspect', ref)) as Array<{ Id: string; Created: string; Config: { Labels: Record<string, string> | null } }>
  return { id: info.Id, created: info.Created, labels: info.Config.Labels ?? {} }
}
