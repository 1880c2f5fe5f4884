import { SECRET_FIELD } from '../commands/vault.js'
import { providerType, type ProviderSettings } from '../inventory/types.js'
import type { Vault } from '../ports/vault.js'
import { DEMO_KEY_IDS, type DemoDataset, type DemoKeyId } from './dataset.js'
import { startAnthropicFake } from './fake-anthropic.js'
import { startOpenAiFake } from './fake-openai.js'
import { startOpenRouterFake } from './fake-openrouter.js'
import type { FakeServer } from './fake-server.js'

export interface DemoProviders {
  /** `base_url` values for the inventory, each with the path its real API root has (SPEC §1). */
  baseUrls: { openai: string; anthropic: string; openrouter: string }
  servers: { openai: FakeServer; anthropic: FakeServer; openrouter: FakeServer }
  stop(): Promise<void>
}

/**
 * Starts the three loopback fakes serving the demo dataset (`audit --demo`, tests). When the
 * admin keys are given, each fake accepts only its own; otherwise any non-empty credential.
 */
export async function startDemoProviders(
  dataset: DemoDataset,
  adminKeys: { openai?: string; anthropic?: string; openrouter?: string } = {},
): Promise<DemoProviders> {
  const started: FakeServer[] = []
  try {
    const openai = await startOpenAiFake(dataset.openai, { adminKey: adminKeys.openai })
    started.push(openai)
    const anthropic = await startAnthropicFake(dataset.anthropic, { adminKey: adminKeys.anthropic })
    started.push(anthropic)
    const openrouter = await startOpenRouterFake(dataset.openrouter, {
      adminKey: adminKeys.openrouter,
    })
    started.push(openrouter)
    return {
      baseUrls: {
        openai: `${openai.origin}/v1`,
        anthropic: anthropic.origin,
        openrouter: `${openrouter.origin}/api/v1`,
      },
      servers: { openai, anthropic, openrouter },
      stop: async () => {
        await Promise.all(started.map((s) => s.stop()))
      },
    }
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()))
    throw error
  }
}

/**
 * The demo vault's own keys, decrypted: the dataset makes its redacted hints from the inventory
 * keys (so matching by hint works as in production) and each fake accepts only its provider's
 * admin key. Admin keys are keyed by provider type.
 */
export async function readDemoSecrets(
  vault: Vault,
  inventory: {
    providers: Record<string, ProviderSettings>
    keys: Record<string, { secret: string }>
  },
): Promise<{ keys: Partial<Record<DemoKeyId, string>>; admin: Record<string, string> }> {
  const read = async (file: string, keyId: string) => {
    const value = (await vault.decrypt(file, 'audit', keyId)).values[SECRET_FIELD]
    return typeof value === 'string' ? value : undefined
  }
  const keys: Partial<Record<DemoKeyId, string>> = {}
  for (const id of DEMO_KEY_IDS) {
    const key = inventory.keys[id]
    const secret = key ? await read(key.secret, id) : undefined
    if (secret) keys[id] = secret
  }
  const admin: Record<string, string> = {}
  for (const [id, settings] of Object.entries(inventory.providers)) {
    const secret = await read(settings.admin_key, `admin:${id}`)
    if (secret) admin[providerType(id, settings)] = secret
  }
  return { keys, admin }
}
