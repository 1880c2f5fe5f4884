import type { Finding, RuleId } from '../analysis/findings.js'
import { VALIDATE_RULE_DOCS } from '../analysis/rule-docs.js'
import type { DisplayPath } from './findings-text.js'

const DOCS_URL = 'https://github.com/keyward/keyward#validate-rules'

/**
 * SARIF 2.1.0, as GitHub code scanning accepts it: one run, the rules that occur, one result
 * per finding with a region. Paths are relative to the repository root (`%SRCROOT%`).
 */
export function renderSarif(
  findings: readonly Finding[],
  version: string,
  displayPath: DisplayPath = (f) => f,
): string {
  const ruleIds = [...new Set(findings.map((f) => f.rule))].sort() as RuleId[]
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'keyward',
            version,
            informationUri: 'https://github.com/keyward/keyward',
            rules: ruleIds.map((id) => {
              const text = (VALIDATE_RULE_DOCS as Partial<Record<RuleId, string>>)[id] ?? id
              return { id, name: id, shortDescription: { text }, helpUri: `${DOCS_URL}` }
            }),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIds.indexOf(f.rule),
          level: f.severity,
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                // SARIF wants a URI reference: encode each segment (spaces, %, a `c:` that would read as a scheme).
                artifactLocation: {
                  uri: displayPath(f.file).split('/').map(encodeURIComponent).join('/'),
                  uriBaseId: '%SRCROOT%',
                },
                region: { startLine: f.line, startColumn: f.column },
              },
            },
          ],
        })),
      },
    ],
  }
  return JSON.stringify(sarif, null, 2) + '\n'
}
