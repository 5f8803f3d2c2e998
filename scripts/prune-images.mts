#!/usr/bin/env zx
// scripts/prune-images.mts: registry clean-up that follows git (GitHub Actions
// `nightly.yml` job `prune-images`, CircleCI workflow `nightly`; by hand, a dry run).
//   1. Read the flags and build.config.json (a registry is required).
//   2. Ask the remote (git ls-remote of origin) for its branches and tags; refuse a
//      shallow clone, whose reachability cannot be known.
//   3. What git needs: the build image tag of every branch head and tag, and of the
//      default branch's last prune.keepRecent first-parent commits (from git objects
//      alone, no checkout); for the final image, every commit the remote reaches.
//   4. What the registry holds: every tag, its manifest digest, what an index lists,
//      when the image was built; on GHCR also the untagged versions (GitHub's Packages
//      API), so signatures and attestations are known by their subject.
//   5. The plan, per tag: keep (and why) or delete; then the digests that can go
//      without breaking a kept tag or a kept index. Printed on stdout.
//   6. With --delete: delete those digests, one request each, in order: through the
//      registry API, or on ghcr.io as package versions (GitHub's Packages API).
import path from 'node:path'
import { flag, main, parseFlags, PROJECT_FLAGS, UsageError, type CommandSpec } from '../lib/core/cli.mts'
import { interrupted, onInterrupt } from '../lib/core/interrupts.mts'
import { openProject } from '../lib/core/project.mts'
import { logRetry, retrySettings } from '../lib/core/retries.mts'
import { info, step, success } from '../lib/core/log.mts'
import { buildImageRepository } from '../lib/image/content-tag.mts'
import { CACHE_TAG_SUFFIX } from '../lib/image/cache-image.mts'
import { listTags, parseImageRef, registryCredentials } from '../lib/image/registry.mts'
import { deleteManifest } from '../lib/image/registry-cleanup.mts'
import { packagesBackend, packagesClient, pruneBackend, RATE_LIMIT_WAIT_MS } from '../lib/publish/github-packages.mts'
import {
  buildImageNeeds,
  CONTENT_TAG,
  describePrunePlan,
  executePrune,
  planPrune,
  reachablePrefixes,
  readRegistry,
  readRemote,
  SHA_TAG,
  type DeletionResult,
  type RepositoryPlan,
} from '../lib/publish/prune.mts'

const command = {
  name: 'prune-images',
  about: `
Delete the build image tags no branch, tag or recent commit of the remote needs any
more, so content tags do not pile up in the registry. A dry run unless --delete.

Kept in the build image repository (buildImage.name):
  - the tag of every branch head and every tag on origin (git ls-remote), computed
    from git objects alone;
  - the tags of the default branch's last prune.keepRecent first-parent commits (20);
  - images younger than prune.graceDays (14), by their config's created time;
  - every tag not in the content-tag form (40 or 64 hex): never deleted.
With prune.finalImage: true, also the final image (image.name): its sha-<12 hex> tags
of commits no branch or tag on origin contains, older than the grace period. Release
tags, latest and branch tags are never deleted.

Deletion is by manifest digest: a digest a kept tag points at (or a kept index lists)
is never deleted; an index goes whole, with the manifests it lists. Signatures,
attestations and SBOMs (cosign's sha256-<digest>.sig/.att/.sbom tags, OCI referrers)
stay with a kept image and go with a deleted one.

On ghcr.io (or with prune.backend "github-packages") deletion goes through GitHub's
Packages API, one package version per manifest, with GITHUB_TOKEN (a token with
read:packages and delete:packages); GitHub's rate limit stops a long run cleanly
(exit 1, with how far it got and when to carry on).

Results on stdout: the plan (keep/delete with the reasons), then one line per deleted
manifest; JSON with --json. Logs on stderr.
`,
  flags: {
    delete: { help: 'carry out the plan (default: print it, change nothing)' },
    json: { help: 'print {"registry", "dryRun", "repositories": [...], "deleted": [...]}' },
    repo: PROJECT_FLAGS.repo,
    config: PROJECT_FLAGS.config,
    registry: { type: 'string', value: 'HOST', help: 'the registry (env: REGISTRY; required)' },
  },
  more: `
Env: REGISTRY, REGISTRY_USERNAME and REGISTRY_PASSWORD (else an existing docker login),
REGISTRY_RETRIES, REGISTRY_RETRY_DELAY_MS; for the Packages API: GITHUB_TOKEN (or
GH_TOKEN; else REGISTRY_PASSWORD), GITHUB_API_URL (default https://api.github.com),
PRUNE_RATE_LIMIT_WAIT_SECONDS (longest rate-limit wait sat out, default 60).

Exit codes: 0 done (or nothing to delete), 1 a registry or git request failed, or the
registry does not allow deleting ("deletion is disabled on <registry>"), or GitHub's rate
limit stopped the deletions, 2 bad usage or config, or a shallow clone.
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags and config.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const env = process.env
  const { repo, config } = await openProject(flags, env)
  if (!config.registry) throw new UsageError('prune-images needs a registry: set registry in build.config.json, REGISTRY, or --registry')
  if (config.prune.finalImage && !config.image) throw new UsageError('prune.finalImage is true but build.config.json has no image section')
  if (Boolean(env.REGISTRY_USERNAME) !== Boolean(env.REGISTRY_PASSWORD)) {
    throw new UsageError('set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither (to use an existing docker login)')
  }
  const remove = Boolean(flags.delete)
  const registry = parseImageRef(`${config.registry}/x`).registry
  const api = {
    credentials: registryCredentials(registry, env, registry),
    ...retrySettings(env),
    onRetry: (error: unknown, attempt: number, delay: number) => logRetry(error, attempt, delay),
  }
  const { keepRecent, graceDays, finalImage } = config.prune
  const graceCutoff = new Date(Date.now() - graceDays * 86_400_000)
  const backend = pruneBackend(registry, config.prune.backend)
  let packages: ReturnType<typeof packagesBackend> | undefined
  if (backend === 'github-packages') {
    const token = env.GITHUB_TOKEN?.trim() || env.GH_TOKEN?.trim() || env.REGISTRY_PASSWORD
    if (!token) throw new UsageError(`deleting on ${registry} goes through GitHub's Packages API: set GITHUB_TOKEN to a token with read:packages and delete:packages`)
    const waitSeconds = Number(env.PRUNE_RATE_LIMIT_WAIT_SECONDS)
    packages = packagesBackend(
      packagesClient(token, {
        apiUrl: env.GITHUB_API_URL,
        maxRateLimitWaitMs: env.PRUNE_RATE_LIMIT_WAIT_SECONDS && waitSeconds >= 0 ? waitSeconds * 1000 : RATE_LIMIT_WAIT_MS,
        ...api,
      }),
    )
    info(`${registry}: deleting through GitHub's Packages API (${env.GITHUB_API_URL || 'https://api.github.com'})`)
  }
  // On GHCR, the untagged versions too: the plan then knows what refers to what.
  const untaggedOf = async (repositoryRef: string) => (packages ? (await packages.versionsOf(repositoryRef)).filter((v) => !v.tags.length).map((v) => v.digest) : [])

  // 2. The remote's branches and tags (their commits fetched when missing, no ref moved).
  const refs = await step('branches and tags of origin', () => readRemote(repo, 'origin', env))
  const defaultBranch = config.defaultBranch ?? refs.head
  if (!defaultBranch) throw new UsageError('origin does not say which branch is its default: set defaultBranch in build.config.json')
  info(`${refs.heads.size} branch(es), ${refs.tags.size} tag(s); default branch ${defaultBranch}`)

  // 3. What git needs. Each commit's own config decides its tag (the file at the same path).
  const configFile = flag(flags, 'config') ? path.relative(repo.root, path.resolve(flag(flags, 'config')!)) : undefined
  const needs = await step(`build image tags of those, and of the last ${keepRecent} commits of ${defaultBranch}`, () =>
    buildImageNeeds(repo, refs, { defaultBranch, keepRecent, configFile, env }),
  )
  for (const u of needs.untagged) info(`${u.why} (${u.commit.slice(0, 12)}) has no build image tag: ${u.reason}`)
  const reachable = finalImage ? await reachablePrefixes(repo, refs, env) : new Set<string>()

  // 4. + 5. What the registry holds, and the plan for each repository.
  const plans: RepositoryPlan[] = []
  const buildRepository = buildImageRepository(config)
  plans.push(
    await step(`tags of ${buildRepository}`, async () => {
      const view = await readRegistry(buildRepository, await listTags(buildRepository, api), api, await untaggedOf(buildRepository))
      return planPrune({ repository: buildRepository, view, isCandidate: (t) => CONTENT_TAG.test(t), candidateForm: 'a content tag (40 or 64 hex)', keep: needs.keep, graceCutoff, graceDays, companionSuffix: CACHE_TAG_SUFFIX })
    }),
  )
  if (finalImage) {
    const finalRepository = `${config.registry}/${config.image!.name}`
    plans.push(
      await step(`tags of ${finalRepository}`, async () => {
        const names = await listTags(finalRepository, api)
        const keep = new Map(names.filter((t) => SHA_TAG.test(t) && reachable.has(t.slice(4))).map((t) => [t, ['commit on a branch or tag of origin']]))
        const view = await readRegistry(finalRepository, names, api, await untaggedOf(finalRepository))
        return planPrune({ repository: finalRepository, view, isCandidate: (t) => SHA_TAG.test(t), candidateForm: 'a sha-<12 hex> tag', keep, graceCutoff, graceDays })
      }),
    )
  }
  const output = (deleted: DeletionResult[]) => ({
    registry,
    dryRun: !remove,
    repositories: plans,
    deleted: deleted.map(({ repository, digest, tags, kind, outcome }) => ({ repository, digest, tags, kind, outcome })),
  })
  if (!flags.json) process.stdout.write(plans.map(describePrunePlan).join('\n') + '\n')
  const total = plans.reduce((n, p) => n + p.deletions.length, 0)
  if (!remove) {
    info(`dry run: ${total} manifest(s) would be deleted; nothing was changed (--delete carries it out)`)
    if (flags.json) process.stdout.write(JSON.stringify(output([]), null, 2) + '\n')
    return 0
  }

  // 6. Delete, one digest per request: on any stop (error, interrupt) every tag is either
  //    still there or gone, never half of an index.
  const done: DeletionResult[] = []
  const finished = onInterrupt(() => {
    if (interrupted()) info(`interrupted after deleting ${done.length} of ${total} manifest(s)`)
  })
  try {
    const remove = packages?.deleteManifest ?? ((repositoryRef: string, digest: string) => deleteManifest(repositoryRef, digest, api))
    await executePrune(plans, remove, (result) => {
      done.push(result)
      success(`${result.repository}@${result.digest}: ${result.outcome}${result.tags.length ? ` (${result.tags.join(', ')})` : ` (${result.kind})`}`)
      if (!flags.json) process.stdout.write(`deleted ${result.repository}@${result.digest}\n`)
    })
  } catch (error) {
    info(`deleted ${done.length} of ${total} manifest(s) before the error; every tag is either whole or gone, and a re-run carries on`)
    throw error
  } finally {
    if (flags.json) process.stdout.write(JSON.stringify(output(done), null, 2) + '\n')
    await finished()
  }
  info(`deleted ${done.length} manifest(s); run the registry's garbage collection to free their blobs`)
  return 0
})
