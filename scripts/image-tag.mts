#!/usr/bin/env zx
// scripts/image-tag.mts: the build image's content tag. Called by pull-or-build and
// test-and-build (through lib/), by CI steps that need the ref, and by people asking
// "why did my tag change?" (`--manifest`).
//   1. Read the flags and build.config.json.
//   2. Hash the declared inputs as they are in the working tree.
//   3. Print the tag (or the ref, the manifest, JSON), or check/rewrite CI configs:
//      each static reference to the build image must have the current tag and, once the
//      registry has that tag, its digest (`<ref>:<tag>@sha256:...`).
import { commandFor, main, parseFlags, PROJECT_FLAGS, WorkError, type CommandSpec } from '../lib/core/cli.mts'
import { openProject } from '../lib/core/project.mts'
import { info, success, warn } from '../lib/core/log.mts'
import { registryDigestLookup, syncRefs, type RefFinding } from '../lib/image/ci-refs.mts'
import { buildImageRepository, computeBuildImageTag } from '../lib/image/content-tag.mts'
import { signatureVerifier } from '../lib/image/signature.mts'

const command = {
  name: 'image-tag',
  about: `
Print the build image's tag: a git object id over the files listed in
buildImage.inputs of build.config.json (working-tree content, so a local change
gives a new tag). Results go to stdout, logs to stderr.
`,
  flags: {
    image: { help: 'print the full ref (<registry>/<name>:<tag>) instead of the tag' },
    manifest: { help: 'print the manifest the tag is the hash of (git ls-tree format)' },
    json: { help: 'print {"tag", "image", "inputs"} as JSON' },
    'check-refs': { help: 'exit 1 if .circleci/config.yml or .github/workflows/*.yml name the build image with another tag (lists the stale lines), or by tag alone though its registry has the tag (the digest must be pinned: <ref>:<tag>@sha256:...), or pinned by a digest the registry\'s tag no longer has (the tag was overwritten). A tag the registry does not have yet (the default branch pushes it after the merge) is accepted by tag alone, saying so.' },
    'write-refs': { help: 'rewrite stale and unpinned references to the current tag, pinned by the registry\'s digest when it has the tag, in place; never changes a pin the registry contradicts (exit 1)' },
    repo: PROJECT_FLAGS.repo,
    config: PROJECT_FLAGS.config,
    registry: PROJECT_FLAGS.registry,
  },
  more: `
Environment (--check-refs, --write-refs):
  REGISTRY_USERNAME, REGISTRY_PASSWORD  credentials to read the digest from the registry
                    a reference names (else the Docker config, else anonymous; a
                    registry that refuses an anonymous read leaves the digest unchecked,
                    with a warning)

Exit codes: 0 ok, 1 --check-refs found stale, unpinned or overwritten references (or
--write-refs met an overwritten one), 2 bad usage or config.
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags and config.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const { repo, config } = await openProject(flags)

  // 2. The tag.
  const result = await computeBuildImageTag(repo, config)

  // 3. Output, or the CI config references.
  if (flags['check-refs'] || flags['write-refs']) {
    const write = Boolean(flags['write-refs'])
    const name = buildImageRepository(config)
    // With `signing` configured, a digest counts only when its signature verifies.
    const verifier = signatureVerifier(config.signing, { root: repo.root, registry: config.registry })
    const lookup = registryDigestLookup(process.env, config.registry, verifier && { verifier, signing: config.signing! })
    const { refs, stale } = await syncRefs(repo.root, name, result.tag, write, lookup)
    for (const ref of refs) reportRef(ref, write)
    const left = write ? stale.filter((r) => r.status === 'overwritten') : stale
    if (left.length) {
      const files = [...new Set(left.map((s) => s.file))].join(', ')
      throw new WorkError(
        left.every((r) => r.status === 'overwritten')
          ? `the registry contradicts the digest pinned in ${files}: the content tag was pushed over. Find out who pushed it before pinning anything (delete the old digest by hand only once you trust the image)`
          : `build image references to fix in ${files}; run: ${commandFor('image-tag')} --write-refs (and commit)`,
      )
    }
    const fixed = stale.length - left.length
    if (write && fixed) success(`rewrote ${fixed} reference(s) to ${name}:${result.tag}`)
    else if (!stale.length) success(`${refs.length} reference(s) to ${name} are current (${result.tag})`)
  }
  if (flags.json) {
    const { tag, image, inputs } = result
    process.stdout.write(JSON.stringify({ tag, image, inputs }, null, 2) + '\n')
  } else if (flags.manifest) process.stdout.write(result.manifest)
  else if (flags.image) process.stdout.write(result.image + '\n')
  else if (!flags['check-refs'] && !flags['write-refs']) process.stdout.write(result.tag + '\n')
})

/** One line per reference that needs a word: what it is, why, and what to do. */
function reportRef(ref: RefFinding, write: boolean): void {
  const at = `${ref.file}:${ref.line}: ${ref.found}`
  const digest = ref.registryDigest
  switch (ref.status) {
    case 'stale':
      return info(`${at}: not the current tag${write ? `; now ${ref.wanted}` : ` (${ref.wanted} is)`}`)
    case 'unpinned':
      return info(`${at}: named by tag alone, though the registry has it as ${digest}${write ? `; now pinned: ${ref.wanted}` : ': pin the digest (--write-refs)'}`)
    case 'overwritten':
      return warn(`${at}: the registry's tag now points at ${digest}, not the pinned digest: the content tag was pushed over (these scripts never do that)`)
    case 'awaiting-push':
      return info(`${at}: by tag alone, which the registry does not have yet; once the default branch has pushed it, run --write-refs to pin its digest`)
    case 'unverified':
      return warn(`${at}: the digest was not checked: ${ref.reason}`)
    default:
      return
  }
}
