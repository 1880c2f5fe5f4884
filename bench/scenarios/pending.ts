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
