import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadAgeIdentities, parseAgeIdentities } from '../../../src/adapters/vault/identities.js'
import { VaultError } from '../../../src/errors.js'
import { FIXTURES, newIdentity, removeDir, tempDir, type TestIdentity } from './vault-helpers.js'

describe('age identities', () => {
  let dir: string
  let a: TestIdentity
  let b: TestIdentity
  let c: TestIdentity
  beforeAll(async () => {
    dir = await tempDir()
    ;[a, b, c] = await Promise.all([newIdentity(), newIdentity(), newIdentity()])
  })
  afterAll(() => removeDir(dir))

  it('reads several identities from SOPS_AGE_KEY, skipping comments and blank lines', async () => {
    const text = `# first\n${a.secret}\n\n   # indented comment\n  ${b.secret}  \r\n${c.secret} ${a.secret}\n`
    const ids = await loadAgeIdentities({ env: { SOPS_AGE_KEY: text }, defaultKeysFile: false })
    expect(ids.map((id) => id.recipient)).toEqual([a.recipient, b.recipient, c.recipient])
    expect(ids[1]?.source).toBe('SOPS_AGE_KEY line 5')
  })

  it('loads SOPS_AGE_KEY_FILE, the explicit key and the default keys file together, as sops does', async () => {
    const keyFile = join(dir, 'keys.txt')
    await writeFile(keyFile, `# created: now\n# public key: ${a.recipient}\n${a.secret}\n`)
    await mkdir(join(dir, 'xdg/sops/age'), { recursive: true })
    await writeFile(join(dir, 'xdg/sops/age/keys.txt'), `${c.secret}\n`)
    const ids = await loadAgeIdentities({
      env: { SOPS_AGE_KEY_FILE: keyFile, XDG_CONFIG_HOME: join(dir, 'xdg') },
      ageKey: b.secret,
    })
    expect(ids.map((id) => id.recipient).sort()).toEqual(
      [a.recipient, b.recipient, c.recipient].sort(),
    )
  })

  it('reads the getsops test identity files with their added comment lines', async () => {
    const ids = await loadAgeIdentities({
      env: { SOPS_AGE_KEY_FILE: `${FIXTURES}getsops-sops/age-test-identity.txt` },
      defaultKeysFile: false,
    })
    expect(ids.map((id) => id.recipient)).toEqual([
      'age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun',
    ])
  })

  it('no identity → no-identity naming every place it looked', async () => {
    const error = await loadAgeIdentities({ env: { HOME: join(dir, 'nohome') } }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(VaultError)
    expect((error as VaultError).code).toBe('no-identity')
    const { message } = error as VaultError
    for (const place of [
      'SOPS_AGE_KEY',
      'SOPS_AGE_KEY_FILE',
      'age-key',
      join(dir, 'nohome/.config/sops/age/keys.txt'),
    ]) {
      expect(message).toContain(place)
    }
  })

  it('skips post-quantum identities and says so when nothing else is left', async () => {
    const error = await loadAgeIdentities({
      env: { SOPS_AGE_KEY_FILE: `${FIXTURES}getsops-sops/age-test-hybrid-pq-identity.txt` },
      defaultKeysFile: false,
    }).catch((e: unknown) => e)
    expect((error as VaultError).code).toBe('no-identity')
    expect((error as VaultError).message).toMatch(/post-quantum/)
  })

  it('a malformed identity line fails loudly without echoing the line', () => {
    const broken = a.secret.slice(0, -1) + (a.secret.endsWith('Q') ? 'P' : 'Q')
    const error = (() => {
      try {
        parseAgeIdentities(`# ok\n${broken}\n`, 'SOPS_AGE_KEY')
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(VaultError)
    expect((error as VaultError).message).toContain('SOPS_AGE_KEY line 2')
    expect((error as VaultError).message).not.toContain(broken.slice(20))
  })

  it('an unreadable SOPS_AGE_KEY_FILE is an error, not a silent skip', async () => {
    const error = await loadAgeIdentities({
      env: { SOPS_AGE_KEY_FILE: join(dir, 'missing.txt') },
    }).catch((e: unknown) => e)
    expect((error as VaultError).code).toBe('no-identity')
    expect((error as VaultError).message).toContain('ENOENT')
  })
})
