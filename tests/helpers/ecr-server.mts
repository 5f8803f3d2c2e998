// A stand-in for Amazon ECR on loopback: one HTTP server that answers the ECR API's
// CreateRepository and DescribeRepositories (the AWS JSON 1.1 protocol: POST / with
// `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Operation>`, SigV4-signed) with
// AWS's documented shapes and errors, and serves the registry API in front of a real
// distribution registry, guarded as ECR guards it:
//   - a repository exists only once created (CreateRepository, or `createRepository()`
//     here): every /v2/<name>/... request for another answers 404 NAME_UNKNOWN, so a push
//     to a missing repository fails as it does on ECR;
//   - in an IMMUTABLE repository, a manifest PUT that would move an existing tag to
//     another digest answers 400 TAG_INVALID with ECR's message ("... cannot be
//     overwritten because the repository is immutable."); a new tag, the same digest
//     again, or a PUT by digest pass.
// The real SDK reaches it through AWS_ENDPOINT_URL_ECR (`apiEnv`), the Docker daemon
// through `host` (plain HTTP on 127.0.0.1, which the daemon allows).
//
// Signatures: a request must carry SigV4 `Authorization` for the stand-in's access key,
// service `ecr` and its region; any other key answers UnrecognizedClientException (403).
// The signature itself is not recomputed.
import { createHash } from 'node:crypto'
import http from 'node:http'
import type net from 'node:net'

export const ECR_ACCOUNT = '123456789012'
export const ECR_REGION = 'eu-west-1'
const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.'

export type Mutability = 'MUTABLE' | 'IMMUTABLE'

interface Repo {
  name: string
  mutability: Mutability
  createdAt: Date
}

export interface EcrCall {
  operation: string
  input: Record<string, unknown>
  /** The `__type` of the error answered, or `ok`. */
  outcome: string
}

export interface EcrStandIn {
  /** `127.0.0.1:<port>`: the registry to push to. */
  host: string
  /** The env the scripts need: the endpoint, a region and the stand-in's credentials. */
  apiEnv: NodeJS.ProcessEnv
  /** The secret access key in apiEnv (must never reach a log). */
  secretKey: string
  /** Every API call, in order. */
  calls: EcrCall[]
  /** Manifest PUTs refused for an immutable tag: `name:tag`. */
  refusedMoves: string[]
  /** Create a repository directly (set-up), as the console or Terraform would. */
  createRepository(name: string, mutability?: Mutability): void
  repositories(): Array<{ name: string; mutability: Mutability }>
  stop(): Promise<void>
}

const DIGEST = /^sha256:[0-9a-f]{64}$/
const NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/

async function bodyOf(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export async function startEcrStandIn(registryHost: string, options: { lifetimeMs?: number } = {}): Promise<EcrStandIn> {
  const [targetHost, targetPort] = [registryHost.split(':')[0], Number(registryHost.split(':')[1])]
  const repos = new Map<string, Repo>()
  const calls: EcrCall[] = []
  const refusedMoves: string[] = []
  const accessKey = 'AKIASTANDIN' + Math.random().toString(36).slice(2, 11).toUpperCase()
  const secretKey = 'standin/' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2)
  const sockets = new Set<net.Socket>()
  let self = ''

  const repositoryJson = (r: Repo) => ({
    repositoryArn: `arn:aws:ecr:${ECR_REGION}:${ECR_ACCOUNT}:repository/${r.name}`,
    registryId: ECR_ACCOUNT,
    repositoryName: r.name,
    repositoryUri: `${self}/${r.name}`,
    createdAt: r.createdAt.getTime() / 1000,
    imageTagMutability: r.mutability,
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
  })

  class AwsError extends Error {
    readonly type: string
    readonly status: number
    constructor(type: string, message: string, status = 400) {
      super(message)
      this.type = type
      this.status = status
    }
  }

  const operations: Record<string, (input: Record<string, unknown>) => object> = {
    DescribeRepositories(input) {
      if (input.registryId !== undefined && input.registryId !== ECR_ACCOUNT) throw new AwsError('InvalidParameterException', `Invalid parameter at 'registryId' failed to satisfy constraint: 'must be the caller's account'`)
      const names = (input.repositoryNames as string[] | undefined) ?? [...repos.keys()]
      const found = []
      for (const name of names) {
        const repo = repos.get(name)
        if (!repo) throw new AwsError('RepositoryNotFoundException', `The repository with name '${name}' does not exist in the registry with id '${ECR_ACCOUNT}'`)
        found.push(repositoryJson(repo))
      }
      return { repositories: found }
    },
    CreateRepository(input) {
      const name = input.repositoryName
      if (typeof name !== 'string' || name.length < 2 || name.length > 256 || !NAME.test(name)) {
        throw new AwsError('InvalidParameterException', `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`)
      }
      const mutability = (input.imageTagMutability ?? 'MUTABLE') as string
      if (mutability !== 'MUTABLE' && mutability !== 'IMMUTABLE') {
        throw new AwsError('ValidationException', `1 validation error detected: Value '${mutability}' at 'imageTagMutability' failed to satisfy constraint: Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]`)
      }
      if (repos.has(name)) throw new AwsError('RepositoryAlreadyExistsException', `The repository with name '${name}' already exists in the registry with id '${ECR_ACCOUNT}'`)
      const repo = { name, mutability, createdAt: new Date() } as Repo
      repos.set(name, repo)
      return { repository: repositoryJson(repo) }
    },
  }

  const api = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = await bodyOf(req)
    const target = String(req.headers['x-amz-target'] ?? '')
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target
    let input: Record<string, unknown> = {}
    const answer = (status: number, json: object, type?: string) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `standin-${calls.length}`, ...(type ? { 'x-amzn-errortype': type } : {}) })
      res.end(JSON.stringify(json))
    }
    try {
      const auth = String(req.headers.authorization ?? '')
      const credential = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(auth)
      if (!credential) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403)
      if (credential[1] !== accessKey) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.', 403)
      if (credential[2] !== ECR_REGION || credential[3] !== 'ecr') throw new AwsError('InvalidSignatureException', `Credential should be scoped to a valid region and to the service ecr`, 403)
      if (!String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')) throw new AwsError('SerializationException', 'Unexpected content type')
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {}
      const run = operations[operation]
      if (!run) throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`)
      const out = run(input)
      calls.push({ operation, input, outcome: 'ok' })
      answer(200, out)
    } catch (error) {
      if (!(error instanceof AwsError)) throw error
      calls.push({ operation, input, outcome: error.type })
      answer(error.status, { __type: error.type, message: error.message }, error.type)
    }
  }

  const registryError = (res: http.ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'docker-distribution-api-version': 'registry/2.0' })
    res.end(JSON.stringify({ errors: [{ code, message }] }))
  }

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer) => {
    const upstream = http.request({ host: targetHost, port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    if (body) upstream.end(body)
    else req.pipe(upstream)
  }

  const registry = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/.exec(url.pathname)
    if (!m) return forward(req, res)
    const [name, kind, reference] = [m[1], m[2], m[3]]
    const repo = repos.get(name)
    if (!repo) return registryError(res, 404, 'NAME_UNKNOWN', `The repository with name '${name}' does not exist in the registry with id '${ECR_ACCOUNT}'`)
    if (kind === 'manifests' && req.method === 'PUT' && !DIGEST.test(reference) && repo.mutability === 'IMMUTABLE') {
      const body = await bodyOf(req)
      const digest = 'sha256:' + createHash('sha256').update(body).digest('hex')
      const head = await fetch(`http://${registryHost}/v2/${name}/manifests/${reference}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' },
      })
      const existing = head.ok ? head.headers.get('docker-content-digest') : null
      if (existing && existing !== digest) {
        refusedMoves.push(`${name}:${reference}`)
        return registryError(res, 400, 'TAG_INVALID', `The image tag '${reference}' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`)
      }
      return forward(req, res, body)
    }
    forward(req, res)
  }

  const server = http.createServer((req, res) => {
    const handle = req.method === 'POST' && req.url === '/' && req.headers['x-amz-target'] ? api : registry
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`stand-in failure: ${error.message}`)
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  self = `127.0.0.1:${port}`
  const timer = setTimeout(() => server.close(), options.lifetimeMs ?? 10 * 60_000)
  timer.unref()

  return {
    host: self,
    apiEnv: {
      AWS_ENDPOINT_URL_ECR: `http://${self}`,
      AWS_REGION: ECR_REGION,
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: secretKey,
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    secretKey,
    calls,
    refusedMoves,
    createRepository(name, mutability = 'MUTABLE') {
      repos.set(name, { name, mutability, createdAt: new Date() })
    },
    repositories: () => [...repos.values()].map(({ name, mutability }) => ({ name, mutability })),
    async stop() {
      clearTimeout(timer)
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
