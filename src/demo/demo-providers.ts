import type { DemoDataset } from './dataset.js'
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
