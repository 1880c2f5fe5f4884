import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import { Octokit } from '@octokit/rest'
import type { Log } from '../../ports/log.js'
import { VERSION } from '../../version.js'

const KeywardOctokit = Octokit.plugin(throttling, retry)
export type GitHubClient = InstanceType<typeof KeywardOctokit>

export interface OctokitOptions {
  token: string
  /** GITHUB_API_URL: GitHub Enterprise Server, or a loopback fake in tests. */
  baseUrl?: string
  log: Log
  /** Tests turn throttling off, or every write waits a second (STYLE §6.5). */
  throttle?: boolean
}

/**
 * The one place an Octokit is built (STYLE §4.5): throttling and retry, keyward's user agent,
 * and its request log routed to our Log so expected 404s do not reach the console.
 */
export function createOctokit(options: OctokitOptions): GitHubClient {
  const { log } = options
  return new KeywardOctokit({
    auth: options.token,
    baseUrl: options.baseUrl ?? 'https://api.github.com',
    userAgent: `keyward/${VERSION}`,
    log: { debug: log.debug, info: log.debug, warn: log.warning, error: log.debug },
    throttle: {
      enabled: options.throttle ?? true,
      onRateLimit: (retryAfter, request, _octokit, retryCount) => {
        log.warning(
          `GitHub rate limit hit for ${request.method} ${request.url}; retrying in ${retryAfter}s`,
        )
        return retryCount < 2
      },
      onSecondaryRateLimit: (retryAfter, request) => {
        log.warning(
          `GitHub secondary rate limit hit for ${request.method} ${request.url} (retry after ${retryAfter}s); not retrying`,
        )
        return false
      },
    },
    retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
  })
}
