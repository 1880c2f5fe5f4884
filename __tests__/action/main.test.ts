import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '../../__fixtures__/core.js'
import { fixedClock } from '../../test/fakes/fixed-clock.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/action/main.js')

const NOW = '2026-11-27T12:00:00Z'

/** Line 4 col 16 is the admin_key value, line 14 col 13 the key's secret value. */
const INVENTORY = `version: 1
providers:
  openai:
    admin_key: keys/admin/openai.sops.yaml
workflows:
  blog:
    label: Blog
    owner: "@me"
keys:
  blog-openai:
    label: Blog - OpenAI
    workflow: blog
    provider: openai
    secret: keys/blog-openai.sops.yaml
    created: 2026-11-01
`

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const randomBech32 = (n: number) =>
  Array.from(randomBytes(n), (b) => BECH32[b % 32])
    .join('')
    .toUpperCase()

/** An identity-file-shaped value built at run time: comments, the key line, a blank line. */
function ageKeyInput(): { value: string; lines: string[] } {
  const lines = [
    '# created: 2026-11-01T00:00:00Z',
    `# public key: age1${randomBech32(58).toLowerCase()}`,
    ['AGE', 'SECRET', 'KEY', '1'].join('-') + randomBech32(58),
  ]
  return { value: lines.join('\n') + '\n\n', lines }
}

const githubToken = () => ['ghs', randomBytes(18).toString('hex')].join('_')

let workspace: string

beforeEach(async () => {
  core.resetCore()
  workspace = await mkdtemp(join(tmpdir(), 'keyward-action-'))
  await mkdir(join(workspace, 'gov'))
  await writeFile(join(workspace, 'gov', 'keyward.yaml'), INVENTORY)
})

afterEach(async () => {
  await rm(workspace, { recursive: true, force: true })
})

/** The action.yml defaults, with the governance repository in gov/ and `validate`. */
function defaultInputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    command: 'validate',
    config: 'gov/keyward.yaml',
    'age-key': '',
    'github-token': githubToken(),
    'dry-run': 'false',
    'max-issues-per-run': '20',
    'max-prs-per-run': '5',
    ...overrides,
  }
}

const runAction = () =>
  run({ env: { GITHUB_WORKSPACE: workspace, HOME: workspace }, clock: fixedClock(NOW) })

/** Every call that writes to the log or the workflow, with the order jest assigned it. */
const loggingCalls = () =>
  [core.debug, core.info, core.warning, core.error, core.notice, core.setOutput, core.setFailed]
    .flatMap((mock) => mock.mock.invocationCallOrder)
    .sort((a, b) => a - b)

describe('run: validate with missing secret files', () => {
  it('fails once, naming the error count', async () => {
    core.setInputs(defaultInputs())

    await runAction()

    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed).toHaveBeenCalledWith(
      'keyward validate found 2 errors; see the annotations and the job summary',
    )
  })

  it('annotates each finding with its file, line and column relative to the workspace', async () => {
    core.setInputs(defaultInputs())

    await runAction()

    expect(core.error).toHaveBeenCalledTimes(2)
    expect(core.error).toHaveBeenCalledWith(
      expect.stringContaining('the admin key of provider "openai" names the secret file'),
      { title: 'keyward missing-secret', file: 'gov/keyward.yaml', startLine: 4, startColumn: 16 },
    )
    expect(core.error).toHaveBeenCalledWith(
      expect.stringContaining('key "blog-openai" names the secret file keys/blog-openai.sops.yaml'),
      { title: 'keyward missing-secret', file: 'gov/keyward.yaml', startLine: 14, startColumn: 13 },
    )
  })

  it('sets the findings output as JSON with workspace-relative paths', async () => {
    core.setInputs(defaultInputs())

    await runAction()

    const findingsCalls = core.setOutput.mock.calls.filter(([name]) => name === 'findings')
    expect(findingsCalls).toHaveLength(1)
    const findings = JSON.parse(String(findingsCalls[0]![1])) as unknown[]
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'missing-secret',
        severity: 'error',
        file: 'gov/keyward.yaml',
        line: 4,
        column: 16,
      }),
      expect.objectContaining({
        rule: 'missing-secret',
        severity: 'error',
        file: 'gov/keyward.yaml',
        line: 14,
        column: 13,
        key: 'blog-openai',
      }),
    ])
  })

  it('sets the write outputs to empty lists', async () => {
    core.setInputs(defaultInputs())

    await runAction()

    for (const name of [
      'issues-created',
      'issues-updated',
      'issues-closed',
      'pull-requests-opened',
    ])
      expect(core.setOutput).toHaveBeenCalledWith(name, '[]')
  })

  it('writes a job summary with a heading and one table row per finding', async () => {
    core.setInputs(defaultInputs())

    await runAction()

    const entries = core.summaryRecord.entries
    expect(entries[0]).toEqual({ kind: 'heading', text: 'keyward validate', level: 2 })
    expect(entries[1]).toMatchObject({
      kind: 'raw',
      text: expect.stringMatching(/^2 problems \(2 errors\)/),
    })
    const table = entries.find((e) => e.kind === 'table')
    expect(table?.kind === 'table' && table.rows).toHaveLength(3)
    expect(entries.at(-1)).toEqual({ kind: 'write' })
    expect(core.summaryRecord.write).toHaveBeenCalledTimes(1)
  })

  it('masks every line of the age-key input before anything is logged', async () => {
    const ageKey = ageKeyInput()
    const token = githubToken()
    core.setInputs(defaultInputs({ 'age-key': ageKey.value, 'github-token': token }))

    await runAction()

    const masked = core.setSecret.mock.calls.map(([value]) => value)
    for (const line of ageKey.lines) expect(masked).toContain(line)
    expect(masked).toContain(token)
    expect(masked).not.toContain('')
    const lastMask = Math.max(...core.setSecret.mock.invocationCallOrder)
    const logged = loggingCalls()
    expect(logged.length).toBeGreaterThan(0)
    expect(lastMask).toBeLessThan(logged[0]!)
  })
})

describe('run: bad inputs', () => {
  it.each([
    ['max-issues-per-run', '0'],
    ['max-issues-per-run', 'ten'],
    ['max-prs-per-run', '-1'],
    ['max-prs-per-run', '2.5'],
  ])('fails when %s is %j, naming the input and quoting the value', async (name, value) => {
    core.setInputs(defaultInputs({ [name]: value }))

    await runAction()

    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed).toHaveBeenCalledWith(
      `keyward: input ${name} must be a positive whole number; got "${value}"`,
    )
    expect(core.setOutput).not.toHaveBeenCalled()
  })

  it.each(['maybe', 'yes', '1'])('fails when dry-run is %j, naming the input', async (value) => {
    core.setInputs(defaultInputs({ 'dry-run': value }))

    await runAction()

    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed).toHaveBeenCalledWith(
      `keyward: input dry-run must be true or false; got "${value}"`,
    )
  })

  it('fails on an unknown command, listing the allowed ones', async () => {
    core.setInputs(defaultInputs({ command: 'deploy' }))

    await runAction()

    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed).toHaveBeenCalledWith(
      'keyward: input command must be one of validate, audit, report; got "deploy"',
    )
  })

  it('fails with command: report outside GitHub Actions, naming what is missing', async () => {
    core.setInputs(defaultInputs({ command: 'report' }))

    await runAction()

    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed).toHaveBeenCalledWith(
      'keyward: GITHUB_REPOSITORY is not set (expected owner/repo); run the report inside GitHub Actions',
    )
    expect(core.setOutput).not.toHaveBeenCalled()
  })

  it('still masks the age-key when another input is bad', async () => {
    const ageKey = ageKeyInput()
    core.setInputs(defaultInputs({ 'age-key': ageKey.value, 'max-prs-per-run': 'many' }))

    await runAction()

    const masked = core.setSecret.mock.calls.map(([value]) => value)
    for (const line of ageKey.lines) expect(masked).toContain(line)
    expect(Math.max(...core.setSecret.mock.invocationCallOrder)).toBeLessThan(loggingCalls()[0]!)
  })

  it('fails with a message when the config does not exist', async () => {
    core.setInputs(defaultInputs({ config: 'elsewhere/keyward.yaml' }))

    await runAction()

    expect(core.setFailed).toHaveBeenCalledTimes(1)
    expect(core.setFailed.mock.calls[0]![0]).toMatch(
      /^keyward: cannot read .*keyward\.yaml: no such file/,
    )
  })
})
