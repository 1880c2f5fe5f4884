import { systemClock } from '../adapters/clock/system-clock.js'
import { gitLeakScanner } from '../adapters/git/leak-scanner.js'
import { createIdentityLoader } from '../adapters/vault/identities.js'
import { SopsAgeVault } from '../adapters/vault/sops-age-vault.js'
import type { CliDeps } from './main.js'
import { readSecretFromStdin } from './read-secret.js'

/** The real adapters behind the CLI: files, git, age identities from the environment. */
export function productionDeps(): CliDeps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readSecret: (prompt) => readSecretFromStdin(prompt, process.stdin, process.stderr),
    env: process.env,
    cwd: process.cwd(),
    interactive: process.stderr.isTTY === true,
    clock: systemClock,
    createVault: (root, options) =>
      new SopsAgeVault({
        root,
        identities: createIdentityLoader({ env: options.env }),
        mask: options.mask,
        now: () => options.clock.now(),
        actor: options.actor,
      }),
    createScanner: (root, log) => gitLeakScanner(root, { log }),
  }
}
