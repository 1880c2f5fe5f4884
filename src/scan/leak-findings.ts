import type { Finding } from '../analysis/findings.js'
import { keyPattern } from './key-patterns.js'
import type { LeakHit } from './scan-text.js'

/**
 * One `exposed-key` error per hit, worded for someone who is not a security specialist: what was
 * found, what to do first (revoke: the key is in git history for good), and how to silence a
 * known test key without ever writing the key down. Only the masked form appears.
 */
export function leakFindings(hits: readonly LeakHit[]): Finding[] {
  return hits.map((hit) => ({
    rule: 'exposed-key',
    severity: 'error',
    file: hit.file,
    line: hit.line,
    column: hit.column,
    message: leakMessage(hit),
  }))
}

function leakMessage(hit: LeakHit): string {
  const { description, provider } = keyPattern(hit.kind)
  const allow = `If it is a known test key, add "sha256:${hit.sha256}" to scan.allow in keyward.yaml`
  if (hit.kind === 'age-identity') {
    return (
      `${description} (${hit.masked}) is committed in plain text: anyone who can read the repository can decrypt the vault. ` +
      'Make a new identity with age-keygen, put its public key in .sops.yaml, run `keyward vault rekey`, and rotate every key it protected. ' +
      allow
    )
  }
  return (
    `${description} (${hit.masked}) is committed in plain text; revoke it at ${provider} now, ` +
    'then remove it from the file (git history keeps it: rotating is the only fix). ' +
    allow
  )
}
