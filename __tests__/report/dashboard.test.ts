import { describe, expect, it } from '@jest/globals'
import { DASHBOARD_MARKER, ledgerHeadOf, renderDashboard } from '../../src/report/dashboard.js'
import { inventoryWith } from '../../test/fakes/detector-context.js'

const head = `sha256:${'ab'.repeat(32)}`

describe('renderDashboard', () => {
  it('starts with its marker, the ledger head anchor and the run-again checkbox', () => {
    const body = renderDashboard({
      inventory: inventoryWith(),
      now: new Date('2026-11-27T12:00:00Z'),
      open: [],
      gaps: [],
      ledgerHead: head,
      snapshot: 'audit/snapshots/x.json',
    })
    const lines = body.split('\n')
    expect(lines[0]).toBe(DASHBOARD_MARKER)
    expect(ledgerHeadOf(body)).toBe(head)
    expect(lines[2]).toMatch(/^- \[ \] Run the audit again/)
    expect(body).toContain('| `k` | Key K | w |')
  })

  it('lists open issues by severity and findings still waiting for an issue', () => {
    const body = renderDashboard({
      inventory: inventoryWith(),
      now: new Date('2026-11-27T12:00:00Z'),
      open: [
        { issue: 7, title: 'Spike', severity: 'error', rule: 'spend-spike' },
        { issue: undefined, title: 'Later', severity: 'warning', rule: 'off-hours' },
      ],
      gaps: [{ provider: 'openai', endpoint: '/organization/costs', reason: 'HTTP 500' }],
      ledgerHead: head,
      snapshot: undefined,
    })
    expect(body).toContain('### Errors (1)\n\n- #7 `spend-spike` Spike')
    expect(body).toContain('- (issue on the next run) `off-hours` Later')
    expect(body).toContain('- **openai** /organization/costs: HTTP 500')
  })

  it('stays under GitHub’s 65,536-character body limit with thousands of findings, pointing at the full list', () => {
    const open = Array.from({ length: 5_000 }, (_, i) => ({
      issue: i + 1,
      title: `Finding number ${i} with a long enough title to take room`,
      severity: 'warning' as const,
      rule: 'off-hours',
    }))
    const body = renderDashboard({
      inventory: inventoryWith(),
      now: new Date('2026-11-27T12:00:00Z'),
      open,
      gaps: [],
      ledgerHead: head,
      snapshot: 's.json',
      overflowLink: 'the `findings` of `s.json`',
    })
    expect(body.length).toBeLessThan(65_536)
    expect(ledgerHeadOf(body)).toBe(head)
    expect(body).toContain('shortened to fit GitHub')
    expect(body).toContain('the `findings` of `s.json`')
  })
})
