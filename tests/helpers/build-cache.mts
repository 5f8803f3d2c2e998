// BuildKit's build cache, for tests that need a daemon that really lacks some layers
// (a pull that downloads, a --cache-from that is the only source of a layer).
//
// After `docker rmi`, BuildKit keeps the layers it built in its cache. The daemon is shared
// (other test files, other people's builds), so the global cache is never pruned here:
// a test gives its layers a marker no one else uses (a random word in an early RUN) and
// forgets only the cache records of those layers (the marked step and every record built
// on top of it), one id at a time.
import { docker, dockerMaybe } from './docker.mts'

interface CacheRecord {
  id: string
  parents: string[]
  description: string
}

/** The build cache's records (`docker buildx du --verbose`); [] under the legacy builder or without buildx. */
export function cacheRecords(): CacheRecord[] {
  // No buildx: no BuildKit cache to list. Any other failure is an error: an empty list would
  // let a test believe the daemon forgot layers it still has.
  if (dockerMaybe('buildx', 'version') === null) return []
  const out = docker('buildx', 'du', '--verbose')
  return out.split(/\n\s*\n/).flatMap((block) => {
    const field = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim()
    const id = field('ID')
    if (!id) return []
    const parents = (field('Parents?') ?? '').split(/[\s,]+/).filter(Boolean)
    return [{ id, parents, description: field('Description') ?? '' }]
  })
}

/** Remove the cache records of the layers built from a step containing `marker`, and of every layer on top of them. Returns how many. */
export function forgetBuildCache(marker: string): number {
  const records = cacheRecords()
  const depth = new Map<string, number>()
  for (const r of records) if (r.description.includes(marker)) depth.set(r.id, 0)
  for (let grew = true; grew; ) {
    grew = false
    for (const r of records) {
      const parent = r.parents.find((p) => depth.has(p))
      if (parent !== undefined && !depth.has(r.id)) {
        depth.set(r.id, depth.get(parent)! + 1)
        grew = true
      }
    }
  }
  // Children first: a record others are built on is kept while they exist.
  for (const id of [...depth.keys()].sort((a, b) => depth.get(b)! - depth.get(a)!)) {
    docker('builder', 'prune', '--force', '--filter', `id=${id}`)
  }
  return depth.size
}

/**
 * Whether BuildKit's plain output shows a layer downloaded from a registry for a step (the
 * daemon had no copy of it, and the step did not run). With the classic image store
 * BuildKit prints `#N pulling sha256:...` for the step's vertex, then `#N CACHED`; with the
 * containerd image store it prints the layer's download progress for the step's vertex,
 * `#N sha256:<64 hex> 232B / 232B 0.1s done` (its time left out when it took none), before
 * or after a `CACHED` line, or with none. A step that runs prints neither. `step` is a
 * start of the step's line (`[2/3] RUN echo marker`), or omitted for any step.
 */
export function layerDownloaded(output: string, step?: string): boolean {
  const lines = output.split('\n')
  const vertices = new Set(lines.flatMap((line) => {
    const m = /^#(\d+) (\[.*)$/.exec(line)
    return m && (!step || m[2].startsWith(step)) ? [m[1]] : []
  }))
  const download = /^(pulling sha256:[0-9a-f]{64}|sha256:[0-9a-f]{64} [\d.]+[kMG]?i?B \/ [\d.]+[kMG]?i?B( [\d.]+s)? done$)/
  return [...vertices].some((n) => lines.some((line) => line.startsWith(`#${n} `) && download.test(line.slice(n.length + 2))))
}
