import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError, errorMessage } from '../errors.js'

export const FORMATS = ['text', 'json', 'github', 'sarif'] as const
export type Format = (typeof FORMATS)[number]

/** A command line, parsed and checked; everything a command needs from argv. */
export type CliCommand =
  | { command: 'help'; topic?: string }
  | { command: 'version' }
  | { command: 'validate'; config: string; format: Format; strict: boolean }
  | { command: 'vault-add'; config: string; keyId?: string; admin?: string; providerKeyId?: string }
  | { command: 'vault-show'; config: string; keyId: string; reveal: boolean }
  | { command: 'vault-check'; config: string; format: Format }
  | { command: 'vault-rekey'; config: string; keyIds: string[] }
  | {
      command: 'audit'
      config?: string
      demo: boolean
      dryRun: boolean
      json: boolean
      failOnFindings: boolean
    }
  | { command: 'report'; config: string; since: string; json: boolean }
  | { command: 'ledger-verify'; config: string; anchor?: string }
  | { command: 'init'; dir: string }

export const USAGE = `keyward — govern LLM API keys from a git repository

Usage: keyward <command> [options]

Commands:
  init [dir]                          scaffold a governance repository
  validate [--format text|json|github|sarif] [--strict]
                                      check keyward.yaml, the vault and tracked files for leaks
  vault add <key-id> [--provider-key-id ID]
                                      read a key from stdin and write its SOPS file
  vault add --admin <provider-id>     the same for a provider's admin / management key
  vault show <key-id> [--reveal]      show a key, masked unless --reveal
  vault check                         verify the MAC and recipients of every secret file
  vault rekey [<key-id>...]           re-encrypt to the recipients in .sops.yaml, new data key
  audit [--demo] [--dry-run] [--json] [--fail-on-findings]
                                      the scheduled run: usage, snapshot, findings
  report [--since 7d] [--json]        the weekly review
  ledger verify [--anchor sha256:...] replay the audit hash chain

Options for every command:
  --config <path>   the inventory (default ./keyward.yaml)
  --help            show help

keyward --version prints the version.

Exit codes: 0 success, 1 problems found, 2 could not run.
The age identity comes from SOPS_AGE_KEY (the key text) or SOPS_AGE_KEY_FILE (a path).
`

const common = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options']

type Values = Record<string, string | boolean | undefined>

function parse(
  args: string[],
  options: ParseArgsConfig['options'],
  what: string,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...common, ...options },
      allowPositionals: true,
      strict: true,
    })
    return { values: values as Values, positionals }
  } catch (error) {
    const reason = errorMessage(error).split('\n')[0]
    throw new UsageError(`${what}: ${reason}. Run \`keyward ${what} --help\` for usage`)
  }
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
  option: string,
): T {
  if (value === undefined) return fallback
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new UsageError(`${option} must be one of ${allowed.join(', ')}; got "${value}"`)
}

function noExtra(positionals: string[], what: string): void {
  if (positionals.length > 0)
    throw new UsageError(`${what} takes no arguments; got "${positionals.join(' ')}"`)
}

const str = (value: unknown) => (typeof value === 'string' ? value : undefined)

/** argv (without node and the script) → a typed command, or UsageError. */
export function parseCommandLine(argv: readonly string[]): CliCommand {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h')
    return { command: 'help', topic: rest[0] }
  if (name === '--version' || name === '-V') return { command: 'version' }
  const wantsHelp = rest.includes('--help') || rest.includes('-h')
  if (wantsHelp) return { command: 'help', topic: name }
  const config = (values: { config?: unknown }) => str(values.config) ?? 'keyward.yaml'

  switch (name) {
    case 'validate': {
      const { values, positionals } = parse(
        rest,
        { format: { type: 'string' }, strict: { type: 'boolean' } },
        name,
      )
      noExtra(positionals, name)
      return {
        command: 'validate',
        config: config(values),
        format: oneOf(str(values.format), FORMATS, 'text', '--format'),
        strict: values.strict === true,
      }
    }
    case 'vault':
      return parseVault(rest, config)
    case 'audit': {
      const { values, positionals } = parse(
        rest,
        {
          demo: { type: 'boolean' },
          'dry-run': { type: 'boolean' },
          json: { type: 'boolean' },
          'fail-on-findings': { type: 'boolean' },
        },
        name,
      )
      noExtra(positionals, name)
      return {
        command: 'audit',
        ...(str(values.config) !== undefined ? { config: str(values.config) } : {}),
        demo: values.demo === true,
        dryRun: values['dry-run'] === true,
        json: values.json === true,
        failOnFindings: values['fail-on-findings'] === true,
      }
    }
    case 'report': {
      const { values, positionals } = parse(
        rest,
        { since: { type: 'string' }, json: { type: 'boolean' } },
        name,
      )
      noExtra(positionals, name)
      const since = str(values.since) ?? '7d'
      if (!/^[1-9]\d{0,4}[hdw]$/.test(since))
        throw new UsageError(`--since must be a duration such as 7d, 2w or 36h; got "${since}"`)
      return { command: 'report', config: config(values), since, json: values.json === true }
    }
    case 'ledger': {
      const { values, positionals } = parse(rest, { anchor: { type: 'string' } }, name)
      if (positionals[0] !== 'verify' || positionals.length > 1)
        throw new UsageError('usage: keyward ledger verify [--anchor sha256:<hex>]')
      const anchor = str(values.anchor)
      if (anchor !== undefined && !/^sha256:[0-9a-f]{64}$/.test(anchor))
        throw new UsageError(`--anchor must be sha256: followed by 64 hex digits; got "${anchor}"`)
      return {
        command: 'ledger-verify',
        config: config(values),
        ...(anchor !== undefined ? { anchor } : {}),
      }
    }
    case 'init': {
      const { positionals } = parse(rest, {}, name)
      if (positionals.length > 1)
        throw new UsageError(`init takes at most one folder; got "${positionals.join(' ')}"`)
      return { command: 'init', dir: positionals[0] ?? '.' }
    }
    default:
      throw new UsageError(
        `unknown command "${name}". Commands: init, validate, vault, audit, report, ledger. Run \`keyward --help\``,
      )
  }
}

function parseVault(rest: string[], config: (values: { config?: unknown }) => string): CliCommand {
  const [sub, ...args] = rest
  switch (sub) {
    case 'add': {
      const { values, positionals } = parse(
        args,
        { admin: { type: 'string' }, 'provider-key-id': { type: 'string' } },
        'vault add',
      )
      const admin = str(values.admin)
      const providerKeyId = str(values['provider-key-id'])
      if (admin !== undefined) {
        if (positionals.length > 0 || providerKeyId !== undefined)
          throw new UsageError(
            'vault add --admin <provider-id> takes no key id and no --provider-key-id',
          )
        return { command: 'vault-add', config: config(values), admin }
      }
      if (positionals.length !== 1) {
        throw new UsageError(
          'usage: keyward vault add <key-id> [--provider-key-id ID] (the key is read from stdin, never from the command line)',
        )
      }
      return {
        command: 'vault-add',
        config: config(values),
        keyId: positionals[0],
        ...(providerKeyId !== undefined ? { providerKeyId } : {}),
      }
    }
    case 'show': {
      const { values, positionals } = parse(args, { reveal: { type: 'boolean' } }, 'vault show')
      const [keyId, ...extra] = positionals
      if (keyId === undefined || extra.length > 0)
        throw new UsageError('usage: keyward vault show <key-id> [--reveal]')
      return {
        command: 'vault-show',
        config: config(values),
        keyId,
        reveal: values.reveal === true,
      }
    }
    case 'check': {
      const { values, positionals } = parse(args, { format: { type: 'string' } }, 'vault check')
      noExtra(positionals, 'vault check')
      return {
        command: 'vault-check',
        config: config(values),
        format: oneOf(str(values.format), FORMATS, 'text', '--format'),
      }
    }
    case 'rekey': {
      const { values, positionals } = parse(args, {}, 'vault rekey')
      return { command: 'vault-rekey', config: config(values), keyIds: positionals }
    }
    default:
      throw new UsageError(
        `unknown vault command "${sub ?? ''}". Vault commands: add, show, check, rekey`,
      )
  }
}
