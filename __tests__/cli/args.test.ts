import { describe, expect, it } from '@jest/globals'
import { parseCommandLine, USAGE, type CliCommand } from '../../src/cli/args.js'
import { UsageError } from '../../src/errors.js'

const anchor = 'sha256:' + '0123456789abcdef'.repeat(4)

describe('parseCommandLine: valid command lines', () => {
  it.each<[string, string[], CliCommand]>([
    ['no arguments show help', [], { command: 'help', topic: undefined }],
    ['--help alone shows help', ['--help'], { command: 'help', topic: undefined }],
    ['-h alone shows help', ['-h'], { command: 'help', topic: undefined }],
    ['help <topic> keeps the topic', ['help', 'validate'], { command: 'help', topic: 'validate' }],
    ['--version prints the version', ['--version'], { command: 'version' }],
    ['-V prints the version', ['-V'], { command: 'version' }],
    [
      'validate takes its defaults',
      ['validate'],
      { command: 'validate', config: 'keyward.yaml', format: 'text', strict: false },
    ],
    [
      'validate reads --format, --strict and --config',
      ['validate', '--format', 'json', '--strict', '--config', 'gov/keyward.yaml'],
      { command: 'validate', config: 'gov/keyward.yaml', format: 'json', strict: true },
    ],
    [
      'validate accepts --format=value',
      ['validate', '--format=sarif'],
      { command: 'validate', config: 'keyward.yaml', format: 'sarif', strict: false },
    ],
    [
      'validate accepts the github format',
      ['validate', '--format', 'github'],
      { command: 'validate', config: 'keyward.yaml', format: 'github', strict: false },
    ],
    [
      'vault add takes one key id',
      ['vault', 'add', 'blog-openai'],
      { command: 'vault-add', config: 'keyward.yaml', keyId: 'blog-openai' },
    ],
    [
      'vault add keeps --provider-key-id',
      ['vault', 'add', 'blog-openai', '--provider-key-id', 'key_abc123'],
      {
        command: 'vault-add',
        config: 'keyward.yaml',
        keyId: 'blog-openai',
        providerKeyId: 'key_abc123',
      },
    ],
    [
      'vault add --admin names a provider',
      ['vault', 'add', '--admin', 'openai', '--config', 'k.yaml'],
      { command: 'vault-add', config: 'k.yaml', admin: 'openai' },
    ],
    [
      'vault show is masked unless --reveal',
      ['vault', 'show', 'blog-openai'],
      { command: 'vault-show', config: 'keyward.yaml', keyId: 'blog-openai', reveal: false },
    ],
    [
      'vault show --reveal',
      ['vault', 'show', 'blog-openai', '--reveal'],
      { command: 'vault-show', config: 'keyward.yaml', keyId: 'blog-openai', reveal: true },
    ],
    [
      'vault check reads --format',
      ['vault', 'check', '--format', 'json'],
      { command: 'vault-check', config: 'keyward.yaml', format: 'json' },
    ],
    [
      'vault rekey without ids means every key',
      ['vault', 'rekey'],
      { command: 'vault-rekey', config: 'keyward.yaml', keyIds: [] },
    ],
    [
      'vault rekey takes several ids',
      ['vault', 'rekey', 'a', 'b'],
      { command: 'vault-rekey', config: 'keyward.yaml', keyIds: ['a', 'b'] },
    ],
    [
      'audit without --config leaves the config unset (for --demo)',
      ['audit'],
      { command: 'audit', demo: false, dryRun: false, json: false, failOnFindings: false },
    ],
    [
      'audit reads every flag',
      ['audit', '--demo', '--dry-run', '--json', '--fail-on-findings', '--config', 'c.yaml'],
      {
        command: 'audit',
        config: 'c.yaml',
        demo: true,
        dryRun: true,
        json: true,
        failOnFindings: true,
      },
    ],
    [
      'report defaults to the last 7 days',
      ['report'],
      { command: 'report', config: 'keyward.yaml', since: '7d', json: false },
    ],
    [
      'report reads --since and --json',
      ['report', '--since', '2w', '--json'],
      { command: 'report', config: 'keyward.yaml', since: '2w', json: true },
    ],
    [
      'report accepts hours',
      ['report', '--since=36h'],
      { command: 'report', config: 'keyward.yaml', since: '36h', json: false },
    ],
    [
      'ledger verify without an anchor',
      ['ledger', 'verify'],
      { command: 'ledger-verify', config: 'keyward.yaml' },
    ],
    [
      'ledger verify with an anchor',
      ['ledger', 'verify', '--anchor', anchor],
      { command: 'ledger-verify', config: 'keyward.yaml', anchor },
    ],
    ['init defaults to the current folder', ['init'], { command: 'init', dir: '.' }],
    ['init takes a folder', ['init', 'governance'], { command: 'init', dir: 'governance' }],
  ])('%s', (_name, argv, expected) => {
    // Act
    const command = parseCommandLine(argv)

    // Assert
    expect(command).toStrictEqual(expected)
  })
})

describe('parseCommandLine: --help anywhere shows help for the command', () => {
  it.each<[string[], string]>([
    [['validate', '--help'], 'validate'],
    [['validate', '--format', 'xml', '--help'], 'validate'],
    [['validate', '--bogus', '-h'], 'validate'],
    [['vault', 'add', '--help'], 'vault'],
    [['vault', 'add', 'k', 'extra', '--help'], 'vault'],
    [['report', '--since', 'soon', '--help'], 'report'],
    [['ledger', '--help'], 'ledger'],
    [['nonsense', '--help'], 'nonsense'],
  ])('%j → help on %s', (argv, topic) => {
    expect(parseCommandLine(argv)).toEqual({ command: 'help', topic })
  })
})

describe('parseCommandLine: invalid command lines', () => {
  it.each<[string, string[], string | RegExp]>([
    ['an unknown command', ['frobnicate'], 'unknown command "frobnicate"'],
    ['an option before the command', ['--config', 'k.yaml', 'validate'], 'unknown command'],
    ['an unknown option', ['validate', '--verbose'], /^validate: .*Unknown option '--verbose'/],
    ['a boolean option with a value', ['validate', '--strict=yes'], /validate: .*--strict/],
    ['an option without its value', ['validate', '--format'], /validate: .*--format/],
    [
      'a bad --format',
      ['validate', '--format', 'xml'],
      '--format must be one of text, json, github, sarif; got "xml"',
    ],
    ['a bad vault check --format', ['vault', 'check', '--format', 'html'], '--format must be one'],
    [
      'validate with a positional',
      ['validate', 'extra'],
      'validate takes no arguments; got "extra"',
    ],
    ['vault add with no id', ['vault', 'add'], 'usage: keyward vault add <key-id>'],
    [
      'vault add with a second positional (a key on argv)',
      ['vault', 'add', 'blog-openai', ['sk', 'proj', 'abcdefghijklmnop'].join('-')],
      'never from the command line',
    ],
    [
      'vault add --admin with a key id',
      ['vault', 'add', '--admin', 'openai', 'blog-openai'],
      'takes no key id',
    ],
    ['vault with no subcommand', ['vault'], 'unknown vault command ""'],
    ['an unknown vault subcommand', ['vault', 'delete'], 'unknown vault command "delete"'],
    ['vault show with no id', ['vault', 'show'], 'usage: keyward vault show <key-id>'],
    ['vault show with two ids', ['vault', 'show', 'a', 'b'], 'usage: keyward vault show'],
    ['vault check with a positional', ['vault', 'check', 'x'], 'vault check takes no arguments'],
    ['ledger without verify', ['ledger'], 'usage: keyward ledger verify'],
    ['ledger with another subcommand', ['ledger', 'replay'], 'usage: keyward ledger verify'],
    ['ledger verify with extra words', ['ledger', 'verify', 'now'], 'usage: keyward ledger'],
    [
      'an --anchor without the sha256: prefix',
      ['ledger', 'verify', '--anchor', '0123456789abcdef'.repeat(4)],
      '--anchor must be sha256: followed by 64 hex digits',
    ],
    [
      'an --anchor too short',
      ['ledger', 'verify', '--anchor', 'sha256:abc'],
      '--anchor must be sha256: followed by 64 hex digits; got "sha256:abc"',
    ],
    [
      'an --anchor with non-hex digits',
      ['ledger', 'verify', '--anchor', 'sha256:' + 'g'.repeat(64)],
      '--anchor must be',
    ],
    ['a --since without a unit', ['report', '--since', '7'], '--since must be a duration'],
    ['a --since of zero', ['report', '--since', '0d'], '--since must be a duration'],
    ['a --since in months', ['report', '--since', '1m'], 'got "1m"'],
    ['a --since in words', ['report', '--since', '7days'], '--since must be a duration'],
    ['a negative --since', ['report', '--since=-7d'], '--since must be a duration'],
    ['report with a positional', ['report', 'weekly'], 'report takes no arguments'],
    ['audit with a positional', ['audit', 'now'], 'audit takes no arguments'],
    ['init with two folders', ['init', 'a', 'b'], 'init takes at most one folder'],
  ])('refuses %s', (_name, argv, message) => {
    // Act
    const act = () => parseCommandLine(argv)

    // Assert
    expect(act).toThrow(UsageError)
    expect(act).toThrow(message)
  })

  it('points an unknown option at the command help', () => {
    expect(() => parseCommandLine(['vault', 'add', 'k', '--force'])).toThrow(
      'Run `keyward vault add --help` for usage',
    )
  })
})

describe('USAGE', () => {
  it.each(['init', 'validate', 'vault add', 'vault show', 'vault check', 'vault rekey', 'audit'])(
    'documents %s',
    (command) => {
      expect(USAGE).toContain(`  ${command}`)
    },
  )

  it('names the exit codes', () => {
    expect(USAGE).toContain('0 success, 1 problems found, 2 could not run')
  })
})
