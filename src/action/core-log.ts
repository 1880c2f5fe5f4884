import * as core from '@actions/core'
import type { Log } from '../ports/log.js'

/** The Log port over @actions/core: one group per phase, annotations only for warnings. */
export const coreLog: Log = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  debug: (message) => core.debug(message),
  group: (name, work) => core.group(name, work),
}
