/**
 * The rows of issue 9's table whose features have not landed yet: each keeps its place in the
 * table until its issue lands and a real Scenario replaces it in bench/main.ts.
 */
import type { Scenario } from '../scenario.js'

export function pendingScenario(row: {
  scenario: string
  sizes: string
  measures: string
  floor: string
  issue: number
}): Scenario {
  const { scenario, sizes, issue } = row
  return {
    name: scenario,
    describe: [
      `**${scenario}** (${sizes}): ${row.measures}; floor: ${row.floor}. Not built yet (issue ${issue}).`,
    ],
    tasks: {},
    async run() {
      return [{ kind: 'pending', scenario, sizes, issue }]
    },
  }
}

export const auditAnalysisScenario = pendingScenario({
  scenario: 'audit analysis',
  sizes: '100 / 1,000 / 5,000 keys × 90 days hourly',
  measures: 'CPU, peak RSS',
  floor: '`JSON.parse` of the provider payloads',
  issue: 5,
})

export const incrementalAuditScenario = pendingScenario({
  scenario: 'incremental audit',
  sizes: '+1 hour after a 90-day history',
  measures: 'CPU, requests',
  floor: 'proportional to the new data',
  issue: 5,
})

export const apiCallsScenario = pendingScenario({
  scenario: 'API calls',
  sizes: '1,000 keys, 20 findings',
  measures: 'provider requests, GitHub requests',
  floor: 'pages of data; 1 listing + 1 commit + the writes',
  issue: 6,
})

export const reportScenario = pendingScenario({
  scenario: 'report',
  sizes: '1,000 keys × 90 days',
  measures: 'CPU',
  floor: 'none',
  issue: 8,
})
