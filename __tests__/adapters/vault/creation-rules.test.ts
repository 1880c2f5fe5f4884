import { describe, expect, it } from '@jest/globals'
import { readFile } from 'node:fs/promises'
import { findCreationRule } from '../../../src/adapters/vault/creation-rules.js'
import { VaultError } from '../../../src/errors.js'
import { FIXTURES, newIdentity } from './vault-helpers.js'

const [r1, r2, r3] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]).then((ids) =>
  ids.map((id) => id.recipient),
)

function refusal(config: string, path: string): VaultError {
  try {
    findCreationRule(config, path)
  } catch (error) {
    if (error instanceof VaultError) return error
    throw error
  }
  throw new Error('expected a VaultError')
}

describe('.sops.yaml creation rules', () => {
  const config = `creation_rules:
  - path_regex: keys/admin/
    age: ${r1}
  - path_regex: \\.sops\\.yaml$
    age: >-
      ${r1},
      ${r2} ,
  - age: [${r3}]
`

  it('takes the first rule that matches, unanchored', () => {
    expect(findCreationRule(config, 'keys/admin/openai.sops.yaml')?.recipients).toEqual([r1])
    expect(findCreationRule(config, 'nested/keys/admin/x.json')?.index).toBe(0)
    expect(findCreationRule(config, 'keys/a.sops.yaml')?.recipients).toEqual([r1, r2])
  })

  it('a rule without path_regex matches everything; no rule at all → undefined', () => {
    expect(findCreationRule(config, 'other.txt')?.recipients).toEqual([r3])
    expect(
      findCreationRule(
        `creation_rules:\n  - path_regex: ^only/\n    age: ${r1}\n`,
        'x/only/a.yaml',
      ),
    ).toBeUndefined()
    expect(findCreationRule('', 'a.yaml')).toBeUndefined()
  })

  it('accepts age as a comma string, a list, and a list of comma strings', () => {
    const list = `creation_rules:\n  - age:\n      - ${r1}\n      - "${r2}, ${r3}"\n`
    expect(findCreationRule(list, 'a.yaml')?.recipients).toEqual([r1, r2, r3])
    const flow = `creation_rules:\n  - age: "${r2},${r1},${r2}"\n`
    expect(findCreationRule(flow, 'a.yaml')?.recipients).toEqual([r2, r1])
  })

  it('reads the encryption rule and mac_only_encrypted, defaulting to _unencrypted', () => {
    const withRule = `creation_rules:\n  - age: ${r1}\n    encrypted_regex: ^(api_key|token)$\n    mac_only_encrypted: true\n`
    expect(findCreationRule(withRule, 'a.yaml')).toMatchObject({
      rule: { key: 'encrypted_regex', value: '^(api_key|token)$' },
      macOnlyEncrypted: true,
    })
    expect(findCreationRule(config, 'a.sops.yaml')?.rule).toEqual({
      key: 'unencrypted_suffix',
      value: '_unencrypted',
    })
  })

  it('refuses several key_groups clearly, and accepts a single group', () => {
    const groups = `creation_rules:\n  - key_groups:\n      - age: [${r1}]\n      - age: [${r2}]\n`
    const error = refusal(groups, 'a.yaml')
    expect(error.code).toBe('unsupported')
    expect(error.message).toMatch(/2 key_groups/)
    expect(error.message).toMatch(/Shamir/)
    const one = `creation_rules:\n  - key_groups:\n      - age: [${r1}, ${r2}]\n`
    expect(findCreationRule(one, 'a.yaml')?.recipients).toEqual([r1, r2])
  })

  it('matches every file under the sops-age config, whose misspelt path_regexp sops ignores', async () => {
    const text = await readFile(`${FIXTURES}sops-age/dot-sops.yaml`, 'utf8')
    const rule = findCreationRule(text, 'anything/at/all.txt')
    expect(rule?.recipients).toHaveLength(3)
    expect(rule?.recipients[0]).toBe(
      'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr',
    )
  })

  it('refuses recipients that are not X25519, pgp-only rules and invalid regexes', () => {
    expect(refusal(`creation_rules:\n  - age: age1notarecipient\n`, 'a').code).toBe('unsupported')
    expect(refusal(`creation_rules:\n  - pgp: ABCDEF\n`, 'a').code).toBe('unsupported')
    expect(refusal(`creation_rules:\n  - path_regex: "("\n    age: ${r1}\n`, 'a').code).toBe(
      'malformed',
    )
    expect(
      refusal(`creation_rules:\n  - age: ${r1}\n    encrypted_comment_regex: x\n`, 'a').code,
    ).toBe('unsupported')
  })
})
