// A fault-injecting HTTP proxy for tests, in front of the real registry (or any HTTP
// server on loopback). It can refuse connections, reset a response mid-transfer, answer
// 500/429/503 (with Retry-After) for the first N matching requests, and add latency.
// Loopback only, and bounded in time: it closes itself after `lifetimeMs`.
import http from 'node:http'
import net from 'node:net'

export interface Fault {
  /** Which requests the fault applies to (default: all). */
  match?: (req: { method: string; url: string }) => boolean
  /** How many matching requests get the fault before traffic passes (default: unlimited). */
  count?: number
}

export interface FaultPlan {
  /** Accept, then destroy every connection at once (a reset before any byte). */
  refuse?: boolean
  /** Answer with this status instead of forwarding. */
  status?: Fault & { code: number; retryAfterSeconds?: number }
  /** Forward, but destroy the connection after this many body bytes of the response. */
  reset?: Fault & { afterBytes: number }
  /** Delay every request by this much before forwarding. */
  latencyMs?: number
}

export interface LoggedRequest {
  method: string
  url: string
  status: number | 'refused' | 'reset'
  /** Response body bytes forwarded to the client (so far, while it is still streaming). */
  bytes?: number
}

export interface FaultProxy {
  host: string
  url: string
  requests: LoggedRequest[]
  setPlan(plan: FaultPlan): void
  stop(): Promise<void>
}

function take(fault: (Fault & object) | undefined, used: Map<object, number>, req: { method: string; url: string }): boolean {
  if (!fault || (fault.match && !fault.match(req))) return false
  const n = used.get(fault) ?? 0
  if (fault.count !== undefined && n >= fault.count) return false
  used.set(fault, n + 1)
  return true
}

export async function startFaultProxy(target: string, initial: FaultPlan = {}, lifetimeMs = 10 * 60_000): Promise<FaultProxy> {
  const [targetHost, targetPort] = [target.split(':')[0], Number(target.split(':')[1])]
  let plan = initial
  const used = new Map<object, number>()
  const requests: LoggedRequest[] = []
  const sockets = new Set<net.Socket>()

  const server = http.createServer(async (req, res) => {
    const info = { method: req.method ?? 'GET', url: req.url ?? '/' }
    if (plan.refuse) {
      // A kept-alive connection from before the plan changed: drop it the same way.
      requests.push({ ...info, status: 'refused' })
      req.socket.destroy()
      return
    }
    if (plan.latencyMs) await new Promise((r) => setTimeout(r, plan.latencyMs))
    if (take(plan.status, used, info)) {
      const { code, retryAfterSeconds } = plan.status!
      requests.push({ ...info, status: code })
      res.writeHead(code, {
        'content-type': 'application/json',
        ...(retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {}),
      })
      res.end(JSON.stringify({ errors: [{ code: code === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected fault' }] }))
      return
    }
    const reset = take(plan.reset, used, info) ? plan.reset!.afterBytes : undefined
    const upstream = http.request(
      { host: targetHost, port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const logged: LoggedRequest = { ...info, status: reset === undefined ? up.statusCode ?? 0 : 'reset', bytes: 0 }
        requests.push(logged)
        res.writeHead(up.statusCode ?? 502, up.headers)
        if (reset === undefined) {
          up.on('data', (chunk: Buffer) => (logged.bytes! += chunk.length))
          up.pipe(res)
          return
        }
        let sent = 0
        up.on('data', (chunk: Buffer) => {
          const room = reset - sent
          if (room > 0) res.write(chunk.subarray(0, room))
          sent += chunk.length
          if (sent >= reset) {
            up.destroy()
            res.socket?.destroy()
          }
        })
        up.on('end', () => res.socket?.destroy())
      },
    )
    upstream.on('error', () => res.socket?.destroy())
    req.pipe(upstream)
  })
  server.on('connection', (socket) => {
    if (plan.refuse) {
      requests.push({ method: '?', url: '?', status: 'refused' })
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const stop = async () => {
    for (const s of sockets) s.destroy()
    await new Promise((r) => server.close(r))
  }
  setTimeout(() => void stop(), lifetimeMs).unref()
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    setPlan(next) {
      plan = next
      used.clear()
    },
    stop,
  }
}
