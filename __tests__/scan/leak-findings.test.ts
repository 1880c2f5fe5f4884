import { createHash } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { leakFindings } from '../../src/scan/leak-findings.js'
import { allowSet, scanText } from '../../src/scan/scan-text.js'
import { sampleKey, sampleKeys } from './sample-keys.js'

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

describe('leakFindings', () => {
  it('turns a hit into an exposed-key error at its position, with what to do', () => {
    const key = sampleKey('openai-project')
    const hits = scanText('app/.env', `\nOPENAI_API_KEY=${key}\n`, { allow: new Set(), sha256 })

    const [finding, ...rest] = leakFindings(hits)

    expect(rest).toEqual([])
    expect(finding).toEqual({
      rule: 'exposed-key',
      severity: 'error',
      file: 'app/.env',
      line: 2,
      column: 16,
      message:
        `an OpenAI project key (sk-proj-…${key.slice(-4)}) is committed in plain text; ` +
        'revoke it at OpenAI now, then remove it from the file ' +
        '(git history keeps it: rotating is the only fix). ' +
        `If it is a known test key, add "sha256:${sha256(key)}" to scan.allow in keyward.yaml`,
    })
  })

  it('never carries a key, for any kind', () => {
    const samples = sampleKeys()
    const text = samples.map((s) => `k: ${s.key}`).join('\n')

    const findings = leakFindings(scanText('f', text, { allow: allowSet([]), sha256 }))

    expect(findings).toHaveLength(samples.length)
    const serialized = JSON.stringify(findings)
    for (const { key } of samples) expect(serialized).not.toContain(key)
  })

  it('names the provider and kind with the right article', () => {
    const hits = scanText('f', `${sampleKey('xai')}\n${sampleKey('google-api')}`, {
      allow: new Set(),
      sha256,
    })

    expect(leakFindings(hits).map((f) => f.message.split(' (')[0])).toEqual([
      'an xAI API key',
      'a Google API key',
    ])
  })
})
