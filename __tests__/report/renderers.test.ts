import { describe, expect, it } from '@jest/globals'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Finding } from '../../src/analysis/findings.js'
import { VALIDATE_RULE_DOCS } from '../../src/analysis/rule-docs.js'
import { renderGithub } from '../../src/report/findings-github.js'
import { renderSarif } from '../../src/report/findings-sarif.js'
import { renderJson, renderText, summaryLine } from '../../src/report/findings-text.js'

// Renderer output lives in reviewed golden files (STYLE §5). UPDATE_GOLDEN=1 rewrites them;
// review the diff line by line against SPEC §2 and SARIF 2.1.0 before committing it.
const GOLDEN = join(import.meta.dirname, '../../__fixtures__/golden')
const VERSION = '9.8.7'

/** Every severity, a repeated rule, findings with and without `key`, and a message that
 * needs escaping in a workflow command (`%`, `,`, `:` and a newline). No CR: git's
 * `text=auto` would turn one into LF in the golden files. */
const FINDINGS: Finding[] = [
  {
    rule: 'unknown-workflow',
    severity: 'error',
    file: 'keyward.yaml',
    line: 14,
    column: 15,
    key: 'x',
    message: 'key "x" names workflow "y", which is not declared (declared: avatar-video, blog)',
  },
  {
    rule: 'rotation-due',
    severity: 'warning',
    file: 'keys/a.sops.yaml',
    line: 1,
    column: 1,
    key: 'a',
    message: 'key "a" is 97 days old; rotate_after is 90d',
  },
  {
    rule: 'exposed-key',
    severity: 'error',
    file: 'src/config.ts',
    line: 3,
    column: 9,
    message: 'a plaintext key (sk-…wxyz) is committed: 100% readable, rotate it\nthen remove it',
  },
  {
    rule: 'invalid-hours',
    severity: 'note',
    file: 'keyward.yaml',
    line: 20,
    column: 19,
    message: 'active_hours "7:00-22:00" is read as 07:00-22:00',
  },
  {
    rule: 'unknown-workflow',
    severity: 'error',
    file: 'keyward.yaml',
    line: 22,
    column: 15,
    key: 'z',
    message: 'key "z" names workflow "q", which is not declared (declared: avatar-video, blog)',
  },
]

function golden(name: string, actual: string): string {
  const path = join(GOLDEN, name)
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    mkdirSync(GOLDEN, { recursive: true })
    writeFileSync(path, actual)
  }
  return readFileSync(path, 'utf8')
}

interface SarifLog {
  $schema: string
  version: string
  runs: {
    tool: {
      driver: {
        name: string
        version: string
        rules: { id: string; shortDescription: { text: string } }[]
      }
    }
    results: {
      ruleId: string
      ruleIndex: number
      level: string
      message: { text: string }
      locations: {
        physicalLocation: {
          artifactLocation: { uri: string; uriBaseId?: string }
          region: { startLine: number; startColumn: number }
        }
      }[]
    }[]
  }[]
}

const sarifOf = (findings: readonly Finding[], displayPath?: (f: string) => string) =>
  JSON.parse(renderSarif(findings, VERSION, displayPath)) as SarifLog

describe('golden files', () => {
  it('renders text as compiler-style lines and a summary line', () => {
    const actual = renderText(FINDINGS)
    expect(actual).toBe(golden('findings.txt', actual))
  })

  it('renders JSON as { ok, findings }', () => {
    const actual = renderJson(FINDINGS, false)
    expect(actual).toBe(golden('findings.json', actual))
  })

  it('renders GitHub workflow commands', () => {
    const actual = renderGithub(FINDINGS)
    expect(actual).toBe(golden('findings.github.txt', actual))
  })

  it('renders SARIF 2.1.0', () => {
    const actual = renderSarif(FINDINGS, VERSION)
    expect(actual).toBe(golden('findings.sarif.json', actual))
  })
})

describe('renderText', () => {
  it('puts file:line:column, severity, rule and message on each finding line', () => {
    const [first] = renderText(FINDINGS).split('\n')
    expect(first).toBe(
      'keyward.yaml:14:15: error [unknown-workflow] key "x" names workflow "y", which is not declared (declared: avatar-video, blog)',
    )
  })

  it('ends with a summary line that counts each severity', () => {
    const lines = renderText(FINDINGS).trimEnd().split('\n')
    expect(lines.at(-1)).toBe('5 problems (3 errors, 1 warning, 1 note)')
  })

  it('renders an empty list as "no problems"', () => {
    expect(renderText([])).toBe('no problems\n')
  })

  it('shows paths through displayPath', () => {
    const text = renderText(FINDINGS.slice(1, 2), (f) => `gov/${f}`)
    expect(text.split('\n')[0]).toMatch(/^gov\/keys\/a\.sops\.yaml:1:1: warning \[rotation-due\]/)
  })
})

describe('summaryLine', () => {
  it.each<[string, Finding['severity'][], string]>([
    ['nothing', [], 'no problems'],
    ['one error', ['error'], '1 problem (1 error)'],
    ['one warning', ['warning'], '1 problem (1 warning)'],
    ['errors and a warning', ['error', 'warning', 'error'], '3 problems (2 errors, 1 warning)'],
    ['two notes', ['note', 'note'], '2 problems (2 notes)'],
  ])('counts %s', (_name, severities, expected) => {
    const findings = severities.map((severity, i) => ({ ...FINDINGS[0]!, severity, line: i + 1 }))
    expect(summaryLine(findings)).toBe(expected)
  })
})

describe('renderJson', () => {
  it('keeps file, line and column, and key only where the finding has one', () => {
    const parsed = JSON.parse(renderJson(FINDINGS, false, (f) => `gov/${f}`)) as {
      ok: boolean
      findings: Record<string, unknown>[]
    }
    expect(parsed.ok).toBe(false)
    expect(parsed.findings).toHaveLength(FINDINGS.length)
    parsed.findings.forEach((shaped, i) => {
      const f = FINDINGS[i]!
      expect(shaped).toEqual({
        rule: f.rule,
        severity: f.severity,
        file: `gov/${f.file}`,
        line: f.line,
        column: f.column,
        message: f.message,
        ...(f.key !== undefined ? { key: f.key } : {}),
      })
      expect('key' in shaped).toBe(f.key !== undefined)
    })
  })

  it('renders an empty list as ok with no findings', () => {
    expect(JSON.parse(renderJson([], true))).toEqual({ ok: true, findings: [] })
  })
})

describe('renderGithub', () => {
  it('writes one command per finding, mapping note to notice', () => {
    const lines = renderGithub(FINDINGS).trimEnd().split('\n')
    expect(lines.map((l) => l.slice(0, l.indexOf(' ')))).toEqual([
      '::error',
      '::warning',
      '::error',
      '::notice',
      '::error',
    ])
  })

  it('escapes %, CR and LF in the message so each command stays on one line', () => {
    const finding: Finding = { ...FINDINGS[2]!, message: '100% sure, line: 3\r\nnext\nlast' }
    expect(renderGithub([finding])).toBe(
      '::error file=src/config.ts,line=3,col=9,title=keyward exposed-key::' +
        '100%25 sure, line: 3%0D%0Anext%0Alast\n',
    )
  })

  it('escapes , and : in properties such as the file', () => {
    const finding: Finding = { ...FINDINGS[1]!, file: 'notes/a,b:c%.txt' }
    expect(renderGithub([finding])).toMatch(/^::warning file=notes\/a%2Cb%3Ac%25\.txt,line=1,/)
  })

  it('renders an empty list as nothing', () => {
    expect(renderGithub([])).toBe('')
  })
})

describe('renderSarif', () => {
  it('names the tool keyward, with the version it was given', () => {
    const log = sarifOf(FINDINGS)
    expect(log.version).toBe('2.1.0')
    expect(log.runs).toHaveLength(1)
    expect(log.runs[0]!.tool.driver.name).toBe('keyward')
    expect(log.runs[0]!.tool.driver.version).toBe(VERSION)
  })

  it('lists each rule that occurs exactly once', () => {
    const rules = sarifOf(FINDINGS).runs[0]!.tool.driver.rules.map((r) => r.id)
    expect(new Set(rules).size).toBe(rules.length)
    expect([...rules].sort()).toEqual([...new Set(FINDINGS.map((f) => f.rule))].sort())
  })

  it('points every result ruleIndex at the rule with the same id', () => {
    const run = sarifOf(FINDINGS).runs[0]!
    expect(run.results).toHaveLength(FINDINGS.length)
    for (const result of run.results) {
      expect(run.tool.driver.rules[result.ruleIndex]?.id).toBe(result.ruleId)
    }
  })

  it('keeps level, message and location of every finding', () => {
    const results = sarifOf(FINDINGS, (f) => `gov/${f}`).runs[0]!.results
    results.forEach((result, i) => {
      const f = FINDINGS[i]!
      expect(result.ruleId).toBe(f.rule)
      expect(['error', 'warning', 'note']).toContain(result.level)
      expect(result.level).toBe(f.severity)
      expect(result.message.text).toBe(f.message)
      expect(result.locations[0]!.physicalLocation).toEqual({
        artifactLocation: { uri: `gov/${f.file}`, uriBaseId: '%SRCROOT%' },
        region: { startLine: f.line, startColumn: f.column },
      })
    })
  })

  it('describes validate rules with their documentation line', () => {
    const rule = sarifOf(FINDINGS).runs[0]!.tool.driver.rules.find(
      (r) => r.id === 'unknown-workflow',
    )
    expect(rule?.shortDescription.text).toBe(VALIDATE_RULE_DOCS['unknown-workflow'])
  })

  it('renders an empty list as a run with no rules and no results', () => {
    const run = sarifOf([]).runs[0]!
    expect(run.tool.driver.rules).toEqual([])
    expect(run.results).toEqual([])
  })

  // SARIF 2.1.0 §3.4.3: artifactLocation.uri is a URI reference (RFC 3986), so characters
  // such as spaces and `%` must be percent-encoded, and a `:` in the first segment would make
  // the path read as a URI scheme.
  it.each(['notes/old key 50%.txt', 'c:d/x#1?.txt'])(
    'percent-encodes the path %j in its artifact URI',
    (file) => {
      const finding: Finding = { ...FINDINGS[1]!, file }
      const uri = sarifOf([finding]).runs[0]!.results[0]!.locations[0]!.physicalLocation
        .artifactLocation.uri
      // Only RFC 3986 path characters and well-formed escapes; no scheme; the same path back.
      expect(uri).toMatch(/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*$/)
      expect(uri.split('/')[0]).not.toContain(':')
      expect(decodeURIComponent(uri)).toBe(file)
    },
  )
})
