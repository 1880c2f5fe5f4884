/**
 * Typed stand-ins for `@actions/core` (STYLE §5). Each is `jest.fn<typeof core.x>()`, so a
 * change of signature upstream fails to compile here. Register them with
 * `jest.unstable_mockModule('@actions/core', () => core)` before importing the unit under test.
 *
 * Inputs come from a per-test map (`setInputs`); `getInput` and `getBooleanInput` keep the real
 * semantics (trimming, `required`, the YAML 1.2 boolean list and its TypeError).
 */
import type * as core from '@actions/core'
import { jest } from '@jest/globals'

const inputs = new Map<string, string>()

/** Sets the inputs of the current test (names as in action.yml); replaces earlier ones. */
export function setInputs(values: Record<string, string>): void {
  inputs.clear()
  for (const [name, value] of Object.entries(values)) inputs.set(name, value)
}

export const getInput = jest.fn<typeof core.getInput>()
export const getBooleanInput = jest.fn<typeof core.getBooleanInput>()
export const setSecret = jest.fn<typeof core.setSecret>()
export const setOutput = jest.fn<typeof core.setOutput>()
export const setFailed = jest.fn<typeof core.setFailed>()
export const debug = jest.fn<typeof core.debug>()
export const info = jest.fn<typeof core.info>()
export const warning = jest.fn<typeof core.warning>()
export const error = jest.fn<typeof core.error>()
export const notice = jest.fn<typeof core.notice>()
export const group = jest.fn<typeof core.group>()
export const startGroup = jest.fn<typeof core.startGroup>()
export const endGroup = jest.fn<typeof core.endGroup>()
export const isDebug = jest.fn<typeof core.isDebug>()

type Summary = typeof core.summary

/** One call made on the summary stub, in order. */
export type SummaryEntry =
  | { kind: 'heading'; text: string; level: number | string | undefined }
  | { kind: 'raw'; text: string; addEOL: boolean | undefined }
  | { kind: 'table'; rows: Parameters<Summary['addTable']>[0] }
  | { kind: 'list'; items: string[]; ordered: boolean | undefined }
  | { kind: 'write' }

/** A fluent stand-in for `core.summary` that records what was added and when it was written. */
export interface SummaryStub {
  entries: SummaryEntry[]
  addHeading: jest.Mock<Summary['addHeading']>
  addRaw: jest.Mock<Summary['addRaw']>
  addTable: jest.Mock<Summary['addTable']>
  addList: jest.Mock<Summary['addList']>
  addEOL: jest.Mock<Summary['addEOL']>
  write: jest.Mock<Summary['write']>
  clear: jest.Mock<Summary['clear']>
  stringify: jest.Mock<Summary['stringify']>
  isEmptyBuffer: jest.Mock<Summary['isEmptyBuffer']>
}

const summaryStub: SummaryStub = {
  entries: [],
  addHeading: jest.fn<Summary['addHeading']>(),
  addRaw: jest.fn<Summary['addRaw']>(),
  addTable: jest.fn<Summary['addTable']>(),
  addList: jest.fn<Summary['addList']>(),
  addEOL: jest.fn<Summary['addEOL']>(),
  write: jest.fn<Summary['write']>(),
  clear: jest.fn<Summary['clear']>(),
  stringify: jest.fn<Summary['stringify']>(),
  isEmptyBuffer: jest.fn<Summary['isEmptyBuffer']>(),
}

// The real Summary class has private fields, so no object literal can be structurally equal
// to it; the stub implements every method src/ calls and is cast once, here.
export const summary = summaryStub as unknown as Summary

/** The summary stub with its recording, for assertions. */
export const summaryRecord: SummaryStub = summaryStub

const TRUE_VALUES = ['true', 'True', 'TRUE']
const FALSE_VALUES = ['false', 'False', 'FALSE']

function install(): void {
  getInput.mockImplementation((name, options) => {
    const value = inputs.get(name) ?? ''
    if (options?.required && !value) throw new Error(`Input required and not supplied: ${name}`)
    return options?.trimWhitespace === false ? value : value.trim()
  })
  getBooleanInput.mockImplementation((name, options) => {
    const value = getInput(name, options)
    if (TRUE_VALUES.includes(value)) return true
    if (FALSE_VALUES.includes(value)) return false
    throw new TypeError(
      `Input does not meet YAML 1.2 "Core Schema" specification: ${name}\n` +
        'Support boolean input list: `true | True | TRUE | false | False | FALSE`',
    )
  })
  group.mockImplementation(async (_name, fn) => fn())
  isDebug.mockReturnValue(false)

  const self = () => summary
  summaryStub.addHeading.mockImplementation((text, level) => {
    summaryStub.entries.push({ kind: 'heading', text, level })
    return self()
  })
  summaryStub.addRaw.mockImplementation((text, addEOL) => {
    summaryStub.entries.push({ kind: 'raw', text, addEOL })
    return self()
  })
  summaryStub.addTable.mockImplementation((rows) => {
    summaryStub.entries.push({ kind: 'table', rows })
    return self()
  })
  summaryStub.addList.mockImplementation((items, ordered) => {
    summaryStub.entries.push({ kind: 'list', items, ordered })
    return self()
  })
  summaryStub.addEOL.mockImplementation(self)
  summaryStub.clear.mockImplementation(async () => {
    summaryStub.entries.length = 0
    return self()
  })
  summaryStub.write.mockImplementation(async () => {
    summaryStub.entries.push({ kind: 'write' })
    return self()
  })
  summaryStub.stringify.mockImplementation(() => JSON.stringify(summaryStub.entries))
  summaryStub.isEmptyBuffer.mockImplementation(() => summaryStub.entries.length === 0)
}

const mocks = [
  getInput,
  getBooleanInput,
  setSecret,
  setOutput,
  setFailed,
  debug,
  info,
  warning,
  error,
  notice,
  group,
  startGroup,
  endGroup,
  isDebug,
  summaryStub.addHeading,
  summaryStub.addRaw,
  summaryStub.addTable,
  summaryStub.addList,
  summaryStub.addEOL,
  summaryStub.write,
  summaryStub.clear,
  summaryStub.stringify,
  summaryStub.isEmptyBuffer,
]

/** Forgets every call, input and summary entry, and restores the default behaviour. */
export function resetCore(): void {
  for (const mock of mocks) mock.mockReset()
  inputs.clear()
  summaryStub.entries.length = 0
  install()
}

install()
