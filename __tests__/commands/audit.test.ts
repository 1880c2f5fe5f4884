import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { OUTBOX } from '../../src/adapters/forge/local.js'
import { STATE_FILE, type AuditReport } from '../../src/commands/audit.js'
import type { DemoIncident } from '../../src/demo/dataset.js'
import { LEDGER_FILE, SNAPSHOT_DIR, verifyChain } from '../../src/ledger/chain.js'
import type { Gap } from '../../src/records.js'
import { markerOf } from '../../src/report/issue-body.js'
import { startAuditHarness, type AuditHarness } from '../../test/fakes/audit-harness.js'

/**
 * `audit()` end to end on the demo repository: real git, the real SOPS+age vault with the demo
 * identity, the loopback provider fakes through real undici, the local forge and leak scanner.
 */

const T0 = '2026-11-27T12:00:00Z'
const HOUR_MS = 3_600_000
const at = (hoursAfterT0: number) => new Date(Date.parse(T0) + hoursAfterT0 * HOUR_MS).toISOString()
const ISSUES_DIR = posix.join(OUTBOX, 'issues')

/** Every file under `folder` of `root`, relative to root, sorted; none when it does not exist. */
async function filesUnder(root: string, folder: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(join(root, dir), { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const path = posix.join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else out.push(path)
    }
  }
  await walk(folder)
  return out.sort()
}

interface FileCopy {
  bytes: Buffer
  mtimeMs: number
}

async function copyOf(root: string, folder: string): Promise<Map<string, FileCopy>> {
  const copy = new Map<string, FileCopy>()
  for (const path of await filesUnder(root, folder)) {
    const full = join(root, path)
    copy.set(path, { bytes: await readFile(full), mtimeMs: (await stat(full)).mtimeMs })
  }
  return copy
}

/** The outbox issue files (not their comment files), with the finding marker of each. */
async function outboxFiles(
  root: string,
): Promise<{ path: string; fingerprint: string; text: string }[]> {
  const files = (await filesUnder(root, ISSUES_DIR)).filter((f) => f.endsWith('.md'))
  return Promise.all(
    files.map(async (path) => {
      const text = await readFile(join(root, path), 'utf8')
      return { path, fingerprint: markerOf(text) ?? '', text }
    }),
  )
}

/** The outbox issues of findings (SPEC §5 finding marker), leaving out the dashboard. */
const outboxIssues = async (root: string) =>
  (await outboxFiles(root)).filter((i) => i.fingerprint !== '')

/** The outbox issue header (state, labels) keyed by finding fingerprint. */
function headerOf(text: string): { state: string; stateReason: string | null; labels: string[] } {
  const first = text.slice(0, text.indexOf('\n'))
  return JSON.parse(first.replace(/^<!-- keyward:outbox /, '').replace(/ -->$/, '')) as {
    state: string
    stateReason: string | null
    labels: string[]
  }
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** `keyward ledger verify` over the real files of a repository. */
async function verifyRepository(root: string) {
  const snapshotFiles = await filesUnder(root, SNAPSHOT_DIR)
  const snapshots = new Map<string, Uint8Array>()
  for (const file of snapshotFiles) snapshots.set(file, await readFile(join(root, file)))
  return verifyChain({
    ledgerText: await readFile(join(root, LEDGER_FILE), 'utf8').catch(() => undefined),
    snapshotFiles,
    readSnapshot: (path) => snapshots.get(path),
    sha256,
  })
}

const ledgerLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '')

/** Whether a finding is the one an incident seeds: same rule, same key (or provider key). */
const findingOf = (report: AuditReport, incident: DemoIncident) =>
  report.findings.filter(
    (f) =>
      f.rule === incident.kind &&
      (incident.keyId !== undefined
        ? f.key === incident.keyId
        : f.key === undefined && f.subject === `${incident.provider}:${incident.providerKeyId}`),
  )

describe('audit on the demo repository, run twice an hour apart', () => {
  let h: AuditHarness
  let first: AuditReport
  let second: AuditReport
  let auditAfterFirst: Map<string, FileCopy>
  let outboxAfterFirst: Map<string, FileCopy>
  let commitsAfterFirst: number
  let commitsAfterSecond: number

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    first = await h.runAudit({ now: at(0) })
    auditAfterFirst = await copyOf(h.root, 'audit')
    outboxAfterFirst = await copyOf(h.root, ISSUES_DIR)
    commitsAfterFirst = Number(await h.git('rev-list', '--count', 'HEAD'))
    second = await h.runAudit({ now: at(1) })
    commitsAfterSecond = Number(await h.git('rev-list', '--count', 'HEAD'))
  })
  afterAll(async () => {
    await h?.stop()
  })

  it('reads every provider without a gap on the first run', () => {
    expect(first.gaps).toEqual([])
    expect(first.committed).toBe(true)
    expect(first.providers.map((p) => p.id).sort()).toEqual(['anthropic', 'openai', 'openrouter'])
  })

  it('finds every seeded incident of the demo dataset', () => {
    // Arrange
    const incidents = h.dataset.incidents
    expect(incidents.length).toBeGreaterThan(0)

    // Act
    const missed = incidents
      .filter((incident) => findingOf(first, incident).length === 0)
      .map((i) => `${i.kind} ${i.keyId ?? i.providerKeyId}`)

    // Assert
    expect(missed).toEqual([])
  })

  it('reports nothing about a key or a provider key that has no incident', () => {
    // Arrange: every inventory key and provider key the fakes serve, minus those with incidents.
    const withIncident = new Set(h.dataset.incidents.flatMap((i) => [i.keyId, i.providerKeyId]))
    const served = [
      ...Object.entries(h.dataset.providerKeyIds).flatMap(([keyId, providerKeyId]) => [
        keyId,
        providerKeyId,
      ]),
      h.dataset.unmanagedKeyId,
    ]
    const clean = new Set(served.filter((id) => !withIncident.has(id)))

    // Act
    const about = first.findings.filter(
      (f) =>
        (f.key !== undefined && !withIncident.has(f.key)) ||
        (f.key === undefined &&
          ![...withIncident].some((id) => id && f.subject.endsWith(`:${id}`))),
    )

    // Assert: no finding on a clean key, and none that is about no seeded key at all
    // (a gap, a leak in the demo repository, a tampered vault file, a shared key).
    expect(first.findings.filter((f) => f.key !== undefined && clean.has(f.key))).toEqual([])
    expect(about.map((f) => `${f.rule} ${f.subject}`)).toEqual([])
  })

  it('commits exactly one more snapshot and one more ledger line on the second run', async () => {
    // Arrange
    const snapshotsBefore = [...auditAfterFirst.keys()].filter((p) => p.startsWith(SNAPSHOT_DIR))
    const ledgerBefore = ledgerLines(auditAfterFirst.get(LEDGER_FILE)?.bytes.toString('utf8') ?? '')

    // Act
    const snapshotsAfter = await filesUnder(h.root, SNAPSHOT_DIR)
    const ledgerAfter = ledgerLines(await readFile(join(h.root, LEDGER_FILE), 'utf8'))

    // Assert
    expect(second.committed).toBe(true)
    expect(snapshotsBefore).toHaveLength(1)
    expect(snapshotsAfter).toHaveLength(2)
    expect(snapshotsAfter).toContain(second.snapshot)
    expect(ledgerBefore).toHaveLength(1)
    expect(ledgerAfter).toHaveLength(2)
    expect(JSON.parse(ledgerAfter[1] ?? '{}')).toMatchObject({
      path: second.snapshot,
      sha256: second.ledgerHead,
      prev: first.ledgerHead,
    })
    expect(commitsAfterSecond).toBe(commitsAfterFirst + 1)
  })

  it('writes the key listings and matches once a day, not again while they are unchanged', async () => {
    // Arrange
    const read = async (path: string | undefined) =>
      JSON.parse(await readFile(join(h.root, path ?? ''), 'utf8')) as {
        matches: unknown
        providers: Record<string, { keys: unknown }>
      }

    // Act
    const one = await read(first.snapshot)
    const two = await read(second.snapshot)

    // Assert: the first holds them; the second, an hour later the same day, points back.
    expect(Object.keys(one.matches as object).length).toBeGreaterThan(0)
    for (const provider of Object.values(one.providers))
      expect(Array.isArray(provider.keys)).toBe(true)
    expect(two.matches).toBe('unchanged')
    for (const provider of Object.values(two.providers)) expect(provider.keys).toBe('unchanged')
  })

  it('commits with the bot identity and leaves no file of the run uncommitted', async () => {
    const author = await h.git('log', '-1', '--format=%an <%ae>')
    const status = await h.git('status', '--porcelain', '--', 'audit')
    expect(author.trim()).toBe('keyward <keyward@users.noreply.invalid>')
    expect(status).toBe('')
  })

  it('creates one issue per finding on the first run and no duplicate on the second', async () => {
    // Arrange
    const filesAfterFirst = [...outboxAfterFirst.keys()].filter((f) => f.endsWith('.md'))

    // Act
    const files = await outboxFiles(h.root)
    const issues = await outboxIssues(h.root)
    const fingerprints = issues.map((i) => i.fingerprint)

    // Assert
    // rotation-due is answered by a pull request (SPEC §4), every other finding by an issue.
    const issueFindings = first.findings.filter((f) => f.rule !== 'rotation-due')
    expect(first.findings.some((f) => f.rule === 'rotation-due')).toBe(true)
    expect(first.issues.created).toHaveLength(issueFindings.length)
    expect(second.issues.created).toEqual([])
    expect(files.map((f) => f.path)).toEqual(filesAfterFirst)
    expect(new Set(fingerprints).size).toBe(fingerprints.length)
    expect(fingerprints.sort()).toEqual(issueFindings.map((f) => f.fingerprint).sort())
  })

  it('rewrites no issue whose finding did not change', async () => {
    // Arrange: findings of the second run identical to the first run's.
    const before = new Map(first.findings.map((f) => [f.fingerprint, f]))
    const unchanged = second.findings.filter((f) => {
      const old = before.get(f.fingerprint)
      return old !== undefined && JSON.stringify(old) === JSON.stringify(f)
    })
    expect(unchanged.length).toBeGreaterThan(0)

    // Act
    const issues = new Map((await outboxIssues(h.root)).map((i) => [i.fingerprint, i.path]))
    const after = await copyOf(h.root, ISSUES_DIR)

    // Assert
    expect(second.issues.updated).toEqual([])
    expect(second.issues.writes).toBe(0)
    for (const f of unchanged) {
      const path = issues.get(f.fingerprint) ?? ''
      expect({ path, ...after.get(path) }).toEqual({ path, ...outboxAfterFirst.get(path) })
    }
  })

  it('closes no event issue when the event leaves the analysis window', async () => {
    const eventsOfFirst = first.findings.filter((f) => f.kind === 'event')
    const issues = new Map((await outboxIssues(h.root)).map((i) => [i.fingerprint, i.text]))
    expect(second.issues.closed).toEqual([])
    for (const f of eventsOfFirst)
      expect([f.rule, headerOf(issues.get(f.fingerprint) ?? '').state]).toEqual([f.rule, 'open'])
  })

  it('leaves every byte under audit/ as the first run wrote it, except the state; the ledger only grows', async () => {
    // Act
    const after = await copyOf(h.root, 'audit')

    // Assert
    for (const [path, copy] of auditAfterFirst) {
      const now = after.get(path)
      expect(now).toBeDefined()
      if (path === STATE_FILE) continue
      if (path === LEDGER_FILE) {
        const grown = now?.bytes.toString('utf8') ?? ''
        expect(grown.startsWith(copy.bytes.toString('utf8'))).toBe(true)
        expect(grown.length).toBeGreaterThan(copy.bytes.length)
        continue
      }
      expect({ path, same: now?.bytes.equals(copy.bytes) }).toEqual({ path, same: true })
    }
    const added = [...after.keys()].filter((p) => !auditAfterFirst.has(p))
    expect(added).toEqual([second.snapshot])
  })

  it('never lets a decrypted key reach the log, a file outside keys/, or the report', async () => {
    // Arrange: the plaintext keys (inventory and admin) as the vault decrypts them, whole and
    // a middle slice that no hint could contain.
    const secrets = await h.plaintextSecrets()
    expect(secrets.length).toBeGreaterThanOrEqual(7)
    const needles = secrets.flatMap((s) => [
      s,
      s.slice(Math.floor(s.length / 2) - 8, Math.floor(s.length / 2) + 8),
    ])
    const files = (await filesUnder(h.root, '.')).filter(
      (f) => !f.startsWith('keys/') && !f.startsWith('.git/'),
    )
    const texts = [
      ...h.lines.map((l) => `log ${l.level}: ${l.message}`),
      `report 1: ${JSON.stringify(first)}`,
      `report 2: ${JSON.stringify(second)}`,
      ...(await Promise.all(
        files.map(async (f) => `file ${f}: ${await readFile(join(h.root, f), 'latin1')}`),
      )),
    ]
    expect(h.lines.length).toBeGreaterThan(0)
    expect(files).toEqual(expect.arrayContaining([LEDGER_FILE, second.snapshot]))

    // Act
    const leaks = texts
      .filter((text) => needles.some((needle) => text.includes(needle)))
      .map((text) => text.slice(0, 80))

    // Assert
    expect(leaks).toEqual([])
  })

  it('passes ledger verify after two runs', async () => {
    const report = await verifyRepository(h.root)
    expect(report).toMatchObject({ ok: true, snapshots: 2, head: second.ledgerHead })
  })

  it('fails ledger verify naming the snapshot whose byte was edited', async () => {
    // Arrange: a copy of the repository with one digit of the first snapshot changed.
    const copy = await mkdtemp(join(tmpdir(), 'keyward-tampered-'))
    try {
      await cp(h.root, copy, { recursive: true })
      const target = first.snapshot ?? ''
      const bytes = await readFile(join(copy, target))
      const index = bytes.findIndex((b) => b >= 0x31 && b <= 0x39) // a digit 1-9
      bytes[index] = 0x30
      await writeFile(join(copy, target), bytes)

      // Act
      const report = await verifyRepository(copy)

      // Assert
      expect(report.ok).toBe(false)
      expect(report.broken?.file).toBe(target)
      expect(report.broken?.message).toMatch(/edited/)
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  })
})

describe('audit with a provider that fails every run', () => {
  const FAILING = 'openai'
  const failEverything = { openai: [{ kind: 'server-error' as const, times: Infinity }] }
  let h: AuditHarness
  let healthy: AuditReport
  const failing: AuditReport[] = []
  const ingestionIssuesAfter: number[] = []
  let conditionsOfFailing: string[]
  const conditionStates: string[][] = []

  const ingestionIssues = async () =>
    (await outboxIssues(h.root)).filter((i) =>
      headerOf(i.text).labels.includes('keyward:ingestion-failed'),
    )

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    healthy = await h.runAudit({ now: at(0) })
    conditionsOfFailing = healthy.findings
      .filter((f) => f.kind === 'condition' && f.provider === FAILING && f.rule !== 'rotation-due')
      .map((f) => f.fingerprint)
    for (let run = 1; run <= 4; run++) {
      failing.push(await h.runAudit({ now: at(run), faults: failEverything }))
      ingestionIssuesAfter.push((await ingestionIssues()).length)
      const issues = await outboxIssues(h.root)
      conditionStates.push(
        conditionsOfFailing.map(
          (fp) => headerOf(issues.find((i) => i.fingerprint === fp)?.text ?? '').state,
        ),
      )
    }
  })
  afterAll(async () => {
    await h?.stop()
  })

  it('records a gap for the failing provider in every run’s snapshot', async () => {
    for (const report of failing) {
      const snapshot = JSON.parse(await readFile(join(h.root, report.snapshot ?? ''), 'utf8')) as {
        gaps: Gap[]
      }
      expect(report.committed).toBe(true)
      expect(snapshot.gaps.filter((g) => g.provider === FAILING).length).toBeGreaterThan(0)
      expect(snapshot.gaps.every((g) => g.provider === FAILING)).toBe(true)
    }
  })

  it('opens exactly one ingestion-failed issue on the third failed run, not before', () => {
    expect(healthy.findings.some((f) => f.rule === 'ingestion-failed')).toBe(false)
    expect(
      failing.map((r) => r.findings.filter((f) => f.rule === 'ingestion-failed').length),
    ).toEqual([0, 0, 1, 1])
    expect(ingestionIssuesAfter).toEqual([0, 0, 1, 1])
  })

  it('still reads the other providers while one fails', async () => {
    for (const report of failing) {
      const others = report.providers.filter((p) => p.id !== FAILING)
      expect(others.map((p) => p.id).sort()).toEqual(['anthropic', 'openrouter'])
      for (const p of others)
        expect({ id: p.id, gaps: p.gaps, listed: p.keys > 0 }).toEqual({
          id: p.id,
          gaps: 0,
          listed: true,
        })
    }
    const last = JSON.parse(
      await readFile(join(h.root, failing.at(-1)?.snapshot ?? ''), 'utf8'),
    ) as { providers: Record<string, { keys: unknown[] | null }> }
    expect(last.providers.anthropic?.keys?.length).toBeGreaterThan(0)
    expect(last.providers.openrouter?.keys?.length).toBeGreaterThan(0)
  })

  it('keeps the failing provider’s condition issues open while it is unread', () => {
    expect(conditionsOfFailing.length).toBeGreaterThan(0)
    for (const states of conditionStates) expect(states.every((s) => s === 'open')).toBe(true)
    for (const report of failing) expect(report.issues.closed).toEqual([])
  })
})

describe('audit --dry-run', () => {
  let h: AuditHarness
  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
  })
  afterAll(async () => {
    await h?.stop()
  })

  it('computes the findings but commits nothing and writes no outbox file', async () => {
    // Arrange
    const logBefore = await h.git('log', '--format=%H')

    // Act
    const report = await h.runAudit({ now: T0, dryRun: true })

    // Assert
    expect(report.findings.length).toBeGreaterThan(0)
    expect(report.issues.writes).toBe(
      report.findings.filter((f) => f.rule !== 'rotation-due').length,
    )
    expect(report.committed).toBe(false)
    expect(report.snapshot).toBeUndefined()
    expect(await h.git('log', '--format=%H')).toBe(logBefore)
    expect(await h.git('status', '--porcelain', '--untracked-files=all')).toBe('')
    expect(await filesUnder(h.root, OUTBOX)).toEqual([])
    expect(await filesUnder(h.root, 'audit')).toEqual([])
  })
})

describe('audit with one secret behind two inventory entries', () => {
  let h: AuditHarness
  beforeAll(async () => {
    // Arrange: a second entry whose secret file holds the same key, matched by its hint.
    h = await startAuditHarness({ now: T0 })
    await cp(
      join(h.root, 'keys/avatar-video-openai.sops.yaml'),
      join(h.root, 'keys/avatar-video-copy.sops.yaml'),
    )
    const inventory = await readFile(join(h.root, 'keyward.yaml'), 'utf8')
    await writeFile(
      join(h.root, 'keyward.yaml'),
      inventory.replace(
        '  honeypot-openai:\n',
        [
          '  avatar-video-copy:',
          '    label: Avatar Video Pipeline - copy',
          '    workflow: avatar-video',
          '    provider: openai',
          '    secret: keys/avatar-video-copy.sops.yaml',
          '    created: 2026-09-01',
          '  honeypot-openai:',
          '',
        ].join('\n'),
      ),
    )
    await h.git('add', '-A')
    await h.git('commit', '--quiet', '-m', 'a second entry for the avatar key')
  })
  afterAll(async () => {
    await h?.stop()
  })

  it('opens one shared-key issue, and the next run writes nothing', async () => {
    // Act
    const first = await h.runAudit({ now: at(0) })
    const second = await h.runAudit({ now: at(1) })

    // Assert
    const shared = (await outboxIssues(h.root))
      .filter((i) => headerOf(i.text).labels.includes('keyward:shared-key'))
      .map((i) => `${i.path} ${headerOf(i.text).state}`)
    expect(first.findings.filter((f) => f.rule === 'shared-key').length).toBeGreaterThan(0)
    expect(shared).toHaveLength(1)
    expect(second.issues).toMatchObject({ created: [], updated: [], closed: [], writes: 0 })
  })
})

describe('audit run twice within the same second', () => {
  let h: AuditHarness
  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
  })
  afterAll(async () => {
    await h?.stop()
  })

  it('never rewrites the first snapshot, and the ledger still verifies', async () => {
    // Arrange
    const first = await h.runAudit({ now: T0 })
    const bytes = await readFile(join(h.root, first.snapshot ?? ''))

    // Act: a second run 400 ms later (a retried workflow, two schedules at once).
    await h.runAudit({ now: new Date(Date.parse(T0) + 400).toISOString() })

    // Assert
    expect((await readFile(join(h.root, first.snapshot ?? ''))).equals(bytes)).toBe(true)
    expect(await verifyRepository(h.root)).toMatchObject({ ok: true })
  })
})

describe('audit with a write budget smaller than its findings', () => {
  let h: AuditHarness
  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
  })
  afterAll(async () => {
    await h?.stop()
  })

  it('opens the waiting event issues on later runs, after their data has left the window', async () => {
    // Arrange: a first run that finds more than it may write.
    const first = await h.runAudit({ now: at(0), maxIssuesPerRun: 3 })
    const events = first.findings.filter((f) => f.kind === 'event')
    expect(events.length).toBeGreaterThan(3)
    expect(first.issues.deferred.length).toBeGreaterThan(0)

    // Act: daily runs; each judges only its own new data, never the first run's backfill again.
    const later: AuditReport[] = []
    for (let day = 1; day <= 10; day++)
      later.push(await h.runAudit({ now: at(24 * day), maxIssuesPerRun: 3 }))

    // Assert
    const issues = await outboxIssues(h.root)
    const fingerprints = issues.map((i) => i.fingerprint)
    expect(new Set(fingerprints).size).toBe(fingerprints.length)
    for (const f of events)
      expect([f.rule, fingerprints.includes(f.fingerprint)]).toEqual([f.rule, true])
    expect(
      h.lines.some((l) => /finding\(s\) of earlier runs still wait for an issue/.test(l.message)),
    ).toBe(true)
    // Nothing waits any more (conditions whose numbers change daily still use up the budget).
    const last = JSON.parse(await readFile(join(h.root, later.at(-1)?.snapshot ?? ''), 'utf8'))
    expect(last).not.toHaveProperty('pending')
  })
})
