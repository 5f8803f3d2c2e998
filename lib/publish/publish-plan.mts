// Publishing images under tags, safely re-runnable: each ref is compared with what the
// registry has before anything is pushed.
//
//   the registry has the same image (same config digest = local image id,
//   or under the containerd store the same layers, build time and settings)  -> unchanged
//   the tag does not exist                                                -> create
//   a moving tag (latest, a branch, sha-) with another image              -> update
//   a release version with another image                                  -> refuse
//                                                        (or overwrite, when allowed)
//   a moving tag an immutable repository would refuse to move             -> skip
//     (lib/publish/immutable-tags.mts, after the plan)
//   the build image's content tag with another image                      -> unchanged
//     (the same inputs built elsewhere: that copy stays, content tags never move)
//   ... unless `signing` is configured and that image's signature does not  -> update
//     verify (pushed by someone other than the publishing job: replaced)
//
// Comparing image ids instead of manifest digests means the plan is known before
// pushing (so --dry-run can show it), and a tag that already holds this exact image is
// never re-pushed, so its digest cannot change under a re-run.
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError, type Config } from '../core/config.mts'
import type { DockerOptions } from '../image/docker.mts'
import { push } from '../image/docker.mts'
import { table } from '../core/log.mts'
import { LABELS } from '../image/labels.mts'
import { sameContent, type ImageContent } from '../image/image-content.mts'
import type { ManifestInfo, ManifestOptions, PublishedImage } from '../image/registry.mts'
import { copyManifest, manifestInfo, publishedImage } from '../image/registry.mts'
import type { Verifier } from '../image/signature.mts'
import { refusedMoveMessage } from '../image/ecr.mts'
import type { BuildRef, TagDecision, TagKind } from './release-tags.mts'

export type RefKind = TagKind | 'build-image'
export type Action = 'create' | 'update' | 'overwrite' | 'unchanged' | 'refuse' | 'skip'

export interface Target {
  /** `<registry>/<name>:<tag>`, tagged locally. */
  ref: string
  kind: RefKind
  /** The local image id the ref should point at. */
  imageId: string
  /** The local image's layers, build time and settings (localImageContent): the same image when the ids cannot tell. */
  content?: ImageContent
}

export interface PlanEntry extends Target {
  action: Action
  /** What the registry has under the ref now; null when the tag does not exist. */
  existing: (ManifestInfo & { content?: ImageContent }) | null
  /** The build image's existing copy has no valid signature (signing configured): it is replaced. */
  untrusted?: boolean
  /** The registry holds this tag immutable, yet the move is tried (configured, or asked for). */
  immutable?: boolean
}

export interface PublishResult extends PlanEntry {
  /** The digest the ref points at afterwards (the existing one when unchanged or refused). */
  digest: string | null
  /** Why the registry refused the push (a move of an immutable tag): the run goes on. */
  refusal?: string
}

/**
 * Whether the registry's image is the target's. The classic image store's id is the
 * config digest; the containerd store's is a manifest (or index) digest, and a push may
 * rewrite the manifest (media types) or a rebuild add a fresh attestation: there the
 * same layers, build time and settings are the same image. Pure.
 */
export function isSameImage(target: Target, existing: PlanEntry['existing']): boolean {
  if (!existing) return false
  return existing.configDigest === target.imageId || existing.digest === target.imageId || sameContent(target.content, existing.content)
}

/** What to do with one ref, given what the registry has. Pure. */
export function decideAction(target: Target, existing: PlanEntry['existing'], allowOverwrite = false, untrusted = false): Action {
  if (!existing) return 'create'
  if (isSameImage(target, existing)) return 'unchanged'
  if (target.kind === 'build-image') return untrusted ? 'update' : 'unchanged'
  if (target.kind === 'version') return allowOverwrite ? 'overwrite' : 'refuse'
  return 'update'
}

/**
 * Look up every ref in the registry (one GET each, none with `assumeAbsent`; the image's
 * config too when the ids do not match and the target's content is known) and decide its
 * action. `verify` (signing configured): the build image's existing copy must verify.
 */
export async function planPublish(targets: Target[], options: ManifestOptions & { allowOverwrite?: boolean; assumeAbsent?: boolean; verify?: Verifier }): Promise<PlanEntry[]> {
  const { allowOverwrite, assumeAbsent, verify, ...registry } = options
  const plan: PlanEntry[] = []
  for (const target of targets) {
    // assumeAbsent: the registry cannot be read (a --dry-run without credentials).
    let existing: PlanEntry['existing'] = assumeAbsent ? null : await manifestInfo(target.ref, registry)
    if (existing && target.content && !isSameImage(target, existing)) existing = (await publishedImage(target.ref, registry)) ?? existing
    const untrusted = Boolean(existing && verify && target.kind === 'build-image' && !(await verify(repositoryOf(target.ref), existing.digest)))
    plan.push({ ...target, existing, action: decideAction(target, existing, allowOverwrite, untrusted), ...(untrusted ? { untrusted } : {}) })
  }
  return plan
}

/** `host/acme-build:tag` -> `host/acme-build`. */
export const repositoryOf = (ref: string) => ref.slice(0, ref.lastIndexOf(':'))

/**
 * Carry out a plan: push what is to be created, updated or overwritten, in order; leave
 * the rest. A push that fails (after docker.push's retries) stops the run: `onPushed`
 * has seen every ref done before it, so the caller can still report them. A failure
 * `isRefusal` recognizes (an immutable tag's move refused) is recorded as `refuse`
 * and the run goes on.
 */
export async function executePlan(
  plan: PlanEntry[],
  options: DockerOptions & {
    retries?: number
    baseDelayMs?: number
    onDone?: (result: PublishResult) => void
    /** The final image is already in its repository under this digest (an earlier run's, reused): its tags are written there, nothing is pushed. */
    reuse?: { digest: string; api: ManifestOptions }
    /** Whether a failed push is the registry's refusal (an immutable tag): recorded, and the run goes on. */
    isRefusal?: (entry: PlanEntry, error: unknown) => boolean
  },
): Promise<PublishResult[]> {
  const { onDone, reuse, isRefusal, ...pushOptions } = options
  const results: PublishResult[] = []
  for (const entry of plan) {
    const pushes = entry.action === 'create' || entry.action === 'update' || entry.action === 'overwrite'
    const copies = reuse && entry.kind !== 'build-image'
    let result: PublishResult
    try {
      const digest = pushes ? await (copies ? copyManifest(reuse.digest, entry.ref, { ...reuse.api, retries: options.retries, baseDelayMs: options.baseDelayMs }) : push(entry.ref, pushOptions)) : (entry.existing?.digest ?? null)
      result = { ...entry, digest }
    } catch (error) {
      if (!isRefusal?.(entry, error)) throw error
      result = { ...entry, action: 'refuse', digest: entry.existing?.digest ?? null, refusal: (error as Error).message }
    }
    results.push(result)
    onDone?.(result)
  }
  return results
}

/**
 * Whether a published image is a build of this very commit and version (its OCI revision
 * and version labels say so): an earlier run published it, maybe on another runner. A
 * re-run reuses it rather than push a rebuild that differs only in timestamps, so a
 * release tag never changes and re-runs stay green.
 */
export function isBuildOf(image: PublishedImage | null, expected: { revision: string; version: string }): image is PublishedImage {
  const labels = image?.labels ?? {}
  return labels[LABELS.revision] === expected.revision && labels[LABELS.version] === expected.version
}

/**
 * Whether to publish `published` again rather than build anew: it is this commit's
 * image (isBuildOf), the tree is clean (a dirty tree's image is not the commit's), and
 * --allow-overwrite did not ask for a rebuild.
 */
export function mayReuse(
  published: PublishedImage | null,
  { revision, version, dirty, allowOverwrite }: { revision: string; version: string; dirty: boolean; allowOverwrite: boolean },
): published is PublishedImage {
  return !allowOverwrite && !dirty && isBuildOf(published, { revision, version })
}

/** How a ref's action reads once done. */
export const PAST_TENSE: Record<Action, string> = { create: 'created', update: 'updated', overwrite: 'overwritten', unchanged: 'unchanged', refuse: 'refused', skip: 'skipped' }

/** `pushed 2 refs (1 created, 1 updated), 1 unchanged`; `nothing pushed: all 3 refs unchanged`. */
export function publishedSummary(done: PublishResult[]): string {
  const count = (n: number) => `${n} ref${n === 1 ? '' : 's'}`
  const by = (action: PublishResult['action']) => done.filter((r) => r.action === action).length
  const pushed = (['create', 'update', 'overwrite'] as const).filter((a) => by(a) > 0)
  const unchanged = by('unchanged')
  const skipped = by('skip') ? `, ${by('skip')} skipped (immutable)` : ''
  const total = pushed.reduce((n, a) => n + by(a), 0)
  if (total === 0) return `nothing pushed: ${unchanged === done.length ? 'all ' : ''}${count(unchanged)} unchanged${skipped}`
  return `pushed ${count(total)} (${pushed.map((a) => `${by(a)} ${PAST_TENSE[a]}`).join(', ')})${unchanged ? `, ${unchanged} unchanged` : ''}${skipped}`
}

/**
 * Why the run fails after pushing what it could, or undefined: release tags the plan
 * refused, and moves the registry refused (immutable tags).
 */
export function publishFailure(refused: PlanEntry[], done: PublishResult[]): string | undefined {
  const movesRefused = done.filter((r) => r.refusal).map((r) => r.ref)
  const reasons = [...(refused.length ? [refusalMessage(refused)] : []), ...(movesRefused.length ? [refusedMoveMessage(movesRefused)] : [])]
  return reasons.length ? reasons.join('; ') : undefined
}

/** Each image a run published, once (the final image has one digest under all its tags): what is signed. */
export function imagesToSign(done: PublishResult[]): { repository: string; digest: string }[] {
  const images = new Map<string, { repository: string; digest: string }>()
  for (const { ref, digest } of done) if (digest) images.set(`${repositoryOf(ref)}@${digest}`, { repository: repositoryOf(ref), digest })
  return [...images.values()]
}

/** The `--json` document: what was decided, and each ref with its action and digests. */
export function publishJson(
  run: { decision: Pick<TagDecision, 'version' | 'reason'>; revision: string; ref: BuildRef; dryRun: boolean },
  images: PublishResult[],
) {
  return {
    version: run.decision.version,
    revision: run.revision,
    ref: run.ref,
    reason: run.decision.reason,
    dryRun: run.dryRun,
    images: images.map(({ ref, kind, action, digest, existing }) => ({ ref, kind, action, digest, existing: existing?.digest ?? null })),
  }
}

/**
 * A dry run in local-only mode (no registry): nothing to compare with, each ref is built
 * and tagged in the local daemon. Its `--json` images, and its table.
 */
export function localOnlyImages(refs: { ref: string; kind: RefKind }[]) {
  return refs.map(({ ref, kind }) => ({ ref, kind, action: 'local' as const, digest: null, existing: null }))
}

export function describeLocalOnly(refs: { ref: string }[]): string {
  return table([['REF', 'ACTION'], ...refs.map(({ ref }) => [ref, 'local only'])])
}

// --- around the plan: names, settings, messages ---

/**
 * The final image's settings and repository, `<registry>/<image.name>`. Needs `image`, and
 * `registry` unless `localOnly` (a dry run in local-only mode: the repository is the name).
 */
export function finalImage(config: Config, options: { localOnly?: boolean } = {}): { repository: string; name: string; dockerfile: string; context: string } {
  if (!config.registry && !options.localOnly) {
    throw new ConfigError('push-images needs a registry: set "registry" in build.config.json, the REGISTRY env var, or --registry HOST (--dry-run works without one)')
  }
  if (!config.image) throw new ConfigError('image: required to build the final image (add {"name": "..."} to build.config.json)')
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(config.image.name)) {
    throw new ConfigError(`image.name: expected a lowercase image name like "acme", got ${JSON.stringify(config.image.name)}`)
  }
  return { ...config.image, repository: config.registry ? `${config.registry}/${config.image.name}` : config.image.name }
}

/**
 * The final image's context directory and Dockerfile must exist (relative to the
 * repository root, as the build resolves them): a typo is a config error (exit 2) named
 * by its key, found before any slow build, not a `docker build` failure at the end.
 */
export function checkFinalImageFiles(root: string, image: { dockerfile: string; context: string }): void {
  if (!fs.statSync(path.resolve(root, image.context), { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`image.context: ${JSON.stringify(image.context)} is not a directory in ${root}`)
  }
  if (!fs.statSync(path.resolve(root, image.dockerfile), { throwIfNoEntry: false })?.isFile()) {
    throw new ConfigError(`image.dockerfile: ${JSON.stringify(image.dockerfile)} not found in ${root} (add it, or set image.dockerfile in build.config.json)`)
  }
}

const short = (digest: string | undefined) => (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '?')

/** The plan as an aligned table: ref, action, and what the registry has now. */
export function describePlan(plan: PlanEntry[]): string {
  const rows = [['REF', 'ACTION', 'REGISTRY HAS']]
  for (const p of plan) {
    let has = p.existing ? p.existing.digest : '-'
    if (p.existing && !isSameImage(p, p.existing)) {
      has += p.action === 'skip' ? ' (another image: the tag is immutable there, kept)' : p.untrusted ? ' (no valid signature: replaced)' : p.kind === 'build-image' ? ' (built elsewhere from the same inputs: kept)' : ` (another image: ${short(p.existing.configDigest)})`
    }
    rows.push([p.ref, p.action, has])
  }
  return table(rows)
}

/** Why release tags were refused, and what to do about it. */
export function refusalMessage(refused: PlanEntry[]): string {
  const which = refused.map((p) => `${p.ref} (the registry has image ${short(p.existing?.configDigest)}, this build is ${short(p.imageId)})`).join(', ')
  return `refused to overwrite release tag${refused.length > 1 ? 's' : ''} ${which}: a release never changes once pushed. Release a new version, or pass --allow-overwrite to replace it`
}
