import { describe, expect, it } from '@jest/globals'
import { createPathMatcher } from '../../src/scan/glob.js'

const matches = (glob: string, path: string): boolean => createPathMatcher([glob])(path)

describe('createPathMatcher', () => {
  it.each([
    ['vendor/**', 'vendor/a.js', true],
    ['vendor/**', 'vendor/deep/er/a.js', true],
    ['vendor/**', 'vendor/.hidden', true],
    ['vendor/**', 'src/vendor/a.js', false],
    ['vendor/**', 'vendored/a.js', false],
    ['vendor/', 'vendor/deep/a.js', true],
    ['./vendor/**', 'vendor/a.js', true],
    ['*.md', 'README.md', true],
    ['*.md', 'docs/README.md', false],
    ['*.md', '.notes.md', true],
    ['**/*.md', 'README.md', true],
    ['**/*.md', 'docs/deep/README.md', true],
    ['**.md', 'docs/deep/README.md', true],
    ['docs/**/fixtures/*', 'docs/fixtures/a', true],
    ['docs/**/fixtures/*', 'docs/x/y/fixtures/a', true],
    ['docs/**/fixtures/*', 'docs/x/y/fixtures/a/b', false],
    ['docs/*/a', 'docs/x/y/a', false],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file10.txt', false],
    ['file?.txt', 'file/.txt', false],
    ['*.{js,ts}', 'a.ts', true],
    ['*.{js,ts}', 'a.tsx', false],
    ['{src,test/{unit,e2e}}/**', 'test/e2e/x', true],
    ['{src,test/{unit,e2e}}/**', 'test/int/x', false],
    ['{a}.txt', '{a}.txt', true],
    ['{a,b', '{a,b', true],
    ['log[0-9].txt', 'log7.txt', true],
    ['log[!0-9].txt', 'log7.txt', false],
    ['log[!0-9].txt', 'logx.txt', true],
    ['log[.txt', 'log[.txt', true],
    ['a.b', 'axb', false],
    ['a+(b)', 'a+(b)', true],
    ['\\*.txt', '*.txt', true],
    ['\\*.txt', 'a.txt', false],
    ['keys/test.env', 'keys/test.env', true],
    ['keys/test.env', 'keys/test.envx', false],
    ['../shared/**', '../shared/a', true],
  ])('%s on %s: %s', (glob, path, expected) => {
    expect(matches(glob, path)).toBe(expected)
  })

  it('matches when any glob matches, and never with none', () => {
    const isIgnored = createPathMatcher(['vendor/**', '*.lock'])

    expect(['vendor/x', 'yarn.lock', 'src/a.ts', './yarn.lock'].map(isIgnored)).toEqual([
      true,
      true,
      false,
      true,
    ])
    expect(createPathMatcher([])('anything')).toBe(false)
  })
})
