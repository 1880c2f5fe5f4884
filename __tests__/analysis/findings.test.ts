import { describe, expect, it } from '@jest/globals'
import { sortFindings, type Finding } from '../../src/analysis/findings.js'

const at = (file: string, line: number, column: number, rule: Finding['rule']): Finding => ({
  file,
  line,
  column,
  rule,
  severity: 'error',
  message: 'm',
})

describe('sortFindings', () => {
  it('orders by file, then line, then column, then rule', () => {
    const sorted = sortFindings([
      at('keyward.yaml', 9, 1, 'schema'),
      at('keys/a.sops.yaml', 1, 1, 'vault-tampered'),
      at('keyward.yaml', 3, 7, 'unknown-workflow'),
      at('keyward.yaml', 3, 7, 'schema'),
      at('keyward.yaml', 3, 2, 'schema'),
    ])
    expect(sorted.map((f) => `${f.file}:${f.line}:${f.column}:${f.rule}`)).toEqual([
      'keys/a.sops.yaml:1:1:vault-tampered',
      'keyward.yaml:3:2:schema',
      'keyward.yaml:3:7:schema',
      'keyward.yaml:3:7:unknown-workflow',
      'keyward.yaml:9:1:schema',
    ])
  })
})
