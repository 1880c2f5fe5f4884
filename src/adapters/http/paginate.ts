import type { HttpFailure, HttpResult } from './client.js'

export interface PageLoop<P> {
  /** Fetches the page at `cursor` (undefined: the first page). */
  fetch(cursor: string | undefined): Promise<HttpResult<P>>
  /** The next cursor, or undefined when the provider says there is no more. */
  next(page: P): string | undefined
  /** A hard cap, so a provider that always says "more" cannot hold the run forever. */
  maxPages: number
}

export interface Pages<P> {
  pages: P[]
  /** Set when a page could not be read; the pages before it are kept. */
  failure: HttpFailure | undefined
  /** True when the cap stopped the loop while the provider still said "more". */
  capped: boolean
}

/** Follows a provider's cursor until it says there is no more, a page fails, or the cap hits. */
export async function paginate<P>(loop: PageLoop<P>): Promise<Pages<P>> {
  const pages: P[] = []
  const seen = new Set<string>()
  let cursor: string | undefined
  for (let i = 0; i < loop.maxPages; i++) {
    const result = await loop.fetch(cursor)
    if (!result.ok) return { pages, failure: result.failure, capped: false }
    pages.push(result.value)
    const next = loop.next(result.value)
    if (next === undefined) return { pages, failure: undefined, capped: false }
    // A cursor seen before would loop forever; treat it like the cap.
    if (seen.has(next)) return { pages, failure: undefined, capped: true }
    seen.add(next)
    cursor = next
  }
  return { pages, failure: undefined, capped: true }
}
