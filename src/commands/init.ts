/**
 * `keyward init [dir]` (SPEC §2): the files of a new governance repository, as values. The
 * CLI writes them, never over an existing file.
 */

export interface InitInput {
  /** The age recipient (`age1…`) secret files are encrypted to. */
  recipient: string
  /** Today, `YYYY-MM-DD`, for the example key's `created`. */
  today: string
}

export interface InitFile {
  path: string
  content: string
  /** Why the file is there, for the summary the CLI prints. */
  purpose: string
}

export const AGE_KEY_SECRET = 'KEYWARD_AGE_KEY'

export function initFiles(input: InitInput): InitFile[] {
  return [
    {
      path: 'keyward.yaml',
      purpose: 'the inventory: providers, workflows and keys',
      content: `# yaml-language-server: $schema=https://raw.githubusercontent.com/keyward/keyward/main/schemas/keyward.schema.json
#
# keyward.yaml: every LLM API key this repository governs. Edit it in pull requests;
# keyward checks each change (keyward validate) and audits usage on a schedule.

version: 1

# Policy defaults; workflows and keys can override the ones that apply to them.
defaults:
  timezone: UTC # IANA name for active_hours
  rotate_after: 90d # a key this old gets a rotation pull request
  idle_after: 30d # a key unused this long gets an issue

# The provider accounts keyward reads usage from, each with an admin key kept
# encrypted in its own file (add it with: keyward vault add --admin openai).
providers:
  openai:
    admin_key: keys/admin/openai.sops.yaml

# The tools and automations that spend money; each key belongs to one.
workflows:
  my-app:
    label: My App # shown in issues and reports
    owner: "@your-github-name" # assigned to this workflow's issues
    active_hours: "07:00-22:00" # use outside these hours is reported
    budget_usd_month: 20 # alert when a month goes past this

# One entry per key, each in its own encrypted file
# (add it with: keyward vault add my-app-openai < key.txt).
keys:
  my-app-openai:
    label: My App - OpenAI
    workflow: my-app
    provider: openai
    secret: keys/my-app-openai.sops.yaml
    created: ${input.today} # when the key was minted
    used_in: [My App production] # where the key is pasted, for rotations
`,
    },
    {
      path: '.sops.yaml',
      purpose: 'which age recipients the secret files are encrypted to (read by keyward and sops)',
      content: `# Standard sops creation rules. Add a teammate's age public key here, then run
# keyward vault rekey so the existing files are encrypted to them too.
creation_rules:
  - path_regex: keys/.*\\.sops\\.yaml$
    age: ${input.recipient}
`,
    },
    {
      path: '.github/workflows/keyward.yml',
      purpose: 'validate on pull requests, audit every hour',
      content: `name: keyward
on:
  pull_request:
    paths: [keyward.yaml, .sops.yaml, "keys/**"]
  schedule:
    - cron: "17 * * * *"
  workflow_dispatch:

# One audit at a time: two would race for the same commit.
concurrency:
  group: keyward-\${{ github.event_name == 'pull_request' && github.ref || 'audit' }}
  cancel-in-progress: false

jobs:
  validate:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: read
    steps:
      - uses: actions/checkout@v4
      - uses: keyward/keyward@v0
        with:
          command: validate
          age-key: \${{ secrets.${AGE_KEY_SECRET} }}

  audit:
    if: github.event_name != 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: write # the audit snapshot and rotation branches
      issues: write # findings and the dashboard
      pull-requests: write # rotation pull requests
    steps:
      - uses: actions/checkout@v4
      - uses: keyward/keyward@v0
        with:
          command: audit
          age-key: \${{ secrets.${AGE_KEY_SECRET} }}
`,
    },
    {
      path: 'README.md',
      purpose: 'what this repository is, for your team',
      content: `# LLM API keys

This repository is governed by [keyward](https://github.com/keyward/keyward).

- \`keyward.yaml\` lists every key: its workflow, owner, birth date and budget.
- \`keys/\` holds one SOPS file per key, encrypted with age. Read one with
  \`keyward vault show <key-id>\` (masked) or \`--reveal\`.
- Add a key: \`keyward vault add <key-id> < key.txt\`, then add its entry to keyward.yaml.
- Check everything: \`keyward validate\`.
- The hourly audit commits snapshots under \`audit/\` and opens an issue for anything
  that needs a person. The age identity is the repository secret \`${AGE_KEY_SECRET}\`.
`,
    },
    {
      path: '.gitignore',
      purpose: 'keeps the local audit outbox out of git',
      content: '.keyward/\n',
    },
  ]
}
