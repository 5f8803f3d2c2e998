// A small HTTP server on a free loopback port that records every request: a registry
// that fails on purpose (500, 429), a token server, or a proxy in front of the real
// registry. Stopped after the test file.
import http from 'node:http'
import type net from 'node:net'
import { afterAll } from 'vitest'

export interface RecordedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
}

export interface TestServer {
  /** `127.0.0.1:<port>` */
  host: string
  url: string
  requests: RecordedRequest[]
  stop(): Promise<void>
}

const servers: TestServer[] = []
afterAll(async () => {
  for (const s of servers.splice(0)) await s.stop()
})

export async function startHttpServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>): Promise<TestServer> {
  const requests: RecordedRequest[] = []
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    Promise.resolve(handler(req, res)).catch((error) => {
      res.statusCode = 502
      res.end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const made: TestServer = {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  servers.push(made)
  return made
}

/** Forward a request to `target` (a base URL), body streamed both ways. */
export async function forward(req: http.IncomingMessage, res: http.ServerResponse, target: string, headers: Record<string, string> = {}): Promise<void> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const outHeaders: Record<string, string> = { ...headers }
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string' && !['host', 'authorization', 'connection', 'content-length'].includes(k)) outHeaders[k] = v
  }
  const upstream = await fetch(target + req.url, {
    method: req.method,
    headers: outHeaders,
    body: chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined,
    redirect: 'manual',
  })
  const resHeaders: Record<string, string> = {}
  upstream.headers.forEach((v, k) => {
    if (!['content-encoding', 'transfer-encoding', 'connection'].includes(k)) resHeaders[k] = v
  })
  // Location headers point at the upstream: rewrite them to us.
  if (resHeaders.location) resHeaders.location = resHeaders.location.replace(target, '')
  res.writeHead(upstream.status, resHeaders)
  res.end(Buffer.from(await upstream.arrayBuffer()))
}
