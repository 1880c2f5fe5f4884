import { describe, expect, it } from '@jest/globals'
import { mkdtemp, readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main, type CliDeps } from '../../src/cli/main.js'
import { productionDeps } from '../../src/cli/wiring.js'
import { fixedClock } from '../../test/fakes/fixed-clock.js'

function sink() {
  const out = { text: '', write: (t: string) => void (out.text += t) }
  return out
}

/** The real CLI adapters, in a temp HOME with no age identity, at a fixed time. */
async function arrange() {
  const home = await mkdtemp(join(tmpdir(), 'keyward-init-home-'))
  const cwd = await mkdtemp(join(tmpdir(), 'keyward-init-'))
  const stdout = sink()
  const stderr = sink()
  const deps: CliDeps = {
    ...productionDeps(),
    stdout,
    stderr,
    cwd,
    env: { PATH: process.env.PATH, HOME: home },
    interactive: false,
    clock: fixedClock('2026-11-27T12:00:00Z'),
  }
  return { home, cwd, stdout, stderr, deps }
}

describe('keyward init', () => {
  it('scaffolds a governance repository and an age identity where sops looks for it', async () => {
    const h = await arrange()

    const code = await main(['init', 'gov'], h.deps)

    expect(code).toBe(0)
    for (const file of [
      'keyward.yaml',
      '.sops.yaml',
      '.github/workflows/keyward.yml',
      'README.md',
      '.gitignore',
    ]) {
      expect((await stat(join(h.cwd, 'gov', file))).isFile()).toBe(true)
    }
    const keysFile = join(h.home, '.config/sops/age/keys.txt')
    expect((await stat(keysFile)).mode & 0o777).toBe(0o600)
    const identity = await readFile(keysFile, 'utf8')
    expect(identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/m)
    expect(await readFile(join(h.cwd, 'gov/.sops.yaml'), 'utf8')).toMatch(/age: age1[0-9a-z]{58}\n/)
    expect(await readFile(join(h.cwd, 'gov/keyward.yaml'), 'utf8')).toContain('created: 2026-11-27')
    expect(h.stderr.text).toContain('KEYWARD_AGE_KEY')
    // The secret itself is never printed.
    expect(h.stdout.text + h.stderr.text).not.toContain(
      identity.match(/AGE-SECRET-KEY-1\S+/)?.[0] ?? '-',
    )
  })

  it('leaves what validate reports to the key files still to add, each naming its vault add command', async () => {
    const h = await arrange()
    await main(['init', 'gov'], h.deps)
    const out = sink()

    const code = await main(['validate', '--config', 'gov/keyward.yaml', '--format', 'json'], {
      ...h.deps,
      stdout: out,
    })

    expect(code).toBe(1)
    const { findings } = JSON.parse(out.text) as { findings: { rule: string; message: string }[] }
    expect(findings.map((f) => f.rule)).toEqual(['missing-secret', 'missing-secret'])
    expect(findings.map((f) => /`(keyward vault add [^`]+)`/.exec(f.message)?.[1])).toEqual([
      'keyward vault add --admin openai',
      'keyward vault add my-app-openai',
    ])
  })

  it('never overwrites an existing file, and uses the identity already set up', async () => {
    const h = await arrange()
    await mkdir(join(h.cwd, 'gov'), { recursive: true })
    await writeFile(join(h.cwd, 'gov/keyward.yaml'), 'mine\n')
    await main(['init', 'gov'], h.deps)
    const identity = await readFile(join(h.home, '.config/sops/age/keys.txt'), 'utf8')

    const code = await main(['init', 'gov'], { ...h.deps, stdout: sink(), stderr: sink() })

    expect(code).toBe(0)
    expect(await readFile(join(h.cwd, 'gov/keyward.yaml'), 'utf8')).toBe('mine\n')
    expect(h.stdout.text).toContain('kept     keyward.yaml (exists; not overwritten)')
    expect(await readFile(join(h.home, '.config/sops/age/keys.txt'), 'utf8')).toBe(identity)
  })
})
