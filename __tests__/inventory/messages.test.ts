import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { checkInventory } from '../../src/inventory/check.js'
import { parseActiveHours, isValidCidr } from '../../src/inventory/policy.js'
import { nearest } from '../../src/inventory/nearest.js'

const now = new Date('2026-11-27T12:00:00Z')
const check = (text: string) =>
  checkInventory('keyward.yaml', new TextEncoder().encode(text), { now }).findings

const inventory = (keyExtra: string) => `version: 1
providers:
  openai:
    admin_key: keys/admin/openai.sops.yaml
workflows:
  blog:
    label: Blog
    owner: "@me"
keys:
  blog-openai:
    label: Blog
    workflow: blog
    provider: openai
    created: 2026-11-01
${keyExtra}`

describe('inventory messages', () => {
  it('never echoes a key pasted into a field, only a masked form', () => {
    // Built at run time so no source file holds a key-shaped string.
    const pasted = ['sk', 'proj', randomBytes(30).toString('base64url') + 'Ab1'].join('-')
    const findings = check(inventory(`    secret: ${pasted}\n    rotate_after: ${pasted}\n`))
    const text = JSON.stringify(findings)
    expect(findings.map((f) => f.rule).sort()).toEqual(['exposed-key', 'schema'])
    expect(text).not.toContain(pasted)
    expect(text).not.toContain(pasted.slice(8, 30))
  })

  it('points a missing field at the key that lacks it and says what the field is', () => {
    const findings = check(inventory(''))
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'schema',
        line: 10,
        column: 3,
        key: 'blog-openai',
        message: expect.stringContaining('"secret" (SOPS file'),
      }),
    ])
  })

  it('reports every problem of a file in one run', () => {
    const findings = check(
      inventory(
        '    secret: keys/x.sops.yaml\n    canary: maybe\n    rotate_after: soon\n    budget_usd_month: -1\n    colour: red\n',
      ),
    )
    expect(findings.map((f) => [f.line, f.message.split(';')[0]])).toEqual([
      [16, 'key "blog-openai": canary is "maybe"'],
      [17, 'key "blog-openai": rotate_after is "soon"'],
      [18, 'key "blog-openai": budget_usd_month is -1'],
      [19, 'unknown field "colour" in key "blog-openai"'],
    ])
  })
})

describe('active hours', () => {
  it.each([
    ['07:00-22:00', { start: 420, end: 1320 }],
    ['22:00-06:00', { start: 1320, end: 360 }],
    ['00:00-24:00', { start: 0, end: 1440 }],
  ])('parses %s', (text, expected) => {
    expect(parseActiveHours(text)).toEqual(expected)
  })
  it.each(['7:00-22:00', '24:00-01:00', '12:60-13:00', '10:00-10:00', '10:00', ''])(
    'rejects %j',
    (text) => {
      expect(parseActiveHours(text)).toHaveProperty('error')
    },
  )
})

describe('CIDR ranges', () => {
  it.each(['203.0.113.0/24', '10.0.0.1/32', '2001:db8::/32', '::1/128'])('accepts %s', (cidr) =>
    expect(isValidCidr(cidr)).toBe(true),
  )
  it.each([
    '203.0.113.0',
    '203.0.113.0/33',
    '2001:db8::/129',
    'host/24',
    '1.2.3.4/24/1',
    '1.2.3.4/x',
  ])('rejects %s', (cidr) => expect(isValidCidr(cidr)).toBe(false))
})

describe('nearest', () => {
  it('suggests a close declared name and nothing for a distant one', () => {
    expect(nearest('avatar-vidoe', ['avatar-video', 'blog'])).toBe('avatar-video')
    expect(nearest('opneai', ['openai', 'anthropic'])).toBe('openai')
    expect(nearest('zzz', ['openai', 'anthropic'])).toBeUndefined()
  })
})
