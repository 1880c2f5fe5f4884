/**
 * vault decrypt: 10 / 100 / 1,000 key files written by SopsAgeVault to one X25519 recipient,
 * decrypted through SopsAgeVault, through sops-age, and with raw node:crypto (the floor).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decryptSops } from 'sops-age'
import { bech32Encode } from '../../src/adapters/vault/bech32.js'
import { createIdentityLoader, x25519Identity } from '../../src/adapters/vault/identities.js'
import { SopsAgeVault } from '../../src/adapters/vault/sops-age-vault.js'
import { importIdentity, openKeyFile, parseKeyFile } from '../floor-crypto.js'
import type { Scenario } from '../scenario.js'
import type { Row } from '../table.js'

const NOW = new Date('2026-11-27T12:00:00Z')

const keyPath = (i: number) => `keys/key-${i}.sops.yaml`

/** A deterministic 32-byte value per seed and label (identity bytes, key values). */
const derive = (seed: number, label: string) =>
  createHash('sha256').update(`keyward-bench:${seed}:${label}`).digest()

/** The plaintext key stored in file i. */
const keyValue = (seed: number, i: number) =>
  `bench-${i}-${derive(seed, `key-${i}`).toString('hex')}`

/** The bench's throwaway identity: X25519 secret bytes derived from the seed. */
function benchIdentity(seed: number): { secret: Buffer; text: string } {
  const secret = derive(seed, 'identity')
  return { secret, text: bech32Encode('age-secret-key-', secret).toUpperCase() }
}

interface Params {
  root: string
  count: number
  seed: number
}

function params(raw: Record<string, unknown>): Params {
  const { root, count, seed } = raw
  if (typeof root !== 'string' || typeof count !== 'number' || typeof seed !== 'number') {
    throw new Error('vault task needs root, count and seed')
  }
  return { root, count, seed }
}

/** Fails the run unless every file decrypted to the value written into it. */
function checkValues(values: readonly unknown[], seed: number): void {
  values.forEach((value, i) => {
    if (value !== keyValue(seed, i)) throw new Error(`${keyPath(i)} decrypted to the wrong value`)
  })
}

const sizeLabel = (files: number) => `${files.toLocaleString('en-US')} key files`

export const vaultDecryptScenario: Scenario = {
  name: 'vault-decrypt',
  describe: [
    '**vault decrypt: SopsAgeVault**: `SopsAgeVault.decrypt()` of every file in turn (read, parse, age X25519 unwrap, AES-256-GCM of the value, MAC check), identities loaded from `SOPS_AGE_KEY` inside the timing. The files hold one `api_key` each, written by `SopsAgeVault.encrypt()` to one X25519 recipient derived from the seed. Floor: the same cryptography with `node:crypto` directly (X25519 import + Diffie-Hellman, HKDF, ChaCha20-Poly1305 for the file key and the payload, the age header HMAC, AES-256-GCM of the value, SHA-512 and AES-256-GCM of the MAC), with reading and parsing outside the timing. Ratio on CPU.',
    '**vault decrypt: sops-age**: `decryptSops(text, { secretKey, fileType: "yaml" })` of `sops-age` on the same files, each read inside the timing as SopsAgeVault does; same floor.',
  ],
  tasks: {
    async keyward(raw, measure) {
      const { root, count, seed } = params(raw)
      const vault = new SopsAgeVault({
        root,
        identities: createIdentityLoader({
          env: { SOPS_AGE_KEY: benchIdentity(seed).text },
          defaultKeysFile: false,
        }),
        now: () => NOW,
        actor: 'bench',
      })
      const values = await measure(async () => {
        const out: unknown[] = []
        for (let i = 0; i < count; i++) {
          out.push((await vault.decrypt(keyPath(i), 'audit', `key-${i}`)).values.api_key)
        }
        return out
      })
      checkValues(values, seed)
    },
    async sopsAge(raw, measure) {
      const { root, count, seed } = params(raw)
      const secretKey = benchIdentity(seed).text
      const values = await measure(async () => {
        const out: unknown[] = []
        for (let i = 0; i < count; i++) {
          const text = readFileSync(join(root, keyPath(i)), 'utf8')
          const doc = (await decryptSops(text, { secretKey, fileType: 'yaml' })) as {
            api_key?: unknown
          }
          out.push(doc.api_key)
        }
        return out
      })
      checkValues(values, seed)
    },
    async floor(raw, measure) {
      const { root, count, seed } = params(raw)
      const files = Array.from({ length: count }, (_, i) =>
        parseKeyFile(readFileSync(join(root, keyPath(i)), 'utf8')),
      )
      const { secret } = benchIdentity(seed)
      const values = await measure(() => {
        const identity = importIdentity(secret)
        return files.map((file) => openKeyFile(file, identity))
      })
      checkValues(values, seed)
    },
  },

  async run(ctx) {
    const sizes = ctx.quick ? [10, 100] : [10, 100, 1_000]
    const largest = Math.max(...sizes)
    const root = join(ctx.tmp, 'governance')
    mkdirSync(root, { recursive: true })
    const identity = benchIdentity(ctx.seed)
    const { recipient } = x25519Identity(identity.text, 'bench')
    writeFileSync(
      join(root, '.sops.yaml'),
      `creation_rules:\n  - path_regex: ^keys/.*\\.sops\\.yaml$\n    age: ${recipient}\n`,
    )
    ctx.progress(`vault decrypt: writing ${largest} key files`)
    const writer = new SopsAgeVault({
      root,
      identities: async () => [],
      now: () => NOW,
      actor: 'bench',
    })
    for (let i = 0; i < largest; i++) {
      await writer.encrypt(keyPath(i), { api_key: keyValue(ctx.seed, i) })
    }

    const rows: Row[] = []
    for (const count of sizes) {
      const p = { root, count, seed: ctx.seed }
      const runs = ctx.quick ? 3 : count >= 1_000 ? 5 : 9
      const m = await ctx.measure(
        {
          keyward: ctx.child('keyward', p),
          sopsAge: ctx.child('sopsAge', p),
          floor: ctx.child('floor', p),
        },
        runs,
        { label: `vault decrypt ${sizeLabel(count)}` },
      )
      const size = sizeLabel(count)
      const label = 'node:crypto, same files'
      rows.push(
        {
          kind: 'measured',
          scenario: 'vault decrypt: SopsAgeVault',
          size,
          measurement: m.keyward,
          compare: { label, floor: m.floor, metric: 'cpu' },
          series: { name: 'vault decrypt: SopsAgeVault', units: count, unit: 'file' },
        },
        {
          kind: 'measured',
          scenario: 'vault decrypt: sops-age',
          size,
          measurement: m.sopsAge,
          compare: { label, floor: m.floor, metric: 'cpu' },
          series: { name: 'vault decrypt: sops-age', units: count, unit: 'file' },
        },
        { kind: 'floor', label, size, measurement: m.floor },
      )
    }
    return rows
  },
}
