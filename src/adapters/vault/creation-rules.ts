/**
 * `.sops.yaml` creation rules (sops-format.md §6): the first rule whose unanchored
 * `path_regex` matches the path relative to the config's folder decides the
 * recipients and the encryption rule of a new file.
 */
import { parseDocument } from 'yaml'
import { VaultError } from '../../errors.js'
import { parseX25519Recipient } from './identities.js'
import {
  DEFAULT_ENCRYPTION_RULE,
  ENCRYPTION_RULE_KEYS,
  goRegExp,
  type EncryptionRule,
} from './sops-mac.js'
import { isRecord } from '../../is-record.js'

export interface CreationRule {
  /** Position in `creation_rules`, 0-based. */
  index: number
  pathRegex: string | undefined
  /** X25519 `age1…` recipients, de-duplicated, in config order. */
  recipients: string[]
  rule: EncryptionRule
  macOnlyEncrypted: boolean
}

const OTHER_KEY_FIELDS = [
  'pgp',
  'kms',
  'gcp_kms',
  'hckms',
  'azure_keyvault',
  'hc_vault_transit_uri',
]

type Raw = Record<string, unknown>

/** `age` as a comma-separated string or a list whose items may themselves be comma-separated. */
function ageField(value: unknown, where: string, file: string): string[] {
  if (value === undefined || value === null) return []
  const items = Array.isArray(value) ? value : [value]
  return items.flatMap((item) => {
    if (typeof item !== 'string') {
      throw new VaultError('malformed', file, `${where}: age must be a string or a list of strings`)
    }
    return item
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '')
  })
}

function hasOtherKeys(raw: Raw): boolean {
  return OTHER_KEY_FIELDS.some((field) => {
    const value = raw[field]
    return typeof value === 'string'
      ? value.trim() !== ''
      : Array.isArray(value) && value.length > 0
  })
}

function recipientsOf(raw: Raw, where: string, file: string): string[] {
  let recipients: string[]
  const groups = raw.key_groups
  if (Array.isArray(groups) && groups.length > 0) {
    if (groups.length > 1) {
      throw new VaultError(
        'unsupported',
        file,
        `${where} has ${groups.length} key_groups, which sops combines with a Shamir split; ` +
          'keyward supports one group: list the age recipients under `age:` instead',
      )
    }
    const [group] = groups
    if (!isRecord(group))
      throw new VaultError('malformed', file, `${where}: key_groups[0] is not a mapping`)
    if (group.merge !== undefined) {
      throw new VaultError('unsupported', file, `${where}: key_groups with merge are not supported`)
    }
    recipients = ageField(group.age, `${where} key_groups[0]`, file)
    if (recipients.length === 0 && hasOtherKeys(group)) {
      throw new VaultError(
        'unsupported',
        file,
        `${where} names no age recipient; keyward encrypts to age only`,
      )
    }
  } else {
    recipients = ageField(raw.age, where, file)
    if (recipients.length === 0 && hasOtherKeys(raw)) {
      throw new VaultError(
        'unsupported',
        file,
        `${where} names no age recipient; keyward encrypts to age only`,
      )
    }
  }
  if (recipients.length === 0) {
    throw new VaultError('malformed', file, `${where} names no recipients; add an \`age:\` list`)
  }
  for (const recipient of recipients) {
    try {
      parseX25519Recipient(recipient)
    } catch {
      throw new VaultError(
        'unsupported',
        file,
        `${where}: "${recipient}" is not an X25519 age recipient (age1…); post-quantum, SSH and plugin recipients are not supported`,
      )
    }
  }
  return [...new Set(recipients)]
}

function encryptionRuleOf(raw: Raw, where: string, file: string): EncryptionRule {
  const set = ENCRYPTION_RULE_KEYS.flatMap((key) => {
    const value = raw[key]
    if (value === undefined || value === null || value === '') return []
    if (typeof value !== 'string')
      throw new VaultError('malformed', file, `${where}: ${key} must be a string`)
    return [{ key, value }]
  })
  if (set.length > 1) {
    throw new VaultError(
      'malformed',
      file,
      `${where} sets ${set.map((r) => r.key).join(' and ')}; sops allows one`,
    )
  }
  const [rule] = set
  if (rule?.key === 'encrypted_comment_regex') {
    throw new VaultError(
      'unsupported',
      file,
      `${where} uses encrypted_comment_regex; keyward writes no comments, so every value would stay in cleartext`,
    )
  }
  if (rule && rule.key !== 'unencrypted_comment_regex' && rule.key.endsWith('_regex')) {
    try {
      goRegExp(rule.value)
    } catch {
      throw new VaultError(
        'malformed',
        file,
        `${where}: ${rule.key} is not a valid regular expression`,
      )
    }
  }
  return rule ?? DEFAULT_ENCRYPTION_RULE
}

/**
 * The creation rule for `relativePath` (relative to the config's folder, `/`-separated),
 * or undefined when no rule matches. Throws VaultError when the config cannot be read,
 * or when the matching rule cannot be honoured (several key groups, non-age keys).
 */
export function findCreationRule(
  configText: string,
  relativePath: string,
  file = '.sops.yaml',
): CreationRule | undefined {
  const doc = parseDocument(configText)
  const [first] = doc.errors
  if (first) throw new VaultError('malformed', file, `is not valid YAML (${first.code})`)
  const config: unknown = doc.toJS()
  if (config === null || config === undefined) return undefined
  if (!isRecord(config)) throw new VaultError('malformed', file, 'is not a mapping')
  const rules = config.creation_rules
  if (rules === undefined || rules === null) return undefined
  if (!Array.isArray(rules)) throw new VaultError('malformed', file, 'creation_rules is not a list')
  for (const [index, raw] of rules.entries()) {
    const where = `creation_rules[${index}]`
    if (!isRecord(raw)) throw new VaultError('malformed', file, `${where} is not a mapping`)
    const pathRegex = raw.path_regex
    if (pathRegex !== undefined && pathRegex !== null && pathRegex !== '') {
      if (typeof pathRegex !== 'string') {
        throw new VaultError('malformed', file, `${where}: path_regex must be a string`)
      }
      let re: RegExp
      try {
        re = goRegExp(pathRegex)
      } catch {
        throw new VaultError(
          'malformed',
          file,
          `${where}: path_regex is not a valid regular expression`,
        )
      }
      if (!re.test(relativePath)) continue
    }
    // sops ignores unknown fields (a misspelt `path_regexp` makes a rule match everything).
    return {
      index,
      pathRegex: typeof pathRegex === 'string' && pathRegex !== '' ? pathRegex : undefined,
      recipients: recipientsOf(raw, where, file),
      rule: encryptionRuleOf(raw, where, file),
      macOnlyEncrypted: raw.mac_only_encrypted === true,
    }
  }
  return undefined
}
