/**
 * The inventory (`keyward.yaml`) after schema validation. Field names follow SPEC §1 exactly;
 * `__tests__/inventory/examples.test.ts` keeps these types in step with the schema.
 */

export const PROVIDER_TYPES = ['openai', 'anthropic', 'openrouter'] as const
export type ProviderType = (typeof PROVIDER_TYPES)[number]

export interface Defaults {
  timezone?: string
  rotate_after?: string
  idle_after?: string
  spike_factor?: number
  typical_month_factor?: number
  rotation_grace?: string
  gap_runs?: number
  caps?: 'report' | 'enforce'
}

export interface ProviderSettings {
  type?: ProviderType
  admin_key: string
  base_url?: string
  projects?: string[]
}

export interface Workflow {
  label: string
  owner: string
  timezone?: string
  active_hours?: string
  budget_usd_month?: number
  allowed_models?: string[]
}

export interface KeyEntry {
  label: string
  workflow: string
  provider: string
  secret: string
  created: string
  rotate_after?: string
  provider_key_id?: string
  budget_usd_month?: number
  cap_usd_month?: number
  allowed_ips?: string[]
  used_in?: string[]
  canary?: boolean
  auto_rotate?: boolean
}

export interface ScanSettings {
  ignore_paths?: string[]
  allow?: string[]
}

export interface Inventory {
  version: 1
  defaults?: Defaults
  providers: Record<string, ProviderSettings>
  workflows: Record<string, Workflow>
  keys: Record<string, KeyEntry>
  scan?: ScanSettings
}

/** Policy values with every default applied (SPEC §1 `defaults`). */
export const POLICY_DEFAULTS = {
  timezone: 'UTC',
  rotate_after: '90d',
  idle_after: '30d',
  spike_factor: 3,
  typical_month_factor: 1.2,
  rotation_grace: '24h',
  gap_runs: 3,
  caps: 'report',
} as const satisfies Required<Defaults>

export function resolvedDefaults(inventory: Inventory): Required<Defaults> {
  return { ...POLICY_DEFAULTS, ...inventory.defaults }
}

/**
 * Where each provider type enforces spend limits by API (issue #10); the adapters'
 * `limitControl()` says the same at run time (a test keeps them in step).
 */
export const CAP_CONTROL: Readonly<Record<ProviderType, 'key' | 'project' | 'none'>> = {
  openai: 'project',
  anthropic: 'none',
  openrouter: 'key',
}

/** Where a person sets a limit by hand, for the providers without an API for it. */
export const CAP_CONSOLE: Readonly<Partial<Record<ProviderType, string>>> = {
  anthropic:
    'Anthropic sets spend limits per workspace in the Console: console.anthropic.com → Settings → Workspaces → the workspace → Limits',
}

/** The provider API of a provider entry: its `type`, else its id (SPEC §1). */
export function providerType(id: string, settings: ProviderSettings): string {
  return settings.type ?? id
}
