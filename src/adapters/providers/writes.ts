import type { Log } from '../../ports/log.js'
import type { WriteResult } from '../../ports/provider.js'
import { describeFailure, type HttpClient, type JsonRequest } from '../http/client.js'

/** What every write of one adapter shares. */
export interface WriteContext {
  /** The inventory's provider id. */
  provider: string
  http: HttpClient
  log: Log
  /** The credential writes need, in words, reported when the provider refuses (401/403). */
  permission: string
}

/** A write request: a method that changes something, and how far it may be retried. */
export interface WriteRequest<R> extends JsonRequest<R> {
  method: 'POST' | 'PATCH' | 'DELETE'
  /**
   * `'server-errors'` for a write that can be repeated safely (set a field, delete); `false`
   * for one that cannot (create), where a retry after a lost answer could create a second
   * object. A 4xx is never retried either way.
   */
  retry: false | 'server-errors'
}

export interface WriteOptions<R, T> {
  /** Narration, e.g. `set the limit of key 1f2e… to $45/month`; ids and names only, never a secret. */
  what: string
  /** The value written, as the provider's answer states it. */
  read: (response: R) => T
  /** Why a (2xx) answer shows the write did not take, e.g. a key still enabled; undefined if it did. */
  check?: (response: R) => string | undefined
  /**
   * Said after the reason when the outcome is unknown: a timeout, a dropped connection, a 5xx
   * or an answer that could not be read (the create may have happened all the same).
   */
  uncertain?: string
}

/**
 * Sends one write and turns the answer into a WriteResult: the value read back, or one line
 * without secrets (method, URL, status, the provider's error type) and, on 401/403, the
 * credential it needs. Narrates to the log: `info` when done, `warning` when not.
 */
export async function sendWrite<R, T>(
  ctx: WriteContext,
  request: WriteRequest<R>,
  options: WriteOptions<R, T>,
): Promise<WriteResult<T>> {
  const start = ctx.http.requestCount()
  const result = await ctx.http.json<R>(request)
  const requests = ctx.http.requestCount() - start
  if (result.ok) {
    const mismatch = options.check?.(result.value)
    if (mismatch === undefined) {
      ctx.log.info(`${ctx.provider}: ${options.what}`)
      return { ok: true, value: options.read(result.value), requests }
    }
    const reason = `${request.method} ${request.endpoint}: HTTP ${result.status} but ${mismatch}`
    ctx.log.warning(`${ctx.provider}: could not ${options.what}: ${reason}`)
    return { ok: false, reason, status: result.status, requests }
  }
  const { failure } = result
  const refused =
    failure.kind === 'http-status' &&
    failure.status !== undefined &&
    failure.status >= 400 &&
    failure.status < 500
  // Nothing sent (the time budget was spent before the first attempt) is no uncertainty either.
  const uncertain = !refused && requests > 0 && options.uncertain ? `; ${options.uncertain}` : ''
  const reason = `${describeFailure(failure)}${uncertain}`
  const permission = failure.status === 401 || failure.status === 403 ? ctx.permission : undefined
  ctx.log.warning(
    `${ctx.provider}: could not ${options.what}: ${reason}${permission ? ` (needs ${permission})` : ''}`,
  )
  return {
    ok: false,
    reason,
    status: failure.status,
    ...(permission ? { permission } : {}),
    requests,
  }
}

/** A write refused before any request: a target this provider cannot have, an invalid amount. */
export function refuseWrite<T>(ctx: WriteContext, what: string, reason: string): WriteResult<T> {
  ctx.log.warning(`${ctx.provider}: could not ${what}: ${reason}`)
  return { ok: false, reason, status: undefined, requests: 0 }
}

/** A USD amount a provider can hold as a limit: finite, not negative. */
export function invalidUsd(usd: number): string | undefined {
  return Number.isFinite(usd) && usd >= 0
    ? undefined
    : `a limit must be a finite, non-negative USD amount, not ${usd}`
}
