import type { ErrorObject, ValidateFunction } from 'ajv'
import { Agent, type Dispatcher, request } from 'undici'
import { parseRetryAfter, shouldRetryHeader } from './retry-after.js'
import { Semaphore } from './semaphore.js'

/**
 * The only door from provider adapters to undici (STYLE §4.5): explicit timeouts, bounded
 * retries with backoff, Retry-After honoured up to a cap, a total time budget, a per-host
 * semaphore, and JSON validated at the boundary. Failures are values, never throws, so an
 * adapter turns each into a recorded gap and the run goes on.
 */

export interface HttpClientOptions {
  /** The inventory's provider id, carried into failures. */
  provider: string
  /** Tests pass an undici MockAgent; by default the client owns an Agent it closes in close(). */
  dispatcher?: Dispatcher
  /** Time allowed until response headers arrive. */
  headersTimeoutMs?: number
  /** Time allowed between body chunks. */
  bodyTimeoutMs?: number
  /** Attempts per request, the first included. */
  maxAttempts?: number
  baseDelayMs?: number
  maxDelayMs?: number
  /** A Retry-After longer than this is not waited for: the request becomes a gap. */
  maxRetryAfterMs?: number
  /** Wall time (requests plus waits) this client may spend over its whole life, i.e. one run. */
  budgetMs?: number
  perHostConcurrency?: number
  /** Statuses retried on top of 408, 409, 429 and 5xx (Anthropic's 529 is already a 5xx). */
  extraRetryStatuses?: readonly number[]
  /** Injected so tests never wait. */
  sleep?: (ms: number) => Promise<void>
  /** Injected jitter source in [0, 1). */
  random?: () => number
  /** Wall-clock milliseconds, for Retry-After HTTP dates; from the Clock port (STYLE §4.1). */
  nowMs: () => number
  /** Monotonic milliseconds, for the budget. */
  elapsedMs?: () => number
  userAgent?: string
}

export type HttpFailureKind =
  | 'http-status' // a non-retryable status, or a retryable one after the last attempt
  | 'timeout' // headers or body too slow, after the last attempt
  | 'network' // connection reset/refused, after the last attempt
  | 'budget' // the next wait would pass the total time budget
  | 'retry-after-too-long' // the provider asked for a wait above the cap
  | 'malformed-json' // a truncated or non-JSON body
  | 'schema' // JSON that does not have the documented shape

/** Why a request failed. Holds no header and no key: safe for logs, gaps and errors. */
export interface HttpFailure {
  kind: HttpFailureKind
  provider: string
  endpoint: string
  method: string
  /** The URL with sensitive query values masked. */
  url: string
  status: number | undefined
  /** The provider's error type (`rate_limit_error`) or code, from its error body. */
  errorType: string | undefined
  attempts: number
  detail: string
}

export type HttpResult<T> =
  { ok: true; value: T; status: number } | { ok: false; failure: HttpFailure }

export interface JsonRequest<T> {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: URL
  /** A stable label for gaps: the documented path, e.g. `/organization/usage/completions`. */
  endpoint: string
  /** Auth travels here only, never in the URL. */
  headers: Record<string, string>
  body?: unknown
  validate: ValidateFunction<T>
  /**
   * Which failures are tried again. `true` (the default, for reads): 408, 409, 429, 5xx and
   * dropped connections. `'server-errors'` (idempotent writes): 5xx and dropped connections
   * only, never a 4xx. `false` (non-idempotent writes, such as creating a key, where a retry
   * could create two): one attempt, whatever happens.
   */
  retry?: boolean | 'server-errors'
}

export interface HttpClient {
  json<T>(spec: JsonRequest<T>): Promise<HttpResult<T>>
  /** Requests sent so far, retries included. */
  requestCount(): number
  close(): Promise<void>
}

/** Thrown by nothing in this module; adapters that need an exception wrap a failure in it. */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  constructor(readonly failure: HttpFailure) {
    super(describeFailure(failure))
  }
}

/** One line for logs and gap reasons: method, safe URL, status, provider error type. */
export function describeFailure(failure: HttpFailure): string {
  const status = failure.status === undefined ? '' : ` HTTP ${failure.status}`
  const type = failure.errorType === undefined ? '' : ` (${failure.errorType})`
  const attempts = failure.attempts > 1 ? ` after ${failure.attempts} attempts` : ''
  return `${failure.method} ${failure.url}:${status}${type} ${failure.kind}: ${failure.detail}${attempts}`
}

const RETRY_STATUSES = new Set([408, 409, 429])
const NEVER_RETRY = new Set([400, 401, 402, 403, 404, 422])
// Query parameters that could carry a credential; keyward never sends one, but URLs built
// from user `base_url`s might.
const SENSITIVE_PARAM = /key|token|secret|password|auth|signature/i

/** A URL fit for logs: origin, path and query, with any credential-like value masked. */
export function safeUrl(url: URL): string {
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  for (const name of [...copy.searchParams.keys()]) {
    if (SENSITIVE_PARAM.test(name) && !/^api_key_(ids?|hash)\b/.test(name.replace(/\[\]$/, ''))) {
      copy.searchParams.set(name, '***')
    }
  }
  return decodeURI(copy.href)
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const headersTimeout = options.headersTimeoutMs ?? 15_000
  const bodyTimeout = options.bodyTimeoutMs ?? 30_000
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4)
  const baseDelay = options.baseDelayMs ?? 500
  const maxDelay = options.maxDelayMs ?? 8_000
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000
  const budget = options.budgetMs ?? 300_000
  const perHost = options.perHostConcurrency ?? 4
  const extra = new Set(options.extraRetryStatuses ?? [])
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const random = options.random ?? Math.random
  const elapsed = options.elapsedMs ?? (() => performance.now())
  const nowMs = options.nowMs
  const ownsDispatcher = options.dispatcher === undefined
  const dispatcher =
    options.dispatcher ??
    new Agent({ headersTimeout, bodyTimeout, connect: { timeout: headersTimeout } })
  const semaphores = new Map<string, Semaphore>()
  let count = 0
  let startedAt: number | undefined
  let slept = 0

  const spent = (): number => (startedAt === undefined ? 0 : elapsed() - startedAt) + slept

  function semaphore(host: string): Semaphore {
    let s = semaphores.get(host)
    if (!s) semaphores.set(host, (s = new Semaphore(perHost)))
    return s
  }

  function isRetryable(
    status: number,
    headers: Record<string, string | string[] | undefined>,
    policy: boolean | 'server-errors',
  ) {
    if (policy === false || (policy === 'server-errors' && status < 500)) return false
    const forced = shouldRetryHeader(headers)
    if (forced !== undefined && !NEVER_RETRY.has(status)) return forced
    return RETRY_STATUSES.has(status) || status >= 500 || extra.has(status)
  }

  function backoff(attempt: number): number {
    const raw = Math.min(maxDelay, baseDelay * 2 ** (attempt - 1))
    // Equal jitter: never less than half the step, so retries still spread out.
    return Math.round(raw / 2 + (raw / 2) * random())
  }

  async function json<T>(spec: JsonRequest<T>): Promise<HttpResult<T>> {
    const method = spec.method ?? 'GET'
    const policy = spec.retry ?? true
    const attemptsAllowed = policy === false ? 1 : maxAttempts
    const base = {
      provider: options.provider,
      endpoint: spec.endpoint,
      method,
      url: safeUrl(spec.url),
    }
    const fail = (
      kind: HttpFailureKind,
      attempts: number,
      detail: string,
      status?: number,
      errorType?: string,
    ): HttpResult<T> => ({
      ok: false,
      failure: { ...base, kind, attempts, detail, status, errorType },
    })
    startedAt ??= elapsed()
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
      ...spec.headers,
    }
    let body: string | undefined
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body)
      headers['content-type'] = 'application/json'
    }

    for (let attempt = 1; ; attempt++) {
      if (spent() >= budget) return fail('budget', attempt - 1, `time budget of ${budget} ms spent`)
      let wait: number
      let last: { kind: HttpFailureKind; detail: string; status?: number; errorType?: string }
      const release = await semaphore(spec.url.host).acquire()
      // A hard deadline per attempt on top of undici's headers/body timers, which do not fire
      // in every socket state (observed: a headers timeout skipped on a reused connection).
      const deadline = new AbortController()
      const timer = setTimeout(
        () => deadline.abort(new AttemptTimeout()),
        headersTimeout + bodyTimeout,
      )
      try {
        count += 1
        const response = await request(spec.url, {
          method,
          headers,
          body,
          dispatcher,
          headersTimeout,
          bodyTimeout,
          signal: deadline.signal,
        })
        const text = await response.body.text()
        const status = response.statusCode
        if (status >= 200 && status < 300) {
          return parseAndValidate(text, status, spec.validate, (kind, detail) =>
            fail(kind, attempt, detail, status),
          )
        }
        const errorType = providerErrorType(text)
        if (!isRetryable(status, response.headers, policy) || attempt >= attemptsAllowed) {
          return fail('http-status', attempt, statusDetail(status), status, errorType)
        }
        const asked = parseRetryAfter(response.headers, nowMs())
        if (asked !== undefined && asked > maxRetryAfter) {
          return fail(
            'retry-after-too-long',
            attempt,
            `provider asked to wait ${asked} ms, above the ${maxRetryAfter} ms cap`,
            status,
            errorType,
          )
        }
        last = { kind: 'http-status', detail: statusDetail(status), status, errorType }
        wait = asked ?? backoff(attempt)
      } catch (error) {
        const kind = isTimeout(error) ? 'timeout' : 'network'
        last = { kind, detail: networkDetail(error) }
        if (attempt >= attemptsAllowed) return fail(kind, attempt, last.detail)
        wait = backoff(attempt)
      } finally {
        clearTimeout(timer)
        release()
      }
      if (spent() + wait > budget) {
        return fail(
          'budget',
          attempt,
          `retry would pass the ${budget} ms time budget (last: ${last.detail})`,
          last.status,
          last.errorType,
        )
      }
      slept += wait
      await sleep(wait)
    }
  }

  return {
    json,
    requestCount: () => count,
    close: async () => {
      if (ownsDispatcher) await dispatcher.close()
    },
  }
}

function parseAndValidate<T>(
  text: string,
  status: number,
  validate: ValidateFunction<T>,
  fail: (kind: HttpFailureKind, detail: string) => HttpResult<T>,
): HttpResult<T> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // V8's message quotes the body; ours states only its size, so no payload reaches a log.
    return fail(
      'malformed-json',
      `body is not valid JSON (${Buffer.byteLength(text)} bytes, truncated?)`,
    )
  }
  if (!validate(parsed)) return fail('schema', schemaDetail(validate.errors))
  return { ok: true, value: parsed, status }
}

/** The first few schema errors with their field paths, e.g. `/data/0/input_tokens must be integer`. */
export function schemaDetail(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'response does not match the documented shape'
  return errors
    .slice(0, 3)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`)
    .join('; ')
}

function statusDetail(status: number): string {
  if (status === 429) return 'rate limited'
  if (status === 401) return 'admin key rejected'
  if (status === 403) return 'admin key lacks permission'
  if (status >= 500) return 'provider error'
  return 'request refused'
}

/**
 * The provider's error type from its documented error body: OpenAI `{error:{type,code}}`,
 * Anthropic `{type:"error", error:{type}}`, OpenRouter `{error:{code}}` (providers.md §1.9,
 * §2.10, §3.5). The message is dropped: some providers echo part of the presented key.
 */
function providerErrorType(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body !== 'object' || body === null) return undefined
    const error = (body as { error?: unknown }).error
    if (typeof error !== 'object' || error === null) return undefined
    const { type, code } = error as { type?: unknown; code?: unknown }
    if (typeof type === 'string' && /^[\w.-]{1,64}$/.test(type)) return type
    if ((typeof code === 'string' && /^[\w.-]{1,64}$/.test(code)) || typeof code === 'number') {
      return String(code)
    }
    return undefined
  } catch {
    return undefined
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

class AttemptTimeout extends Error {
  override readonly name = 'AttemptTimeout'
  readonly code = 'KEYWARD_ATTEMPT_TIMEOUT'
  constructor() {
    super('request exceeded its deadline')
  }
}

function isTimeout(error: unknown): boolean {
  if (error instanceof AttemptTimeout) return true
  if ((error as { cause?: unknown } | null)?.cause instanceof AttemptTimeout) return true
  const code = errorCode(error)
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT'
  )
}

function networkDetail(error: unknown): string {
  const code = errorCode(error)
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'no response headers within the timeout'
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'response body stalled past the timeout'
  if (code === 'KEYWARD_ATTEMPT_TIMEOUT' || error instanceof AttemptTimeout) {
    return 'no complete response within the request deadline'
  }
  const cause = (error as { cause?: unknown } | null)?.cause
  return `connection failed (${code ?? errorCode(cause) ?? 'unknown error'})`
}
