// Registry clean-up that follows git (prune-images): which tags of the build image (and,
// optionally, of the final image) no branch, release tag or recent commit needs any more,
// and which manifests can go without breaking a tag that stays.
//
//   git side       what the remote's branches and tags need (their build image tags from
//                  git objects alone, buildImageTagAt), the default branch's recent
//                  first-parent commits, and which commits they all reach;
//   registry side  every tag with its manifest digest, what an index lists, and the
//                  image's `created` time;
//   the plan       pure: keep or delete per tag with the reasons, then the digests to
//                  delete, graph-aware (a digest a kept tag or a kept index needs stays;
//                  an image's signatures, attestations and other referrers follow it).
import { UsageError, WorkError } from '../core/cli.mts'
import { interrupted } from '../core/interrupts.mts'
import { CONFIG_FILE } from '../core/config.mts'
import { git, type RepoInfo } from '../core/git.mts'
import { parseLsRemote, type RemoteRefs } from '../core/ls-remote.mts'
import { buildImageTagAt } from '../image/content-tag.mts'
import { DIGEST, type ManifestOptions } from '../image/registry.mts'
import { imageCreated, readManifest, type ManifestNode } from '../image/registry-cleanup.mts'
import { parseVersionTag } from './release-tags.mts'

/** The build image's tags: a git object id (sha1 or sha256 repositories). */
export const CONTENT_TAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
/** The final image's per-commit tags (release-tags.mts shaTag). */
export const SHA_TAG = /^sha-[0-9a-f]{12}$/
/**
 * Tags that belong to another manifest rather than name an image: cosign's signature,
 * attestation and SBOM tags (`sha256-<hex>.sig`, `.att`, `.sbom`) and the OCI referrers
 * fallback tag (`sha256-<hex>`, an index of the manifests whose subject is that digest).
 * They are kept or deleted with the manifest they name.
 */
export const ACCESSORY_TAG = /^sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?$/
/** What a registry may call a tag. Anything else in a tag list is never put in a URL. */
const TAG_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

// --- git: what the remote needs ---

/**
 * The remote's branches and tags (`git ls-remote`), with their commits fetched into the
 * object store when missing (no ref is created or moved; nothing is checked out).
 * A shallow clone is refused: what its commits reach cannot be known.
 */
export async function readRemote(repo: RepoInfo, remote = 'origin', env?: NodeJS.ProcessEnv): Promise<RemoteRefs> {
  const shallow = (await git(repo.root, env)`git rev-parse --is-shallow-repository`).stdout.trim()
  if (shallow === 'true') {
    throw new UsageError(
      'this is a shallow clone: which commits the branches reach cannot be known, so nothing can be pruned safely ' +
        '(fetch the whole history: actions/checkout with fetch-depth: 0, or git fetch --unshallow)',
    )
  }
  const listed = await git(repo.root, env)`git ls-remote --symref --end-of-options ${remote}`.nothrow()
  if (listed.exitCode !== 0) throw new WorkError(`git ls-remote ${remote} failed: ${listed.stderr.trim().split('\n').pop()}`)
  const refs = parseLsRemote(listed.stdout)
  const commits = [...new Set([...refs.heads.values(), ...refs.tags.values()])]
  const missing = await missingObjects(repo, commits, env)
  if (missing.length) {
    // By ref name (every remote serves those), objects only: --no-write-fetch-head, no refspec destination.
    const names = [...refs.heads].filter(([, c]) => missing.includes(c)).map(([b]) => `refs/heads/${b}`)
    names.push(...[...refs.tags].filter(([, c]) => missing.includes(c)).map(([t]) => `refs/tags/${t}`))
    await git(repo.root, env)`git fetch --quiet --no-tags --no-write-fetch-head ${remote} ${names}`
  }
  return refs
}

async function missingObjects(repo: RepoInfo, ids: string[], env?: NodeJS.ProcessEnv): Promise<string[]> {
  if (!ids.length) return []
  const out = await git(repo.root, env)({ input: ids.join('\n') + '\n' })`git cat-file --batch-check`
  return out.stdout.split('\n').filter((l) => l.endsWith(' missing')).map((l) => l.split(' ')[0])
}

/** Why each build image tag stays: the commits that need it. */
export interface GitNeeds {
  /** Tag -> reasons ("branch main", "tag v1.0.0", "main~3 (recent)"). */
  keep: Map<string, string[]>
  /** Commits whose build image tag could not be computed (no config there, or a broken one). */
  untagged: Array<{ commit: string; why: string; reason: string }>
}

/**
 * What the remote needs of the build image: the tag of every branch head and every tag,
 * and of the last `keepRecent` first-parent commits of the default branch.
 */
export async function buildImageNeeds(
  repo: RepoInfo,
  refs: RemoteRefs,
  options: { defaultBranch: string; keepRecent: number; configFile?: string; env?: NodeJS.ProcessEnv },
): Promise<GitNeeds> {
  const wanted: Array<{ commit: string; why: string }> = []
  for (const [branch, commit] of refs.heads) wanted.push({ commit, why: `branch ${branch}` })
  for (const [tag, commit] of refs.tags) wanted.push({ commit, why: `${parseVersionTag(tag) ? 'release tag' : 'tag'} ${tag}` })
  const tip = refs.heads.get(options.defaultBranch)
  if (!tip) throw new UsageError(`the default branch ${JSON.stringify(options.defaultBranch)} is not on the remote (set defaultBranch in ${CONFIG_FILE})`)
  if (options.keepRecent > 0) {
    const recent = await git(repo.root, options.env)`git rev-list --first-parent --max-count=${options.keepRecent} ${tip}`
    recent.stdout.split('\n').filter(Boolean).forEach((commit, i) => {
      if (i > 0) wanted.push({ commit, why: `${options.defaultBranch}~${i} (recent)` })
    })
  }
  const keep = new Map<string, string[]>()
  const untagged: GitNeeds['untagged'] = []
  const byCommit = new Map<string, Awaited<ReturnType<typeof buildImageTagAt>>>()
  for (const { commit, why } of wanted) {
    let result = byCommit.get(commit)
    if (!result) {
      result = await buildImageTagAt(repo, commit, options.configFile)
      byCommit.set(commit, result)
    }
    if (result.tag === null) untagged.push({ commit, why, reason: result.reason })
    else keep.set(result.tag, [...(keep.get(result.tag) ?? []), why])
  }
  return { keep, untagged }
}

/** The 12-hex prefixes of every commit the remote's branches and tags reach (one git process). */
export async function reachablePrefixes(repo: RepoInfo, refs: RemoteRefs, env?: NodeJS.ProcessEnv): Promise<Set<string>> {
  const tips = [...new Set([...refs.heads.values(), ...refs.tags.values()])]
  if (!tips.length) return new Set()
  const out = await git(repo.root, env)({ input: tips.join('\n') + '\n' })`git rev-list --stdin`
  return new Set(out.stdout.split('\n').filter(Boolean).map((c) => c.slice(0, 12)))
}

// --- the registry: what each tag holds ---

export interface TagInfo {
  tag: string
  digest: string
  /** The manifests an index lists ([] for one image). */
  children: string[]
  /** The image's build time (an index: its newest image); null when unknown. */
  created: Date | null
}

export interface RegistryView {
  tags: TagInfo[]
  /** Names in the tag list no registry allows: never requested, never deleted. */
  strange: string[]
  /** Every manifest seen, by digest (indexes' children too). */
  manifests: Map<string, ManifestNode>
}

/**
 * Read every tag's manifest (and an index's children) and the image's `created` time.
 * `untagged`: digests the registry is known to hold without a tag (GitHub's Packages API
 * lists them), read too, so the plan knows which of them refer to an image (`subject`).
 */
export async function readRegistry(repositoryRef: string, tagNames: string[], api: ManifestOptions = {}, untagged: string[] = []): Promise<RegistryView> {
  const manifests = new Map<string, ManifestNode>()
  const created = new Map<string, Date | null>()
  const strange = tagNames.filter((t) => !TAG_NAME.test(t))
  const tags: TagInfo[] = []
  const timeOf = async (node: ManifestNode): Promise<Date | null> => {
    if (created.has(node.digest)) return created.get(node.digest)!
    let when: Date | null = null
    if (node.configDigest) when = await imageCreated(repositoryRef, node.configDigest, api)
    else {
      for (const child of node.children) {
        const childNode = manifests.get(child) ?? (await readManifest(`${repositoryRef}@${child}`, api))
        if (!childNode) continue
        manifests.set(child, childNode)
        const t = await timeOf(childNode)
        if (t && (!when || t > when)) when = t
      }
    }
    created.set(node.digest, when)
    return when
  }
  for (const tag of tagNames.filter((t) => TAG_NAME.test(t))) {
    const node = await readManifest(`${repositoryRef}:${tag}`, api)
    if (!node) continue // deleted meanwhile
    manifests.set(node.digest, node)
    tags.push({ tag, digest: node.digest, children: node.children, created: await timeOf(node) })
  }
  for (const digest of untagged.filter((d) => DIGEST.test(d) && !manifests.has(d))) {
    const node = await readManifest(`${repositoryRef}@${digest}`, api)
    if (node) manifests.set(digest, node)
  }
  return { tags, strange, manifests }
}

// --- the plan ---

export interface TagVerdict {
  tag: string
  digest: string | null
  action: 'keep' | 'delete'
  reasons: string[]
}

export interface Deletion {
  digest: string
  /** The tags that go with it ([] for an index's child). */
  tags: string[]
  /** `referrer`: a signature, attestation or SBOM of a manifest that goes (before it). */
  kind: 'image' | 'index' | 'child' | 'referrer'
}

export interface RepositoryPlan {
  repository: string
  tags: TagVerdict[]
  /**
   * In order: an image's referrers before it, an index before its children, so no index
   * ever lists a missing manifest and no signature outlives the plan's run unnoticed.
   */
  deletions: Deletion[]
}

export interface PlanInput {
  repository: string
  view: RegistryView
  /** Only these tags may be deleted (the ones this project makes). */
  isCandidate: (tag: string) => boolean
  /** What a candidate is not: shown as the reason it stays. */
  candidateForm: string
  /** Tag -> why git needs it. */
  keep: Map<string, string[]>
  /** Images built after this stay. */
  graceCutoff: Date
  graceDays: number
  /**
   * A tag `<candidate><suffix>` belongs to its candidate tag and is kept or deleted with
   * it (the build image's full registry cache, `<tag>-cache`). One whose candidate is not
   * in the registry is judged as a candidate itself.
   */
  companionSuffix?: string
}

const day = (d: Date) => d.toISOString().slice(0, 10)

/** Decide, per tag, keep or delete and why; then which digests can go. Pure. */
export function planPrune(input: PlanInput): RepositoryPlan {
  const { view } = input
  const verdicts: TagVerdict[] = view.strange.map((tag) => ({ tag, digest: null, action: 'keep', reasons: ['not a valid tag name: never touched'] }))
  const suffix = input.companionSuffix
  const baseOf = (tag: string) => (suffix && tag.endsWith(suffix) && input.isCandidate(tag.slice(0, -suffix.length)) ? tag.slice(0, -suffix.length) : undefined)
  const listed = new Set(view.tags.map((t) => t.tag))
  // Companions whose tag is there are decided with it, below.
  const companions = view.tags.filter((t) => listed.has(baseOf(t.tag) ?? ''))
  const tentative: TagInfo[] = []
  const accessories: TagInfo[] = []
  for (const t of view.tags.filter((t) => !companions.includes(t))) {
    if (ACCESSORY_TAG.test(t.tag)) {
      accessories.push(t)
      continue
    }
    const reasons: string[] = []
    const base = baseOf(t.tag)
    if (!input.isCandidate(base ?? t.tag)) reasons.push(`not ${input.candidateForm}: never deleted`)
    for (const why of input.keep.get(base ?? t.tag) ?? []) reasons.push(why)
    if (reasons.length === 0) {
      if (!t.created) reasons.push('build time unknown')
      else if (t.created > input.graceCutoff) reasons.push(`younger than ${input.graceDays} days (built ${day(t.created)})`)
    }
    if (reasons.length) verdicts.push({ tag: t.tag, digest: t.digest, action: 'keep', reasons })
    else tentative.push(t)
  }

  // What refers to each manifest: accessory tags by name, OCI referrers by their subject.
  const referrers = new Map<string, string[]>()
  const refers = (subject: string, digest: string) => {
    // Stryker disable next-line ConditionalExpression: `needed` and `claimed` already stop a manifest that names itself
    if (subject !== digest) referrers.set(subject, [...new Set([...(referrers.get(subject) ?? []), digest])])
  }
  // Whatever order the registry lists tags in (tags are unique, never equal).
  // Stryker disable next-line EqualityOperator: tags are unique, never equal
  accessories.sort((a, b) => (a.tag < b.tag ? -1 : 1))
  for (const t of accessories) refers(`sha256:${ACCESSORY_TAG.exec(t.tag)![1]}`, t.digest)
  // Stryker disable next-line ConditionalExpression: what refers to `undefined` is never looked up
  for (const node of view.manifests.values()) if (node.subject) refers(node.subject, node.digest)

  // Every manifest a kept tag needs: its own, what an index lists, and what refers to them.
  const needed = new Map<string, { by: string; listed: boolean }>()
  const need = (digest: string, by: string, listed: boolean) => {
    if (needed.has(digest)) return
    needed.set(digest, { by, listed })
    // Stryker disable next-line ArrayDeclaration: a digest no manifest has is never deleted, so needing one changes nothing
    for (const child of view.manifests.get(digest)?.children ?? []) need(child, by, true)
    // Stryker disable next-line ArrayDeclaration: as above
    for (const referrer of referrers.get(digest) ?? []) need(referrer, by, true)
  }
  // Stryker disable next-line ConditionalExpression: a tag without a digest (a strange name) needs nothing a manifest has
  for (const v of verdicts) if (v.digest) need(v.digest, v.tag, false)

  const deletions = new Map<string, Deletion>()
  for (const t of tentative) {
    const kept = needed.get(t.digest)
    if (kept) {
      const how = kept.listed ? 'listed by the image index of' : 'same image as'
      verdicts.push({ tag: t.tag, digest: t.digest, action: 'keep', reasons: [`${how} kept tag ${kept.by}`] })
      continue
    }
    verdicts.push({ tag: t.tag, digest: t.digest, action: 'delete', reasons: [`needed by no branch, tag or recent commit; built ${day(t.created!)}`] })
    const entry = deletions.get(t.digest) ?? { digest: t.digest, tags: [], kind: t.children.length ? 'index' : 'image' }
    entry.tags.push(t.tag)
    deletions.set(t.digest, entry)
  }
  for (const t of companions) {
    const base = baseOf(t.tag)!
    const goes = verdicts.find((v) => v.tag === base)?.action === 'delete'
    verdicts.push({ tag: t.tag, digest: t.digest, action: goes ? 'delete' : 'keep', reasons: [goes ? `the full registry cache of ${base}, which goes` : `the full registry cache of kept tag ${base}`] })
    if (goes && !deletions.has(t.digest)) deletions.set(t.digest, { digest: t.digest, tags: [t.tag], kind: 'image' })
  }
  // A manifest goes whole: first what refers to it (each with its own referrers first),
  // then itself, then the manifests it lists; none that anything kept needs.
  const tagsOf = (digest: string) => accessories.filter((a) => a.digest === digest).map((a) => a.tag)
  const ordered: Deletion[] = []
  const claimed = new Set<string>()
  const remove = (d: Deletion) => {
    if (needed.has(d.digest) || claimed.has(d.digest)) return
    claimed.add(d.digest)
    for (const referrer of referrers.get(d.digest) ?? []) remove({ digest: referrer, tags: tagsOf(referrer), kind: 'referrer' })
    ordered.push(d)
    for (const child of view.manifests.get(d.digest)?.children ?? []) remove(deletions.get(child) ?? { digest: child, tags: tagsOf(child), kind: 'child' })
  }
  for (const d of [...deletions.values()].sort((a, b) => (a.kind === 'index' ? 0 : 1) - (b.kind === 'index' ? 0 : 1))) remove(d)

  // An accessory tag follows the manifest it names.
  const going = new Set(ordered.map((o) => o.digest))
  for (const t of accessories) {
    const subject = `sha256:${ACCESSORY_TAG.exec(t.tag)![1]}`
    const what = accessoryKind(t.tag)
    if (going.has(t.digest)) verdicts.push({ tag: t.tag, digest: t.digest, action: 'delete', reasons: [`${what} of ${subject.slice(0, 19)}…, which goes`] })
    else {
      const kept = needed.get(t.digest)
      const reason = kept ? `${what} of an image kept tag ${kept.by} needs` : `${what} of ${subject.slice(0, 19)}…, which is not in this repository's plan: left alone`
      verdicts.push({ tag: t.tag, digest: t.digest, action: 'keep', reasons: [reason] })
    }
  }
  // Stryker disable next-line EqualityOperator: tags in one repository are unique, never equal
  verdicts.sort((a, b) => (a.action === b.action ? (a.tag < b.tag ? -1 : 1) : a.action === 'delete' ? 1 : -1))
  return { repository: input.repository, tags: verdicts, deletions: ordered }
}

function accessoryKind(tag: string): string {
  const suffix = ACCESSORY_TAG.exec(tag)![2]
  return suffix === 'sig' ? 'signature' : suffix === 'att' ? 'attestation' : suffix === 'sbom' ? 'SBOM' : 'referrers'
}

/** The plan as aligned text: one line per tag (action, tag, reasons). */
export function describePrunePlan(plan: RepositoryPlan): string {
  const lines = [`${plan.repository}: keep ${plan.tags.filter((t) => t.action === 'keep').length}, delete ${plan.tags.filter((t) => t.action === 'delete').length} tag(s), ${plan.deletions.length} manifest(s)`]
  const width = Math.max(0, ...plan.tags.map((t) => t.tag.length))
  for (const t of plan.tags) lines.push(`  ${t.action.padEnd(6)} ${JSON.stringify(t.tag).slice(1, -1).padEnd(width)}  ${t.reasons.join('; ')}`)
  return lines.join('\n')
}

export interface DeletionResult extends Deletion {
  repository: string
  outcome: 'deleted' | 'absent'
}

/** Deletes one manifest of a repository by digest: through the registry API, or GitHub's Packages API. */
export type DeleteManifest = (repositoryRef: string, digest: string) => Promise<'deleted' | 'absent'>

/**
 * Carry out the deletions, in plan order, one request per digest (so a tag is either
 * there or gone, whatever stops the run). Stops before the next request once interrupted.
 * An error (DeletionDisabledError at the first request: nothing was deleted; GitHub's
 * rate limit) stops the run where it is; `onDone` has seen every deletion before it.
 */
export async function executePrune(plans: RepositoryPlan[], deleteManifest: DeleteManifest, onDone?: (result: DeletionResult) => void): Promise<DeletionResult[]> {
  const done: DeletionResult[] = []
  for (const plan of plans) {
    for (const d of plan.deletions) {
      if (interrupted()) return done
      const outcome = await deleteManifest(plan.repository, d.digest)
      const result = { ...d, repository: plan.repository, outcome }
      done.push(result)
      onDone?.(result)
    }
  }
  return done
}
