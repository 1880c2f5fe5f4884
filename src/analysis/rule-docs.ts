import type { ValidateRule } from './findings.js'

/** One line per validate rule, for SARIF rule metadata, help output and the README table. */
export const VALIDATE_RULE_DOCS: Record<ValidateRule, string> = {
  'yaml-syntax':
    'keyward.yaml is not valid YAML, or is too large or too deeply nested to be an inventory',
  schema: 'a field is unknown, missing, or of the wrong type or format',
  'unknown-workflow': 'a key names a workflow that is not declared',
  'unknown-provider': 'a key names a provider that is not declared',
  'shared-key': 'two inventory entries use the same secret file or the same provider key',
  'missing-secret': 'a key or admin key names a secret file that does not exist',
  'plaintext-secret': 'a secret file is not a SOPS document encrypted with age',
  'exposed-key':
    'a plaintext LLM API key is committed in the repository or added by the pull request',
  'vault-tampered': "a secret file's MAC does not verify: it was edited outside sops or damaged",
  'recipients-drift': "a secret file's age recipients differ from what .sops.yaml asks for",
  'rotation-due': 'a key is older than its rotate_after',
  'idle-workflow': 'a workflow has no keys',
  'invalid-timezone': 'a timezone is not an IANA name',
  'invalid-hours': 'active_hours is not HH:MM-HH:MM',
  'cap-drift':
    'cap_usd_month is set for a provider that cannot enforce it by API, or is below the key budget',
}
