import { afterEach, describe, expect, it } from '@jest/globals'
import { createOpenAiProvider } from '../../../src/adapters/providers/openai.js'
import type { HttpClient } from '../../../src/adapters/http/client.js'
import { startOpenAiFake, type OpenAiFakeData } from '../../../src/demo/fake-openai.js'
import type { FakeServer } from '../../../src/demo/fake-server.js'
import type { ProviderKey } from '../../../src/records.js'
import {
  capturingLog,
  DAY,
  dump,
  fakeAdminKey,
  must,
  NOW,
  NOW_S,
  recordingSleep,
  testClient,
} from './provider-helpers.js'

const ADMIN = fakeAdminKey('sk-admin', 'openai-writes')
const PERMISSION = 'an OpenAI admin key (sk-admin-…) from an organization owner'

function dataset(overrides: Partial<OpenAiFakeData> = {}): OpenAiFakeData {
  const created = NOW_S - 30 * DAY
  return {
    now: NOW_S,
    projects: [
      {
        id: 'proj_a',
        name: 'A',
        created_at: created,
        status: 'active',
        spend_limit: { threshold_amount: 4500 },
      },
      { id: 'proj_b', name: 'B', created_at: created, status: 'active' },
    ],
    keys: [
      {
        project_id: 'proj_a',
        id: 'key_user',
        name: 'laptop',
        redacted_value: 'sk-pro...a1b',
        created_at: created,
        last_used_at: null,
        owner_project_access: 'active',
        owner: { type: 'user', user: { id: 'user_1', email: 'jeff@example.com' } },
      },
      {
        project_id: 'proj_a',
        id: 'key_user_2',
        name: 'desktop',
        redacted_value: 'sk-pro...x9z',
        created_at: created,
        last_used_at: null,
        owner_project_access: 'active',
        owner: { type: 'user', user: { id: 'user_1', email: 'jeff@example.com' } },
      },
      {
        project_id: 'proj_b',
        id: 'key_bot',
        name: 'bot',
        redacted_value: 'sk-svc...c2d',
        created_at: created,
        last_used_at: null,
        owner_project_access: 'active',
        owner: { type: 'service_account', service_account: { id: 'svc_1', name: 'bot' } },
      },
    ],
    usage: [],
    costs: [],
    auditLogs: [],
    ...overrides,
  }
}

let fake: FakeServer
let http: HttpClient
let sleep: ReturnType<typeof recordingSleep>
let log: ReturnType<typeof capturingLog>

async function setup(data: OpenAiFakeData = dataset()) {
  fake = await startOpenAiFake(data, { adminKey: ADMIN })
  sleep = recordingSleep()
  http = testClient('openai', sleep)
  log = capturingLog()
  const provider = createOpenAiProvider({
    id: 'openai',
    adminKey: ADMIN,
    baseUrl: `${fake.origin}/v1`,
    http,
    log,
    now: () => NOW,
  })
  const keys = (await provider.listKeys()).data
  const byId = (id: string) =>
    must(
      keys.find((k) => k.providerKeyId === id),
      id,
    )
  fake.requests.length = 0
  return { provider, keys, byId }
}

afterEach(async () => {
  await http.close()
  await fake.stop()
})

const writes = () => fake.requests.filter((r) => r.method !== 'GET')

describe('OpenAI limits, minting and deactivation against the loopback fake', () => {
  it('says limits are per project and mints only for service-account keys with a project', async () => {
    const { provider, byId } = await setup()
    const canMint = must(provider.canMint)

    expect(provider.limitControl()).toEqual({
      scope: 'project',
      note: expect.stringMatching(/hard spend limits per project/),
    })
    expect(byId('key_bot')).toMatchObject({ ownerType: 'service_account', owner: 'svc_1' })
    expect(canMint(byId('key_bot'))).toBe(true)
    expect(canMint(byId('key_user'))).toBe(false)
    expect(canMint({ ...byId('key_bot'), project: undefined })).toBe(false)
  })

  it('reads one spend limit per project, converting cents to USD (0: no limit)', async () => {
    const { provider, keys } = await setup()
    const foreign: ProviderKey = { ...must(keys[0]), provider: 'openai-2', project: 'proj_x' }

    const result = await must(provider.readLimits)([...keys, foreign])

    expect(result).toEqual({
      data: [
        { scope: 'project', target: 'proj_a', usd: 45, reset: 'monthly' },
        { scope: 'project', target: 'proj_b', usd: null, reset: null },
      ],
      gaps: [],
      notes: [],
      requests: 2,
    })
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/organization/projects/proj_a/spend_limit',
      'GET /v1/organization/projects/proj_b/spend_limit',
    ])
  })

  it('notes once, without a gap, when the organization has no spend-limit API (404)', async () => {
    const { provider, keys } = await setup(dataset({ spendLimits: false }))

    const result = await must(provider.readLimits)(keys)

    expect(result).toEqual({
      data: [],
      gaps: [],
      notes: [
        'OpenAI project spend limits are not available for this organization (GET …/spend_limit returned 404)',
      ],
      requests: 1,
    })
    expect(sleep.waits).toEqual([])
  })

  it('records any other failure as a gap and still reads the other projects', async () => {
    const { provider, keys } = await setup()
    fake.inject({
      kind: 'server-error',
      path: '/v1/organization/projects/proj_a/spend_limit',
      times: Infinity,
    })

    const result = await must(provider.readLimits)(keys)

    expect(result.data).toEqual([{ scope: 'project', target: 'proj_b', usd: null, reset: null }])
    expect(result.gaps).toEqual([
      {
        provider: 'openai',
        endpoint: '/organization/projects/{project_id}/spend_limit',
        reason: expect.stringMatching(/HTTP 500/),
      },
    ])
    expect(result.notes).toEqual([])
  })

  it.each([
    [45, 4500],
    [12.34, 1234],
    [0.1, 10],
  ])('sets a limit of $%d as %d cents and reads it back in USD', async (usd, cents) => {
    const { provider, keys } = await setup()

    const result = await must(provider.setLimit)({ scope: 'project', target: 'proj_b' }, usd)

    expect(result).toEqual({
      ok: true,
      value: { scope: 'project', target: 'proj_b', usd, reset: 'monthly' },
      requests: 1,
    })
    expect(writes()).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/organization/projects/proj_b/spend_limit',
        body: { threshold_amount: cents, currency: 'USD', interval: 'month' },
      }),
    ])
    const read = await must(provider.readLimits)(keys)
    expect(read.data.find((l) => l.target === 'proj_b')?.usd).toBe(usd)
  })

  it('sets the same limit twice with the same outcome', async () => {
    const { provider } = await setup()
    const setLimit = must(provider.setLimit)

    const first = await setLimit({ scope: 'project', target: 'proj_a' }, 60)
    const second = await setLimit({ scope: 'project', target: 'proj_a' }, 60)

    expect(second).toEqual(first)
    expect(first).toMatchObject({ ok: true, value: { usd: 60 } })
  })

  it('refuses a key-scoped limit without a request', async () => {
    const { provider } = await setup()

    const result = await must(provider.setLimit)({ scope: 'key', target: 'key_user' }, 5)

    expect(result).toMatchObject({ ok: false, status: undefined, requests: 0 })
    expect(fake.requests).toEqual([])
  })

  it('mints a service account with one key in the project of the key it replaces', async () => {
    const { provider, byId } = await setup()

    const result = await must(provider.mintKey)(byId('key_bot'), 'bot (rotated)', 99)

    expect(result.ok).toBe(true)
    if (!result.ok) return
    const { key: minted, secret } = result.value
    expect(secret).toMatch(/^sk-/)
    expect(minted).toEqual({
      provider: 'openai',
      providerKeyId: expect.stringMatching(/^key_/),
      hint: undefined,
      name: 'bot (rotated)',
      created: NOW.toISOString(),
      lastUsed: undefined,
      status: 'active',
      project: 'proj_b',
      owner: expect.stringMatching(/^svc_acct_/),
      ownerType: 'service_account',
    })
    // limitUsd has no place: OpenAI limits are per project.
    expect(writes()).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/organization/projects/proj_b/service_accounts',
        body: { name: 'bot (rotated)' },
      }),
    ])
    const listed = (await provider.listKeys()).data.find(
      (k) => k.providerKeyId === minted.providerKeyId,
    )
    expect(listed).toMatchObject({
      project: 'proj_b',
      owner: minted.owner,
      ownerType: 'service_account',
      status: 'active',
    })
    expect(must(provider.canMint)(must(listed))).toBe(true)
  })

  it.each([
    ['server-error', {}],
    ['slow', { delayMs: 2000 }],
  ] as const)('never retries a mint after a %s', async (kind, extra) => {
    const { provider, byId } = await setup()
    fake.inject({ kind, method: 'POST', path: '/v1/organization/projects/*', ...extra })

    const result = await must(provider.mintKey)(byId('key_bot'), 'once', null)

    expect(result).toMatchObject({ ok: false, requests: 1 })
    expect(!result.ok && result.reason).toMatch(/may have created the service account/)
    expect(writes()).toHaveLength(1)
    expect(sleep.waits).toEqual([])
  })

  it('deletes a user-owned key; a second delete answers 404', async () => {
    const { provider, byId } = await setup()
    const deactivate = must(provider.deactivateKey)

    const first = await deactivate(byId('key_user'))
    const second = await deactivate(byId('key_user'))

    expect(first).toEqual({ ok: true, value: null, requests: 1 })
    expect(second).toMatchObject({ ok: false, status: 404, requests: 1 })
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      'DELETE /v1/organization/projects/proj_a/api_keys/key_user',
      'DELETE /v1/organization/projects/proj_a/api_keys/key_user',
    ])
    const ids = (await provider.listKeys()).data.map((k) => k.providerKeyId)
    expect(ids).not.toContain('key_user')
    expect(ids).toContain('key_user_2')
  })

  it('deletes the service account of a service-account key, and its key with it', async () => {
    const { provider, byId } = await setup()

    const result = await must(provider.deactivateKey)(byId('key_bot'))

    expect(result).toEqual({ ok: true, value: null, requests: 1 })
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      'DELETE /v1/organization/projects/proj_b/service_accounts/svc_1',
    ])
    const ids = (await provider.listKeys()).data.map((k) => k.providerKeyId)
    expect(ids).not.toContain('key_bot')
  })

  it('deletes a key it has just minted through its service account', async () => {
    const { provider, byId } = await setup()
    const minted = await must(provider.mintKey)(byId('key_bot'), 'short-lived', null)
    const key = must(minted.ok ? minted.value.key : undefined)

    const result = await must(provider.deactivateKey)(key)

    expect(result.ok).toBe(true)
    const ids = (await provider.listKeys()).data.map((k) => k.providerKeyId)
    expect(ids).not.toContain(key.providerKeyId)
  })

  it('gets a 400, not retried, when a service-account key is deleted as a project key', async () => {
    const { provider, byId } = await setup()
    const { ownerType: _dropped, ...unknownOwner } = byId('key_bot')

    const result = await must(provider.deactivateKey)(unknownOwner)

    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /DELETE .*\/api_keys\/key_bot: HTTP 400 \(invalid_request_error\)/,
      ),
      status: 400,
      requests: 1,
    })
    expect(sleep.waits).toEqual([])
  })

  it.each(['setLimit', 'mintKey', 'deactivateKey'] as const)(
    '%s: a 403 is not retried and names the admin key it needs',
    async (verb) => {
      const { provider, byId } = await setup()
      fake.inject({ kind: 'forbidden', path: '/v1/organization/projects/*', times: Infinity })

      const result =
        verb === 'setLimit'
          ? await must(provider.setLimit)({ scope: 'project', target: 'proj_a' }, 45)
          : verb === 'mintKey'
            ? await must(provider.mintKey)(byId('key_bot'), 'denied', null)
            : await must(provider.deactivateKey)(byId('key_user'))

      expect(result).toEqual({
        ok: false,
        reason: expect.stringMatching(/HTTP 403 \(invalid_request_error\)/),
        status: 403,
        permission: PERMISSION,
        requests: 1,
      })
      expect(fake.requests).toHaveLength(1)
      expect(sleep.waits).toEqual([])
    },
  )

  it('keeps the admin key and the minted secret out of logs and reasons', async () => {
    const { provider, byId, keys } = await setup()
    const minted = await must(provider.mintKey)(byId('key_bot'), 'secret-free', null)
    const secret = minted.ok ? minted.value.secret : 'unreachable'
    fake.inject({ kind: 'forbidden', times: Infinity })

    const outcomes = [
      await must(provider.setLimit)({ scope: 'project', target: 'proj_a' }, 1),
      await must(provider.mintKey)(byId('key_bot'), 'again', null),
      await must(provider.deactivateKey)(byId('key_user')),
      await must(provider.readLimits)(keys),
    ]

    expect(minted.ok).toBe(true)
    const text = dump(log.lines, outcomes, minted.ok && minted.value.key, fake.requests)
    expect(text).not.toContain(ADMIN)
    expect(text).not.toContain(secret)
  })
})
