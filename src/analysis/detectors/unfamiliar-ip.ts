import { isIPv4, isIPv6 } from 'node:net'
import { finding, type AuditFinding } from '../audit-findings.js'
import { keyViews, ownerFields, type DetectorContext } from './context.js'

function ipToBigInt(ip: string): { value: bigint; bits: number } | undefined {
  if (isIPv4(ip))
    return {
      value: ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n),
      bits: 32,
    }
  if (!isIPv6(ip)) return undefined
  const [head = '', tail = ''] = ip.split('::')
  const left = head ? head.split(':') : []
  const right = ip.includes('::') ? (tail ? tail.split(':') : []) : []
  const groups = ip.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left
  return {
    value: groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n),
    bits: 128,
  }
}

/** Whether an IP lies in a CIDR range (IPv4 or IPv6; embedded IPv4 forms are not mapped). */
export function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bitsText = ''] = cidr.split('/')
  const a = ipToBigInt(ip)
  const b = ipToBigInt(base)
  const prefix = Number(bitsText)
  if (!a || !b || a.bits !== b.bits || !Number.isInteger(prefix)) return false
  const shift = BigInt(a.bits - prefix)
  return a.value >> shift === b.value >> shift
}

/**
 * `unfamiliar-ip`: a provider audit event made with a key, from an IP outside its
 * allowed_ips, or (without allowed_ips) never seen for that key before this run's window (in
 * the events, or among the IPs the carried history remembers).
 */
export function detectUnfamiliarIps(ctx: DetectorContext): AuditFinding[] {
  const out: AuditFinding[] = []
  for (const key of keyViews(ctx)) {
    if (key.providerKeyId === undefined) continue
    const events = ctx.events.filter(
      (e) => e.provider === key.entry.provider && e.providerKeyId === key.providerKeyId && e.ip,
    )
    const windowStart = ctx.windowStart.getTime()
    const known = new Set(events.filter((e) => Date.parse(e.at) < windowStart).map((e) => e.ip))
    // IPs of the carried history (all before the window: see analysis/usage-days.ts).
    const carried = ctx.earlier?.keys.get(key.entry.provider)?.get(key.providerKeyId)?.ips
    for (const ip of carried?.keys() ?? []) known.add(ip)
    const allowed = key.entry.allowed_ips
    const flagged = new Map<string, { first: string; count: number; type: string }>()
    for (const e of events) {
      if (Date.parse(e.at) < windowStart || !e.ip) continue
      const outside = allowed ? !allowed.some((cidr) => inCidr(e.ip ?? '', cidr)) : !known.has(e.ip)
      if (!outside) continue
      const seen = flagged.get(e.ip) ?? { first: e.at, count: 0, type: e.type }
      seen.count++
      if (e.at < seen.first) seen.first = e.at
      flagged.set(e.ip, seen)
    }
    for (const [ip, seen] of flagged) {
      out.push(
        finding({
          rule: 'unfamiliar-ip',
          severity: 'error',
          kind: 'event',
          key: key.id,
          subject: key.id,
          period: ip,
          title: `Unfamiliar IP ${ip} used ${key.id} (${key.entry.label})`,
          message: `${key.entry.label} was used from ${ip} (${seen.count} event(s), first ${seen.first}, ${seen.type}), ${allowed ? `which is outside its allowed_ips (${allowed.join(', ')})` : 'an address never seen for this key before'}. If you do not recognise it, rotate the key now.`,
          numbers: {
            ip,
            events: seen.count,
            first: seen.first,
            ...(allowed ? { allowed_ips: allowed.join(', ') } : {}),
          },
          ...ownerFields(key),
        }),
      )
    }
  }
  return out
}
