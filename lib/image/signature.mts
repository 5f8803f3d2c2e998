// Image signatures, with cosign. A content tag is predictable from the inputs, so anyone
// who may push to the repository (a workflow on any branch with `packages: write`) can
// push an image under the tag of a change not merged yet; main would then see the tag,
// pull it, build releases FROM it and pin its digest. With `signing` in
// build.config.json the publishing job signs what it pushes, by digest, and every reader
// checks that signature before it trusts an image under a content tag: one without a
// valid signature from the configured key or identity is treated as absent (a loud
// warning; it is built locally, and the publishing job replaces it).
//
//   key pair:  cosign sign --key env://COSIGN_PRIVATE_KEY --tlog-upload=false (COSIGN_PASSWORD in env)
//              cosign verify --key <publicKey> --insecure-ignore-tlog (the key is the trust anchor)
//   keyless:   cosign sign (the CI's OIDC token: GitHub Actions with `id-token: write`)
//              cosign verify --certificate-identity[-regexp] <identity> --certificate-oidc-issuer <issuer>
//
// Secrets never reach argv: the private key and its password travel in cosign's env.
// Registry credentials: the Docker config cosign reads (DOCKER_CONFIG), as for docker.
import path from 'node:path'
import { $ } from 'zx'
import { WorkError } from '../core/cli.mts'
import type { SigningConfig } from '../core/config.mts'
import { redact, registerSecret, warn } from '../core/log.mts'
import { withLogin } from './docker.mts'
import { envCredentials, isLoopback, parseImageRef } from './registry.mts'

/** Whether `repository@digest` carries a valid signature from the configured signer. */
export type Verifier = (repository: string, digest: string) => Promise<boolean>

/** Where the public key is read from, and the env of cosign (DOCKER_CONFIG for the registry's credentials). */
export interface SignatureOptions {
  /** The repository root: `signing.publicKey` is relative to it. */
  root: string
  env?: NodeJS.ProcessEnv
  /** A Docker config directory holding the registry login (docker.withLogin's), else the user's. */
  configDir?: string
  /** The configured registry: the only one REGISTRY_USERNAME / REGISTRY_PASSWORD go to. */
  registry?: string
}

/** `cosign verify` once an image's digest is known (the ref is always pinned by digest). */
export function verifyArgv(signing: SigningConfig, pinned: string, root: string): string[] {
  const who = signing.publicKey
    ? ['--key', path.resolve(root, signing.publicKey), '--insecure-ignore-tlog']
    : [...(signing.identity ? ['--certificate-identity', signing.identity] : ['--certificate-identity-regexp', signing.identityRegexp!]), '--certificate-oidc-issuer', signing.issuer!]
  return ['verify', ...who, ...insecure(pinned), pinned]
}

/** `cosign sign` of an image by digest; with a key pair, the key comes from COSIGN_PRIVATE_KEY in cosign's env. */
export function signArgv(signing: SigningConfig, pinned: string): string[] {
  const how = signing.publicKey ? ['--key', 'env://COSIGN_PRIVATE_KEY', '--tlog-upload=false'] : []
  return ['sign', '--yes', ...how, ...insecure(pinned), pinned]
}

// A registry on loopback speaks plain HTTP (as docker and the registry client allow).
function insecure(pinned: string): string[] {
  return isLoopback(parseImageRef(pinned).registry) ? ['--allow-insecure-registry'] : []
}

function pinnedRef(repository: string, digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new WorkError(`not a sha256 digest: ${JSON.stringify(digest)}`)
  return `${repository}@${digest}`
}

function cosignEnv(options: SignatureOptions): NodeJS.ProcessEnv {
  const env = { ...(options.env ?? process.env) }
  if (options.configDir) env.DOCKER_CONFIG = options.configDir
  return env
}

/** cosign on PATH, asked once per process. */
let installed: Promise<boolean> | undefined
export function cosignInstalled(): Promise<boolean> {
  installed ??= $({ quiet: true, nothrow: true })`cosign version`.then((out) => out.exitCode === 0)
  return installed
}

const INSTALL_HINT = 'install cosign 2 (Debian: apt-get install cosign; or sigstore/cosign-installer on GitHub Actions)'

/**
 * A Verifier for `signing`, or undefined when the config asks for no signatures. Each
 * `repository@digest` is verified once per process. Without cosign, nothing verifies
 * (every image is treated as unsigned, with one warning saying why): never a pass.
 */
export function signatureVerifier(signing: SigningConfig | undefined, options: SignatureOptions): Verifier | undefined {
  if (!signing) return undefined
  const answers = new Map<string, Promise<boolean>>()
  let warned = false
  return (repository, digest) => {
    const pinned = pinnedRef(repository, digest)
    if (!answers.has(pinned)) {
      answers.set(
        pinned,
        (async () => {
          if (!(await cosignInstalled())) {
            if (!warned) warn(`build.config.json asks for signed images (signing), but cosign is not installed: no image's signature can be checked, so none is trusted; ${INSTALL_HINT}`)
            warned = true
            return false
          }
          // REGISTRY_USERNAME / REGISTRY_PASSWORD reach cosign as a temporary Docker config, as for docker pull.
          const { registry } = parseImageRef(pinned)
          const out = await withLogin(registry, options.configDir ? undefined : envCredentials(options.env ?? process.env, options.registry), ({ configDir }) =>
            $({ quiet: true, nothrow: true, env: cosignEnv({ ...options, configDir: configDir ?? options.configDir }) })`cosign ${verifyArgv(signing, pinned, options.root)}`,
          )
          return out.exitCode === 0
        })(),
      )
    }
    return answers.get(pinned)!
  }
}

/** Who signs, in words: `the key cosign.pub`, `https://github.com/... (issuer ...)`. */
export function describeSigner(signing: SigningConfig): string {
  if (signing.publicKey) return `the key ${signing.publicKey}`
  return `${signing.identity ?? `an identity matching ${signing.identityRegexp}`} (issuer ${signing.issuer})`
}

/**
 * The loud warning of a reader that found an image under a content tag without a valid
 * signature: what it does instead, and who fixes it.
 */
export function warnUnsigned(ref: string, digest: string, signing: SigningConfig, instead: string): void {
  warn(`${ref} (${digest}) has no valid signature from ${describeSigner(signing)}: NOT TRUSTED, treated as absent; ${instead}. Someone pushed it without the publishing job's signature (a forged or an unsigned image); the publishing job replaces it`)
}

/**
 * Sign `repository@digest` as the configured signer. A key pair needs COSIGN_PRIVATE_KEY
 * (the key file's content) and COSIGN_PASSWORD in the env; keyless signing needs the
 * CI's OIDC token (on GitHub Actions: `permissions: id-token: write`).
 */
export async function signImage(signing: SigningConfig, repository: string, digest: string, options: SignatureOptions): Promise<void> {
  const pinned = pinnedRef(repository, digest)
  const env = cosignEnv(options)
  if (!(await cosignInstalled())) throw new WorkError(`cannot sign ${pinned}: cosign is not installed; ${INSTALL_HINT}`)
  if (signing.publicKey) {
    if (!env.COSIGN_PRIVATE_KEY) {
      throw new WorkError(`cannot sign ${pinned}: build.config.json signs with a key pair (signing.publicKey), so set COSIGN_PRIVATE_KEY (the private key's content) and COSIGN_PASSWORD in the publishing job's secrets`)
    }
    registerSecret(env.COSIGN_PRIVATE_KEY)
    registerSecret(env.COSIGN_PASSWORD)
  }
  const out = await $({ quiet: true, nothrow: true, env })`cosign ${signArgv(signing, pinned)}`
  if (out.exitCode !== 0) {
    const detail = redact((out.stderr.trim() || out.stdout.trim()).split('\n').slice(-3).join('\n'))
    throw new WorkError(`cosign sign ${pinned} failed (exit ${out.exitCode}): ${detail}`)
  }
}
