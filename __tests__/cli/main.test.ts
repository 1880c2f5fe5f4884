import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { promisify } from 'node:util'
import type { Finding } from '../../src/analysis/findings.js'
import { USAGE } from '../../src/cli/args.js'
import { main, type CliDeps } from '../../src/cli/main.js'
import { readSecretFromStdin } from '../../src/cli/read-secret.js'
import { Redactor } from '../../src/cli/redactor.js'
import { stderrLog } from '../../src/cli/stderr-log.js'
import type { LeakScanner } from '../../src/ports/leak-scanner.js'
import type { Log } from '../../src/ports/log.js'
import { VERSION } from '../../src/version.js'
import { fixedClock } from '../../test/fakes/fixed-clock.js'
import {
  memoryVault,
  memoryVaultState,
  type FakeSopsFile,
  type MemoryVaultState,
} from '../../test/fakes/memory-vault.js'

const NOW = '2026-11-27T12:00:00Z'
const ADMIN_FILE = 'keys/admin/openai.sops.yaml'
const KEY_FILE = 'keys/blog-openai.sops.yaml'

/** The inventory every test writes; line 4 col 16 is the admin_key value, line 14 col 13 the
 * key's secret value. */
const inventory = (created = '2026-11-01') => `version: 1
providers:
  openai:
    admin_key: ${ADMIN_FILE}
workflows:
  blog:
    label: Blog
    owner: "@me"
keys:
  blog-openai:
    label: Blog - OpenAI
    workflow: blog
    provider: openai
    secret: ${KEY_FILE}
    created: ${created}
`

/** A provider-like key built at run time, so no source file holds one. */
const fakeKey = () => ['sk', 'proj', randomBytes(24).toString('base64url')].join('-')

const RECIPIENT_A = 'age1' + 'a'.repeat(58)
const RECIPIENT_B = 'age1' + 'b'.repeat(58)
const RECIPIENT_C = 'age1' + 'c'.repeat(58)

const sealed = (values: Record<string, unknown> = { api_key: fakeKey() }): FakeSopsFile => ({
  kind: 'sops',
  recipients: [RECIPIENT_A],
  values,
})

interface Sink {
  write(text: string): void
  readonly text: string
}

function sink(): Sink {
  const chunks: string[] = []
  return {
    write: (text) => void chunks.push(text),
    get text() {
      return chunks.join('')
    },
  }
}

/** A LeakScanner that returns the findings a test configured. */
function fakeScanner(findings: Finding[] = [], scannedFiles = 3) {
  return {
    scan: jest.fn<LeakScanner['scan']>(async () => ({ findings: [...findings], scannedFiles })),
  } satisfies LeakScanner
}

interface Harness {
  dir: string
  vault: MemoryVaultState
  scanner: ReturnType<typeof fakeScanner>
  stdout: Sink
  stderr: Sink
  deps: CliDeps
}

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-cli-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A clean governance repository: both secret files sealed to the recipients .sops.yaml asks for. */
async function arrange(
  options: { created?: string; findings?: Finding[]; cwd?: string; subdir?: string } = {},
): Promise<Harness> {
  const root = options.subdir ? join(dir, options.subdir) : dir
  await mkdir(root, { recursive: true })
  await writeFile(join(root, 'keyward.yaml'), inventory(options.created))
  const vault = memoryVaultState({
    files: new Map([
      [ADMIN_FILE, sealed()],
      [KEY_FILE, sealed()],
    ]),
    expected: new Map([
      [ADMIN_FILE, [RECIPIENT_A]],
      [KEY_FILE, [RECIPIENT_A]],
    ]),
  })
  const scanner = fakeScanner(options.findings)
  const stdout = sink()
  const stderr = sink()
  const deps: CliDeps = {
    stdout,
    stderr,
    readSecret: async () => {
      throw new Error('validate never reads stdin')
    },
    env: {},
    cwd: options.cwd ?? root,
    interactive: false,
    clock: fixedClock(NOW),
    createVault: (_root, { mask, clock, actor }) =>
      memoryVault(vault, { mask, now: () => clock.now(), actor }),
    createScanner: () => scanner,
  }
  return { dir: root, vault, scanner, stdout, stderr, deps }
}

describe('keyward validate', () => {
  it('exits 0 and prints "no problems" on a clean inventory with every secret in the vault', async () => {
    const h = await arrange()

    const code = await main(['validate'], h.deps)

    expect(code).toBe(0)
    expect(h.stdout.text).toBe('no problems\n')
    expect(h.stderr.text).toBe('')
    expect(h.vault.accesses.map((a) => [a.file, a.purpose])).toEqual([
      [ADMIN_FILE, 'validate'],
      [KEY_FILE, 'validate'],
    ])
    expect(h.scanner.scan).toHaveBeenCalledTimes(1)
  })

  it('exits 1 with SPEC text lines when secret files are missing', async () => {
    const h = await arrange()
    h.vault.files.clear()

    const code = await main(['validate'], h.deps)

    expect(code).toBe(1)
    expect(h.stdout.text).toBe(
      [
        'keyward.yaml:4:16: error [missing-secret] the admin key of provider "openai" names the secret file keys/admin/openai.sops.yaml, which does not exist; create it with `keyward vault add --admin openai` (it reads the key from stdin)',
        'keyward.yaml:14:13: error [missing-secret] key "blog-openai" names the secret file keys/blog-openai.sops.yaml, which does not exist; create it with `keyward vault add blog-openai` (it reads the key from stdin)',
        '2 problems (2 errors)',
        '',
      ].join('\n'),
    )
  })

  it('shows paths relative to the current folder when --config points elsewhere', async () => {
    const h = await arrange({ subdir: 'gov', cwd: dir })
    h.vault.files.set(KEY_FILE, { kind: 'plaintext', reason: 'it has no sops metadata' })

    const code = await main(['validate', '--config', 'gov/keyward.yaml'], h.deps)

    expect(code).toBe(1)
    expect(h.stdout.text.split('\n')[0]).toMatch(
      /^gov\/keys\/blog-openai\.sops\.yaml:1:1: error \[plaintext-secret\] keys\/blog-openai\.sops\.yaml \(key "blog-openai"\) is not a SOPS file encrypted with age: it has no sops metadata/,
    )
  })

  it('exits 0 on a rotation-due warning without --strict', async () => {
    const h = await arrange({ created: '2026-08-01' })

    const code = await main(['validate'], h.deps)

    expect(code).toBe(0)
    expect(h.stdout.text).toBe(
      'keys/blog-openai.sops.yaml:1:1: warning [rotation-due] key "blog-openai" is 118 days old; rotate_after is 90d\n' +
        '1 problem (1 warning)\n',
    )
  })

  it('exits 1 on the same rotation-due warning with --strict', async () => {
    const h = await arrange({ created: '2026-08-01' })

    const code = await main(['validate', '--strict'], h.deps)

    expect(code).toBe(1)
    expect(h.stdout.text).toContain('warning [rotation-due]')
  })

  it('prints { ok, findings } with file, line and column for --format json', async () => {
    const h = await arrange()
    h.vault.files.delete(KEY_FILE)

    const code = await main(['validate', '--format', 'json'], h.deps)

    expect(code).toBe(1)
    const output = JSON.parse(h.stdout.text) as { ok: boolean; findings: unknown[] }
    expect(output).toEqual({
      ok: false,
      findings: [
        {
          rule: 'missing-secret',
          severity: 'error',
          file: 'keyward.yaml',
          line: 14,
          column: 13,
          key: 'blog-openai',
          message: expect.stringContaining('keyward vault add blog-openai'),
        },
      ],
    })
  })

  it('reports ok: true in JSON when only warnings are found', async () => {
    const h = await arrange({ created: '2026-08-01' })

    const code = await main(['validate', '--format=json'], h.deps)

    expect(code).toBe(0)
    expect(JSON.parse(h.stdout.text)).toMatchObject({
      ok: true,
      findings: [{ rule: 'rotation-due' }],
    })
  })

  it('reports ok: false in JSON when --strict fails on warnings', async () => {
    const h = await arrange({ created: '2026-08-01' })

    const code = await main(['validate', '--format=json', '--strict'], h.deps)

    expect(code).toBe(1)
    expect(JSON.parse(h.stdout.text)).toMatchObject({ ok: false })
  })

  it('prints GitHub workflow commands for --format github', async () => {
    const h = await arrange()
    h.vault.files.delete(ADMIN_FILE)

    const code = await main(['validate', '--format', 'github'], h.deps)

    expect(code).toBe(1)
    expect(h.stdout.text).toMatch(
      /^::error file=keyward\.yaml,line=4,col=16,title=keyward missing-secret::the admin key/,
    )
    expect(h.stdout.text.trimEnd().split('\n')).toHaveLength(1)
  })

  it('prints a SARIF log for --format sarif', async () => {
    const h = await arrange()
    h.vault.files.delete(ADMIN_FILE)

    const code = await main(['validate', '--format', 'sarif'], h.deps)

    expect(code).toBe(1)
    const sarif = JSON.parse(h.stdout.text) as {
      version: string
      runs: { tool: { driver: { name: string; version: string } }; results: unknown[] }[]
    }
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.runs[0]?.tool.driver).toMatchObject({ name: 'keyward', version: VERSION })
    expect(sarif.runs[0]?.results).toHaveLength(1)
  })

  it.each<[string, (state: MemoryVaultState) => void, string, string]>([
    [
      'missing-secret',
      (state) => state.files.delete(KEY_FILE),
      'keyward.yaml:14:13',
      'key "blog-openai" names the secret file keys/blog-openai.sops.yaml, which does not exist',
    ],
    [
      'plaintext-secret',
      (state) => state.files.set(KEY_FILE, { kind: 'plaintext', reason: 'it is one line of text' }),
      'keys/blog-openai.sops.yaml:1:1',
      'keys/blog-openai.sops.yaml (key "blog-openai") is not a SOPS file encrypted with age: it is one line of text',
    ],
    [
      'recipients-drift',
      (state) => state.files.set(KEY_FILE, { ...sealed(), recipients: [RECIPIENT_A, RECIPIENT_B] }),
      'keys/blog-openai.sops.yaml:1:1',
      `keys/blog-openai.sops.yaml is still readable by ${RECIPIENT_B}, which .sops.yaml no longer lists; run \`keyward vault rekey blog-openai\``,
    ],
    [
      'recipients-drift',
      (state) => state.expected.set(KEY_FILE, [RECIPIENT_A, RECIPIENT_C]),
      'keys/blog-openai.sops.yaml:1:1',
      `keys/blog-openai.sops.yaml is not readable by ${RECIPIENT_C}, which .sops.yaml asks for`,
    ],
    [
      'vault-tampered',
      (state) => state.files.set(KEY_FILE, { ...sealed(), tampered: true }),
      'keys/blog-openai.sops.yaml:1:1',
      'keys/blog-openai.sops.yaml: the MAC does not match the values',
    ],
  ])('reports %s for the matching vault state', async (rule, breakVault, where, message) => {
    // Arrange
    const h = await arrange()
    breakVault(h.vault)

    // Act
    const code = await main(['validate'], h.deps)

    // Assert
    expect(code).toBe(1)
    const lines = h.stdout.text.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain(`${where}: error [${rule}] ${message}`)
    expect(lines[1]).toBe('1 problem (1 error)')
  })

  it('reports the findings of the leak scanner', async () => {
    const leak: Finding = {
      rule: 'exposed-key',
      severity: 'error',
      file: 'notes.md',
      line: 2,
      column: 5,
      message: 'a plaintext OpenAI key (sk-…abcd) is committed',
    }
    const h = await arrange({ findings: [leak] })

    const code = await main(['validate'], h.deps)

    expect(code).toBe(1)
    expect(h.stdout.text).toContain('notes.md:2:5: error [exposed-key] a plaintext OpenAI key')
  })

  it('skips the MAC check with a warning on stderr when there is no identity', async () => {
    const h = await arrange()
    h.vault.noIdentity = true
    h.vault.files.set(KEY_FILE, { ...sealed(), tampered: true })

    const code = await main(['validate'], h.deps)

    expect(code).toBe(0)
    expect(h.stdout.text).toBe('no problems\n')
    expect(h.stderr.text).toMatch(/^warning: MACs were not verified: no age identity/)
    expect(h.stderr.text.trimEnd().split('\n')).toHaveLength(1)
    expect(h.vault.accesses).toEqual([])
  })

  it('redacts a decrypted secret from everything it prints', async () => {
    // Arrange: the scanner "finds" the very value the vault decrypted.
    const secret = fakeKey()
    const h = await arrange({
      findings: [
        {
          rule: 'exposed-key',
          severity: 'error',
          file: 'notes.md',
          line: 1,
          column: 1,
          message: `found ${secret} in notes.md`,
        },
      ],
    })
    h.vault.files.set(KEY_FILE, sealed({ api_key: secret }))

    // Act
    const code = await main(['validate'], h.deps)

    // Assert
    expect(code).toBe(1)
    expect(h.stdout.text).toContain('notes.md:1:1: error [exposed-key] found *** in notes.md')
    expect(h.stdout.text).not.toContain(secret)
    expect(h.stderr.text).not.toContain(secret)
  })

  it.each(['json', 'github', 'sarif'])('redacts the secret in --format %s too', async (format) => {
    const secret = fakeKey()
    const h = await arrange({
      findings: [
        {
          rule: 'exposed-key',
          severity: 'error',
          file: 'notes.md',
          line: 1,
          column: 1,
          message: `found ${secret}`,
        },
      ],
    })
    h.vault.files.set(ADMIN_FILE, sealed({ api_key: secret }))

    await main(['validate', '--format', format], h.deps)

    expect(h.stdout.text).toContain('found ***')
    expect(h.stdout.text).not.toContain(secret)
  })

  it('exits 2 with a message on stderr and nothing on stdout when the config does not exist', async () => {
    const h = await arrange()

    const code = await main(['validate', '--config', 'missing/keyward.yaml'], h.deps)

    expect(code).toBe(2)
    expect(h.stdout.text).toBe('')
    expect(h.stderr.text).toMatch(/^keyward: cannot read .*keyward\.yaml: no such file/)
    expect(h.stderr.text.trimEnd().split('\n')).toHaveLength(1)
  })

  // The user typed missing/keyward.yaml; a message naming only "keyward.yaml" sends them to
  // look for the wrong file (main.ts shows every other path as typed, relative to cwd).
  it('names the config path as the user typed it when it does not exist', async () => {
    const h = await arrange()

    await main(['validate', '--config', 'missing/keyward.yaml'], h.deps)

    expect(h.stderr.text).toContain('missing/keyward.yaml')
  })
})

describe('keyward report', () => {
  const git = (cwd: string, ...args: string[]) =>
    promisify(execFile)(
      'git',
      ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args],
      { cwd },
    )

  it('prints the review as JSON, commits the full report and writes the issue to the outbox', async () => {
    const h = await arrange()
    await git(h.dir, 'init', '--quiet', '-b', 'main')
    await git(h.dir, 'add', '-A')
    await git(h.dir, 'commit', '--quiet', '--no-verify', '-m', 'inventory')

    const code = await main(['report', '--json'], h.deps)

    expect(code).toBe(0)
    const json = JSON.parse(h.stdout.text) as {
      period: { label: string }
      actions: string[]
      file: string
      issue: number
    }
    expect(json).toMatchObject({
      period: { label: '2026-W48' },
      file: 'reports/2026-W48.md',
      issue: 1,
    })
    expect(json.actions[0]).toContain('No audit ran')
    expect((await git(h.dir, 'show', 'HEAD:reports/2026-W48.md')).stdout).toContain(
      '<!-- keyward:review 2026-W48 -->',
    )
    expect(await readFile(join(h.dir, '.keyward/outbox/issues/0001.md'), 'utf8')).toContain(
      '<!-- keyward:review 2026-W48 -->',
    )
    expect(h.stderr.text).toContain('keyward report 2026-W48: reports/2026-W48.md (committed)')
  })

  it('prints the full report as markdown', async () => {
    const h = await arrange()
    await git(h.dir, 'init', '--quiet', '-b', 'main')

    const code = await main(['report'], h.deps)

    expect(code).toBe(0)
    expect(h.stdout.text).toMatch(/^<!-- keyward:review 2026-W48 -->\n## keyward review 2026-W48\n/)
  })
})

describe('keyward: commands that cannot run', () => {
  it('exits 2 with a message on stderr and nothing on stdout for an unknown command', async () => {
    const h = await arrange()

    const code = await main(['frobnicate'], h.deps)

    expect(code).toBe(2)
    expect(h.stdout.text).toBe('')
    expect(h.stderr.text).toMatch(/^keyward: unknown command "frobnicate"/)
  })

  it('exits 2 on a bad option value', async () => {
    const h = await arrange()

    const code = await main(['validate', '--format', 'xml'], h.deps)

    expect(code).toBe(2)
    expect(h.stdout.text).toBe('')
    expect(h.stderr.text).toBe(
      'keyward: --format must be one of text, json, github, sarif; got "xml"\n',
    )
  })

  it('exits 2 with one line and no stack trace when the scanner fails', async () => {
    const h = await arrange()
    h.scanner.scan.mockRejectedValue(new Error('git ls-files failed'))

    const code = await main(['validate'], h.deps)

    expect(code).toBe(2)
    expect(h.stdout.text).toBe('')
    expect(h.stderr.text).toBe('keyward: git ls-files failed\n')
  })
})

describe('keyward help and version', () => {
  it.each([[[]], [['--help']], [['validate', '--help']]])('prints usage for %j', async (argv) => {
    const h = await arrange()

    const code = await main(argv, h.deps)

    expect(code).toBe(0)
    expect(h.stdout.text).toBe(USAGE)
    expect(h.stderr.text).toBe('')
  })

  it('prints the version', async () => {
    const h = await arrange()

    const code = await main(['--version'], h.deps)

    expect(code).toBe(0)
    expect(h.stdout.text).toBe(`keyward ${VERSION}\n`)
  })
})

describe('Redactor', () => {
  it('replaces every occurrence of a remembered secret', () => {
    const redactor = new Redactor()
    const secret = fakeKey()
    redactor.add(secret)

    expect(redactor.redact(`a ${secret} b ${secret}`)).toBe('a *** b ***')
  })

  it('leaves values shorter than 8 characters alone', () => {
    const redactor = new Redactor()
    redactor.add('short')

    expect(redactor.redact('a short word')).toBe('a short word')
  })

  it('blanks out a secret that contains another secret completely', () => {
    // Arrange: the shorter secret is remembered first.
    const redactor = new Redactor()
    const inner = fakeKey()
    const outer = `${inner}-${randomBytes(8).toString('hex')}`
    redactor.add(inner)
    redactor.add(outer)

    // Act
    const shown = redactor.redact(`value=${outer}`)

    // Assert: nothing of the longer secret may remain.
    expect(shown).toBe('value=***')
  })
})

describe('stderrLog', () => {
  const logTo = (options: { progress: boolean; verbose: boolean }): [Log, Sink] => {
    const stderr = sink()
    return [stderrLog(stderr, { ...options, redact: (s) => s.replaceAll('hidden', '***') }), stderr]
  }

  it('prints warnings always, redacted, and nothing else when not interactive', async () => {
    const [log, stderr] = logTo({ progress: false, verbose: false })

    log.info('reading')
    log.debug('detail')
    const value = await log.group('Vault', async () => 42)
    log.warning('hidden value')

    expect(value).toBe(42)
    expect(stderr.text).toBe('warning: *** value\n')
  })

  it('prints progress and group names on a terminal, and debug when verbose', async () => {
    const [log, stderr] = logTo({ progress: true, verbose: true })

    await log.group('Vault', async () => log.info('reading hidden'))
    log.debug('detail')

    expect(stderr.text).toBe('» Vault\nreading ***\ndetail\n')
  })
})

describe('readSecretFromStdin', () => {
  // The trailing newline is dropped by acceptKeyInput (commands/vault.ts), not here.
  it('reads piped input whole, exactly as sent', async () => {
    const key = fakeKey()
    const stderr = sink()

    const read = await readSecretFromStdin(
      'Key: ',
      Readable.from([Buffer.from(`${key}\r\n`)]),
      stderr,
    )

    expect(read).toBe(`${key}\r\n`)
    expect(stderr.text).toBe('')
  })

  it('joins piped input that arrives in several chunks', async () => {
    const key = fakeKey()

    const read = await readSecretFromStdin(
      'Key: ',
      Readable.from([key.slice(0, 5), key.slice(5), '\n']),
      sink(),
    )

    expect(read).toBe(`${key}\n`)
  })

  it('refuses piped input larger than 64 KiB', async () => {
    const big = Readable.from([Buffer.alloc(40 * 1024, 'a'), Buffer.alloc(40 * 1024, 'b')])

    await expect(readSecretFromStdin('Key: ', big, sink())).rejects.toThrow('more than 64 KiB')
  })

  it('prompts on a terminal, reads until Enter without echo and honours backspace', async () => {
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      setRawMode: jest.fn<(raw: boolean) => unknown>(),
    })
    const stderr = sink()

    const reading = readSecretFromStdin('Key: ', stdin, stderr)
    stdin.write('abcx\u007fd\r')
    const read = await reading

    expect(read).toBe('abcd')
    expect(stderr.text).toBe('Key: \n')
    expect(stdin.setRawMode.mock.calls).toEqual([[true], [false]])
  })

  it('rejects when Ctrl-C is pressed on a terminal', async () => {
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      setRawMode: jest.fn<(raw: boolean) => unknown>(),
    })

    const reading = readSecretFromStdin('Key: ', stdin, sink())
    stdin.write('ab\u0003')

    await expect(reading).rejects.toThrow('cancelled')
    expect(stdin.setRawMode).toHaveBeenLastCalledWith(false)
  })
})
