import { dirname, join, relative, resolve, sep } from 'node:path'
import { localForge, OUTBOX } from '../adapters/forge/local.js'
import { repoFileReader } from '../adapters/fs/repo-files.js'
import { gitChangeLog } from '../adapters/git/change-log.js'
import { EXIT, type ExitCode } from '../commands/exit-code.js'
import { report } from '../commands/report.js'
import type { Log } from '../ports/log.js'
import { renderReviewJson } from '../report/review-markdown.js'
import type { CliCommand } from './args.js'
import type { CliDeps } from './main.js'

/**
 * `keyward report [--since 7d] [--json]`: the weekly review from the committed ledger, with the
 * local forge (the full report is committed, the issue is written under .keyward/outbox/).
 */
export async function runReportCommand(
  command: Extract<CliCommand, { command: 'report' }>,
  ctx: { deps: CliDeps; log: Log; print(text: string): void; note(text: string): void },
): Promise<ExitCode> {
  const { deps } = ctx
  const configPath = resolve(deps.cwd, command.config)
  const root = dirname(configPath)
  const configFile = relative(root, configPath).split(sep).join('/')
  const result = await report(
    { configFile, since: command.since, dryRun: false },
    {
      readFile: repoFileReader(root),
      forge: localForge(root),
      changeLog: gitChangeLog(root),
      clock: deps.clock,
      log: ctx.log,
    },
  )
  for (const note of result.notes) ctx.log.warning(note)
  ctx.note(
    `keyward report ${result.review.period.label}: ${result.file}${result.committed ? ' (committed)' : ''}; issue ${result.issue.number ?? '-'} ${result.issue.action} → ${join(root, OUTBOX, 'issues')}`,
  )
  ctx.print(
    command.json
      ? renderReviewJson(result.review, { file: result.file, issue: result.issue.number ?? null })
      : result.full,
  )
  return EXIT.ok
}
