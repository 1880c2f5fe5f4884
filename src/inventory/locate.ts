import { isMap, isNode, isPair, isScalar, isSeq, type Document, type Node } from 'yaml'
import type { ParsedYaml } from './parse.js'

export type Path = readonly string[]

/** JSON pointer (`/keys/a~1b`) → path segments (`['keys', 'a/b']`). */
export function pointerToPath(pointer: string): string[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
}

interface Found {
  /** The value node at the path, if present. */
  value: Node | undefined
  /** The key node of the last segment, when the parent is a map. */
  key: Node | undefined
}

function walk(doc: Document.Parsed, path: Path): Found {
  let node: unknown = doc.contents
  let key: Node | undefined
  for (const segment of path) {
    key = undefined
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === segment,
      )
      if (!pair) return { value: undefined, key: undefined }
      key = isNode(pair.key) ? pair.key : undefined
      node = pair.value
    } else if (isSeq(node)) {
      node = node.items[Number(segment)]
    } else {
      return { value: undefined, key: undefined }
    }
  }
  return { value: isNode(node) ? node : undefined, key }
}

export interface Position {
  line: number
  column: number
}

function positionOf(parsed: ParsedYaml, node: Node | undefined): Position | undefined {
  if (!node?.range) return undefined
  const { line, col } = parsed.lineCounter.linePos(node.range[0])
  return { line, column: col }
}

/**
 * Where a path points in the file: the value node, or the key when `at: 'key'` or when the
 * value is absent (SPEC §2). Falls back to the nearest ancestor that exists, then to 1:1.
 */
export function locate(parsed: ParsedYaml, path: Path, at: 'value' | 'key' = 'value'): Position {
  for (let depth = path.length; depth >= 0; depth--) {
    const found = walk(parsed.doc, path.slice(0, depth))
    const preferred =
      at === 'key' && depth === path.length ? [found.key, found.value] : [found.value, found.key]
    for (const node of preferred) {
      const pos = positionOf(parsed, node)
      if (pos) return pos
    }
  }
  return { line: 1, column: 1 }
}
