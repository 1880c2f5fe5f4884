import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { HttpClient } from '../../src/adapters/http/client.js'
import { buildProvider } from '../../src/adapters/providers/registry.js'
import { matchKeys } from '../../src/analysis/key-matching.js'
import { buildDemoDataset, demoSecrets, type DemoDataset } from '../../src/demo/dataset.js'
import { startDemoProviders, type DemoProviders } from '../../src/demo/demo-providers.js'
import { silentLog } from '../../src/ports/log.js'
import type { Provider } from '../../src/ports/provider.js'
import type { UsageRecord } from '../../src/records.js'

const NOW = new Date('2026-12-10T15:30:00Z')
const clock = { now: () => NOW }

describe('demo dataset', () => {
  it('is deterministic for a seed and a now, and differs for another seed', () => {
    const a = JSON.stringify(buildDemoDataset({ now: NOW, seed: 7 }))
    const b = JSON.stringify(buildDemoDataset({ now: NOW, seed: 7 }))
    const c = JSON.stringify(buildDemoDataset({ now: NOW, seed: 8 }))

    expect(a).toBe(b)
    expect(c).not.toBe(a)
  })

  it('covers at least 35 days hourly and never goes past now', () => {
    const data = buildDemoDataset({ now: NOW })
    const hours = data.openai.usage.map((u) => u.at)

    expect((Math.max(...hours) - Math.min(...hours)) / 86_400).toBeGreaterThan(35)
    expect(Math.max(...hours) * 1000).toBeLessThan(NOW.getTime())
    expect(new Set(hours.map((h) => Math.floor(h / 3600))).size).toBeGreaterThan(300)
  })

  it('seeds every incident kind the detectors look for', () => {
    const kinds = buildDemoDataset({ now: NOW })
      .incidents.map((i) => i.kind)
      .sort()

    expect(kinds).toEqual([
      'canary-used',
      'cap-drift',
      'idle-key',
      'off-hours',
      'spend-spike',
      'unexpected-model',
      'unfamiliar-ip',
      'unmanaged-key',
    ])
  })

  it('never puts a plaintext key in the dataset, only hints', () => {
    const secrets = demoSecrets(7)
    const text = JSON.stringify(buildDemoDataset({ now: NOW, seed: 7 }))

    for (const secret of Object.values(secrets)) {
      expect(text).not.toContain(secret)
      expect(text).not.toContain(secret.slice(10, 40))
    }
  })
})

describe('demo dataset served by the fakes through the real adapters', () => {
  let dataset: DemoDataset
  let demo: DemoProviders
  const providers: Provider[] = []
  const clients: HttpClient[] = []
  const usage = new Map<string, UsageRecord[]>()
  const since = new Date(NOW.getTime() - 40 * 86_400_000)

  beforeAll(async () => {
    dataset = buildDemoDataset({ now: NOW })
    demo = await startDemoProviders(dataset)
    for (const type of ['openai', 'anthropic', 'openrouter'] as const) {
      const built = buildProvider(
        type,
        { admin_key: `keys/admin/${type}.sops.yaml`, base_url: demo.baseUrls[type] },
        `demo-admin-${type}`,
        {
          log: silentLog,
          clock,
          http: { sleep: async () => {}, random: () => 0.5 },
        },
      )
      if (!built) throw new Error(`no adapter for ${type}`)
      providers.push(built.provider)
      clients.push(built.http)
      const result = await built.provider.usage(since, NOW)
      expect(result.gaps).toEqual([])
      usage.set(type, result.data)
    }
  })

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await demo.stop()
  })

  const perDay = (records: UsageRecord[], key: string) => {
    const days = new Map<string, number>()
    for (const r of records) {
      if (r.providerKeyId !== key || r.operation !== 'cost') continue
      days.set(r.start.slice(0, 10), (days.get(r.start.slice(0, 10)) ?? 0) + (r.costUsd ?? 0))
    }
    return days
  }

  it('shows the spend spike as a day far above the key median', () => {
    const days = perDay(usage.get('openai') ?? [], dataset.providerKeyIds['avatar-video-openai'])
    const values = [...days.values()].sort((a, b) => a - b)
    const median = values[Math.floor(values.length / 2)] ?? 0
    const spike = dataset.incidents.find((i) => i.kind === 'spend-spike')?.at.slice(0, 10) ?? ''

    expect(days.get(spike) ?? 0).toBeGreaterThan(4 * median)
  })

  it('shows the canary use, the unknown key, the unexpected model and the off-hours burst', () => {
    const openai = usage.get('openai') ?? []
    const anthropic = usage.get('anthropic') ?? []

    expect(
      openai.filter(
        (r) =>
          r.providerKeyId === dataset.providerKeyIds['honeypot-openai'] &&
          r.operation === 'completions',
      ),
    ).toHaveLength(1)
    expect(openai.some((r) => r.providerKeyId === dataset.unmanagedKeyId)).toBe(true)
    expect(anthropic.some((r) => r.model?.startsWith('claude-opus-4-1'))).toBe(true)
    const offHours = anthropic.filter((r) => {
      const hour = Number(
        new Intl.DateTimeFormat('en-US', {
          timeZone: 'Europe/Berlin',
          hour: 'numeric',
          hourCycle: 'h23',
        }).format(new Date(r.start)),
      )
      return r.operation === 'messages' && hour >= 2 && hour < 5
    })
    expect(offHours.length).toBeGreaterThanOrEqual(3)
  })

  it('shows the idle key: no OpenRouter use in the last 30 days', () => {
    const records = usage.get('openrouter') ?? []
    const last = records
      .filter((r) => r.providerKeyId === dataset.providerKeyIds['night-batch-openrouter'])
      .map((r) => r.start)
      .sort()
      .at(-1)

    expect(last).toBeDefined()
    expect(NOW.getTime() - Date.parse(last ?? '')).toBeGreaterThan(30 * 86_400_000)
  })

  it('serves the unfamiliar IP in the Anthropic activity feed', async () => {
    const events = await providers[1]?.auditEvents(since, NOW)

    expect(
      events?.data.some(
        (e) => e.ip === '198.51.100.77' && e.providerKeyId === 'apikey_demo_blog01',
      ),
    ).toBe(true)
  })

  it('lets the inventory match every demo key, the hint-matched ones by their secrets', async () => {
    const secrets = demoSecrets(7)
    const keys = (await Promise.all(providers.map((p) => p.listKeys()))).flatMap((r) => r.data)

    const report = matchKeys(
      [
        { keyId: 'avatar-video-openai', provider: 'openai', providerKeyId: 'key_demo_avatar01' },
        {
          keyId: 'blog-writer-anthropic',
          provider: 'anthropic',
          providerKeyId: 'apikey_demo_blog01',
        },
        {
          keyId: 'night-batch-openrouter',
          provider: 'openrouter',
          secret: secrets['night-batch-openrouter'],
        },
        { keyId: 'honeypot-openai', provider: 'openai', secret: secrets['honeypot-openai'] },
      ],
      keys,
    )

    expect(report.matches.map((m) => m.status)).toEqual([
      'matched',
      'matched',
      'matched',
      'matched',
    ])
    expect(report.unmatched.map((k) => k.providerKeyId)).toEqual([dataset.unmanagedKeyId])
  })
})
