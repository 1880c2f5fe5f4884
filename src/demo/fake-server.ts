import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The shared machinery of the loopback provider fakes (STYLE §5 "prefer real things"): a
 * node:http server on 127.0.0.1, port 0, that records every request (never the auth value),
 * checks the admin credential, and injects faults on demand. Each provider module supplies
 * the routes, built from the documented shapes in providers.md.
 */

export type FaultKind =
  | 'rate-limit' // 429 with Retry-After / retry-after-ms when given
  | 'server-error' // 500
  | 'overloaded' // 529 (Anthropic §2.10)
  | 'unavailable' // 503 (OpenRouter §3.5)
  | 'slow' // headers only after `delayMs`: past the client's timeout
  | 'truncated' // a 200 whose JSON body stops half way
  | 'wrong-type' // a 200 whose first number inside `data` became a string
  | 'empty-page' // a report page with no buckets that still points to the same position
  | 'forbidden' // 403 with the provider's error body
  | 'not-found' // 404
  | 'bad-request' // 400
  | 'reset' // the connection is destroyed before any response

export interface Fault {
  kind: FaultKind
  /** Exact path (`/v1/organization/costs`) or a prefix ending in `*`; every path when absent. */
  path?: string
  /** Only requests with this method (`POST`); every method when absent. */
  method?: string
  /** How many matching requests it hits; Infinity for all. Default 1. */
  times?: number
  /** Value of Retry-After (seconds or an HTTP date) for rate-limit / unavailable. */
  retryAfter?: string
  retryAfterMs?: string
  delayMs?: number
}

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string[]>
  /** Whether the expected credential header was present; its value is never recorded. */
  authPresent: boolean
  body: unknown
  /** The fault served instead of the real answer, if any. */
  fault: FaultKind | undefined
}

export interface FakeRequest {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
}

export interface FakeResponse {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export interface FakeProviderSpec {
  name: string
  /** The header carrying the credential (`authorization`, `x-api-key`) and how to read it. */
  credential(headers: IncomingMessage['headers']): string | undefined
  /** When set, only this credential is accepted; otherwise any non-empty one. */
  expectedCredential?: string
  /** The provider's documented error body for a status. */
  errorBody(status: number): unknown
  route(request: FakeRequest): FakeResponse
  /** The documented "nothing here, but more follows" page for a request, if the endpoint has one. */
  emptyPage?(request: FakeRequest, real: unknown): unknown
}

export interface FakeServer {
  /** `http://127.0.0.1:<port>`, without a path. */
  origin: string
  readonly requests: RecordedRequest[]
  inject(fault: Fault): void
  clearFaults(): void
  stop(): Promise<void>
}

interface ActiveFault extends Fault {
  remaining: number
}

export async function startFakeServer(spec: FakeProviderSpec): Promise<FakeServer> {
  const requests: RecordedRequest[] = []
  let faults: ActiveFault[] = []
  const timers = new Set<NodeJS.Timeout>()

  function takeFault(method: string, path: string): ActiveFault | undefined {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          f.path === path ||
          (f.path.endsWith('*') && path.startsWith(f.path.slice(0, -1)))),
    )
    if (fault) fault.remaining -= 1
    return fault
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const raw = await readBody(req)
    let body: unknown
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined
    } catch {
      body = raw
    }
    const credential = spec.credential(req.headers)
    const query: Record<string, string[]> = {}
    for (const [name, value] of url.searchParams) (query[name] ??= []).push(value)
    const fault = takeFault(req.method ?? 'GET', url.pathname)
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      authPresent: credential !== undefined && credential.length > 0,
      body,
      fault: fault?.kind,
    })

    const send = (response: FakeResponse, truncate = false): void => {
      const text = JSON.stringify(response.body)
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...response.headers,
      }
      if (truncate) {
        // No content-length: the client sees a complete HTTP message whose JSON is cut.
        res.writeHead(response.status, headers)
        res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))))
        return
      }
      headers['content-length'] = String(Buffer.byteLength(text))
      res.writeHead(response.status, headers)
      res.end(text)
    }
    const error = (status: number, headers?: Record<string, string>): void =>
      send({ status, body: spec.errorBody(status), headers })

    const authorized =
      credential !== undefined &&
      credential.length > 0 &&
      (spec.expectedCredential === undefined || credential === spec.expectedCredential)
    if (!authorized) return error(401)

    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body,
    }
    const retryHeaders = (): Record<string, string> => ({
      ...(fault?.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}),
      ...(fault?.retryAfterMs !== undefined ? { 'retry-after-ms': fault.retryAfterMs } : {}),
    })
    switch (fault?.kind) {
      case 'rate-limit':
        return error(429, retryHeaders())
      case 'server-error':
        return error(500)
      case 'overloaded':
        return error(529)
      case 'unavailable':
        return error(503, retryHeaders())
      case 'forbidden':
        return error(403)
      case 'not-found':
        return error(404)
      case 'bad-request':
        return error(400)
      case 'reset':
        req.socket.destroy()
        return
      case 'slow': {
        const response = spec.route(request)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer)
            resolve()
          }, fault.delayMs ?? 1_000)
          timers.add(timer)
        })
        if (!res.destroyed && !res.writableEnded) send(response)
        return
      }
      case 'truncated':
        return send(spec.route(request), true)
      case 'wrong-type': {
        const response = spec.route(request)
        return send({ ...response, body: corruptFirstNumber(response.body) })
      }
      case 'empty-page': {
        const response = spec.route(request)
        const empty = spec.emptyPage?.(request, response.body)
        return send(empty === undefined ? response : { ...response, body: empty })
      }
      default:
        return send(spec.route(request))
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify(spec.errorBody(500)))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    inject: (fault) => faults.push({ ...fault, remaining: fault.times ?? 1 }),
    clearFaults: () => {
      faults = []
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Turns the first number found under `data` (depth first) into a string: a wrong type at a known path. */
export function corruptFirstNumber(body: unknown): unknown {
  const copy: unknown = structuredClone(body)
  const visit = (node: unknown): boolean => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        if (typeof node[i] === 'number') {
          node[i] = String(node[i])
          return true
        }
        if (visit(node[i])) return true
      }
      return false
    }
    if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, unknown>
      for (const [key, value] of Object.entries(record)) {
        if (typeof value === 'number') {
          record[key] = String(value)
          return true
        }
        if (visit(value)) return true
      }
    }
    return false
  }
  const data = (copy as { data?: unknown } | null)?.data
  visit(data ?? copy)
  return copy
}

/** Query helpers shared by the fakes: array parameters in both documented forms (§1.1). */
export function queryAll(query: URLSearchParams, name: string): string[] {
  return [...query.getAll(`${name}[]`), ...query.getAll(name)]
}

export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name)
  if (value === null) return undefined
  return /^-?\d+$/.test(value) ? Number(value) : Number.NaN
}

export function encodeCursor(value: number | string): string {
  return `page_${Buffer.from(String(value)).toString('base64url')}`
}

export function decodeCursor(cursor: string | null): string | undefined {
  if (cursor === null || !cursor.startsWith('page_')) return undefined
  return Buffer.from(cursor.slice(5), 'base64url').toString('utf8')
}
