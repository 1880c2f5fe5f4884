import { describe, expect, it } from '@jest/globals'
import type { KeyEntry, Workflow } from '../../src/inventory/types.js'
import {
  isKeywardCommit,
  parseRotationMarker,
  renderRotationBody,
  rotationBranch,
  rotationMarker,
  ROTATION_TRAILER,
  type RotationBodyInput,
  type RotationMarker,
} from '../../src/rotation/pull-request.js'

/** The rotation pull request: its hidden marker, its body, and how keyward knows its own commits. */

const KEY: KeyEntry = {
  label: 'Avatar Video Pipeline - OpenAI',
  workflow: 'avatar-video',
  provider: 'openai',
  secret: 'keys/avatar-video-openai.sops.yaml',
  created: '2026-09-01',
  provider_key_id: 'key_demo_avatar01',
  used_in: ['HeyGen avatar project', 'n8n "render" workflow', 'GitHub secret OPENAI_KEY'],
}

const WORKFLOW: Workflow = { label: 'Avatar Video Pipeline', owner: '@jeff' }

const MINTED: RotationMarker = {
  key: 'avatar-video-openai',
  provider: 'openai',
  old: 'key_demo_avatar01',
  new: 'key_new_02',
  mode: 'minted',
  reason: 'rotation-due',
  period: '2026-11',
}

const CHECKLIST: RotationMarker = {
  ...MINTED,
  new: undefined,
  mode: 'checklist',
  reason: 'exposed-key',
}

function body(marker: RotationMarker, extra: Partial<RotationBodyInput> = {}): string {
  return renderRotationBody({
    marker,
    keyId: 'avatar-video-openai',
    key: KEY,
    workflow: WORKFLOW,
    providerType: 'openai',
    why: 'key "avatar-video-openai" is 87 days old; rotate_after is 60d',
    secretPath: KEY.secret,
    configPath: 'keyward.yaml',
    grace: '24h',
    canDeactivate: true,
    ...extra,
  })
}

describe('rotation marker', () => {
  it.each([
    ['minted', MINTED],
    ['checklist', CHECKLIST],
    ['canary', { ...CHECKLIST, old: undefined, reason: 'canary-used' as const }],
  ])('round-trips a %s marker through the rendered body', (_name, marker) => {
    expect(parseRotationMarker(body(marker))).toEqual(marker)
  })

  it('is found on its own line in a body a person edited around it', () => {
    const edited = `Some notes from a person.\n\n${rotationMarker(MINTED)}\n\n- [x] done`

    expect(parseRotationMarker(edited)).toEqual(MINTED)
  })

  it('returns undefined for a body without a marker, or with one that is not JSON', () => {
    expect(parseRotationMarker('Rotate the key, please.')).toBeUndefined()
    expect(parseRotationMarker('<!-- keyward:rotation {not json} -->')).toBeUndefined()
    expect(
      parseRotationMarker('<!-- keyward:rotation {"key":"a"} -->'), // no provider
    ).toBeUndefined()
  })

  it('falls back to safe values for fields it does not understand', () => {
    const odd =
      '<!-- keyward:rotation {"key":"a","provider":"p","mode":"x","reason":"y","old":3} -->'

    expect(parseRotationMarker(odd)).toEqual({
      key: 'a',
      provider: 'p',
      old: undefined,
      new: undefined,
      mode: 'checklist',
      reason: 'rotation-due',
      period: '',
    })
  })
})

describe('renderRotationBody', () => {
  const checkboxes = (text: string) =>
    text.split('\n').filter((line) => /^\s*(?:\d+\. )?- \[ \] /.test(line))

  it.each([
    ['minted', MINTED],
    ['checklist', CHECKLIST],
  ])('lists every used_in place as a checkbox (%s)', (_name, marker) => {
    const text = body(marker)

    for (const place of KEY.used_in ?? [])
      expect(checkboxes(text).some((line) => line.trimEnd().endsWith(`- [ ] ${place}`))).toBe(true)
  })

  it('asks for every place when used_in is not set', () => {
    const { used_in: _none, ...bare } = KEY

    const text = body(MINTED, { key: bare })

    expect(checkboxes(text)).toEqual([
      '   - [ ] every tool or secret store that uses this key (`used_in` is not set for it)',
    ])
  })

  it('tells the reader of a minted rotation how to see the new key', () => {
    const text = body(MINTED)

    expect(text).toContain('`keyward vault show avatar-video-openai --reveal`')
    expect(text).toContain('as `key_new_02`')
    expect(text).toContain('The key it replaces: `key_demo_avatar01`.')
    expect(text).not.toContain('keyward vault add')
  })

  it('tells the reader of a checklist rotation where to create the key and how to store it', () => {
    const text = body(CHECKLIST)

    expect(text).toContain('https://platform.openai.com/api-keys')
    expect(text).toContain('`keyward vault add avatar-video-openai < new-key.txt`')
    expect(text).toContain(`git switch ${rotationBranch('avatar-video-openai')}`)
    expect(text).not.toContain('--reveal')
  })

  it('names the console to revoke at when keyward cannot deactivate the old key', () => {
    const text = body(CHECKLIST, { providerType: 'anthropic', canDeactivate: false })

    expect(text).toContain('revoke it at https://console.anthropic.com/settings/keys')
    expect(text).not.toContain('rotation_grace')
  })

  it('says when keyward deactivates the old key when it can', () => {
    const text = body(MINTED, { providerType: 'openrouter', grace: '36h' })

    expect(text).toContain('keyward disables it 36h after the merge')
  })

  it('names the owner, the why and the key by id and label', () => {
    const text = body(MINTED)

    expect(text).toContain(
      'Rotation of **Avatar Video Pipeline - OpenAI** (`avatar-video-openai`), workflow `avatar-video` (owner @jeff).',
    )
    expect(text).toContain('**Why:** key "avatar-video-openai" is 87 days old; rotate_after is 60d')
  })

  it('holds no key-shaped text', () => {
    for (const marker of [MINTED, CHECKLIST])
      for (const providerType of ['openai', 'anthropic', 'openrouter'])
        expect(body(marker, { providerType })).not.toMatch(/sk-/)
  })
})

describe('isKeywardCommit', () => {
  it('is true for a message with the trailer line', () => {
    expect(isKeywardCommit(`Rotate a (A)\n\nwhy\n\n${ROTATION_TRAILER} avatar-video-openai`)).toBe(
      true,
    )
  })

  it.each([
    ['no trailer', 'Add the new key\n\nstored with vault add'],
    ['the trailer named mid-line', 'Fix: keyward writes Keyward-Rotation: lines'],
    ['the trailer indented', 'Quote\n\n    Keyward-Rotation: a'],
    ['an empty message', ''],
  ])('is false for %s', (_name, message) => {
    expect(isKeywardCommit(message)).toBe(false)
  })
})
