// The real cosign, for the signature tests: key pairs made offline, images signed and
// verified by digest against the test registry (plain HTTP on loopback).
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { tempDir } from './repo.mts'

export const COSIGN_HINT = 'install cosign 2 (`apt-get install -y cosign/trixie`, as .ci/setup-env.sh does)'

/** Integration tests of signatures call this first: without cosign they fail saying how to install it, never skip. */
export function requireCosign(): void {
  const out = spawnSync('cosign', ['version'], { stdio: 'pipe' })
  if (out.status !== 0) throw new Error(`cosign is not installed (cosign version failed): ${COSIGN_HINT}`)
}

export interface KeyPair {
  dir: string
  /** The public key's content (cosign.pub). */
  publicKey: string
  /** The encrypted private key's content (cosign.key), as COSIGN_PRIVATE_KEY carries it. */
  privateKey: string
  password: string
}

/** `cosign generate-key-pair` in a temp dir, the password from the env. */
export function keyPair(): KeyPair {
  const dir = tempDir('cbs-cosign-')
  const password = `pw-${Math.random().toString(36).slice(2, 12)}`
  execFileSync('cosign', ['generate-key-pair'], { cwd: dir, env: { ...process.env, COSIGN_PASSWORD: password }, stdio: 'pipe' })
  return { dir, publicKey: fs.readFileSync(path.join(dir, 'cosign.pub'), 'utf8'), privateKey: fs.readFileSync(path.join(dir, 'cosign.key'), 'utf8'), password }
}

/** Sign `repository@digest` with `keys` (what the publishing job does, or an impostor with another key). */
export function sign(pinned: string, keys: KeyPair): void {
  execFileSync('cosign', ['sign', '--yes', '--key', path.join(keys.dir, 'cosign.key'), '--tlog-upload=false', '--allow-insecure-registry', pinned], {
    env: { ...process.env, COSIGN_PASSWORD: keys.password },
    stdio: 'pipe',
  })
}

/** cosign verify's exit code for `repository@digest` against `keys`' public key: 0 valid, 12 no matching signature. */
export function verify(pinned: string, keys: KeyPair): number | null {
  return spawnSync('cosign', ['verify', '--key', path.join(keys.dir, 'cosign.pub'), '--insecure-ignore-tlog', '--allow-insecure-registry', pinned], { stdio: 'pipe' }).status
}
