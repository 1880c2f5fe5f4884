import { isMap, isPair, isScalar, parseDocument, type Pair } from 'yaml'

/** What a rotation changes in a key's inventory entry. `null` removes the field. */
export interface KeyEntryEdit {
  created?: string
  provider_key_id?: string | null
}

/**
 * Edits one key entry of `keyward.yaml` in place, touching only the bytes of the changed
 * values: comments, order and formatting elsewhere stay as the person wrote them, so the
 * rotation pull request's diff shows exactly what changed. Throws when the entry is missing.
 */
export function editKeyEntry(text: string, keyId: string, edit: KeyEntryEdit): string {
  const doc = parseDocument(text)
  const keys = doc.get('keys', true)
  // Compared as text: an all-digit id is a number to YAML, a string to keyward.
  const entryPair = isMap(keys)
    ? keys.items.find((p) => isScalar(p.key) && String(p.key.value) === keyId)
    : undefined
  const entry = entryPair?.value
  if (!isMap(entry) || entry.flow)
    throw new Error(`keyward.yaml has no block entry for key "${keyId}" (flow style is not edited)`)
  const pairOf = (name: string) =>
    entry.items.find((p): p is Pair => isPair(p) && isScalar(p.key) && p.key.value === name)

  // Edits are applied from the end of the text backwards so earlier offsets stay valid.
  const splices: { start: number; end: number; text: string }[] = []
  const lineStart = (offset: number) => text.lastIndexOf('\n', offset - 1) + 1
  const lineEnd = (offset: number) => {
    const end = text.indexOf('\n', offset)
    return end === -1 ? text.length : end + 1
  }
  const setValue = (name: string, value: string) => {
    const pair = pairOf(name)
    if (pair && isScalar(pair.value) && pair.value.range) {
      const [start, end] = pair.value.range
      splices.push({ start, end, text: value })
      return
    }
    // Absent: a new line after `created` (always present: the schema requires it), same indent.
    const anchor = pairOf('created')
    const keyRange = anchor && isScalar(anchor.key) ? anchor.key.range : undefined
    const valueRange = anchor && isScalar(anchor.value) ? anchor.value.range : undefined
    if (!keyRange || !valueRange) throw new Error(`key "${keyId}" has no created line to anchor on`)
    const indent = text.slice(lineStart(keyRange[0]), keyRange[0])
    const at = lineEnd(valueRange[1])
    const newline = text.includes('\r\n') ? '\r\n' : '\n'
    // The last line of a file without a final newline gets one first.
    const lead = at === text.length && !text.endsWith('\n') ? newline : ''
    splices.push({ start: at, end: at, text: `${lead}${indent}${name}: ${value}${newline}` })
  }
  if (edit.created !== undefined) setValue('created', edit.created)
  // Quoted: an all-digit or exponent-looking hash must stay a string.
  if (typeof edit.provider_key_id === 'string')
    setValue('provider_key_id', JSON.stringify(edit.provider_key_id))
  if (edit.provider_key_id === null) {
    const pair = pairOf('provider_key_id')
    const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined
    const valueRange = pair && isScalar(pair.value) ? pair.value.range : undefined
    if (keyRange && valueRange)
      splices.push({ start: lineStart(keyRange[0]), end: lineEnd(valueRange[1]), text: '' })
  }
  let out = text
  for (const s of splices.sort((a, b) => b.start - a.start))
    out = out.slice(0, s.start) + s.text + out.slice(s.end)
  return out
}
