/**
 * API calls: what one `keyward audit` run asks of the providers and of GitHub for a 1,000-key
 * organization, counted (not timed) on the real `audit()` — the first run (a 35-day backfill)
 * and the hourly run one hour later. Counts are deterministic, so one run of each is enough.
 *
 * Providers: the synthetic organization of bench/synthetic-org.ts. Its generator speaks
 * OpenAI's Administration API only, so all three inventory providers (openai, anthropic,
 * openrouter) run the real OpenAI adapter against an in-memory HttpClient that serves the
 * projects listing, the key listings (100 a page, `after` cursors) and the hourly usage pages
 * of whatever window the adapter asks for (168 buckets a page, as `limit=168` gives).
 * GitHub: the real forge (Octokit, throttling off) against the loopback GitHub fake, seeded
 * with the generated keyward.yaml, a .sops.yaml and one placeholder file per key; the vault is
 * in memory (it makes no API calls) and the leak scanner finds nothing (it reads the checkout).
 */
import { performance } from 'node:perf_hooks'
import { parse } from 'yaml'
import { githubForge } from '../../src/adapters/forge/github.js'
import { createOctokit } from '../../src/adapters/forge/octokit.js'
import type { HttpClient, HttpResult, JsonRequest } from '../../src/adapters/http/client.js'
import { createOpenAiProvider } from '../../src/adapters/providers/openai.js'
import { fetchWindow } from '../../src/analysis/fetch-window.js'
import { audit, type AuditReport } from '../../src/commands/audit.js'
import { SECRET_FIELD } from '../../src/commands/vault.js'
import type { Inventory } from '../../src/inventory/types.js'
import { silentLog } from '../../src/ports/log.js'
import type { LeakScanner } from '../../src/ports/leak-scanner.js'
import type { Vault } from '../../src/ports/vault.js'
import type { ProviderKey } from '../../src/records.js'
import {
  startGitHubFake,
  type GitHubFake,
  type RecordedCall,
} from '../../test/fakes/github-server.js'
import { generateInventory } from '../../test/fakes/inventory-generator.js'
import type { Scenario } from '../scenario.js'
import type { Measurement } from '../stats.js'
import {
  END,
  HOUR_MS,
  keysLabel,
  START,
  syntheticOrg,
  usagePages,
  type SyntheticOrg,
} from '../synthetic-org.js'
import type { Row } from '../table.js'

const KEYS = 1_000
/** The first run at the end of the synthetic 90 days, the second one hour later. */
const FIRST = END
const SECOND = new Date(END.getTime() + HOUR_MS)
/** Page sizes the OpenAI adapter asks for: `limit=100` on lists, `limit=168` hourly buckets. */
const LIST_PAGE = 100
const HOURS_PER_PAGE = 168
/**
 * Seeded anomalies, per provider: inventory keys the provider no longer lists, and provider
 * keys the inventory does not know. Tuned with the organization's own findings to about 20.
 */
const MISSING_PER_PROVIDER = 3
const UNKNOWN_PER_PROVIDER = 3
const GOV = 'gov'
const PROJECT = 'proj_bench'

const EMPTY_PAGE = { object: 'page', data: [], has_more: false, next_page: null }
const EMPTY_LIST = { object: 'list', data: [], has_more: false, last_id: null }

/** What the in-memory OpenAI serves one provider, and how many requests it answered. */
interface ServedProvider {
  http: HttpClient
  keys: ProviderKey[]
  /** Requests by endpoint, for the floor. */
  byEndpoint: Map<string, number>
}

/** The provider's listing: its inventory keys minus the missing ones, plus unknown ones. */
function listedKeys(org: SyntheticOrg, provider: string): ProviderKey[] {
  const own = org.providerKeys.get(provider) ?? []
  const kept = own.slice(MISSING_PER_PROVIDER)
  const unknown = Array.from({ length: UNKNOWN_PER_PROVIDER }, (_, i): ProviderKey => ({
    ...(own[0] as ProviderKey),
    providerKeyId: `pk_unknown_${provider}_${i}`,
    hint: `sk-…u${i}`,
    name: `unknown ${i}`,
  }))
  return [...kept, ...unknown]
}

/** An HttpClient answering the OpenAI adapter from the synthetic organization, in memory. */
function servedProvider(org: SyntheticOrg, provider: string): ServedProvider {
  const keys = listedKeys(org, provider)
  const byEndpoint = new Map<string, number>()
  const pageCache = new Map<string, string[]>()
  let requests = 0
  const http: HttpClient = {
    async json<T>(spec: JsonRequest<T>): Promise<HttpResult<T>> {
      requests++
      byEndpoint.set(spec.endpoint, (byEndpoint.get(spec.endpoint) ?? 0) + 1)
      const q = spec.url.searchParams
      const path = spec.url.pathname.replace(/^\/v1/, '')
      let value: unknown
      if (path === '/organization/costs') {
        return {
          ok: false,
          failure: {
            kind: 'http-status',
            provider,
            endpoint: spec.endpoint,
            method: 'GET',
            url: spec.url.toString(),
            status: 400,
            errorType: 'invalid_request_error',
            attempts: 1,
            detail: 'group_by api_key_id not supported',
          },
        }
      } else if (path === '/organization/projects') {
        value = {
          object: 'list',
          data: [{ id: PROJECT, name: 'bench', status: 'active' }],
          has_more: false,
          last_id: PROJECT,
        }
      } else if (path === `/organization/projects/${PROJECT}/api_keys`) {
        const after = q.get('after')
        const from = after === null ? 0 : keys.findIndex((k) => k.providerKeyId === after) + 1
        const page = keys.slice(from, from + LIST_PAGE)
        value = {
          object: 'list',
          data: page.map((k) => ({
            id: k.providerKeyId,
            name: k.name ?? null,
            redacted_value: k.hint,
            created_at: Date.parse(k.created ?? '2026-09-01T00:00:00Z') / 1000,
            last_used_at: null,
            owner_project_access: 'active',
          })),
          has_more: from + LIST_PAGE < keys.length,
          last_id: page.at(-1)?.providerKeyId ?? null,
        }
      } else if (path === '/organization/usage/completions') {
        const since = Number(q.get('start_time'))
        const until = Number(q.get('end_time'))
        const id = `${since}-${until}`
        let pages = pageCache.get(id)
        if (!pages) {
          const hour = (s: number) => (s * 1000 - START.getTime()) / HOUR_MS
          pages = usagePages(org, hour(since), hour(until), HOURS_PER_PAGE).get(provider) ?? []
          pageCache.set(id, pages)
        }
        value = JSON.parse(pages[Number(q.get('page') ?? '0')] ?? JSON.stringify(EMPTY_PAGE))
      } else if (path === '/organization/audit_logs') {
        value = EMPTY_LIST
      } else {
        value = EMPTY_PAGE
      }
      if (!spec.validate(value)) throw new Error(`bench answer does not match ${spec.endpoint}`)
      return { ok: true, value, status: 200 }
    },
    requestCount: () => requests,
    close: async () => {},
  }
  return { http, keys, byEndpoint }
}

/** Vault access without cryptography: the audit's vault calls make no API calls. */
function memoryVault(now: Date): Vault {
  const refuse = () => Promise.reject(new Error('the bench vault only decrypts'))
  return {
    inspect: refuse,
    expectedRecipients: refuse,
    encrypt: refuse,
    seal: refuse,
    rekey: refuse,
    async decrypt(file, purpose, keyId) {
      return {
        values: { [SECRET_FIELD]: `sk-bench-${keyId ?? file}` },
        access: { file, keyId, at: now.toISOString(), actor: 'bench', purpose },
      }
    },
  } satisfies Vault
}

const noLeaks: LeakScanner = { scan: async () => ({ findings: [], scannedFiles: 0 }) }

interface RunCount {
  report: AuditReport
  providerRequests: number
  /** Pages that carried data: projects + key pages + usage pages of the window. */
  providerPages: number
  /** Requests that returned nothing by construction (costs 400, empty usage families, audit logs). */
  providerProbes: number
  reads: RecordedCall[]
  writes: RecordedCall[]
  wallMs: number
  cpuMs: number
}

async function runAudit(org: SyntheticOrg, github: GitHubFake, now: Date): Promise<RunCount> {
  const served = new Map<string, ServedProvider>()
  const checkout = github.commitsOn('main')[0]?.sha as string
  const forge = githubForge(
    createOctokit({ token: 'test-token', baseUrl: github.url, log: silentLog, throttle: false }),
    { owner: 'owner', repo: 'repo', branch: 'main', root: GOV, log: silentLog },
  )
  const before = github.calls.length
  const cpu = process.cpuUsage()
  const started = performance.now()
  const report = await audit(
    { configFile: 'keyward.yaml', dryRun: false, maxIssuesPerRun: 50 },
    {
      // The checkout the workflow made before the run (actions/checkout): no API call.
      readFile: async (path) => {
        const text = github.fileAt(checkout, `${GOV}/${path}`)
        return text === undefined ? undefined : new TextEncoder().encode(text)
      },
      vault: memoryVault(now),
      forge,
      scanner: noLeaks,
      clock: { now: () => new Date(now) },
      log: silentLog,
      openProvider(id) {
        const s = servedProvider(org, id)
        served.set(id, s)
        return {
          provider: createOpenAiProvider({
            id,
            adminKey: 'sk-admin-bench',
            http: s.http,
            log: silentLog,
            now: () => new Date(now),
          }),
          close: async () => {},
        }
      },
    },
  )
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  const calls = github.calls.slice(before)
  let pages = 0
  let probes = 0
  for (const s of served.values())
    for (const [endpoint, n] of s.byEndpoint)
      if (
        endpoint === '/organization/projects' ||
        endpoint === '/organization/projects/{project_id}/api_keys' ||
        endpoint === '/organization/usage/completions'
      )
        pages += n
      else probes += n
  return {
    report,
    providerRequests: report.requests,
    providerPages: pages,
    providerProbes: probes,
    reads: calls.filter((c) => c.method === 'GET' || c.method === 'HEAD'),
    writes: calls.filter((c) => c.method !== 'GET' && c.method !== 'HEAD'),
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
  }
}

/** What a run must at least do: the data's pages; 1 listing + the commit + one call per write. */
function expectedPages(org: SyntheticOrg, now: Date, watermark: string | undefined): number {
  const { since, until } = fetchWindow(watermark, now)
  const hours = (until.getTime() - since.getTime()) / HOUR_MS
  let pages = 0
  for (const provider of Object.keys(org.inventory.providers)) {
    const listed = listedKeys(org, provider).length
    pages += 1 + Math.max(1, Math.ceil(listed / LIST_PAGE)) + Math.ceil(hours / HOURS_PER_PAGE)
  }
  return pages
}

const tally = (calls: readonly RecordedCall[]) => {
  const by = new Map<string, number>()
  for (const c of calls) {
    const route = `${c.method} ${c.path
      .replace(/^\/repos\/owner\/repo/, '')
      .replace(/\/\d+(\/|$)/g, '/N$1')
      .replace(/\/labels\/[^/]+$/, '/labels/NAME')
      .replace(/\/contents\/.+$/, '/contents/PATH')
      .replace(/\/git\/commits\/[0-9a-f]{40}$/, '/git/commits/SHA')}`
    by.set(route, (by.get(route) ?? 0) + 1)
  }
  return [...by]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([route, n]) => `${n}× ${route}`)
    .join(', ')
}

const COMMIT_READS = 2 // getRef, getCommit
const COMMIT_WRITES = 3 // createTree, createCommit, updateRef

/** The repository as keyward init leaves it: inventory, .sops.yaml, one file per key. */
function repoFiles(org: SyntheticOrg, inventoryYaml: string): Record<string, string> {
  const files: Record<string, string> = {
    'README.md': '# governance\n',
    [`${GOV}/keyward.yaml`]: inventoryYaml,
    [`${GOV}/.sops.yaml`]:
      'creation_rules:\n  - path_regex: keys/.*\\.sops\\.yaml$\n    age: age1benchrecipientplaceholder\n',
  }
  for (const provider of Object.keys(org.inventory.providers))
    files[`${GOV}/keys/admin/${provider}.sops.yaml`] =
      `# placeholder: the bench vault is in memory\n`
  for (const [id, key] of Object.entries(org.inventory.keys))
    files[`${GOV}/${key.secret}`] = `# placeholder for ${id}: the bench vault is in memory\n`
  return files
}

const oneRun = (r: RunCount): Measurement => ({
  runs: 1,
  wall: { median: r.wallMs, min: r.wallMs, max: r.wallMs, n: 1 },
  cpu: { median: r.cpuMs, min: r.cpuMs, max: r.cpuMs, n: 1 },
})

export const apiCallsScenario: Scenario = {
  name: 'api-calls',
  describe: [
    `**API calls**: requests of the real \`audit()\` (src/commands/audit.ts) for the ${keysLabel(KEYS)} synthetic organization (\`syntheticOrg(1000, seed)\`), counted, not timed: counts are deterministic, so each run is made once, in the bench process (its wall and CPU are shown for scale only). Providers: the synthetic data speaks OpenAI's Administration API only, so all three inventory providers (openai, anthropic, openrouter, ~333 keys each) run the real OpenAI adapter (\`createOpenAiProvider\`) against an in-memory HttpClient serving the projects listing, the key listings (${LIST_PAGE} a page) and the hourly usage pages (${HOURS_PER_PAGE} buckets a page) of whatever window the adapter asks for; costs per key refused (400), other usage families and audit logs empty. Seeded anomalies: each provider no longer lists ${MISSING_PER_PROVIDER} inventory keys and lists ${UNKNOWN_PER_PROVIDER} unknown ones (orphaned-key and unmanaged-key findings); the audited keyward.yaml drops the generated budgets and active hours and sets \`typical_month_factor: 10\`, since the synthetic spend breaks most budgets, its 2% off-hours use flags most keys and the backfill's partial first month makes any month look atypical (thousands of findings otherwise). GitHub: the real forge (Octokit, throttling off) against the loopback GitHub fake seeded with the generated keyward.yaml, a .sops.yaml and one placeholder file per key (the vault is an in-memory \`Vault\`: it makes no API calls); the checkout is read from the fake's files without API calls, as \`actions/checkout\` gives it; fixed clock, ${FIRST.toISOString()} (first run, 35-day backfill) and one hour later (the hourly run). Provider requests are the report's \`requests\`; GitHub requests are the fake's recorded calls, split into reads (GET) and writes. Floors: providers, the pages that carry data (1 projects page + the key pages + the usage pages of the window, per provider); GitHub, 1 issue listing + the commit's calls (getRef, getCommit, createTree, createCommit, updateRef) + one call per issue write the run reports (issues created/updated/closed and the dashboard). Over the floor, per run: the head and the ledger and state reads (3 reads), the duplicate checks' re-listings after creating issues, and labels looked up and created once per repository (the progress lines list every call by route).`,
  ],
  tasks: {},

  async run(ctx) {
    const inventoryYaml = generateInventory(KEYS, ctx.seed)
    const org = syntheticOrg(KEYS, ctx.seed)
    if (JSON.stringify(parse(inventoryYaml) as Inventory) !== JSON.stringify(org.inventory))
      throw new Error('the generated inventory differs from the synthetic organization')
    // Without budgets and active hours, and with a high typical-month factor: the synthetic spend
    // would break most budgets and its 2% off-hours use would flag most keys (thousands of
    // findings). What is left: the seeded anomalies and the detectors' own few.
    const audited = inventoryYaml
      .split('\n')
      .filter((line) => !/^\s+(budget_usd_month|active_hours):/.test(line))
      .join('\n')
      // The backfill's first month is partial, so a "typical month" would be a fraction of one.
      .replace('  rotate_after: 90d\n', '  rotate_after: 90d\n  typical_month_factor: 10\n')
    if (!audited.includes('typical_month_factor')) throw new Error('the inventory changed shape')
    const github = await startGitHubFake({ files: repoFiles(org, audited), now: () => FIRST })
    const rows: Row[] = []
    try {
      ctx.progress('API calls: first run (35-day backfill)')
      const first = await runAudit(org, github, FIRST)
      ctx.progress('API calls: hourly run, one hour later')
      const second = await runAudit(org, github, SECOND)
      const runs: [string, RunCount, string | undefined][] = [
        ['first run', first, undefined],
        ['+1 h', second, FIRST.toISOString()],
      ]
      for (const [label, r, watermark] of runs) {
        const { report } = r
        if (!report.committed) throw new Error(`${label}: nothing committed`)
        if (report.gaps.length > 0)
          throw new Error(`${label}: gap ${report.gaps[0]?.provider}: ${report.gaps[0]?.reason}`)
        const issueWrites = report.issues.writes + (report.dashboard.action === 'unchanged' ? 0 : 1)
        const floorReads = 1 + COMMIT_READS
        const floorWrites = COMMIT_WRITES + issueWrites
        const pages = expectedPages(org, label === 'first run' ? FIRST : SECOND, watermark)
        if (pages !== r.providerPages)
          throw new Error(`${label}: ${r.providerPages} data pages served, ${pages} expected`)
        const size = `${keysLabel(KEYS)}, ${report.findings.length} findings, ${label}`
        const rules = new Map<string, number>()
        for (const f of report.findings) rules.set(f.rule, (rules.get(f.rule) ?? 0) + 1)
        ctx.progress(
          `API calls ${label}: findings ${[...rules].map(([rule, n]) => `${n}× ${rule}`).join(', ')}`,
        )
        ctx.progress(`API calls ${label}: reads ${tally(r.reads)}`)
        ctx.progress(`API calls ${label}: writes ${tally(r.writes)}`)
        rows.push(
          {
            kind: 'measured',
            scenario: `API calls: provider requests = ${r.providerRequests}`,
            size,
            measurement: oneRun(r),
          },
          {
            kind: 'floor',
            label: `${r.providerPages} pages of data (+ ${r.providerProbes} empty or refused: costs, other usage families, audit logs)`,
            size,
            measurement: { runs: 1 },
          },
          {
            kind: 'measured',
            scenario: `API calls: GitHub requests = ${r.reads.length + r.writes.length} (${r.reads.length} reads + ${r.writes.length} writes)`,
            size,
            measurement: oneRun(r),
          },
          {
            kind: 'floor',
            label: `${floorReads + floorWrites} = 1 listing + ${COMMIT_READS + COMMIT_WRITES} commit calls + ${issueWrites} issue write(s) (${report.issues.created.length} created, ${report.issues.updated.length} updated, ${report.issues.closed.length} closed, dashboard ${report.dashboard.action}); over it: ${r.reads.length + r.writes.length - floorReads - floorWrites}`,
            size,
            measurement: { runs: 1 },
          },
        )
      }
    } finally {
      await github.stop()
    }
    return rows
  },
}
