// Git's own heuristic looks for a NUL byte in the first 8000 bytes; 8 KiB is close enough, and
// cheap to check before decoding a whole file.
const SNIFF_BYTES = 8 * 1024

/**
 * A file's text, or `undefined` when the file is binary: it has a NUL byte in its first 8 KiB or
 * is not valid UTF-8. A leading UTF-8 byte-order mark is dropped, as editors hide it too.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) return undefined
  try {
    // `fatal`: invalid UTF-8 throws instead of turning into U+FFFD.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/** Whether a file is binary (see `decodeText`): such files are not scanned. */
export function isBinary(bytes: Uint8Array): boolean {
  return decodeText(bytes) === undefined
}
