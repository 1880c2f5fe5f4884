import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ValidateFunction } from 'ajv'
import type { Log } from '../../ports/log.js'
import type { ProviderResult } from '../../ports/provider.js'
import type { Gap } from '../../records.js'
import { describeFailure, type HttpClient, type HttpFailure } from '../http/client.js'
import type { Pages } from '../http/paginate.js'

/** What every provider factory takes. The caller decrypts the admin key; adapters read no files. */
export interface ProviderAdapterOptions {
  /** The inventory's provider id. */
  id: string
  /** Plaintext admin / management key: sent in a header, never logged, never in a URL. */
  adminKey: string
  /** SPEC §1 `base_url`; each adapter has the documented default. */
  baseUrl?: string
  /** SPEC §1 `projects`: OpenAI project ids / Anthropic workspace ids to read; all when absent. */
  projects?: readonly string[]
  http: HttpClient
  log: Log
  /** Wall-clock now, for statuses such as "expired" (STYLE §4.1: time is passed in). */
  now: () => Date
  /** Hard cap on pages per listing or report. */
  maxPages?: number
}

export const DEFAULT_MAX_PAGES = 200

// One ajv for all response schemas; strict, so a typo in a schema fails at load, not in a run.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true })

/**
 * A validator compiled on first use: compiling every response schema at load time cost the
 * CLI ~250 ms before `--version` could even print.
 *
 * `accepts`, where given, is a hand-written check of the same schema for bulk responses: it
 * may only say true where the schema does (it may be stricter). What it accepts skips ajv;
 * anything else goes to ajv, which has the last word and writes the errors, so the verdict and
 * the messages are ajv's either way.
 */
export function compile<T>(
  schema: Record<string, unknown>,
  accepts?: (data: unknown) => boolean,
): ValidateFunction<T> {
  let compiled: ValidateFunction<T> | undefined
  const lazy = ((data: unknown) => {
    if (accepts?.(data)) {
      lazy.errors = null
      return true
    }
    compiled ??= ajv.compile<T>(schema)
    const ok = compiled(data)
    lazy.errors = compiled.errors
    return ok
  }) as ValidateFunction<T>
  return lazy
}

/** Trims a trailing slash so `${base}/path` never doubles it. */
export function joinUrl(base: string, path: string, query: Array<[string, string]> = []): URL {
  const url = new URL(base.replace(/\/+$/, '') + path)
  for (const [name, value] of query) url.searchParams.append(name, value)
  return url
}

/** Collects gaps and notes for one Provider call and counts its requests. */
export class CallRecorder {
  readonly gaps: Gap[] = []
  readonly notes: string[] = []
  private readonly startCount: number

  constructor(
    private readonly provider: string,
    private readonly http: HttpClient,
    private readonly log: Log,
  ) {
    this.startCount = http.requestCount()
  }

  failure(failure: HttpFailure): void {
    const reason = describeFailure(failure)
    this.gaps.push({ provider: this.provider, endpoint: failure.endpoint, reason })
    this.log.warning(`${this.provider}: could not read ${failure.endpoint}: ${reason}`)
  }

  gap(endpoint: string, reason: string): void {
    this.gaps.push({ provider: this.provider, endpoint, reason })
    this.log.warning(`${this.provider}: ${endpoint}: ${reason}`)
  }

  note(note: string): void {
    this.notes.push(note)
    this.log.info(`${this.provider}: ${note}`)
  }

  /** Records the failure or the cap of a page loop; returns its pages either way. */
  pages<P>(endpoint: string, result: Pages<P>, maxPages: number): P[] {
    if (result.failure) this.failure(result.failure)
    else if (result.capped) {
      this.gap(endpoint, `stopped after ${maxPages} pages while the provider still reported more`)
    }
    return result.pages
  }

  result<T>(data: T): ProviderResult<T> {
    return {
      data,
      gaps: this.gaps,
      notes: this.notes,
      requests: this.http.requestCount() - this.startCount,
    }
  }
}

export function isoFromUnixSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000)
}

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

/** Snaps down to the bucket grid, so re-fetches produce the same bucket bounds (dedup). */
export function floorTo(date: Date, width: '1h' | '1d'): Date {
  const step = width === '1h' ? HOUR_MS : DAY_MS
  return new Date(Math.floor(date.getTime() / step) * step)
}

export function ceilTo(date: Date, width: '1h' | '1d'): Date {
  const step = width === '1h' ? HOUR_MS : DAY_MS
  return new Date(Math.ceil(date.getTime() / step) * step)
}

/** ISO 8601 UTC without milliseconds, as the Anthropic examples write RFC 3339 (§2.9). */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function normalizeIso(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}
