import type { Readable } from 'node:stream'
import type { TextSink } from './stderr-log.js'

/** The most a key read from stdin may be: no LLM key is near this long. */
const MAX_SECRET_BYTES = 64 * 1024

/**
 * Reads a secret from stdin, never from argv (where it would land in shell history and `ps`).
 * On a terminal it prompts on stderr and turns echo off; piped input is read whole.
 */
export async function readSecretFromStdin(
  prompt: string,
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown },
  stderr: TextSink,
): Promise<string> {
  if (stdin.isTTY && stdin.setRawMode)
    return readFromTerminal(
      prompt,
      stdin as Readable & { setRawMode: (raw: boolean) => unknown },
      stderr,
    )
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buffer.length
    if (size > MAX_SECRET_BYTES)
      throw new Error(`stdin holds more than ${MAX_SECRET_BYTES / 1024} KiB; expected one API key`)
    chunks.push(buffer)
  }
  // Returned as read: acceptKeyInput (commands/vault.ts) drops the one newline echo adds.
  return Buffer.concat(chunks).toString('utf8')
}

function readFromTerminal(
  prompt: string,
  stdin: Readable & { setRawMode: (raw: boolean) => unknown },
  stderr: TextSink,
): Promise<string> {
  stderr.write(prompt)
  stdin.setRawMode(true)
  stdin.resume()
  let text = ''
  return new Promise((resolve, reject) => {
    let done = false
    const finish = (error?: Error) => {
      if (done) return
      done = true
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      stderr.write('\n')
      if (error) reject(error)
      else resolve(text)
    }
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish()
        if (char === '\u0004') return finish() // Ctrl-D ends input, as in a shell
        if (char === '\u0003') return finish(new Error('cancelled'))
        if (char === '\u007f' || char === '\b') text = text.slice(0, -1)
        else text += char
      }
    }
    stdin.on('data', onData)
    stdin.once('end', () => finish())
    stdin.once('error', (error: Error) => finish(error))
  })
}
