import type { KeyEntry, Workflow } from '../inventory/types.js'

/** SPEC §5: rotation branches are `keyward/rotate/<key-id>`. */
export const ROTATION_BRANCH_PREFIX = 'keyward/rotate/'
export const rotationBranch = (keyId: string) => `${ROTATION_BRANCH_PREFIX}${keyId}`

/** Every commit keyward makes on a rotation branch ends with this trailer; a person's does not. */
export const ROTATION_TRAILER = 'Keyward-Rotation:'
export const isKeywardCommit = (message: string) =>
  message.split('\n').some((line) => line.startsWith(ROTATION_TRAILER))

/** Why a rotation was opened: age (`rotation-due`), or an incident that makes the key unsafe. */
export type RotationReason = 'rotation-due' | 'exposed-key' | 'canary-used'

/** What a rotation pull request carries in its hidden marker, read back on later runs. */
export interface RotationMarker {
  key: string
  provider: string
  /** The provider key id being replaced, when it was matched. */
  old: string | undefined
  /** The minted replacement's id (minted rotations only). */
  new: string | undefined
  mode: 'minted' | 'checklist'
  reason: RotationReason
  /** `YYYY-MM` the PR was opened in: a PR closed unmerged snoozes the key for this period. */
  period: string
}

const MARKER = /<!-- keyward:rotation (\{[^\n]*\}) -->/

export const rotationMarker = (marker: RotationMarker) =>
  `<!-- keyward:rotation ${JSON.stringify(marker)} -->`

export function parseRotationMarker(body: string): RotationMarker | undefined {
  const match = MARKER.exec(body)
  if (!match?.[1]) return undefined
  try {
    const value = JSON.parse(match[1]) as Partial<RotationMarker>
    if (typeof value.key !== 'string' || typeof value.provider !== 'string') return undefined
    return {
      key: value.key,
      provider: value.provider,
      old: typeof value.old === 'string' ? value.old : undefined,
      new: typeof value.new === 'string' ? value.new : undefined,
      mode: value.mode === 'minted' ? 'minted' : 'checklist',
      reason:
        value.reason === 'exposed-key' || value.reason === 'canary-used'
          ? value.reason
          : 'rotation-due',
      period: typeof value.period === 'string' ? value.period : '',
    }
  } catch {
    return undefined
  }
}

export const rotationTitle = (keyId: string, label: string) => `Rotate ${keyId} (${label})`

/** Where a person creates a key by hand, per provider type. */
const CONSOLES: Record<string, string> = {
  openai: 'https://platform.openai.com/api-keys',
  anthropic: 'https://console.anthropic.com/settings/keys',
  openrouter: 'https://openrouter.ai/settings/keys',
}

/** How the old key goes away after the merge, in words. */
const DEACTIVATION: Record<string, string> = {
  openai: 'deletes it (OpenAI has no "disable")',
  anthropic: 'sets its status to inactive',
  openrouter: 'disables it',
}

export interface RotationBodyInput {
  marker: RotationMarker
  keyId: string
  key: KeyEntry
  workflow: Workflow | undefined
  providerType: string
  /** Why, in one sentence ("key "x" is 97 days old; rotate_after is 90d"). */
  why: string
  secretPath: string
  configPath: string
  grace: string
  /** Whether keyward can deactivate the old key by API once merged. */
  canDeactivate: boolean
}

/**
 * The pull request body: why, what changed, and what a person does before and after merging,
 * with every place in `used_in` as a checkbox. It names keys by id and label, never by value.
 */
export function renderRotationBody(input: RotationBodyInput): string {
  const { marker, keyId, key } = input
  const owner = input.workflow ? ` (owner ${input.workflow.owner})` : ''
  const usedIn = key.used_in?.length
    ? key.used_in.map((place) => `   - [ ] ${place}`)
    : ['   - [ ] every tool or secret store that uses this key (`used_in` is not set for it)']
  const old = marker.old ? `\`${marker.old}\`` : 'the old key'
  const afterMerge = input.canDeactivate
    ? `keyward ${DEACTIVATION[input.providerType] ?? 'deactivates it'} ${input.grace} after the merge (\`rotation_grace\`), once the new key is in place everywhere. If the old key is still used after that, keyward opens a \`rotation-overdue\` issue.`
    : `keyward cannot deactivate it by API: revoke it at ${CONSOLES[input.providerType] ?? 'the provider'} once the new key is in place everywhere.`
  const lines = [
    rotationMarker(marker),
    `Rotation of **${key.label}** (\`${keyId}\`), workflow \`${key.workflow}\`${owner}.`,
    '',
    `**Why:** ${input.why}`,
    '',
  ]
  if (marker.mode === 'minted') {
    lines.push(
      '### What this pull request changes',
      '',
      `- \`${input.secretPath}\`: the new key, minted by keyward at ${input.providerType}${marker.new ? ` as \`${marker.new}\`` : ''} and encrypted to this repository's age recipients (\`.sops.yaml\`). The key itself is not in this page, the diff or the logs.`,
      `- \`${input.configPath}\`: \`created\` and \`provider_key_id\` of \`${keyId}\`.`,
      `- The key it replaces: ${old}.`,
      '',
      '### After you merge',
      '',
      `1. Put the new key in every place that uses it (\`keyward vault show ${keyId} --reveal\` prints it on your terminal):`,
      ...usedIn,
      `2. The old key: ${afterMerge}`,
    )
  } else {
    lines.push(
      '### Steps',
      '',
      `1. - [ ] Create a new key at ${CONSOLES[input.providerType] ?? 'the provider'}, named \`${key.label}\`.`,
      `2. - [ ] On this branch, store it: \`git fetch && git switch ${rotationBranch(keyId)}\`, then \`keyward vault add ${keyId} < new-key.txt\` (or type it at the prompt), commit \`${input.secretPath}\` and push. \`keyward validate\` fails on this pull request until the new key is in place, and \`vault add\` refuses the old key.`,
      `3. - [ ] Put the new key in every place that uses it:`,
      ...usedIn.map((l) => `   ${l}`),
      '4. - [ ] Merge.',
      `5. The old key (${old}): ${afterMerge}`,
      '',
      `This pull request already sets \`created\` of \`${keyId}\` to today in \`${input.configPath}\` and drops its \`provider_key_id\`: keyward matches the new key by its hint after the merge.`,
    )
  }
  lines.push(
    '',
    `_keyward updates this pull request on later runs and never force-pushes a branch you have pushed to. Closing it unmerged snoozes the rotation of \`${keyId}\` until next month._`,
    '',
  )
  return lines.join('\n')
}
