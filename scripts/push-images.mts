#!/usr/bin/env zx
// scripts/push-images.mts: publish the build image and the final image (CircleCI job
// `push-images`, on the default branch and release tags; GitHub Actions `ci.yml`, job
// `push`). Safe to re-run: a tag that already holds this image is left as it is.
//   1. Read the flags and build.config.json (`image` is required, and a registry unless
//      --dry-run: then, without one, both images are built locally and the tags shown).
//   2. Decide the tags from git and the CI's env (lib/publish/release-tags.mts); a release also
//      counts the versions the registry already has, and is refused unless its commit is
//      on the default branch or a release branch (lib/publish/release-branches.mts).
//   3. Check access to the registry (read, and push) before any slow build, and what it
//      holds for this commit. Without credentials, a registry that refuses anonymous reads
//      is read as empty (a warning): the push check then fails, naming the push. On ECR
//      first: each repository exists (created when ecr.createRepositories says so), and
//      its tag mutability is known (lib/image/ecr.mts). Without a registry: nothing to ask.
//   4. Make the build image available (pulled or built, as pull-or-build does).
//   5. Build the final image FROM the build image, with VERSION and the OCI labels, or
//      reuse the image an earlier run published for this very commit.
//   6. Compare each ref with the registry: create, update, unchanged or refuse; a moving
//      tag an immutable ECR repository would refuse to move is skipped, with a warning,
//      unless ecr.moveTags names it (lib/publish/immutable-tags.mts). With
//      `signing` configured, a build image under the content tag whose signature does not
//      verify was pushed by someone else: replaced (and step 4 did not use it). Without
//      a registry: nothing to compare with; the refs are shown as built locally.
//   7. Push (unless --dry-run); print each ref with its digest. A move ECR refuses is
//      reported as such (exit 1) after the other pushes.
//   8. With `signing` configured, sign the build image and the final image by digest
//      (cosign: COSIGN_PRIVATE_KEY and COSIGN_PASSWORD, or keyless with the CI's OIDC token).
import path from 'node:path'
import { main, parseFlags, PROJECT_FLAGS, UsageError, WorkError, type CommandSpec } from '../lib/core/cli.mts'
import { openProject } from '../lib/core/project.mts'
import { ensureBuildImage } from '../lib/image/build-image.mts'
import { assertDockerAvailable, build, imageId, localImageContent, pull, tagImage, withLogin } from '../lib/image/docker.mts'
import { resolveGitState } from '../lib/publish/git-state.mts'
import { info, listFew, seconds, step, success, warn } from '../lib/core/log.mts'
import {
  checkFinalImageFiles,
  describeLocalOnly,
  describePlan,
  executePlan,
  finalImage,
  imagesToSign,
  localOnlyImages,
  mayReuse,
  PAST_TENSE,
  planPublish,
  publishedSummary,
  publishFailure,
  publishJson,
  refusalMessage,
  type PublishResult,
} from '../lib/publish/publish-plan.mts'
import { retrySettings } from '../lib/core/retries.mts'
import { checkPushAccess, envCredentials, listTags, parseImageRef, publishedImage, readUnlessRefused, registryCredentials } from '../lib/image/registry.mts'
import { decideTags, mayBeLatest, ociLabels } from '../lib/publish/release-tags.mts'
import { signatureVerifier, signImage } from '../lib/image/signature.mts'
import { checkReleaseSource, releaseBranchGlobs } from '../lib/publish/release-branches.mts'
import { buildImageRepository } from '../lib/image/content-tag.mts'
import { ecrSettings, explainImmutablePush, isImmutableRefusal, prepareRepositories, skippedMoveWarning, type RepositoryMutability } from '../lib/image/ecr.mts'
import { holdImmutableTags } from '../lib/publish/immutable-tags.mts'

const command = {
  name: 'push-images',
  about: `
Build the final image (image.dockerfile, FROM the build image) and push it, with the
build image, under the tags the commit earns:
  release tag vX.Y.Z   X.Y.Z, and latest unless a pre-release or older than the
                       highest release tagged; only when its commit is on the default
                       branch or a release branch (releaseBranches), else exit 1
  default branch       sha-<12 hex> and the branch name
  other branches, PRs  nothing, unless --force-branch
A tag that already holds the same image is left unchanged; a release tag holding
another image is refused (exit 1) unless --allow-overwrite.

Results on stdout: one <ref>@<digest> line per published ref (or JSON with --json;
the plan with --dry-run). Logs on stderr.
`,
  flags: {
    'dry-run': { help: 'build and compare with the registry, print the plan, push nothing (without a registry: build and tag locally, print the tags)' },
    'force-branch': { help: 'also push other branches (sha-<12 hex>, <branch>), PRs (pr-<N>) and detached commits (sha-<12 hex>)' },
    'allow-overwrite': { help: 'replace a release tag that holds another image' },
    json: { help: 'print {"version", "revision", "ref", "reason", "images": [...]}' },
    repo: PROJECT_FLAGS.repo,
    config: PROJECT_FLAGS.config,
    registry: { type: 'string', value: 'HOST', help: 'the registry (env: REGISTRY; required, except with --dry-run)' },
  },
  more: `
Env: REGISTRY, REGISTRY_USERNAME and REGISTRY_PASSWORD (else an existing docker login),
REGISTRY_RETRIES, REGISTRY_RETRY_DELAY_MS; on CI, GITHUB_REF or CIRCLE_TAG,
CIRCLE_BRANCH, CIRCLE_PULL_REQUEST name what is being built. With "signing" in
build.config.json: COSIGN_PRIVATE_KEY and COSIGN_PASSWORD (signing.publicKey), or the
CI's OIDC token (signing.identity: GitHub Actions with id-token: write). On Amazon
ECR (an ECR host, or the "ecr" section): the AWS SDK's own chain for the ECR API
(AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...;
AWS_ENDPOINT_URL_ECR), which creates missing repositories (ecr.createRepositories)
and reads which tags may move (a moving tag an IMMUTABLE repository keeps is skipped
with a warning, unless ecr.moveTags names it).

Exit codes: 0 pushed (or nothing to push), 1 a push failed, a release tag was
refused (also with --dry-run), a missing ECR repository not to be created, or a move
ECR refused, 2 bad usage or config.
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags and config.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const dryRun = Boolean(flags['dry-run'])
  const env = process.env
  const { repo, config } = await openProject(flags, env)
  const image = finalImage(config, { localOnly: dryRun })
  checkFinalImageFiles(repo.root, image)
  const finalRepository = image.repository
  if (Boolean(env.REGISTRY_USERNAME) !== Boolean(env.REGISTRY_PASSWORD)) {
    throw new UsageError('set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither (to use an existing docker login)')
  }
  if (config.signing?.publicKey && !dryRun && (!env.COSIGN_PRIVATE_KEY || !env.COSIGN_PASSWORD)) {
    throw new UsageError('build.config.json signs with a key pair (signing.publicKey): set COSIGN_PRIVATE_KEY (the private key\'s content) and COSIGN_PASSWORD in the publishing job')
  }
  const retry = retrySettings(env)
  const registry = config.registry ? parseImageRef(finalRepository).registry : undefined
  const credentials = registry ? registryCredentials(registry, env, registry) : undefined
  const api = { credentials, ...retry }
  // Without credentials, a read refused with 401/403 means "not readable to me" (as in
  // pull-or-build): read as an empty registry, with a warning. Pushing needs credentials
  // anyway: the push check of step 3 fails then, naming the push; a --dry-run goes on.
  const reads = {
    credentials,
    onRefused: (status: number) => warn(`cannot read ${finalRepository} without credentials (${registry} answered HTTP ${status}): the registry is taken to hold none of these images; set REGISTRY_USERNAME and REGISTRY_PASSWORD`),
  }

  // 2. What is being built, and its tags. A release also counts the versions already in
  //    the registry: a CI clone without tags must not move `latest` backwards.
  const state = await resolveGitState({ repo: repo.root, env, defaultBranch: config.defaultBranch })
  const versionsRead = registry && mayBeLatest(state.ref) ? await readUnlessRefused(() => listTags(finalRepository, api), [], reads) : { value: [] }
  const decision = decideTags({
    ref: state.ref,
    sha: state.sha,
    defaultBranch: state.defaultBranch,
    existingTags: [...state.versionTags, ...versionsRead.value.map((tag) => `v${tag}`)],
    forceBranch: Boolean(flags['force-branch']),
  })
  info(`${state.sha.slice(0, 12)}: ${decision.reason}`)
  const output = (images: PublishResult[]) => publishJson({ decision, revision: state.sha, ref: state.ref, dryRun }, images)
  const printJson = (document: object) => process.stdout.write(JSON.stringify(document, null, 2) + '\n')
  if (decision.tags.length === 0) {
    if (flags.json) printJson(output([]))
    return 0
  }
  // A release only from a commit on the default branch or a release branch: a tag alone
  // (anyone who may push one) must not be enough to publish a version and `latest`.
  if (decision.tags.some((t) => t.kind === 'version') && state.ref.kind === 'tag') {
    const branch = await checkReleaseSource({
      repo: repo.root,
      tag: state.ref.name,
      sha: state.sha,
      defaultBranch: state.defaultBranch,
      releaseBranches: releaseBranchGlobs(config),
      shallow: state.shallow,
    })
    info(`${state.ref.name} is on ${branch}`)
  }
  if (state.dirty) warn(`the working tree has uncommitted changes (${listFew(state.changes)}): the image is built from them, not from the commit alone; commit them, or ignore build outputs in .gitignore`)
  if (state.shallow && mayBeLatest(state.ref)) {
    info('a shallow clone may lack release tags not yet in the registry, which also decide `latest` (fetch-depth: 0, or git fetch --tags)')
  }
  const refs = decision.tags.map((t) => `${finalRepository}:${t.tag}`)

  // 3. The registry answers and accepts our credentials (from env or a docker login); what
  //    it holds under the first tag tells whether an earlier run published this commit.
  //    On ECR first: the repositories exist (created when asked), their mutability known.
  //    In local-only mode (a dry run without a registry, as the go-app example starts)
  //    there is no registry to ask.
  await assertDockerAvailable()
  const ecr = registry ? ecrSettings(registry, config) : undefined
  const ecrNames = [buildImageRepository(config), finalRepository].map((r) => parseImageRef(r).repository)
  const repositories =
    registry && ecr
      ? await step(`ECR repositories ${ecrNames.join(', ')}${ecr.createRepositories ? ' (created if missing)' : ''}`, () =>
          prepareRepositories({ registry, repositories: ecrNames, settings: ecr, create: !dryRun, env }),
        )
      : new Map<string, RepositoryMutability>()
  const publishedRead = registry
    ? await step(`registry ${registry} answers${credentials ? ` (as ${credentials.username})` : ''}${dryRun ? '' : ' and lets us push'}`, async () => {
        const found = versionsRead.refused ? { value: null, refused: versionsRead.refused } : await readUnlessRefused(() => publishedImage(refs[0], api), null, reads)
        // A refused push is a clear error now, not a docker push retrying for a minute later.
        if (!dryRun) await checkPushAccess(refs[0], api)
        return found
      })
    : { value: null }
  const published = publishedRead.value

  // Pulls and pushes log in from REGISTRY_USERNAME / REGISTRY_PASSWORD with a temporary
  // Docker config (--password-stdin); without them, the user's docker login is used.
  return withLogin(registry, registry ? envCredentials(env, registry) : undefined, async (dockerOptions) => {
    // 4. The build image.
    const buildImage = await ensureBuildImage({ repo, config, push: false, env, ...retry })

    // 5. The final image: the one an earlier run published for this commit (maybe on
    //    another runner, where a rebuild differs in timestamps), else a new build.
    const final = mayReuse(published, { revision: state.sha, version: decision.version, dirty: state.dirty, allowOverwrite: flags['allow-overwrite'] })
      ? await step(`reuse ${refs[0]}: this commit's image, published by an earlier run`, async () => {
          const pinned = `${finalRepository}@${published.digest}`
          await pull(pinned, { ...dockerOptions, ...retry })
          for (const ref of refs) await tagImage(pinned, ref)
          return { id: published.configDigest, reused: published.digest }
        })
      : await step(`build ${finalRepository} (VERSION=${decision.version})`, async () => {
          const built = await build({
            context: path.resolve(repo.root, image.context),
            dockerfile: path.resolve(repo.root, image.dockerfile),
            tags: refs,
            buildArgs: { BUILD_IMAGE: buildImage.ref, VERSION: decision.version },
            labels: ociLabels({ sha: state.sha, version: decision.version, commitTime: state.commitTime, sourceUrl: state.sourceUrl }),
          })
          return { id: built.id, reused: undefined }
        })

    // 6. The plan: each ref against what the registry has. In local-only mode there is
    //    nothing to compare with: the images are built and tagged, and shown as such.
    if (!registry) {
      info('dry run in local-only mode (no registry configured): the images are built and tagged in the local daemon; set REGISTRY to compare and push')
      const local = [{ ref: buildImage.ref, kind: 'build-image' as const }, ...decision.tags.map((t, i) => ({ ref: refs[i], kind: t.kind }))]
      if (flags.json) printJson({ ...output([]), images: localOnlyImages(local) })
      else process.stdout.write(describeLocalOnly(local) + '\n')
      return 0
    }
    const buildImageId = await imageId(buildImage.ref)
    if (!buildImageId) throw new WorkError(`the build image ${buildImage.ref} vanished from the local daemon`)
    const verify = signatureVerifier(config.signing, { root: repo.root, env, configDir: dockerOptions.configDir })
    const [buildContent, finalContent] = await Promise.all([localImageContent(buildImage.ref), localImageContent(refs[0])])
    const planned = await planPublish(
      [
        { ref: buildImage.ref, kind: 'build-image', imageId: buildImageId, content: buildContent ?? undefined },
        ...decision.tags.map((t, i) => ({ ref: refs[i], kind: t.kind, imageId: final.id, content: finalContent ?? undefined })),
      ],
      { ...api, allowOverwrite: Boolean(flags['allow-overwrite']), assumeAbsent: Boolean(publishedRead.refused), verify },
    )
    const plan = holdImmutableTags(planned, repositories, ecr?.moveTags ?? [])
    for (const p of plan) if (p.action === 'skip') warn(skippedMoveWarning(p.ref, repositories.get(parseImageRef(p.ref).repository)!))
    const refused = plan.filter((p) => p.action === 'refuse')
    if (dryRun) {
      info('dry run: the plan below; nothing was pushed')
      if (flags.json) printJson(output(plan.map((p) => ({ ...p, digest: null }))))
      else process.stdout.write(describePlan(plan) + '\n')
      if (refused.length) throw new WorkError(refusalMessage(refused))
      return 0
    }

    // 7. Push, in order: the build image, the immutable tags, then the moving ones.
    const started = performance.now()
    const done: PublishResult[] = []
    try {
      await executePlan(plan, {
        ...dockerOptions,
        ...retry,
        // The reused image's tags are written in the registry from its manifest (an index
        // from the containerd store cannot be pushed from a pull that fetched one platform).
        reuse: final.reused ? { digest: final.reused, api } : undefined,
        isRefusal: (entry, error) => Boolean(entry.immutable) && isImmutableRefusal(error),
        onDone: (result) => {
          done.push(result)
          if (result.action === 'refuse') return
          success(`${result.ref}: ${PAST_TENSE[result.action]} (${result.digest})`)
          if (!flags.json) process.stdout.write(`${result.ref}@${result.digest}\n`)
        },
      })
    } catch (error) {
      throw explainImmutablePush(error, repositories)
    } finally {
      if (flags.json) printJson(output(done))
    }
    info(`${publishedSummary(done)} in ${seconds(performance.now() - started)}`)
    const failure = publishFailure(refused, done)
    if (failure) throw new WorkError(failure)

    // 8. Sign what the publishing job vouches for, by digest: the build image and the
    //    final image (one digest under all its tags), unless already signed.
    if (config.signing && verify) {
      for (const { repository, digest } of imagesToSign(done)) {
        if (await verify(repository, digest)) continue
        await step(`sign ${repository}@${digest}`, () => signImage(config.signing!, repository, digest, { root: repo.root, env, configDir: dockerOptions.configDir }))
      }
    }
    return 0
  })
})
