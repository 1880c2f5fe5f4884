import { isIPv4, isIPv6 } from 'node:net'
import { posix } from 'node:path'
import type { Finding, ValidateRule, Severity } from '../analysis/findings.js'
import { rotationDueAt, wholeDaysBetween } from './duration.js'
import { looksLikeSecret, showValue } from './describe.js'
import { locate, type Path } from './locate.js'
import { didYouMean, listNames } from './nearest.js'
import type { ParsedYaml } from './parse.js'
import {
  CAP_CONSOLE,
  CAP_CONTROL,
  POLICY_DEFAULTS,
  PROVIDER_TYPES,
  type ProviderType,
} from './types.js'

/**
 * Cross-reference and meaning checks that a JSON Schema cannot express. They read the value
 * defensively, so they run even when the schema check failed and every problem is reported
 * in one run.
 */

type Loose = Record<string, unknown>

const asRecord = (value: unknown): Loose =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {}
const asString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined

const HOURS = /^(?:([01]\d|2[0-3]):([0-5]\d))-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/

/** `HH:MM-HH:MM` → minutes after midnight, or a reason it is not valid. */
export function parseActiveHours(text: string): { start: number; end: number } | { error: string } {
  const match = HOURS.exec(text.trim())
  if (!match)
    return {
      error:
        'expected HH:MM-HH:MM in 24-hour time, e.g. "07:00-22:00" (it may wrap midnight: "22:00-06:00")',
    }
  const start = Number(match[1]) * 60 + Number(match[2])
  const end = match[5] ? 24 * 60 : Number(match[3]) * 60 + Number(match[4])
  if (start === end)
    return {
      error:
        'start and end are the same time, which leaves no active hours; for all day, leave active_hours out',
    }
  return { start, end }
}

let knownZones: string[] | undefined

/** IANA names this runtime knows, for suggestions. */
function timezones(): string[] {
  knownZones ??= [...Intl.supportedValuesOf('timeZone'), 'UTC']
  return knownZones
}

export function isValidTimezone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name })
    return true
  } catch {
    return false
  }
}

export function isValidCidr(text: string): boolean {
  const [address, bits, ...rest] = text.split('/')
  if (address === undefined || bits === undefined || rest.length > 0 || !/^\d{1,3}$/.test(bits))
    return false
  const prefix = Number(bits)
  if (isIPv4(address)) return prefix <= 32
  if (isIPv6(address)) return prefix <= 128
  return false
}

/** Paths name the same file when they normalise alike (`./keys/a.yaml` = `keys/a.yaml`). */
const samePath = (path: string) => posix.normalize(path.replace(/\\/g, '/'))

/** A key pasted where a file path belongs: it is now in plaintext in the repository. */
function pastedKeyMessage(where: string, value: string): string {
  return `${where} holds what looks like an API key (${showValue(value)}), not the path of a SOPS file; treat the key as leaked: revoke it at the provider, store a new one with \`keyward vault add\`, and put the file's path here`
}

export interface PolicyContext {
  /** Now, for rotation-due and dates in the future (from the Clock port). */
  now: Date
}

export function checkPolicy(parsed: ParsedYaml, context: PolicyContext): Finding[] {
  const findings: Finding[] = []
  const root = asRecord(parsed.value)
  const report = (
    rule: ValidateRule,
    path: Path,
    message: string,
    options: { severity?: Severity; key?: string; on?: 'key' } = {},
  ) => {
    const { line, column } = locate(parsed, path, options.on ?? 'value')
    findings.push({
      rule,
      severity: options.severity ?? 'error',
      file: parsed.file,
      line,
      column,
      message,
      ...(options.key !== undefined ? { key: options.key } : {}),
    })
  }

  const defaults = asRecord(root.defaults)
  const providers = asRecord(root.providers)
  const workflows = asRecord(root.workflows)
  const keys = asRecord(root.keys)
  const providerIds = Object.keys(providers)
  const workflowIds = Object.keys(workflows)

  const checkTimezone = (path: Path, value: unknown) => {
    const zone = asString(value)
    if (zone === undefined || zone === '' || isValidTimezone(zone)) return
    report(
      'invalid-timezone',
      path,
      `"${zone}" is not an IANA timezone; ${didYouMean(zone, timezones())}expected a name such as UTC, Europe/Berlin or America/New_York`,
    )
  }
  checkTimezone(['defaults', 'timezone'], defaults.timezone)

  for (const [id, raw] of Object.entries(providers)) {
    const provider = asRecord(raw)
    if (provider.type === undefined && !(PROVIDER_TYPES as readonly string[]).includes(id)) {
      report(
        'schema',
        ['providers', id],
        `provider "${id}" has no type, and "${id}" is not a provider keyward knows; ${didYouMean(id, PROVIDER_TYPES)}add type: ${PROVIDER_TYPES.join(' | ')}`,
        { on: 'key' },
      )
    }
  }

  const keysPerWorkflow = new Map<string, number>()
  for (const [id, raw] of Object.entries(workflows)) {
    const workflow = asRecord(raw)
    keysPerWorkflow.set(id, 0)
    checkTimezone(['workflows', id, 'timezone'], workflow.timezone)
    const hours = asString(workflow.active_hours)
    if (hours !== undefined && hours !== '') {
      const parsedHours = parseActiveHours(hours)
      if ('error' in parsedHours)
        report(
          'invalid-hours',
          ['workflows', id, 'active_hours'],
          `workflow "${id}": active_hours is "${hours}"; ${parsedHours.error}`,
        )
    }
  }

  const secretOwner = new Map<string, { keyId: string; path: Path }>()
  for (const [id, raw] of Object.entries(providers)) {
    const adminKey = asString(asRecord(raw).admin_key)
    if (adminKey && looksLikeSecret(adminKey))
      report(
        'exposed-key',
        ['providers', id, 'admin_key'],
        pastedKeyMessage(`provider "${id}": admin_key`, adminKey),
      )
    else if (adminKey)
      secretOwner.set(samePath(adminKey), {
        keyId: `admin key of provider "${id}"`,
        path: ['providers', id, 'admin_key'],
      })
  }
  const providerKeyOwner = new Map<string, string>()
  const defaultRotate = asString(defaults.rotate_after) ?? POLICY_DEFAULTS.rotate_after

  for (const [id, raw] of Object.entries(keys)) {
    const key = asRecord(raw)
    const workflow = asString(key.workflow)
    if (workflow !== undefined) {
      if (keysPerWorkflow.has(workflow))
        keysPerWorkflow.set(workflow, (keysPerWorkflow.get(workflow) ?? 0) + 1)
      else
        report(
          'unknown-workflow',
          ['keys', id, 'workflow'],
          `key "${id}" names workflow "${workflow}", which is not declared; ${didYouMean(workflow, workflowIds)}declared: ${listNames(workflowIds)}`,
          { key: id },
        )
    }
    const provider = asString(key.provider)
    if (provider !== undefined && !(provider in providers)) {
      report(
        'unknown-provider',
        ['keys', id, 'provider'],
        `key "${id}" names provider "${provider}", which is not declared under providers; ${didYouMean(provider, providerIds)}declared: ${listNames(providerIds)}`,
        { key: id },
      )
    }

    const secret = asString(key.secret)
    if (secret && looksLikeSecret(secret)) {
      report(
        'exposed-key',
        ['keys', id, 'secret'],
        pastedKeyMessage(`key "${id}": secret`, secret),
        { key: id },
      )
    } else if (secret) {
      const normal = samePath(secret)
      const first = secretOwner.get(normal)
      if (first) {
        report(
          'shared-key',
          ['keys', id, 'secret'],
          `key "${id}" uses the secret file ${secret}, which ${first.keyId.startsWith('admin') ? first.keyId : `key "${first.keyId}"`} already uses; each key needs its own file, so that rotating or revoking one does not break another`,
          { key: id },
        )
      } else secretOwner.set(normal, { keyId: id, path: ['keys', id, 'secret'] })
    }

    const providerKeyId = asString(key.provider_key_id)
    if (providerKeyId && provider) {
      const slot = `${provider}\u0000${providerKeyId}`
      const first = providerKeyOwner.get(slot)
      if (first)
        report(
          'shared-key',
          ['keys', id, 'provider_key_id'],
          `key "${id}" and key "${first}" both name provider key ${providerKeyId} at "${provider}"; one provider key must belong to exactly one inventory entry`,
          { key: id },
        )
      else providerKeyOwner.set(slot, id)
    }

    const cap = typeof key.cap_usd_month === 'number' ? key.cap_usd_month : undefined
    const budget = typeof key.budget_usd_month === 'number' ? key.budget_usd_month : undefined
    if (cap !== undefined) {
      const settings = provider ? asRecord(providers[provider]) : {}
      const type = asString(settings.type) ?? provider
      if (type !== undefined && CAP_CONTROL[type as ProviderType] === 'none')
        report(
          'cap-drift',
          ['keys', id, 'cap_usd_month'],
          `key "${id}": ${type} cannot enforce cap_usd_month by API (${CAP_CONSOLE[type as ProviderType] ?? 'set a limit in its console'}); keyward only watches it`,
          { key: id, severity: 'warning' },
        )
      // Only valid numbers compare: the schema reports the rest.
      if (budget !== undefined && budget > 0 && cap > 0 && cap < budget)
        report(
          'cap-drift',
          ['keys', id, 'cap_usd_month'],
          `key "${id}": cap_usd_month ${cap} is below budget_usd_month ${budget}, so the provider would cut the workflow off before the budget alert warns anyone; expected a cap at or above the budget`,
          { key: id, severity: 'warning' },
        )
    }

    for (const [index, cidr] of (Array.isArray(key.allowed_ips) ? key.allowed_ips : []).entries()) {
      if (typeof cidr === 'string' && !isValidCidr(cidr))
        report(
          'schema',
          ['keys', id, 'allowed_ips', String(index)],
          `key "${id}": allowed_ips[${index}] is "${cidr}"; expected a CIDR range such as 203.0.113.0/24 or 2001:db8::/32`,
          { key: id },
        )
    }

    const created = asString(key.created)
    const createdAt =
      created && /^\d{4}-\d{2}-\d{2}$/.test(created) ? new Date(`${created}T00:00:00Z`) : undefined
    // Date rolls 2026-02-30 over to March; such a date is the schema's to report.
    if (
      createdAt &&
      !Number.isNaN(createdAt.getTime()) &&
      createdAt.toISOString().startsWith(created ?? '')
    ) {
      if (createdAt.getTime() > context.now.getTime()) {
        report(
          'schema',
          ['keys', id, 'created'],
          `key "${id}": created is ${created}, which is in the future; expected the date the key was minted`,
          { key: id },
        )
        continue
      }
      const rotateAfter = asString(key.rotate_after) ?? defaultRotate
      const dueAt = rotationDueAt(created ?? '', rotateAfter)
      // A canary is a decoy that is never rotated, as the audit treats it.
      if (key.canary !== true && dueAt !== undefined && context.now.getTime() >= dueAt) {
        const days = wholeDaysBetween(createdAt, context.now)
        // SPEC §2 points rotation-due at the key's secret file.
        findings.push({
          rule: 'rotation-due',
          severity: 'warning',
          file: secret ? samePath(secret) : parsed.file,
          line: 1,
          column: 1,
          key: id,
          message: `key "${id}" is ${days} days old; rotate_after is ${rotateAfter}`,
        })
      }
    }
  }

  for (const [id, count] of keysPerWorkflow) {
    if (count === 0)
      report(
        'idle-workflow',
        ['workflows', id],
        `workflow "${id}" has no keys; add a key with workflow: ${id}, or remove the workflow`,
        { severity: 'warning', on: 'key' },
      )
  }
  return findings
}
