import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { decryptSops } from 'sops-age'
import { OUTBOX } from '../../src/adapters/forge/local.js'
import { createIdentityLoader } from '../../src/adapters/vault/identities.js'
import { SopsAgeVault } from '../../src/adapters/vault/sops-age-vault.js'
import { redactedHint } from '../../src/analysis/key-matching.js'
import type { AuditReport } from '../../src/commands/audit.js'
import type { RecordedRequest } from '../../src/demo/fake-server.js'
import {
  CONFIG_FILE,
  startAuditHarness,
  type AuditHarness,
} from '../../test/fakes/audit-harness.js'

/**
 * Rotation (issue #7) with the local forge, through `audit()` on the demo repository
 * (test/fakes/audit-harness.ts): rotation branches in the real git repository, pull requests as
 * files in `.keyward/outbox/pulls/`, the OpenRouter fake minting and disabling keys, the real
 * SOPS+age vault. A person merges with `git merge`.
 */

const exec = promisify(execFile)
const T0 = '2026-11-27T12:00:00Z'
const at = (hours: number) => new Date(Date.parse(T0) + hours * 3_600_000).toISOString()

const OR_KEY = 'night-batch-openrouter'
const OR_FILE = 'keys/night-batch-openrouter.sops.yaml'
const AVATAR = 'avatar-video-openai'
const branchOf = (keyId: string) => `keyward/rotate/${keyId}`
const PULLS = join(OUTBOX, 'pulls')

interface OutboxPull {
  file: string
  header: { number: number; branch: string; state: string; title: string; head: string }
  body: string
  marker: Record<string, unknown> | undefined
}

async function outboxPulls(root: string): Promise<OutboxPull[]> {
  let files: string[]
  try {
    files = (await readdir(join(root, PULLS))).filter((f) => /^\d+\.md$/.test(f)).sort()
  } catch {
    return []
  }
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(root, PULLS, file), 'utf8')
      const [first = '', ...rest] = text.split('\n')
      const header = JSON.parse(
        first.replace(/^<!-- keyward:outbox /, '').replace(/ -->$/, ''),
      ) as OutboxPull['header']
      const body = rest.join('\n')
      const json = /<!-- keyward:rotation (\{[^\n]*\}) -->/.exec(body)?.[1]
      return {
        file,
        header,
        body,
        marker: json ? (JSON.parse(json) as Record<string, unknown>) : undefined,
      }
    }),
  )
}

/** Plaintext needles: each secret whole and a middle slice no hint could hold. */
const needlesOf = (secrets: readonly string[]) =>
  secrets.flatMap((s) => [s, s.slice(Math.floor(s.length / 2) - 8, Math.floor(s.length / 2) + 8)])

describe('a minted rotation with the local forge', () => {
  let h: AuditHarness
  const reports: AuditReport[] = []
  const orRequests: RecordedRequest[][] = []
  let oldHash: string
  let pull: OutboxPull | undefined
  let mintedFile: string
  let branchYaml: string
  let statusAfterOpen: string
  let headAfterOpen: string
  let personSha: string
  let minted: { hash: string; secret: string } | undefined

  const runAt = async (now: string) => {
    const requests = h.providers.servers.openrouter.requests
    const from = requests.length
    reports.push(await h.runAudit({ now }))
    orRequests.push(requests.slice(from))
  }

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    oldHash = h.dataset.providerKeyIds[OR_KEY]
    const yaml = await readFile(join(h.root, CONFIG_FILE), 'utf8')
    const due = yaml.replace(
      /(\n {2}night-batch-openrouter:\n(?: {4}.*\n)*? {4}created: )2026-08-15/,
      '$12026-05-01',
    )
    expect(due).not.toBe(yaml)
    await writeFile(join(h.root, CONFIG_FILE), due)
    await h.git('commit', '--quiet', '-am', 'night-batch key is old')

    await runAt(at(0))
    pull = (await outboxPulls(h.root)).find((p) => p.header.branch === branchOf(OR_KEY))
    statusAfterOpen = await h.git('status', '--porcelain', '--', 'keys', CONFIG_FILE)
    headAfterOpen = (await h.git('symbolic-ref', 'HEAD')).trim()
    mintedFile = await h.git('show', `${branchOf(OR_KEY)}:${OR_FILE}`)
    branchYaml = await h.git('show', `${branchOf(OR_KEY)}:${CONFIG_FILE}`)

    // Decrypt the minted file in a clone-like folder with the demo's .sops.yaml and identity.
    const dir = await mkdtemp(join(tmpdir(), 'keyward-local-minted-'))
    try {
      await writeFile(join(dir, '.sops.yaml'), await readFile(join(h.root, '.sops.yaml'), 'utf8'))
      await mkdir(join(dir, 'keys'))
      await writeFile(join(dir, OR_FILE), mintedFile)
      const vault = new SopsAgeVault({
        root: dir,
        identities: createIdentityLoader({
          env: { SOPS_AGE_KEY_FILE: join(h.root, 'demo-age-key.txt') },
          defaultKeysFile: false,
        }),
        now: () => new Date(T0),
        actor: 'test',
      })
      const secret = (await vault.decrypt(OR_FILE, 'check', OR_KEY)).values.api_key
      const identity = (await readFile(join(h.root, 'demo-age-key.txt'), 'utf8'))
        .split('\n')
        .find((l) => l.startsWith('AGE-SECRET-KEY-')) as string
      const independent = await decryptSops(mintedFile, { secretKey: identity, fileType: 'yaml' })
      expect(independent).toEqual({ api_key: secret })
      if (typeof secret === 'string' && typeof pull?.marker?.new === 'string')
        minted = { hash: pull.marker.new, secret }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }

    // A person pushes to another rotation branch (a commit of their own on its tip).
    const tip = (await h.git('rev-parse', branchOf(AVATAR))).trim()
    const person = await exec(
      'git',
      ['commit-tree', `${tip}^{tree}`, '-p', tip, '-m', 'Store the new avatar key'],
      {
        cwd: h.root,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 'Jeff',
          GIT_AUTHOR_EMAIL: 'jeff@example.com',
          GIT_COMMITTER_NAME: 'Jeff',
          GIT_COMMITTER_EMAIL: 'jeff@example.com',
        },
      },
    )
    personSha = person.stdout.trim()
    await h.git('update-ref', `refs/heads/${branchOf(AVATAR)}`, personSha, tip)

    // A person merges the minted rotation at 12:30.
    await exec('git', ['merge', '--quiet', '--no-ff', '--no-edit', branchOf(OR_KEY)], {
      cwd: h.root,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Maria',
        GIT_AUTHOR_EMAIL: 'maria@example.com',
        GIT_COMMITTER_NAME: 'Maria',
        GIT_COMMITTER_EMAIL: 'maria@example.com',
        GIT_AUTHOR_DATE: '2026-11-27T12:30:00Z',
        GIT_COMMITTER_DATE: '2026-11-27T12:30:00Z',
      },
    })
    await runAt(at(1.5))
    await runAt(at(25))
    await runAt(at(26))
  }, 120_000)

  afterAll(async () => {
    await h?.stop()
  })

  it('opens a pull request file in the outbox for the aged-out key, with the marker', () => {
    expect(reports[0]?.pullRequests.opened).toContain(pull?.header.number)
    expect(pull?.header).toMatchObject({
      state: 'open',
      title: `Rotate ${OR_KEY} (Nightly Transcript Batch - OpenRouter)`,
    })
    expect(pull?.marker).toMatchObject({
      key: OR_KEY,
      provider: 'openrouter',
      old: oldHash,
      mode: 'minted',
      reason: 'rotation-due',
    })
  })

  it('writes the branch without touching the checked-out branch or the work tree', () => {
    expect(headAfterOpen).toBe('refs/heads/main')
    expect(statusAfterOpen).toBe('')
  })

  it('commits the minted key, encrypted: it decrypts to the key the OpenRouter fake created', () => {
    expect(minted).toBeDefined()
    const created = h.dataset.openrouter.keys.find((k) => k.hash === minted?.hash)
    // The fake made the label from the plaintext it returned: same prefix and tail.
    expect(created?.label).toBe(redactedHint('openrouter', minted?.secret ?? ''))
    expect(created?.name).toBe('Nightly Transcript Batch - OpenRouter')
    expect(mintedFile).not.toContain(minted?.secret)
    expect(branchYaml).toContain(`    provider_key_id: "${minted?.hash}"\n`)
  })

  it('records the merged rotation on the next run, once', () => {
    expect(reports[1]?.rotations).toEqual([
      {
        key: OR_KEY,
        provider: 'openrouter',
        old_provider_key_id: oldHash,
        new_provider_key_id: minted?.hash,
        pull_request: pull?.header.number,
        merged_by: null,
        merged_at: '2026-11-27T12:30:00Z',
      },
    ])
    expect(reports[2]?.rotations).toEqual([])
    expect(reports[3]?.rotations).toEqual([])
  })

  it('disables the old key only after the grace period, and only once', () => {
    const writes = orRequests.map((rs) =>
      rs
        .filter((r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query')
        .map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`),
    )
    expect(writes[0]).toEqual([expect.stringMatching(/^POST \/api\/v1\/keys \{/)])
    expect(writes.slice(1)).toEqual([[], [`PATCH /api/v1/keys/${oldHash} {"disabled":true}`], []])
    expect(h.dataset.openrouter.keys.find((k) => k.hash === oldHash)?.disabled).toBe(true)
  })

  it('leaves a person’s commit on a rotation branch where it is', async () => {
    expect((await h.git('rev-parse', branchOf(AVATAR))).trim()).toBe(personSha)
  })

  it('puts no plaintext key in the outbox, any git object, the log or the reports', async () => {
    const secrets = [...(await h.plaintextSecrets()), minted?.secret ?? 'missing']
    const history = await h.git('log', '--all', '-p', '--format=%H %B')
    const outbox = await Promise.all(
      (await readdir(join(h.root, PULLS))).map((f) => readFile(join(h.root, PULLS, f), 'utf8')),
    )
    const texts = [
      history,
      ...outbox,
      ...h.lines.map((l) => l.message),
      ...reports.map((r) => JSON.stringify(r)),
    ]
    const leaks = texts
      .filter((t) => needlesOf(secrets).some((n) => t.includes(n)))
      .map((t) => t.slice(0, 120))
    expect(leaks).toEqual([])
  })
})
