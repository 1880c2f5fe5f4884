import { describe, expect, it } from '@jest/globals'
import { checkInventory } from '../../src/inventory/check.js'

/**
 * `validate` on `cap_usd_month` (rule `cap-drift`, a warning): a cap on a provider that cannot
 * enforce it by API, and a cap that would cut a workflow off before its budget alert.
 */

const now = new Date('2026-11-27T12:00:00Z')

const check = (text: string) =>
  checkInventory('keyward.yaml', new TextEncoder().encode(text), { now }).findings

/** One key at `provider` (declared with `providerLines`), with `extra` lines in its entry. */
const inventory = (provider: string, providerLines: string, extra: string) => `version: 1
providers:
${providerLines}
workflows:
  blog:
    label: Blog
    owner: "@maria"
keys:
  blog-key:
    label: Blog key
    workflow: blog
    provider: ${provider}
    secret: keys/blog-key.sops.yaml
    created: 2026-11-01
${extra}`

const ANTHROPIC = '  anthropic:\n    admin_key: keys/admin/anthropic.sops.yaml'
const OPENROUTER = '  openrouter:\n    admin_key: keys/admin/openrouter.sops.yaml'
const OPENAI = '  openai:\n    admin_key: keys/admin/openai.sops.yaml'

/** 1-based line and column of `value` on the line that starts (after spaces) with `field:`. */
function positionOf(text: string, field: string, value: string) {
  const lines = text.split('\n')
  const index = lines.findIndex((l) => l.trimStart().startsWith(`${field}:`))
  expect(index).toBeGreaterThanOrEqual(0)
  const line = lines[index] ?? ''
  return { line: index + 1, column: line.indexOf(value, line.indexOf(':')) + 1 }
}

describe('validate: cap_usd_month', () => {
  it('warns that Anthropic cannot enforce a cap by API, and says where to set it by hand', () => {
    const text = inventory('anthropic', ANTHROPIC, '    cap_usd_month: 20\n')

    const findings = check(text)

    expect(findings).toEqual([
      {
        rule: 'cap-drift',
        severity: 'warning',
        file: 'keyward.yaml',
        ...positionOf(text, 'cap_usd_month', '20'),
        key: 'blog-key',
        message: expect.stringContaining(
          'console.anthropic.com → Settings → Workspaces → the workspace → Limits',
        ),
      },
    ])
    expect(findings[0]?.message).toContain('key "blog-key": anthropic cannot enforce cap_usd_month')
    expect(findings[0]?.message).toContain('keyward only watches it')
  })

  it('knows the provider by its type when its id is another name', () => {
    const claude = '  claude:\n    type: anthropic\n    admin_key: keys/admin/claude.sops.yaml'

    const findings = check(inventory('claude', claude, '    cap_usd_month: 20\n'))

    expect(findings.map((f) => [f.rule, f.severity])).toEqual([['cap-drift', 'warning']])
    expect(findings[0]?.message).toContain('anthropic cannot enforce cap_usd_month')
  })

  it('warns when a cap is below the key’s budget, pointing at the cap', () => {
    const text = inventory(
      'openrouter',
      OPENROUTER,
      '    budget_usd_month: 30\n    cap_usd_month: 25.5\n',
    )

    const findings = check(text)

    expect(findings).toEqual([
      {
        rule: 'cap-drift',
        severity: 'warning',
        file: 'keyward.yaml',
        ...positionOf(text, 'cap_usd_month', '25.5'),
        key: 'blog-key',
        message:
          'key "blog-key": cap_usd_month 25.5 is below budget_usd_month 30, so the provider would cut the workflow off before the budget alert warns anyone; expected a cap at or above the budget',
      },
    ])
  })

  it.each([
    ['equal to', '    budget_usd_month: 30\n    cap_usd_month: 30\n'],
    ['above', '    cap_usd_month: 45 # hard limit\n    budget_usd_month: 30\n'],
    ['without', '    cap_usd_month: 45\n'],
  ])('does not warn about an OpenRouter cap %s the budget', (_name, extra) => {
    expect(check(inventory('openrouter', OPENROUTER, extra))).toEqual([])
  })

  it('does not warn about a cap on OpenAI, which enforces it per project', () => {
    expect(check(inventory('openai', OPENAI, '    cap_usd_month: 45\n'))).toEqual([])
  })

  it('gives both warnings for an Anthropic cap below its budget', () => {
    const text = inventory(
      'anthropic',
      ANTHROPIC,
      '    budget_usd_month: 30\n    cap_usd_month: 20\n',
    )

    const findings = check(text)

    expect(findings.map((f) => [f.rule, f.severity, f.line])).toEqual([
      ['cap-drift', 'warning', positionOf(text, 'cap_usd_month', '20').line],
      ['cap-drift', 'warning', positionOf(text, 'cap_usd_month', '20').line],
    ])
    expect(findings.some((f) => f.message.includes('cannot enforce'))).toBe(true)
    expect(findings.some((f) => f.message.includes('is below budget_usd_month 30'))).toBe(true)
  })

  it('does not warn about a budget alone', () => {
    expect(check(inventory('anthropic', ANTHROPIC, '    budget_usd_month: 30\n'))).toEqual([])
  })
})
