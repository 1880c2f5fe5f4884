import { afterEach, describe, expect, it } from '@jest/globals'
import { createAnthropicProvider } from '../../../src/adapters/providers/anthropic.js'
import type { HttpClient } from '../../../src/adapters/http/client.js'
import { startAnthropicFake, type AnthropicFakeData } from '../../../src/demo/fake-anthropic.js'
import type { FakeServer } from '../../../src/demo/fake-server.js'
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

const ADMIN = fakeAdminKey('sk-ant-admin01', 'anthropic-writes')

function dataset(): AnthropicFakeData {
  return {
    now: NOW_S,
    keys: [
      {
        id: 'apikey_blog',
        name: 'Blog',
        created_at: '2026-10-15T09:00:00Z',
        created_by: { id: 'user_m', type: 'user' },
        partial_key_hint: 'sk-ant-api03-Abc...xyAA',
        status: 'active',
        workspace_id: 'wrkspc_1',
      },
    ],
    usage: [],
    costs: [],
    activities: [],
  }
}

let fake: FakeServer
let http: HttpClient
let sleep: ReturnType<typeof recordingSleep>
let log: ReturnType<typeof capturingLog>

async function setup() {
  fake = await startAnthropicFake(dataset(), { adminKey: ADMIN })
  sleep = recordingSleep()
  http = testClient('anthropic', sleep)
  log = capturingLog()
  const provider = createAnthropicProvider({
    id: 'anthropic',
    adminKey: ADMIN,
    baseUrl: fake.origin,
    http,
    log,
    now: () => NOW,
  })
  const key = must((await provider.listKeys()).data[0], 'the listed key')
  fake.requests.length = 0
  return { provider, key }
}

afterEach(async () => {
  await http.close()
  await fake.stop()
})

describe('Anthropic deactivation against the loopback fake', () => {
  it('watches limits it cannot set, and cannot mint', async () => {
    const { provider } = await setup()

    expect(provider.limitControl()).toEqual({
      scope: 'none',
      note: expect.stringMatching(/Console only .*Workspaces .*Limits.*cannot set them/),
    })
    expect(provider.readLimits).toBeUndefined()
    expect(provider.setLimit).toBeUndefined()
    expect(provider.mintKey).toBeUndefined()
  })

  it('deactivates a key with status inactive, twice with the same outcome', async () => {
    const { provider, key } = await setup()
    const deactivate = must(provider.deactivateKey)

    const first = await deactivate(key)
    const second = await deactivate(key)

    expect(first).toEqual({ ok: true, value: null, requests: 1 })
    expect(second).toEqual(first)
    expect(fake.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/organizations/api_keys/apikey_blog',
        body: { status: 'inactive' },
        authPresent: true,
      }),
      expect.objectContaining({ method: 'POST', body: { status: 'inactive' } }),
    ])
    expect((await provider.listKeys()).data[0]).toMatchObject({ status: 'inactive' })
  })

  it('retries an overloaded (529) update, which can be repeated safely', async () => {
    const { provider, key } = await setup()
    fake.inject({ kind: 'overloaded', method: 'POST' })

    const result = await must(provider.deactivateKey)(key)

    expect(result).toEqual({ ok: true, value: null, requests: 2 })
    expect(sleep.waits).toEqual([375])
  })

  it('does not retry a 403 and names the admin key it needs', async () => {
    const { provider, key } = await setup()
    fake.inject({ kind: 'forbidden', path: '/v1/organizations/api_keys/*', times: Infinity })

    const result = await must(provider.deactivateKey)(key)

    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /POST .*\/api_keys\/apikey_blog: HTTP 403 \(permission_error\)/,
      ),
      status: 403,
      permission: 'an Anthropic admin key (sk-ant-admin01-…)',
      requests: 1,
    })
    expect(sleep.waits).toEqual([])
  })

  it('reports a key it does not know as a 404', async () => {
    const { provider, key } = await setup()

    const result = await must(provider.deactivateKey)({ ...key, providerKeyId: 'apikey_gone' })

    expect(result).toMatchObject({ ok: false, status: 404, requests: 1 })
  })

  it('keeps the admin key out of logs and reasons', async () => {
    const { provider, key } = await setup()
    await must(provider.deactivateKey)(key)
    fake.inject({ kind: 'forbidden', times: Infinity })

    const failed = await must(provider.deactivateKey)(key)

    expect(dump(log.lines, failed, fake.requests)).not.toContain(ADMIN)
    expect(log.lines).toContain('info anthropic: deactivate key apikey_blog')
  })
})
