// What makes two images the same image, however their manifests were written: the same
// layers, build time and runtime settings. A registry's config blob and `docker image
// inspect` give the same content for one image, where the manifest's digest can differ (a
// push under the containerd image store may rewrite its media types).

/** An image config's content: what makes two images the same, however their manifests were written. */
export interface ImageContent {
  /** The layers, uncompressed (`rootfs.diff_ids`; `RootFS.Layers` of `docker image inspect`). */
  diffIds: string[]
  /** The build time, to the nanosecond as written (`2026-12-03T08:39:41.752346167Z`). */
  created: string
  /** What the image runs and carries: labels, entrypoint, command, env, user, working directory. */
  config: string
}

/** The parts of an image config (the registry's blob, or `docker image inspect`) that make it this image. */
export function imageContent(image: { diffIds?: string[] | null; created?: string | null; config?: Record<string, unknown> | null }): ImageContent {
  const c = image.config ?? {}
  const pick = (k: string) => c[k] ?? null
  // `2026-12-03T08:39:41.7523Z` and `...41.752300000Z` are the same instant: nanoseconds, padded.
  const created = (image.created ?? '').replace(/(?:\.(\d+))?Z$/, (_, f: string | undefined) => `.${(f ?? '').padEnd(9, '0')}Z`)
  const config = JSON.stringify(['Labels', 'Entrypoint', 'Cmd', 'Env', 'User', 'WorkingDir'].map((k) => (k === 'Labels' ? (pick(k) ?? {}) : pick(k) || null)))
  return { diffIds: image.diffIds ?? [], created, config }
}

/** Whether two image configs describe the same image (same layers, build time and runtime settings). */
export function sameContent(a: ImageContent | undefined, b: ImageContent | undefined): boolean {
  return Boolean(a && b && a.diffIds.length && a.created === b.created && a.config === b.config && a.diffIds.join() === b.diffIds.join())
}
