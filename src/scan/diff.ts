import type { NumberedLine } from './scan-text.js'

// `@@ -12,3 +14,5 @@ optional section heading`; a count is omitted when it is 1.
const HUNK_HEADER = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/

/**
 * The lines a unified diff adds, numbered as in the new file. Accepts one file's patch (GitHub's
 * pull-request `patch` field, which starts at the first `@@`) or `git diff` output for one file
 * (its `diff --git`, `---` and `+++` header lines are skipped). For a diff of several files,
 * split it per file first: new-file line numbers restart in every file.
 *
 * Hunk bodies are read by the counts in their headers, so an added line that itself starts with
 * `++` or `@@` is still read as content, not as a header.
 */
export function addedLines(patch: string): NumberedLine[] {
  const added: NumberedLine[] = []
  let oldLeft = 0
  let newLeft = 0
  let newLine = 0
  for (const raw of patch.split('\n')) {
    // A patch of a CRLF file keeps the `\r` on its content lines; it is no part of the text.
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (oldLeft > 0 || newLeft > 0) {
      const marker = line[0]
      const text = line.slice(1)
      if (marker === '+') {
        added.push({ line: newLine, text })
        newLine += 1
        newLeft -= 1
      } else if (marker === '-') {
        oldLeft -= 1
      } else if (marker === ' ' || line === '') {
        // Context. Some tools strip the trailing space of an empty context line.
        newLine += 1
        newLeft -= 1
        oldLeft -= 1
      }
      // `\ No newline at end of file` and anything unexpected take no line on either side.
      continue
    }
    const header = HUNK_HEADER.exec(line)
    if (header === null) continue
    oldLeft = Number(header[1] ?? 1)
    newLine = Number(header[2])
    newLeft = Number(header[3] ?? 1)
  }
  return added
}
