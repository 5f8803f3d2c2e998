// A registry that refuses anonymous reads, the way GHCR, Docker Hub and Artifactory
// answer for a private (or nonexistent) repository: a token server and a front that
// wants its Bearer tokens, in front of the real registry (everything an authorised
// client asks is forwarded to it, so `docker login`, pull and push work through it).
//   refuse: 'token'         the token endpoint answers 401 to an anonymous request (GHCR)
//           'manifest-401'  an anonymous token is granted, the API then answers 401
//           'manifest-403'  an anonymous token is granted, the API then answers 403 (Artifactory)
// The token endpoint answers GET with Basic credentials (the Docker CLI, the classic store's
// pulls, BuildKit) and POST with the OAuth2 password form (containerd's resolver), as the
// registry token specification has both.
import { forward, startHttpServer, type TestServer } from './http.mts'

export type AnonymousRefusal = 'token' | 'manifest-401' | 'manifest-403'

export interface TokenRegistry {
  /** `127.0.0.1:<port>` of the front: use as REGISTRY. */
  host: string
  front: TestServer
  tokens: TestServer
}

export async function startTokenRegistry(upstreamUrl: string, refuse: AnonymousRefusal, user: { username: string; password: string }): Promise<TokenRegistry> {
  const basic = 'Basic ' + Buffer.from(`${user.username}:${user.password}`).toString('base64')
  const tokens = await startHttpServer(async (req, res) => {
    const refused = (): void => void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }))
    if (req.method === 'POST') {
      // The OAuth2 form (grant_type=password, username, password), as containerd's resolver
      // (the containerd image store's pulls) asks first when it has credentials.
      let body = ''
      for await (const chunk of req) body += chunk
      const form = new URLSearchParams(body)
      if (form.get('grant_type') !== 'password' || form.get('username') !== user.username || form.get('password') !== user.password) return refused()
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'user-token', expires_in: 300 }))
      return
    }
    const sent = req.headers.authorization
    if (sent ? sent !== basic : refuse === 'token') return refused()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: sent ? 'user-token' : 'anonymous-token' }))
  })
  const front = await startHttpServer(async (req, res) => {
    const token = req.headers.authorization?.replace(/^Bearer /, '')
    if (token === 'user-token') return forward(req, res, upstreamUrl)
    const repository = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(req.url ?? '')?.[1]
    const actions = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push'
    const scope = repository ? `,scope="repository:${repository}:${actions}"` : ''
    const challenge = { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="token-registry"${scope}`, 'content-type': 'application/json' }
    if (token === 'anonymous-token' && refuse === 'manifest-403') {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }))
      return
    }
    res.writeHead(401, challenge).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }))
  })
  return { host: front.host, front, tokens }
}
