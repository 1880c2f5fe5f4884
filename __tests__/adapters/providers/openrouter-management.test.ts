import { afterEach, describe, expect, it } from '@jest/globals'
import { createOpenRouterProvider } from '../../../src/adapters/providers/openrouter.js'
import type { HttpClient } from '../../../src/adapters/http/client.js'
import {
  startOpenRouterFake,
  type OpenRouterFakeData,
  type OpenRouterFakeKey,
} from '../../../src/demo/fake-openrouter.js'
import type { FakeServer } from '../../../src/demo/fake-server.js'
import type { ProviderKey } from '../../../src/records.js'
import {
  capturingLog,
  dump,
  fakeAdminKey,
  must,
  NOW,
  NOW_S,
  recordingSleep,
  testClient,
} from './provider-helpers.js'

const ADMIN = fakeAdminKey('sk-or-v1', 'openrouter-writes')
const hash = (n: number) => n.toString(16).padStart(64, '0')

function key(n: number, overrides: Partial<OpenRouterFakeKey> = {}): OpenRouterFakeKey {
  return {
    hash: hash(n),
    name: `key ${n}`,
    label: `sk-or-v1-${String(n).padStart(3, '0')}...${String(n).padStart(4, '0')}`,
    disabled: false,
    limit: 20,
    limit_reset: 'daily',
    created_at: new Date((NOW_S - n * 60) * 1000).toISOString(),
    updated_at: null,
    creator_user_id: 'user_1',
    workspace_id: 'ws-1',
    ...overrides,
  }
}

function dataset(): OpenRouterFakeData {
  return {
    now: NOW_S,
    keys: [key(1), key(2, { limit: null, limit_reset: null })],
    activity: [],
  }
}

let fake: FakeServer
let http: HttpClient
let sleep: ReturnType<typeof recordingSleep>
let log: ReturnType<typeof capturingLog>

async function setup(data: OpenRouterFakeData = dataset()) {
  fake = await startOpenRouterFake(data, { adminKey: ADMIN })
  sleep = recordingSleep()
  http = testClient('openrouter', sleep)
  log = capturingLog()
  return createOpenRouterProvider({
    id: 'openrouter',
    adminKey: ADMIN,
    baseUrl: `${fake.origin}/api/v1`,
    http,
    log,
    now: () => NOW,
  })
}

afterEach(async () => {
  await http.close()
  await fake.stop()
})

const writes = () => fake.requests.filter((r) => r.method !== 'GET')

async function listed(provider: Awaited<ReturnType<typeof setup>>, n: number) {
  const found = (await provider.listKeys()).data.find((k) => k.providerKeyId === hash(n))
  return must(found, `key ${n}`)
}

describe('OpenRouter limits, minting and deactivation against the loopback fake', () => {
  it('says limits are enforced per key', async () => {
    const provider = await setup()

    expect(provider.limitControl()).toEqual({
      scope: 'key',
      note: expect.stringMatching(/limit on each key .*midnight UTC/),
    })
    expect(must(provider.canMint)(await listed(provider, 1))).toBe(true)
  })

  it('reads the limits from the listed keys without another request', async () => {
    const provider = await setup()
    const keys = (await provider.listKeys()).data
    const other: ProviderKey = { ...must(keys[0]), provider: 'openai', providerKeyId: 'key_x' }
    const before = fake.requests.length

    const result = await must(provider.readLimits)([...keys, other])

    expect(result).toEqual({
      data: [
        { scope: 'key', target: hash(1), usd: 20, reset: 'daily' },
        { scope: 'key', target: hash(2), usd: null, reset: null },
      ],
      gaps: [],
      notes: [],
      requests: 0,
    })
    expect(fake.requests).toHaveLength(before)
  })

  it.each([
    [45, 45],
    [12.34, 12.34],
  ])(
    'sets a monthly limit of $%d with PATCH and returns it as read back',
    async (usd, readBack) => {
      const provider = await setup()

      const result = await must(provider.setLimit)({ scope: 'key', target: hash(1) }, usd)

      expect(result).toEqual({
        ok: true,
        value: { scope: 'key', target: hash(1), usd: readBack, reset: 'monthly' },
        requests: 1,
      })
      expect(writes()).toEqual([
        expect.objectContaining({
          method: 'PATCH',
          path: `/api/v1/keys/${hash(1)}`,
          body: { limit: usd, limit_reset: 'monthly' },
          authPresent: true,
        }),
      ])
      expect(await listed(provider, 1)).toMatchObject({ limitUsd: readBack, limitReset: 'monthly' })
    },
  )

  it('sets the same limit twice with the same outcome', async () => {
    const provider = await setup()
    const setLimit = must(provider.setLimit)

    const first = await setLimit({ scope: 'key', target: hash(2) }, 30)
    const second = await setLimit({ scope: 'key', target: hash(2) }, 30)

    expect(second).toEqual(first)
    expect(await listed(provider, 2)).toMatchObject({ limitUsd: 30, limitReset: 'monthly' })
  })

  it.each([
    ['a project target', { scope: 'project', target: 'ws-1' } as const, 10, /per key/],
    ['a negative amount', { scope: 'key', target: hash(1) } as const, -1, /non-negative/],
  ])('refuses %s without a request', async (_name, target, usd, reason) => {
    const provider = await setup()

    const result = await must(provider.setLimit)(target, usd)

    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(reason),
      status: undefined,
      requests: 0,
    })
    expect(fake.requests).toEqual([])
  })

  it('mints a key in the workspace of the one it replaces, with a monthly limit', async () => {
    const provider = await setup()
    const like = await listed(provider, 1)

    const result = await must(provider.mintKey)(like, 'key 1 (rotated)', 25)

    expect(result.ok).toBe(true)
    if (!result.ok) return
    const { key: minted, secret } = result.value
    expect(secret).toMatch(/^sk-or-v1-[0-9a-f]{64}$/)
    expect(minted).toEqual({
      provider: 'openrouter',
      providerKeyId: expect.stringMatching(/^[0-9a-f]{64}$/),
      hint: `${secret.slice(0, 12)}...${secret.slice(-4)}`,
      name: 'key 1 (rotated)',
      created: NOW.toISOString(),
      lastUsed: undefined,
      status: 'active',
      project: 'ws-1',
      owner: undefined,
      limitUsd: 25,
      limitReset: 'monthly',
    })
    expect(result.requests).toBe(1)
    expect(writes()).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/api/v1/keys',
        body: { name: 'key 1 (rotated)', limit: 25, limit_reset: 'monthly', workspace_id: 'ws-1' },
      }),
    ])
    const after = (await provider.listKeys()).data
    expect(after.map((k) => k.providerKeyId)).toContain(minted.providerKeyId)
    expect(after.find((k) => k.providerKeyId === minted.providerKeyId)).toEqual(minted)
  })

  it('mints a key without a limit and without a reset', async () => {
    const provider = await setup()
    const like = { ...(await listed(provider, 1)), project: undefined }

    const result = await must(provider.mintKey)(like, 'no cap', null)

    expect(result.ok && result.value.key).toMatchObject({ limitUsd: null, limitReset: null })
    expect(writes()[0]?.body).toEqual({ name: 'no cap', limit: null, limit_reset: null })
  })

  it.each([
    ['server-error', {}],
    ['slow', { delayMs: 2000 }],
    ['reset', {}],
  ] as const)('never retries a mint after a %s: it could create two keys', async (kind, extra) => {
    const provider = await setup()
    const like = await listed(provider, 1)
    fake.inject({ kind, path: '/api/v1/keys', method: 'POST', ...extra })

    const result = await must(provider.mintKey)(like, 'once', 10)

    expect(result).toMatchObject({ ok: false, requests: 1 })
    expect(!result.ok && result.reason).toMatch(/may have created the key .* "once"/)
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
    expect(sleep.waits).toEqual([])
  })

  it('disables a key with PATCH {disabled: true}, twice with the same outcome', async () => {
    const provider = await setup()
    const target = await listed(provider, 1)
    const deactivate = must(provider.deactivateKey)

    const first = await deactivate(target)
    const second = await deactivate(target)

    expect(first).toEqual({ ok: true, value: null, requests: 1 })
    expect(second).toEqual(first)
    expect(writes()).toEqual([
      expect.objectContaining({ method: 'PATCH', body: { disabled: true } }),
      expect.objectContaining({ method: 'PATCH', body: { disabled: true } }),
    ])
    expect(await listed(provider, 1)).toMatchObject({ status: 'disabled' })
  })

  it('retries a PATCH after a 5xx, never after a 429', async () => {
    const provider = await setup()
    const setLimit = must(provider.setLimit)
    fake.inject({ kind: 'server-error', path: '/api/v1/keys/*', method: 'PATCH' })

    const retried = await setLimit({ scope: 'key', target: hash(1) }, 5)
    fake.inject({ kind: 'rate-limit', path: '/api/v1/keys/*', retryAfter: '1' })
    const limited = await setLimit({ scope: 'key', target: hash(1) }, 6)

    expect(retried).toMatchObject({ ok: true, requests: 2 })
    expect(limited).toMatchObject({ ok: false, status: 429, requests: 1 })
    expect(sleep.waits).toEqual([375])
  })

  it.each(['setLimit', 'mintKey', 'deactivateKey'] as const)(
    '%s: a 403 is not retried and names the management key it needs',
    async (verb) => {
      const provider = await setup()
      const target = await listed(provider, 1)
      fake.inject({ kind: 'forbidden', path: '/api/v1/keys/*', times: Infinity })
      fake.inject({ kind: 'forbidden', path: '/api/v1/keys', method: 'POST', times: Infinity })
      const before = fake.requests.length

      const result =
        verb === 'setLimit'
          ? await must(provider.setLimit)({ scope: 'key', target: hash(1) }, 45)
          : verb === 'mintKey'
            ? await must(provider.mintKey)(target, 'denied', 10)
            : await must(provider.deactivateKey)(target)

      expect(result).toEqual({
        ok: false,
        reason: expect.stringMatching(/HTTP 403 \(403\)/),
        status: 403,
        permission: 'an OpenRouter management key (openrouter.ai/settings/management-keys)',
        requests: 1,
      })
      expect(fake.requests.length - before).toBe(1)
      expect(sleep.waits).toEqual([])
      expect(!result.ok && result.reason).not.toMatch(/may have created/)
    },
  )

  it.each([
    ['PATCH', '/keys/{hash}', { disabled: 'yes' }],
    ['PATCH', '/keys/{hash}', { limit: '45' }],
    ['PATCH', '/keys/{hash}', { limit_reset: 'yearly' }],
    ['PATCH', '/keys/{hash}', { include_byok_in_limit: 1 }],
    ['POST', '/keys', { limit: 5 }],
    ['POST', '/keys', { name: 'x', disabled: true }],
  ])(
    'the fake answers %s %s with a wrong or missing field %j by 400',
    async (method, path, body) => {
      const data = dataset()
      await setup(data)

      const response = await fetch(`${fake.origin}/api/v1${path.replace('{hash}', hash(1))}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })

      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({ error: { code: 400, message: expect.any(String) } })
      expect(data.keys).toEqual(dataset().keys)
    },
  )

  it('keeps the management key and the minted secret out of logs and reasons', async () => {
    const provider = await setup()
    const like = await listed(provider, 1)
    const minted = await must(provider.mintKey)(like, 'secret-free', 10)
    const secret = minted.ok ? minted.value.secret : 'unreachable'
    fake.inject({ kind: 'forbidden', times: Infinity })

    const failures = [
      await must(provider.setLimit)({ scope: 'key', target: hash(1) }, 1),
      await must(provider.mintKey)(like, 'again', 1),
      await must(provider.deactivateKey)(like),
    ]

    expect(minted.ok).toBe(true)
    expect(log.lines.some((l) => l.includes('create key "secret-free"'))).toBe(true)
    const text = dump(log.lines, failures, minted.ok && minted.value.key, fake.requests)
    expect(text).not.toContain(ADMIN)
    expect(text).not.toContain(secret)
  })
})
