import { beforeEach, describe, expect, it, jest } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import * as core from '../../__fixtures__/core.js'

jest.unstable_mockModule('@actions/core', () => core)
const { getInputs } = await import('../../src/action/inputs.js')

interface ActionYml {
  inputs: Record<string, { default?: unknown; required?: boolean }>
}

const actionYml = parse(
  readFileSync(join(import.meta.dirname, '../../action.yml'), 'utf8'),
) as ActionYml

/**
 * The inputs the runner passes when a workflow sets none: each action.yml default, as a
 * string, with `${{ … }}` expressions replaced by a value built at run time.
 */
function defaults(): { inputs: Record<string, string>; token: string } {
  const token = ['ghs', randomBytes(18).toString('hex')].join('_')
  const inputs = Object.fromEntries(
    Object.entries(actionYml.inputs).map(([name, spec]) => {
      const value = String(spec.default ?? '')
      return [name, /^\$\{\{.*\}\}$/.test(value) ? token : value]
    }),
  )
  return { inputs, token }
}

beforeEach(() => {
  core.resetCore()
})

describe('getInputs with the action.yml defaults', () => {
  it('gives the documented typed settings', () => {
    const { inputs, token } = defaults()
    core.setInputs(inputs)

    const settings = getInputs()

    expect(settings).toEqual({
      command: 'audit',
      config: 'keyward.yaml',
      ageKey: '',
      githubToken: token,
      dryRun: false,
      maxIssuesPerRun: 20,
      maxPrsPerRun: 5,
    })
  })

  it('reads every input action.yml declares, and no other', () => {
    core.setInputs(defaults().inputs)

    getInputs()

    const read = new Set(core.getInput.mock.calls.map(([name]) => name))
    expect([...read].sort()).toEqual(Object.keys(actionYml.inputs).sort())
  })

  it('gives every input a default, so boolean inputs never read as empty', () => {
    for (const [name, spec] of Object.entries(actionYml.inputs))
      expect([name, spec.default !== undefined]).toEqual([name, true])
  })

  it('masks the token before it logs anything', () => {
    const { inputs, token } = defaults()
    core.setInputs(inputs)

    getInputs()

    expect(core.setSecret).toHaveBeenCalledWith(token)
    expect(core.setSecret).not.toHaveBeenCalledWith('')
    expect(Math.max(...core.setSecret.mock.invocationCallOrder)).toBeLessThan(
      Math.min(...core.debug.mock.invocationCallOrder),
    )
    expect(core.debug.mock.calls.join('\n')).not.toContain(token)
  })
})

describe('getInputs with values set', () => {
  it.each<[string, Record<string, string>, Record<string, unknown>]>([
    ['command validate', { command: 'validate' }, { command: 'validate' }],
    ['command with spaces', { command: '  report ' }, { command: 'report' }],
    ['an empty command', { command: '' }, { command: 'audit' }],
    ['an empty config', { config: '' }, { config: 'keyward.yaml' }],
    ['a config path', { config: ' gov/keyward.yaml ' }, { config: 'gov/keyward.yaml' }],
    ['dry-run True', { 'dry-run': 'True' }, { dryRun: true }],
    ['dry-run TRUE', { 'dry-run': 'TRUE' }, { dryRun: true }],
    ['dry-run FALSE', { 'dry-run': 'FALSE' }, { dryRun: false }],
    ['budgets with spaces', { 'max-issues-per-run': ' 7 ' }, { maxIssuesPerRun: 7 }],
    ['a large budget', { 'max-prs-per-run': '100' }, { maxPrsPerRun: 100 }],
  ])('parses %s', (_name, overrides, expected) => {
    core.setInputs({ ...defaults().inputs, ...overrides })

    expect(getInputs()).toMatchObject(expected)
  })

  it.each<[string, string, string]>([
    ['dry-run', 'maybe', 'input dry-run must be true or false; got "maybe"'],
    ['dry-run', '', 'input dry-run must be true or false; got ""'],
    [
      'max-issues-per-run',
      '0',
      'input max-issues-per-run must be a positive whole number; got "0"',
    ],
    [
      'max-issues-per-run',
      'ten',
      'input max-issues-per-run must be a positive whole number; got "ten"',
    ],
    ['max-prs-per-run', '', 'input max-prs-per-run must be a positive whole number; got ""'],
    ['max-prs-per-run', '1e3', 'input max-prs-per-run must be a positive whole number; got "1e3"'],
    ['command', 'Validate', 'input command must be one of validate, audit, report; got "Validate"'],
  ])('refuses %s = %j', (name, value, message) => {
    core.setInputs({ ...defaults().inputs, [name]: value })

    expect(() => getInputs()).toThrow(message)
  })
})

describe('the core fixture keeps getBooleanInput semantics', () => {
  it.each(['true', 'True', 'TRUE', 'false', 'False', 'FALSE'])('accepts %j', (value) => {
    core.setInputs({ flag: value })

    expect(core.getBooleanInput('flag')).toBe(value.toLowerCase() === 'true')
  })

  it.each(['', 'yes', 'tRue', '1'])('throws TypeError on %j', (value) => {
    core.setInputs({ flag: value })

    expect(() => core.getBooleanInput('flag')).toThrow(TypeError)
  })
})
