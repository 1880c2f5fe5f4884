import type { Log } from '../ports/log.js'

export interface TextSink {
  write(text: string): unknown
}

/**
 * The CLI's Log: progress on stderr when it is a terminal, so piped stdout stays clean and
 * CI logs stay quiet; warnings always.
 */
export function stderrLog(
  stderr: TextSink,
  options: { progress: boolean; verbose: boolean; redact: (s: string) => string },
): Log {
  const write = (text: string) => stderr.write(options.redact(text) + '\n')
  return {
    info: (message) => {
      if (options.progress) write(message)
    },
    warning: (message) => write(`warning: ${message}`),
    debug: (message) => {
      if (options.verbose) write(message)
    },
    group: async (name, work) => {
      if (options.progress) write(`» ${name}`)
      return work()
    },
  }
}
