/** Where commands narrate progress: core in the action, stderr in the CLI. */
export interface Log {
  info(message: string): void
  warning(message: string): void
  debug(message: string): void
  group<T>(name: string, work: () => Promise<T>): Promise<T>
}

/** A log that drops everything, for callers that want only the result. */
export const silentLog: Log = {
  info: () => {},
  warning: () => {},
  debug: () => {},
  group: (_name, work) => work(),
}
