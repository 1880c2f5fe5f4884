import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A loopback HTTP proxy in front of one provider fake that keeps every request and response
 * body. The demo fakes record requests but not their answers; a test that must know what a
 * provider handed out (the plaintext of a minted key, which exists only in the answer to
 * `POST /keys`) puts this in between, so neither the fake nor the adapter has to change.
 */

export interface ProviderExchange {
  /** The inventory provider id this proxy stands in front of. */
  provider: string
  method: string
  /** Path and query, as the client sent them. */
  path: string
  status: number
  requestBody: string
  responseBody: string
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`, without a path. */
  origin: string
  stop(): Promise<void>
}

const readAll = (stream: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })

export async function startRecordingProxy(
  provider: string,
  target: string,
  exchanges: ProviderExchange[],
): Promise<RecordingProxy> {
  const to = new URL(target)
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req)
      const headers = { ...req.headers, host: to.host }
      delete headers.connection
      const upstream = request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          void readAll(answer).then((bytes) => {
            exchanges.push({
              provider,
              method: req.method ?? 'GET',
              path: req.url ?? '/',
              status: answer.statusCode ?? 0,
              requestBody: body.toString('utf8'),
              responseBody: bytes.toString('utf8'),
            })
            const out = { ...answer.headers }
            delete out.connection
            delete out['transfer-encoding']
            out['content-length'] = String(bytes.length)
            res.writeHead(answer.statusCode ?? 502, out)
            res.end(bytes)
          })
        },
      )
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502)
        res.end()
      })
      upstream.end(body)
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
