import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { addedLines } from '../../src/scan/diff.js'
import { scanLines } from '../../src/scan/scan-text.js'
import { sampleKey } from './sample-keys.js'

describe('addedLines', () => {
  it('numbers added lines as in the new file, across several hunks', () => {
    const patch = [
      '@@ -1,4 +1,5 @@',
      ' line 1',
      '-old line 2',
      '+new line 2',
      '+inserted 3',
      ' line 4',
      ' line 5',
      '@@ -20,4 +21,5 @@ function section() {',
      ' line 21',
      '+added 22',
      '-removed',
      '-removed too',
      '+added 23',
      ' line 24',
      '+added 25',
      '@@ -40 +42 @@',
      '-x',
      '+replaced 42',
    ].join('\n')

    expect(addedLines(patch)).toEqual([
      { line: 2, text: 'new line 2' },
      { line: 3, text: 'inserted 3' },
      { line: 22, text: 'added 22' },
      { line: 23, text: 'added 23' },
      { line: 25, text: 'added 25' },
      { line: 42, text: 'replaced 42' },
    ])
  })

  it('skips git diff headers and reads content that looks like headers by the hunk counts', () => {
    const patch = [
      'diff --git a/keyward.yaml b/keyward.yaml',
      'index 3b18e51..a9c1f2d 100644',
      '--- a/keyward.yaml',
      '+++ b/keyward.yaml',
      '@@ -0,0 +1,3 @@',
      '+++ not a header',
      '+@@ -1 +1 @@ not a hunk either',
      '+--- nor this',
      '\\ No newline at end of file',
      '',
    ].join('\n')

    expect(addedLines(patch)).toEqual([
      { line: 1, text: '++ not a header' },
      { line: 2, text: '@@ -1 +1 @@ not a hunk either' },
      { line: 3, text: '--- nor this' },
    ])
  })

  it('handles CRLF patches and empty context lines without their space', () => {
    const patch = '@@ -1,3 +1,4 @@\r\n a\r\n\r\n+b\r\n c\r\n'

    expect(addedLines(patch)).toEqual([{ line: 3, text: 'b' }])
  })

  it('returns nothing for an empty patch or one that only deletes', () => {
    expect(addedLines('')).toEqual([])
    expect(addedLines('@@ -1,2 +0,0 @@\n-a\n-b\n')).toEqual([])
  })

  it('feeds scanLines, which reports a key at its new-file line', () => {
    const key = sampleKey('anthropic-api')
    const patch = ['@@ -10,2 +10,2 @@', ' a', '-b', `+ANTHROPIC_API_KEY=${key}`].join('\n')

    const hits = scanLines('.env.example', addedLines(patch), {
      allow: new Set(),
      sha256: (t) => createHash('sha256').update(t).digest('hex'),
    })

    expect(hits.map((h) => [h.file, h.line, h.column, h.kind])).toEqual([
      ['.env.example', 11, 19, 'anthropic-api'],
    ])
  })
})
