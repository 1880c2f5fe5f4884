/**
 * A dated price table for estimating cost from tokens where a provider reports no cost per key
 * (Anthropic always, OpenAI when `/organization/costs` rejects `group_by=api_key_id`;
 * providers.md §0, §1.4, §2.4). Records priced from it are marked `estimated`.
 *
 * Prices in USD per million tokens, list prices for the standard tier, as published on
 * https://www.anthropic.com/pricing (and docs.anthropic.com "Pricing") and
 * https://openai.com/api/pricing, read on PRICES_AS_OF. Batch, priority and long-context
 * surcharges are not modelled: the estimate is a baseline for spike detection, not an invoice.
 * Update the table and the date together.
 */
export const PRICES_AS_OF = '2025-10-01'

export interface ModelPrice {
  /** Uncached input. */
  input: number
  output: number
  /** Cache reads. */
  cachedInput: number
  /** Anthropic cache writes, 5-minute TTL (1.25× input) and 1-hour TTL (2× input). */
  cacheWrite5m?: number
  cacheWrite1h?: number
}

function anthropic(input: number, output: number): ModelPrice {
  return {
    input,
    output,
    cachedInput: input * 0.1,
    cacheWrite5m: input * 1.25,
    cacheWrite1h: input * 2,
  }
}

/** Keyed by model id prefix; the longest matching prefix wins (`claude-sonnet-4-5` over `claude-sonnet-4`). */
export const PRICE_TABLE: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-4-5': anthropic(5, 25),
  'claude-opus-4-1': anthropic(15, 75),
  'claude-opus-4': anthropic(15, 75),
  'claude-sonnet-4-5': anthropic(3, 15),
  'claude-sonnet-4': anthropic(3, 15),
  'claude-3-7-sonnet': anthropic(3, 15),
  'claude-3-5-sonnet': anthropic(3, 15),
  'claude-haiku-4-5': anthropic(1, 5),
  'claude-3-5-haiku': anthropic(0.8, 4),
  'claude-3-haiku': anthropic(0.25, 1.25),
  'claude-3-opus': anthropic(15, 75),
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cachedInput: 0.005 },
  'gpt-5-mini': { input: 0.25, output: 2, cachedInput: 0.025 },
  'gpt-5': { input: 1.25, output: 10, cachedInput: 0.125 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  o3: { input: 2, output: 8, cachedInput: 0.5 },
  'text-embedding-3-small': { input: 0.02, output: 0, cachedInput: 0.02 },
  'text-embedding-3-large': { input: 0.13, output: 0, cachedInput: 0.13 },
}

/** Longest first, each with the `-` a dated snapshot adds. */
const PREFIXES = Object.keys(PRICE_TABLE)
  .sort((a, b) => b.length - a.length)
  .map((p) => ({ name: p, dated: `${p}-` }))

/** Model id → price: an adapter asks once per usage record, about a handful of models. */
const priceCache = new Map<string, ModelPrice | undefined>()
const PRICE_CACHE_LIMIT = 1_000

/** The price of a model id such as `claude-sonnet-4-5-20250929`, or undefined if unknown. */
export function priceFor(model: string | undefined): ModelPrice | undefined {
  if (model === undefined) return undefined
  if (priceCache.has(model)) return priceCache.get(model)
  const id = model.includes('/') ? model.slice(model.lastIndexOf('/') + 1) : model
  const prefix = PREFIXES.find((p) => id === p.name || id.startsWith(p.dated))
  const price = prefix === undefined ? undefined : PRICE_TABLE[prefix.name]
  if (priceCache.size >= PRICE_CACHE_LIMIT) priceCache.clear()
  priceCache.set(model, price)
  return price
}

export interface TokenCounts {
  /** Uncached input tokens (excluding cache reads and writes). */
  uncachedInput: number
  output: number
  cacheRead: number
  cacheWrite5m?: number
  cacheWrite1h?: number
}

/** USD estimate, or undefined when the model is not in the table (never a silent zero). */
export function estimateCostUsd(
  model: string | undefined,
  tokens: TokenCounts,
): number | undefined {
  const price = priceFor(model)
  if (!price) return undefined
  const perToken =
    tokens.uncachedInput * price.input +
    tokens.output * price.output +
    tokens.cacheRead * price.cachedInput +
    (tokens.cacheWrite5m ?? 0) * (price.cacheWrite5m ?? price.input) +
    (tokens.cacheWrite1h ?? 0) * (price.cacheWrite1h ?? price.input)
  // Rounded to 1e-10 USD only to keep float noise out of snapshots.
  return Math.round((perToken / 1_000_000) * 1e10) / 1e10
}
