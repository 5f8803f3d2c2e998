// The cosign command lines (lib/image/signature.mts): what is verified against which
// signer, and that secrets never reach argv. The keyless path needs Sigstore's public
// services, out of reach here: its command line is what can be checked offline (the key
// pair path runs for real in tests/integration/signing.test.mts).
import { describe, expect, it } from 'vitest'
import { describeSigner, signArgv, verifyArgv } from '../../lib/image/signature.mts'

const DIGEST = `sha256:${'a'.repeat(64)}`
const identity = 'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main'
const issuer = 'https://token.actions.githubusercontent.com'

describe('cosign command lines', () => {
  it('a key pair: verify against the committed public key, offline (the key is the anchor); sign with the key from the env, never in argv', () => {
    const ref = `ghcr.io/acme/app-build@${DIGEST}`
    expect(verifyArgv({ publicKey: 'keys/cosign.pub' }, ref, '/repo')).toEqual(['verify', '--key', '/repo/keys/cosign.pub', '--insecure-ignore-tlog', ref])
    expect(signArgv({ publicKey: 'keys/cosign.pub' }, ref)).toEqual(['sign', '--yes', '--key', 'env://COSIGN_PRIVATE_KEY', '--tlog-upload=false', ref])
  })

  it('keyless: the exact identity or the pattern, and the issuer; signed with the CI\'s OIDC token and the transparency log', () => {
    const ref = `ghcr.io/acme/app@${DIGEST}`
    expect(verifyArgv({ identity, issuer }, ref, '/repo')).toEqual(['verify', '--certificate-identity', identity, '--certificate-oidc-issuer', issuer, ref])
    expect(verifyArgv({ identityRegexp: '^https://x$', issuer }, ref, '/repo')).toEqual(['verify', '--certificate-identity-regexp', '^https://x$', '--certificate-oidc-issuer', issuer, ref])
    expect(signArgv({ identity, issuer }, ref)).toEqual(['sign', '--yes', ref])
  })

  it('a registry on loopback speaks plain HTTP: --allow-insecure-registry there only', () => {
    for (const host of ['127.0.0.1:5000', 'localhost:5000']) {
      expect(verifyArgv({ publicKey: 'cosign.pub' }, `${host}/x@${DIGEST}`, '/r')).toContain('--allow-insecure-registry')
      expect(signArgv({ publicKey: 'cosign.pub' }, `${host}/x@${DIGEST}`)).toContain('--allow-insecure-registry')
    }
    expect(verifyArgv({ publicKey: 'cosign.pub' }, `registry.example.com/x@${DIGEST}`, '/r')).not.toContain('--allow-insecure-registry')
  })

  it('names the signer in warnings', () => {
    expect(describeSigner({ publicKey: 'cosign.pub' })).toBe('the key cosign.pub')
    expect(describeSigner({ identity, issuer })).toBe(`${identity} (issuer ${issuer})`)
    expect(describeSigner({ identityRegexp: '^x$', issuer })).toBe(`an identity matching ^x$ (issuer ${issuer})`)
  })
})
