// CI configs that must name the build image statically (CircleCI's docker executor, a
// `container:` in GitHub Actions): find the references whose tag is not the current
// one (`image-tag --check-refs`) and rewrite them in place (`--write-refs`).
//
// A reference is pinned by digest once the registry has its tag
// (`…-build:<tag>@sha256:<digest>`): what a job pulls is then exactly the image the
// commit names, whoever pushes to that tag later. The digest exists only after the
// default branch has pushed the image, so a new tag is first written by tag alone; the
// check accepts that while the registry does not have the tag yet, and asks for the pin
// (`--write-refs`) once it does. A pin whose tag the registry now gives another digest
// means the content tag was overwritten: reported, and never re-pinned automatically.
import { fs, path } from 'zx'
import type { SigningConfig } from '../core/config.mts'
import { retrySettings } from '../core/retries.mts'
import { warn } from '../core/log.mts'
import { isAnonymousReadRefusal, manifestDigest, parseImageRef, registryCredentials, RegistryUnavailableError } from './registry.mts'
import { describeSigner, type Verifier } from './signature.mts'

/**
 * What a reference is, after the check:
 *   pinned         the current tag, pinned by the digest the registry has for it
 *   awaiting-push  the current tag alone, not in the registry yet (the default branch pushes it)
 *   unverified     the current tag; its registry could not be asked (see `reason`)
 *   local          the current tag; no registry was asked (none named, or no lookup given)
 *   stale          another tag: an input of the build image changed
 *   unpinned       the current tag alone, though the registry has it: pin its digest
 *   overwritten    the current tag pinned by a digest the registry no longer gives it
 */
export type RefStatus = 'pinned' | 'awaiting-push' | 'unverified' | 'local' | 'stale' | 'unpinned' | 'overwritten'

/** The statuses `--check-refs` fails on. */
export const REF_PROBLEMS: RefStatus[] = ['stale', 'unpinned', 'overwritten']

export interface RefFinding {
  file: string
  line: number
  /** The reference as the file has it. */
  found: string
  status: RefStatus
  /** The registry's digest for the current tag, when it was asked and has it. */
  registryDigest?: string
  /** Why the registry could not be asked (status `unverified`). */
  reason?: string
  /** What `--write-refs` puts in its place (stale and unpinned references). */
  wanted?: string
}

/**
 * The digest a registry has for a full reference (`ghcr.io/acme/app-build:<tag>`), or
 * null when it has no such tag. Throw RegistryLookupError when the registry cannot be
 * asked (no read access without credentials, unavailable): the reference is then
 * `unverified`. Anything else thrown stops the check.
 */
export type DigestLookup = (ref: string) => Promise<string | null>

/** The registry could not be asked; the check goes on without the digest, saying so. */
export class RegistryLookupError extends Error {}

/**
 * Ask each reference's own registry (the one the CI config names, which is what the job
 * pulls from), with the credentials used everywhere else: REGISTRY_USERNAME and
 * REGISTRY_PASSWORD only when that registry is the configured one (`configured`: a CI file
 * can name any host in front of the image, and that host must not get them), else what the
 * Docker config holds for that host, anonymously without them. A registry that
 * refuses an anonymous read, or stays unavailable after the retries, makes the reference
 * `unverified`; a refusal of credentials is an error. With `signing` configured
 * (`verify`), a digest without a valid signature is no digest: the tag counts as not
 * pushed yet, so it is never pinned.
 */
export function registryDigestLookup(env: NodeJS.ProcessEnv, configured: string | undefined, verify?: { verifier: Verifier; signing: SigningConfig }): DigestLookup {
  return async (ref) => {
    const { registry } = parseImageRef(ref)
    const credentials = registryCredentials(registry, env, configured)
    try {
      const digest = await manifestDigest(ref, { credentials, ...retrySettings(env), what: ref })
      if (digest && verify && !(await verify.verifier(ref.slice(0, ref.lastIndexOf(':')), digest))) {
        warn(`${ref} (${digest}) has no valid signature from ${describeSigner(verify.signing)}: NOT TRUSTED, treated as not pushed yet (never pinned); the publishing job replaces it`)
        return null
      }
      return digest
    } catch (error) {
      if (error instanceof RegistryUnavailableError) throw new RegistryLookupError(error.message)
      if (!credentials && isAnonymousReadRefusal(error)) {
        throw new RegistryLookupError(`registry ${registry} refused an anonymous read (HTTP ${error.status}); set REGISTRY_USERNAME and REGISTRY_PASSWORD to check the digest`)
      }
      throw error
    }
  }
}

/** The CI config files that may pin the build image: CircleCI's and GitHub Actions'. */
export async function ciConfigFiles(root: string): Promise<string[]> {
  const candidates = ['.circleci/config.yml', '.circleci/config.yaml']
  const workflows = path.join(root, '.github/workflows')
  if (await fs.pathExists(workflows)) {
    for (const name of (await fs.readdir(workflows)).sort()) {
      if (/\.ya?ml$/.test(name)) candidates.push(`.github/workflows/${name}`)
    }
  }
  const present: string[] = []
  for (const file of candidates) if (await fs.pathExists(path.join(root, file))) present.push(file)
  return present
}

// The reference with what precedes the repository: in local-only mode (no registry
// configured, as in this repository's own build.config.json, where CI names the registry
// through REGISTRY) the repository is the bare name, and a CI config still names the
// image under its registry, which is the one to ask for the digest.
//   1: registry and path before the repository (may be empty)  2: tag  3: digest
function refPattern(repository: string): RegExp {
  const escaped = repository.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(
    `(?<![\\w.:/@-])((?:[a-z0-9.-]+(?::\\d+)?/)*?)${escaped}:([0-9a-f]{40}(?:[0-9a-f]{24})?)(?:@(sha256:[0-9a-f]{64}))?(?![\\w.:@-])`,
    'g',
  )
}

/**
 * A reference names a registry when its first component is a host (has `.` or `:`, or
 * is localhost): whether that comes before the repository (local-only mode) or is part
 * of it (a registry configured).
 */
function namesRegistry(ref: string): boolean {
  const first = ref.split('/')[0]
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
}

/**
 * Find every reference to the build image `repository` in the CI configs and say what
 * each is (RefStatus), asking `lookup` for the digest of the current tag when given and
 * the reference names a registry. With `write`, stale and unpinned references are
 * rewritten in place to the current tag, pinned by digest when the registry has it
 * (nothing else in the file changes); an overwritten pin is left as it is.
 */
export async function syncRefs(root: string, repository: string, tag: string, write: boolean, lookup?: DigestLookup) {
  const refs: RefFinding[] = []
  const digests = new Map<string, Promise<{ digest: string | null } | { reason: string }>>()
  const ask = (ref: string) => {
    if (!digests.has(ref)) {
      digests.set(
        ref,
        lookup!(ref).then(
          (digest) => ({ digest }),
          (error) => {
            if (error instanceof RegistryLookupError) return { reason: error.message }
            throw error
          },
        ),
      )
    }
    return digests.get(ref)!
  }

  for (const file of await ciConfigFiles(root)) {
    const full = path.join(root, file)
    const text: string = await fs.readFile(full, 'utf8')
    const lines = text.split('\n')
    const replacements = new Map<string, string>()
    for (const [i, line] of lines.entries()) {
      for (const m of line.matchAll(refPattern(repository))) {
        const [found, prefix, foundTag, pinned] = m
        const current = `${prefix}${repository}:${tag}`
        const finding: RefFinding = { file, line: i + 1, found, status: 'local' }
        let registryDigest: string | null | undefined
        if (lookup && namesRegistry(current)) {
          const answer = await ask(current)
          if ('reason' in answer) finding.reason = answer.reason
          else registryDigest = answer.digest
          if (registryDigest) finding.registryDigest = registryDigest
        }
        const wanted = registryDigest ? `${current}@${registryDigest}` : current
        if (foundTag !== tag) finding.status = 'stale'
        else if (finding.reason) finding.status = 'unverified'
        else if (registryDigest === undefined) finding.status = 'local'
        else if (!pinned) finding.status = registryDigest ? 'unpinned' : 'awaiting-push'
        // A pin whose tag the registry no longer has (pruned) still pulls by digest.
        else finding.status = registryDigest && registryDigest !== pinned ? 'overwritten' : 'pinned'
        if (finding.status === 'stale' || finding.status === 'unpinned') {
          finding.wanted = wanted
          replacements.set(found, wanted)
        }
        refs.push(finding)
      }
    }
    if (write && replacements.size) {
      const rewritten = text.replace(refPattern(repository), (m) => replacements.get(m) ?? m)
      await fs.writeFile(full, rewritten)
    }
  }
  const stale = refs.filter((r) => REF_PROBLEMS.includes(r.status))
  return { refs, stale, current: refs.length - stale.length }
}
