// The registry client's pure parsing, at its edges: image references, loopback hosts and
// base URLs, WWW-Authenticate challenges (the common cases are in tests/unit/registry.test.mts).
import { describe, expect, it } from 'vitest'
import { checkedDigest, isLoopback, parseImageRef, parseWwwAuthenticate, registryBaseUrl } from '../../lib/image/registry.mts'

const DIGEST = 'sha256:' + 'c'.repeat(64)

describe('parseImageRef at its edges', () => {
  it('trims, and reads a digest with or without a tag', () => {
    expect(parseImageRef('  ghcr.io/acme/x:1 \n')).toEqual({ registry: 'ghcr.io', repository: 'acme/x', tag: '1' })
    expect(parseImageRef(`ghcr.io/acme/x:1@${DIGEST}`)).toEqual({ registry: 'ghcr.io', repository: 'acme/x', tag: '1', digest: DIGEST })
    expect(parseImageRef(`busybox@${DIGEST}`)).toEqual({ registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: DIGEST })
    expect(() => parseImageRef('   ')).toThrow('empty image reference')
    expect(() => parseImageRef(`@${DIGEST}`)).toThrow('not a valid image reference: "@sha256:')
  })

  it('a port is not a tag; the first component is a host only with ".", ":" or localhost, and only before a "/"', () => {
    expect(parseImageRef('reg:5000/app')).toEqual({ registry: 'reg:5000', repository: 'app', tag: 'latest' })
    expect(parseImageRef('my.reg/app')).toEqual({ registry: 'my.reg', repository: 'app', tag: 'latest' })
    expect(parseImageRef('localhost/app:2')).toEqual({ registry: 'localhost', repository: 'app', tag: '2' })
    expect(parseImageRef('localhostx/app')).toEqual({ registry: 'docker.io', repository: 'localhostx/app', tag: 'latest' })
    expect(parseImageRef('acme/app')).toEqual({ registry: 'docker.io', repository: 'acme/app', tag: 'latest' })
    expect(parseImageRef('localhost')).toEqual({ registry: 'docker.io', repository: 'library/localhost', tag: 'latest' })
    expect(parseImageRef('registry-1.docker.io/acme/app')).toEqual({ registry: 'docker.io', repository: 'acme/app', tag: 'latest' })
    expect(parseImageRef('registry-1.docker.io/app')).toEqual({ registry: 'docker.io', repository: 'library/app', tag: 'latest' })
  })

  it('repository names as the distribution spec allows them, nothing else', () => {
    for (const ok of ['a', 'a.b', 'a_b', 'a__b', 'a-b', 'a---b', 'a0/b1/c2', 'x.y_z-w/v', 'a/b.c_d--e__f-g']) {
      expect(parseImageRef(`r.io/${ok}`).repository, ok).toBe(ok)
    }
    for (const bad of ['r.io/-a', 'r.io/a-', 'r.io/a..b', 'r.io/a___b', 'r.io/a//b', 'r.io/a/', 'r.io/.a', 'r.io/A', 'r.io/a b', 'r.io/', 'r.io/a/_b']) {
      expect(() => parseImageRef(bad), bad).toThrow(`not a valid image reference: ${JSON.stringify(bad)}`)
    }
  })

  it('tags as Docker allows them: a word character, then up to 127 of word, "." and "-"', () => {
    expect(parseImageRef(`r.io/a:_x.y-${'z'.repeat(123)}`).tag).toHaveLength(128)
    for (const bad of ['r.io/a:', 'r.io/a:.x', 'r.io/a:-x', `r.io/a:${'z'.repeat(129)}`, 'r.io/a:x+y']) {
      expect(() => parseImageRef(bad), bad).toThrow(`not a valid tag in image reference ${JSON.stringify(bad)}`)
    }
  })
})

describe('isLoopback and registryBaseUrl at their edges', () => {
  it('only the whole host name counts', () => {
    for (const yes of ['127.0.0.1', '127.255.255.255:5000', 'localhost', '[::1]']) expect(isLoopback(yes), yes).toBe(true)
    for (const no of ['x127.0.0.1', '127.0.0.1.example', '127.0.0', '1270.0.0.1', '127.0.0.1000', 'localhost.example', 'mylocalhost', '[::2]:5000', 'localhost:5000x']) {
      expect(isLoopback(no), no).toBe(false)
    }
  })

  it('REGISTRY_INSECURE: comma-separated, spaces around names ignored, whole names only', () => {
    expect(registryBaseUrl('a.lan', { REGISTRY_INSECURE: ' a.lan ,b.lan' })).toBe('http://a.lan')
    expect(registryBaseUrl('b.lan', { REGISTRY_INSECURE: 'a.lan,b.lan' })).toBe('http://b.lan')
    expect(registryBaseUrl('a.la', { REGISTRY_INSECURE: 'a.lan' })).toBe('https://a.la')
    expect(registryBaseUrl('x', { REGISTRY_INSECURE: ',,' })).toBe('https://x')
    expect(registryBaseUrl('localhost:5000', {})).toBe('http://localhost:5000')
  })
})

describe('parseWwwAuthenticate at its edges', () => {
  it('lowercases the scheme and the parameter names, not the values', () => {
    expect(parseWwwAuthenticate('  BEARER Realm="https://A/T",Service=Reg')).toEqual({ scheme: 'bearer', params: { realm: 'https://A/T', service: 'Reg' } })
  })
  it('a scheme alone, an empty header, and names with dashes', () => {
    expect(parseWwwAuthenticate('Basic')).toEqual({ scheme: 'basic', params: {} })
    expect(parseWwwAuthenticate('')).toBeUndefined()
    expect(parseWwwAuthenticate('"quoted"')).toBeUndefined()
    expect(parseWwwAuthenticate('Bearer x-y="1" , z = 2')?.params).toEqual({ 'x-y': '1', z: '2' })
  })
  it('an unquoted value stops at a space or a comma; a quoted one may be empty', () => {
    expect(parseWwwAuthenticate('Bearer a=1 b=2,c=""')?.params).toEqual({ a: '1', b: '2', c: '' })
    expect(parseWwwAuthenticate('Bearer a="x\\\\y"')?.params.a).toBe('x\\y')
  })
})

describe('checkedDigest', () => {
  it('passes a sha256 or sha512 digest through, and refuses anything else, quoting it shortened', () => {
    const sha512 = 'sha512:' + 'e'.repeat(128)
    expect(checkedDigest('r.io', 'a header', DIGEST)).toBe(DIGEST)
    expect(checkedDigest('r.io', 'a header', sha512)).toBe(sha512)
    expect(() => checkedDigest('r.io', 'a header', `${DIGEST}/../../final/manifests/1.0.0`)).toThrow(`registry r.io answered a header that is not a digest: "${DIGEST}/../../final/manifests/1.0.0"`)
    expect(() => checkedDigest('r.io', 'a child', 42)).toThrow('registry r.io answered a child that is not a digest: 42')
    expect(() => checkedDigest('r.io', 'a child', [DIGEST])).toThrow(`registry r.io answered a child that is not a digest: ["${DIGEST}"]`)
    expect(() => checkedDigest('r.io', 'a child', undefined)).toThrow('registry r.io answered a child that is not a digest: undefined')
    expect(() => checkedDigest('r.io', 'x', 'y'.repeat(300))).toThrow(new RegExp(`not a digest: "${'y'.repeat(119)}$`))
  })
})
