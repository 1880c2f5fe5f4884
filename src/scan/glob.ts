/**
 * A small glob matcher for `scan.ignore_paths` (SPEC §1). Paths and globs use `/` and are
 * relative to the folder of keyward.yaml. The dialect is the one GitHub Actions' `paths:` filters
 * use, which keyward's users already write:
 *
 * - `*` matches any characters but `/`; `?` matches one character but `/`;
 * - `**` matches any characters including `/`; as a whole segment (`**` + `/`) it also matches
 *   zero folders, so `**` + `/x` matches a top-level `x`;
 * - `[abc]`, `[a-z]`, `[!a-c]` match one character; `{a,b}` matches either alternative (nestable);
 * - `\` escapes the next character; a trailing `/` means everything below (`vendor/`).
 *
 * Globs are anchored at the keyward.yaml folder: `*.png` matches `logo.png` but not
 * `img/logo.png` (write `**` + `/*.png` for that). Wildcards also match dotfiles, since an
 * ignored folder should be ignored whole. Negation (`!glob`) is not supported.
 */

/** A predicate telling whether a relative path matches any of the globs (compiled once). */
export function createPathMatcher(globs: readonly string[]): (path: string) => boolean {
  const compiled = globs.map(globToRegExp)
  return (path) => {
    const normalized = stripDotSlash(path)
    return compiled.some((re) => re.test(normalized))
  }
}

function stripDotSlash(path: string): string {
  let p = path
  while (p.startsWith('./')) p = p.slice(2)
  return p
}

/** The anchored regular expression equivalent to a glob. */
function globToRegExp(glob: string): RegExp {
  let g = stripDotSlash(glob.trim())
  if (g.endsWith('/')) g += '**'
  const braces = matchingBraces(g)
  const open: number[] = [] // stack of open brace positions, to know when `,` means `|`
  let out = ''
  for (let i = 0; i < g.length; i++) {
    const c = g.charAt(i)
    if (c === '\\' && i + 1 < g.length) {
      out += escapeRegExp(g.charAt(++i))
    } else if (c === '*') {
      if (g[i + 1] !== '*') {
        out += '[^/]*'
        continue
      }
      const wholeSegment = (i === 0 || g[i - 1] === '/') && g[i + 2] === '/'
      if (wholeSegment) {
        out += '(?:.*/)?' // zero or more folders
        i += 2 // also consume the `/`
      } else {
        out += '.*'
        i += 1
      }
    } else if (c === '?') {
      out += '[^/]'
    } else if (c === '[') {
      const end = classEnd(g, i)
      if (end === -1) {
        out += '\\['
        continue
      }
      let body = g.slice(i + 1, end)
      const negated = body.startsWith('!') || body.startsWith('^')
      if (negated) body = body.slice(1)
      // Escape what is special inside a JS class; `-` keeps its range meaning.
      body = body.replace(/[\\\]^[]/g, '\\$&')
      out += `(?!/)[${negated ? '^' : ''}${body}]`
      i = end
    } else if (c === '{' && braces.has(i)) {
      open.push(i)
      out += '(?:'
    } else if (c === '}' && open.length > 0 && braces.get(open[open.length - 1] ?? -1) === i) {
      open.pop()
      out += ')'
    } else if (c === ',' && open.length > 0) {
      out += '|'
    } else {
      out += escapeRegExp(c)
    }
  }
  return new RegExp(`^${out}$`)
}

/** Index of the `]` closing the class opened at `start`, or -1 if there is none. */
function classEnd(glob: string, start: number): number {
  let i = start + 1
  if (glob[i] === '!' || glob[i] === '^') i++
  if (glob[i] === ']') i++ // a leading `]` is a member, as in POSIX classes
  const end = glob.indexOf(']', i)
  // An empty class (`[]`) or one spanning a `/` is not a class.
  return end === -1 || glob.slice(start, end).includes('/') ? -1 : end
}

/** Pairs each `{` that has a matching `}` (and a `,` at its level) with that `}`. */
function matchingBraces(glob: string): Map<number, number> {
  const pairs = new Map<number, number>()
  const stack: { at: number; comma: boolean }[] = []
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '\\') i++
    else if (c === '{') stack.push({ at: i, comma: false })
    else if (c === ',' && stack.length > 0) {
      const top = stack[stack.length - 1]
      if (top) top.comma = true
    } else if (c === '}') {
      const top = stack.pop()
      // `{a}` without a comma is literal, as in bash and picomatch.
      if (top?.comma === true) pairs.set(top.at, i)
    }
  }
  return pairs
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
