import { generateKeyPairSync } from 'node:crypto'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { bech32Encode } from '../adapters/vault/bech32.js'
import { defaultKeysFile, loadAgeIdentities } from '../adapters/vault/identities.js'
import { EXIT, type ExitCode } from '../commands/exit-code.js'
import { AGE_KEY_SECRET, initFiles } from '../commands/init.js'
import { UsageError, VaultError } from '../errors.js'
import type { CliCommand } from './args.js'
import type { CliDeps } from './main.js'

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/** A new X25519 age identity, as `age-keygen` writes it. */
function newIdentity(now: Date): { text: string; file: string } {
  const { privateKey } = generateKeyPairSync('x25519')
  const d = privateKey.export({ format: 'jwk' }).d ?? ''
  const secret = bech32Encode('age-secret-key-', Buffer.from(d, 'base64url')).toUpperCase()
  return {
    text: secret,
    file: `# created: ${now.toISOString().slice(0, 19)}Z by keyward init\n${secret}\n`,
  }
}

/** The recipient to encrypt to: the user's identity if one is set up, else a new one (written where sops looks). */
async function recipientFor(deps: CliDeps, say: (line: string) => void): Promise<string> {
  try {
    const [identity] = await loadAgeIdentities({ env: deps.env })
    if (identity) {
      say(
        `Using your age identity from ${identity.source}: secret files will be encrypted to ${identity.recipient}.`,
      )
      return identity.recipient
    }
  } catch (error) {
    if (!(error instanceof VaultError && error.code === 'no-identity')) throw error
  }
  const keysFile = defaultKeysFile(deps.env)
  if (!keysFile)
    throw new UsageError(
      'no age identity found and no HOME to create one in; set SOPS_AGE_KEY_FILE to a keys file (age-keygen -o <file>)',
    )
  if (await exists(keysFile))
    throw new UsageError(
      `${keysFile} exists but holds no X25519 identity keyward can use; add one with age-keygen, or set SOPS_AGE_KEY_FILE`,
    )
  const identity = newIdentity(deps.clock.now())
  await mkdir(dirname(keysFile), { recursive: true, mode: 0o700 })
  await writeFile(keysFile, identity.file, { mode: 0o600, flag: 'wx' })
  const [loaded] = await loadAgeIdentities({ env: { ...deps.env, SOPS_AGE_KEY_FILE: keysFile } })
  if (!loaded) throw new Error(`could not read back the identity written to ${keysFile}`)
  say(
    `Generated an age identity in ${keysFile} (public key ${loaded.recipient}). Back it up: without it nobody can decrypt the keys.`,
  )
  say(
    `Add the whole content of that file to the GitHub repository secret ${AGE_KEY_SECRET}, so the action can read the vault.`,
  )
  return loaded.recipient
}

/** `keyward init [dir]`: writes the starting files, never over an existing one. */
export async function runInitCommand(
  command: Extract<CliCommand, { command: 'init' }>,
  ctx: { deps: CliDeps; print(text: string): void; note(text: string): void },
): Promise<ExitCode> {
  const { deps } = ctx
  const dir = resolve(deps.cwd, command.dir)
  await mkdir(dir, { recursive: true })
  const recipient = await recipientFor(deps, ctx.note)
  const today = deps.clock.now().toISOString().slice(0, 10)
  const lines: string[] = []
  for (const file of initFiles({ recipient, today })) {
    const path = join(dir, file.path)
    if (await exists(path)) {
      // An existing file is the user's: keep it, and say so.
      const same = (await readFile(path, 'utf8').catch(() => '')) === file.content
      lines.push(`  kept     ${file.path}${same ? '' : ' (exists; not overwritten)'}`)
      continue
    }
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, file.content, { flag: 'wx' })
    lines.push(`  created  ${file.path}: ${file.purpose}`)
  }
  const where = relative(deps.cwd, dir) || '.'
  ctx.print(
    [
      `keyward init in ${where}`,
      ...lines,
      '',
      'Next:',
      `  1. Edit ${join(where, 'keyward.yaml')}: your workflows, owners and keys.`,
      `  2. Store each key: keyward vault add my-app-openai --config ${join(where, 'keyward.yaml')} < key.txt`,
      `     and the admin key: keyward vault add --admin openai --config ${join(where, 'keyward.yaml')} < admin-key.txt`,
      `  3. keyward validate --config ${join(where, 'keyward.yaml')}, then commit and push.`,
      '',
    ].join('\n'),
  )
  return EXIT.ok
}
