/**
 * Time-bucketed aggregation for the report endpoints of the fakes (OpenAI usage/costs,
 * Anthropic usage/cost reports): rows in [start, end) are grouped per bucket by the requested
 * `group_by` fields; fields not grouped by come back as null (providers.md §1.3, §2.3).
 */

export interface BucketRow {
  /** Unix seconds, at least hour-aligned. */
  at: number
  /** Grouping fields (api_key_id, model, project_id, workspace_id …). */
  groups: Record<string, string | null>
  /** Counters summed within a group. */
  counters: Record<string, number>
}

export interface Bucket {
  start: number
  end: number
  results: Array<{ groups: Record<string, string | null>; counters: Record<string, number> }>
}

export const WIDTH_SECONDS = { '1m': 60, '1h': 3_600, '1d': 86_400 } as const
export type BucketWidth = keyof typeof WIDTH_SECONDS

/** Rows indexed by hour, so a 500-key organization does not make every bucket scan every row. */
export class BucketIndex {
  private readonly byHour = new Map<number, BucketRow[]>()

  constructor(rows: readonly BucketRow[]) {
    for (const row of rows) {
      const hour = Math.floor(row.at / 3_600) * 3_600
      const list = this.byHour.get(hour)
      if (list) list.push(row)
      else this.byHour.set(hour, [row])
    }
  }

  bucket(
    start: number,
    width: BucketWidth,
    groupBy: readonly string[],
    groupNames: readonly string[],
  ): Bucket {
    const end = start + WIDTH_SECONDS[width]
    const groups = new Map<
      string,
      { groups: Record<string, string | null>; counters: Record<string, number> }
    >()
    for (let hour = Math.floor(start / 3_600) * 3_600; hour < end; hour += 3_600) {
      for (const row of this.byHour.get(hour) ?? []) {
        if (row.at < start || row.at >= end) continue
        const picked: Record<string, string | null> = {}
        for (const name of groupNames) {
          picked[name] = groupBy.includes(name) ? (row.groups[name] ?? null) : null
        }
        const id = JSON.stringify(picked)
        let entry = groups.get(id)
        if (!entry) groups.set(id, (entry = { groups: picked, counters: {} }))
        for (const [name, value] of Object.entries(row.counters)) {
          entry.counters[name] = (entry.counters[name] ?? 0) + value
        }
      }
    }
    return { start, end, results: [...groups.values()] }
  }
}
