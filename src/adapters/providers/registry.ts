import type { Clock } from '../../ports/clock.js'
import type { Log } from '../../ports/log.js'
import type { Provider } from '../../ports/provider.js'
import { providerType, type ProviderSettings } from '../../inventory/types.js'
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../http/client.js'
import { createAnthropicProvider } from './anthropic.js'
import type { ProviderAdapterOptions } from './common.js'
import { createOpenAiProvider } from './openai.js'
import { createOpenRouterProvider } from './openrouter.js'
import { VERSION } from '../../version.js'

export type ProviderFactory = (options: ProviderAdapterOptions) => Provider

/** Inventory `type` (SPEC §1) → adapter factory. */
export const PROVIDER_FACTORIES: Readonly<Record<string, ProviderFactory>> = {
  openai: createOpenAiProvider,
  anthropic: createAnthropicProvider,
  openrouter: createOpenRouterProvider,
}

export interface BuildProviderDeps {
  log: Log
  clock: Clock
  /** Overrides for tests and the demo: sleep, random, timeouts, budget. */
  http?: Partial<Omit<HttpClientOptions, 'provider'>>
}

export interface BuiltProvider {
  provider: Provider
  /** Owned by the caller: close it when the run is done. */
  http: HttpClient
}

/**
 * Builds the adapter for one inventory provider entry. The admin key comes decrypted from the
 * caller (the vault); this module reads no files. Returns undefined for an unknown type.
 */
export function buildProvider(
  id: string,
  settings: ProviderSettings,
  adminKey: string,
  deps: BuildProviderDeps,
): BuiltProvider | undefined {
  const type = providerType(id, settings)
  const factory = PROVIDER_FACTORIES[type]
  if (!factory) return undefined
  const http = createHttpClient({
    provider: id,
    nowMs: () => deps.clock.now().getTime(),
    userAgent: `keyward/${VERSION}`,
    ...deps.http,
  })
  const provider = factory({
    id,
    adminKey,
    baseUrl: settings.base_url,
    projects: settings.projects,
    http,
    log: deps.log,
    now: () => deps.clock.now(),
  })
  return { provider, http }
}
