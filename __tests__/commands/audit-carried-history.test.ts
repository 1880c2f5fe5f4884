import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { STATE_FILE, type AuditReport } from '../../src/commands/audit.js'
import { USAGE_DAYS_DIGEST_FIELD } from '../../src/commands/audit-history.js'
import {
  formatState,
  formatUsageDays,
  readState,
  type AuditState,
} from '../../src/commands/audit-state.js'
import type { UsageDaysJson } from '../../src/analysis/usage-days.js'
import { LEDGER_FILE, parseLedger } from '../../src/ledger/chain.js'
import { startAuditHarness, type AuditHarness } from '../../test/fakes/audit-harness.js'

/**
 * Issue 5: an hourly audit carries the history's earlier days in audit/state.json instead of
 * reading back every snapshot. Two demo repositories run the same schedule; one keeps what it
 * carries, the other has it removed before every run (so it reads its whole history, as a
 * first run after an upgrade does). Their findings must agree run for run.
 */

const T0 = '2026-11-27T12:00:00Z'
const HOUR_MS = 3_600_000
const at = (hours: number) => new Date(Date.parse(T0) + hours * HOUR_MS).toISOString()
/**
 * Hourly and daily runs, then a gap of a week (whose first run judges the whole week it reads),
 * then hourly runs again, so the carried days move past old snapshots.
 */
const SCHEDULE = [at(0), at(1), at(48), at(9 * 24), at(9 * 24 + 1), at(9 * 24 + 2)]

interface DaysJson {
  through: string
  keys: Record<string, Record<string, { days?: unknown[] }>>
}

/** state.json as the audit reads it, with its carried days parsed (undefined: none). */
async function readStateFile(h: AuditHarness) {
  const state = readState(await readFile(join(h.root, STATE_FILE), 'utf8'))
  const days = state.usage_days && (JSON.parse(state.usage_days.text) as DaysJson)
  return { state, days }
}

/**
 * Commits a change to state.json, as someone with push access could, written back in the
 * audit's own layout (so that only the change itself can fail the digest).
 */
async function editState(
  h: AuditHarness,
  edit: (days: DaysJson | undefined, state: AuditState) => AuditState | void,
): Promise<void> {
  const { state, days } = await readStateFile(h)
  const next = edit(days, state) ?? state
  if (days !== undefined && next.usage_days !== undefined)
    next.usage_days = { ...next.usage_days, text: formatUsageDays(days as UsageDaysJson) }
  await writeFile(join(h.root, STATE_FILE), formatState(next))
  await h.git('commit', '--quiet', '--no-verify', '-am', 'edit the audit state')
}

/**
 * What a finding says: its identity and every number and word of it, but `opened_at`: the
 * local forge dates a rotation pull request by the real clock, which differs between the two
 * repositories.
 */
const said = (report: AuditReport) =>
  report.findings
    .map((f) => {
      const { opened_at: _openedAt, ...numbers } = f.numbers
      return { fingerprint: f.fingerprint, numbers, message: f.message }
    })
    .sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1))

const snapshotReads = (paths: string[]) => paths.filter((p) => p.startsWith('audit/snapshots/'))

describe('audit carrying its history between runs', () => {
  let carrying: AuditHarness
  let reading: AuditHarness
  const carried: AuditReport[] = []
  const full: AuditReport[] = []
  const readsCarrying: string[][] = []
  const readsFull: string[][] = []

  beforeAll(async () => {
    carrying = await startAuditHarness({ now: T0 })
    reading = await startAuditHarness({ now: T0 })
    for (const now of SCHEDULE) {
      const a: string[] = []
      carried.push(await carrying.runAudit({ now, onRead: (path) => a.push(path) }))
      readsCarrying.push(a)
      await editState(reading, (_, state) => ({ ...state, usage_days: undefined })).catch(
        () => undefined,
      )
      const b: string[] = []
      full.push(await reading.runAudit({ now, onRead: (path) => b.push(path) }))
      readsFull.push(b)
    }
  }, 180_000)
  afterAll(async () => {
    await carrying?.stop()
    await reading?.stop()
  })

  it('finds the same, to the last number and word, on every run', () => {
    expect(carried.map((r) => r.findings.length)).toEqual(full.map((r) => r.findings.length))
    for (let run = 0; run < SCHEDULE.length; run++)
      expect({ run, findings: said(carried[run] as AuditReport) }).toEqual({
        run,
        findings: said(full[run] as AuditReport),
      })
  })

  it('writes carried days with their digest in the snapshot of the run that made them', async () => {
    const { state, days } = await readStateFile(carrying)
    // The last run judges from 5 December 12:00 (its read's start): the days before 5 December
    // are carried, with the hour of Berlin's 5 December before it (off-hours counts it whole).
    expect(days?.through).toBe('2026-12-05')
    const ledger = parseLedger(await readFile(join(carrying.root, LEDGER_FILE), 'utf8'))
    const holder = ledger.entries.find((e) => e.sha256 === state.usage_days?.snapshot)
    expect(holder).toBeDefined()
    const snapshot = JSON.parse(
      await readFile(join(carrying.root, holder?.path ?? ''), 'utf8'),
    ) as Record<string, unknown>
    expect(snapshot[USAGE_DAYS_DIGEST_FIELD]).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('reads back only the snapshots after the carried days', async () => {
    const ledger = parseLedger(await readFile(join(carrying.root, LEDGER_FILE), 'utf8'))
    const paths = ledger.entries.map((e) => e.path)
    // The last run: only the snapshots of 6 December are written after the days it carries.
    expect(snapshotReads(readsCarrying.at(-1) ?? [])).toEqual(paths.slice(3, 5))
    expect(snapshotReads(readsFull.at(-1) ?? [])).toEqual(paths.slice(0, 5))
    expect(carrying.lines.some((l) => /days before 2026-12-05 carried/.test(l.message))).toBe(true)
  })

  it('rebuilds from the snapshots, with the same findings, when the carried days were edited', async () => {
    // Arrange: a key's spend on a carried day made smaller, as if to hide a spike.
    await editState(carrying, (days) => {
      const byKey = Object.values(days?.keys ?? {})[0] ?? {}
      const key = Object.values(byKey).find((k) => (k.days ?? []).some((d) => d !== null))
      const i = (key?.days ?? []).findIndex((d) => d !== null)
      const day = key?.days?.[i] as [number | null, number]
      key!.days![i] = [0, 0, ...day.slice(2)]
    })
    await editState(reading, (_, state) => ({ ...state, usage_days: undefined }))
    const now = at(9 * 24 + 3)
    const before = carrying.lines.length
    const readsA: string[] = []

    // Act
    const a = await carrying.runAudit({ now, onRead: (path) => readsA.push(path) })
    const b = await reading.runAudit({ now })

    // Assert
    const warnings = carrying.lines.slice(before).filter((l) => l.level === 'warning')
    expect(warnings.map((l) => l.message).join('\n')).toMatch(/do not match the digest/)
    expect(said(a)).toEqual(said(b))
    expect(snapshotReads(readsA).length).toBeGreaterThan(2)
    const { state } = await readStateFile(carrying)
    expect(state.usage_days?.snapshot).toBe(
      parseLedger(await readFile(join(carrying.root, LEDGER_FILE), 'utf8')).entries.at(-1)?.sha256,
    )
  }, 60_000)
})
