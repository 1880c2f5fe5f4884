import { sortFindings, type Finding } from '../analysis/findings.js'
import { parseYamlFile, type ParsedYaml } from './parse.js'
import { checkPolicy, type PolicyContext } from './policy.js'
import { checkSchema } from './schema-check.js'

/** Syntax, schema and policy of one inventory file, every problem at once (pure). */
export function checkInventory(
  file: string,
  bytes: Uint8Array,
  context: PolicyContext,
): { parsed: ParsedYaml | undefined; findings: Finding[] } {
  const parse = parseYamlFile(file, bytes)
  if (!parse.ok) return { parsed: undefined, findings: parse.findings }
  const findings = [
    ...parse.findings,
    ...checkSchema(parse.parsed),
    ...checkPolicy(parse.parsed, context),
  ]
  return { parsed: parse.parsed, findings: sortFindings(findings) }
}
