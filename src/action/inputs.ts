import * as core from '@actions/core'
import { UsageError } from '../errors.js'

export const ACTION_COMMANDS = ['validate', 'audit', 'report'] as const
export type ActionCommand = (typeof ACTION_COMMANDS)[number]

/** Every input of action.yml, parsed and checked once (STYLE §4.2). */
export interface ActionInputs {
  /** Which job to run. */
  command: ActionCommand
  /** Inventory path relative to the workspace. */
  config: string
  /** age identity text; empty when the vault should use SOPS_AGE_KEY(_FILE). */
  ageKey: string
  /** Token for the GitHub API. */
  githubToken: string
  /** Compute everything, write nothing. */
  dryRun: boolean
  /** Write budgets per run. */
  maxIssuesPerRun: number
  maxPrsPerRun: number
}

function positiveInteger(name: string): number {
  const raw = core.getInput(name).trim()
  if (!/^[1-9]\d*$/.test(raw))
    throw new UsageError(`input ${name} must be a positive whole number; got "${raw}"`)
  return Number(raw)
}

function booleanInput(name: string): boolean {
  try {
    return core.getBooleanInput(name)
  } catch {
    throw new UsageError(`input ${name} must be true or false; got "${core.getInput(name)}"`)
  }
}

/** Masks every line of a secret input (a multi-line identity file masks line by line). */
function maskLines(value: string): void {
  for (const line of value.split(/\r?\n/)) if (line.trim() !== '') core.setSecret(line.trim())
}

/** The only caller of core.getInput*. Secrets are masked before anything else happens. */
export function getInputs(): ActionInputs {
  const ageKey = core.getInput('age-key')
  const githubToken = core.getInput('github-token')
  maskLines(ageKey)
  maskLines(githubToken)

  const command = core.getInput('command').trim() || 'audit'
  if (!(ACTION_COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(
      `input command must be one of ${ACTION_COMMANDS.join(', ')}; got "${command}"`,
    )
  }
  const inputs: ActionInputs = {
    command: command as ActionCommand,
    config: core.getInput('config').trim() || 'keyward.yaml',
    ageKey,
    githubToken,
    dryRun: booleanInput('dry-run'),
    maxIssuesPerRun: positiveInteger('max-issues-per-run'),
    maxPrsPerRun: positiveInteger('max-prs-per-run'),
  }
  core.debug(
    `inputs: command=${inputs.command} config=${inputs.config} dry-run=${inputs.dryRun} ` +
      `max-issues-per-run=${inputs.maxIssuesPerRun} max-prs-per-run=${inputs.maxPrsPerRun} age-key=${ageKey ? '(set)' : '(empty)'}`,
  )
  return inputs
}
