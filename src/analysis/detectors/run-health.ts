import { finding, type AuditFinding } from '../audit-findings.js'
import type { DetectorContext } from './context.js'

/** `exposed-key`: the leak scanner's findings, one issue per file and key. */
export function detectExposedKeys(ctx: DetectorContext): AuditFinding[] {
  return ctx.leaks.map((leak) =>
    finding({
      rule: 'exposed-key',
      severity: 'error',
      kind: 'condition',
      // The audit names the inventory key when the leaked text is one of its secrets.
      ...(leak.key ? { key: leak.key } : {}),
      subject: `${leak.file}:${leak.line}`,
      period: '-',
      variant: leak.message,
      title: `Plaintext key committed in ${leak.file}`,
      message: `${leak.file}:${leak.line}: ${leak.message}`,
      numbers: { file: leak.file, line: leak.line },
    }),
  )
}

/** `vault-tampered`: a secret file whose MAC failed this run. */
export function detectTamperedVault(ctx: DetectorContext): AuditFinding[] {
  return ctx.tampered.map((t) =>
    finding({
      rule: 'vault-tampered',
      severity: 'error',
      kind: 'condition',
      ...(t.keyId.startsWith('admin:') ? {} : { key: t.keyId }),
      subject: t.file,
      period: '-',
      title: `Secret file ${t.file} failed its integrity check`,
      message: `${t.message} Check \`git log -p -- ${t.file}\` for who changed it.`,
      numbers: { file: t.file },
    }),
  )
}

/** `ingestion-failed`: a provider that could not be read for gap_runs runs in a row. */
export function detectIngestionFailures(ctx: DetectorContext): AuditFinding[] {
  const limit = ctx.inventory.defaults?.gap_runs ?? 3
  return [...ctx.failedRuns]
    .filter(([, runs]) => runs >= limit)
    .map(([provider, runs]) =>
      finding({
        rule: 'ingestion-failed',
        severity: 'error',
        kind: 'condition',
        subject: provider,
        period: '-',
        title: `keyward cannot read ${provider}`,
        message: `The last ${runs} audit runs could not read ${provider}, so its usage is not being watched. The snapshots record each gap with the reason; most often the admin key was revoked or lacks a permission (see docs/providers.md).`,
        numbers: { provider, failed_runs: runs, gap_runs: limit },
      }),
    )
}
