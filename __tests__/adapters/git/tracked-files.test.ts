import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import {
  listTrackedFiles,
  MAX_SCANNED_BYTES,
  scanRepository,
} from '../../../src/adapters/git/tracked-files.js'
import { sampleKey } from '../../scan/sample-keys.js'

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

function git(cwd: string, ...args: string[]): void {
  execFileSync(
    'git',
    [
      '-c',
      'user.email=test@example.com',
      '-c',
      'user.name=Test',
      '-c',
      'commit.gpgsign=false',
      ...args,
    ],
    { cwd, stdio: 'pipe' },
  )
}

async function write(root: string, file: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(join(root, file)), { recursive: true })
  await writeFile(join(root, file), content)
}

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'keyward-scan-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('scanRepository in a git repository', () => {
  it('reports keys in tracked files only, at file:line:column, honouring scan settings', async () => {
    const openai = sampleKey('openai-project')
    const groq = sampleKey('groq')
    const allowed = sampleKey('perplexity')
    await write(root, 'gov/keyward.yaml', 'version: 1\n')
    await write(root, 'gov/vendor/lib.js', `const k = "${groq}"\n`) // ignored: gov/ is the base
    await write(root, 'vendor/lib.js', `const k = "${groq}"\n`) // not under gov/: scanned
    await write(root, 'app/.env', `# app\nPORT=8080\nOPENAI_API_KEY=${openai}\n`)
    await write(root, 'tests/fixture.txt', `token ${allowed}\n`)
    await write(root, 'gov/keys/a.sops.yaml', `api_key: ENC[AES256_GCM,data:${groq},type:str]\n`)
    await write(root, 'logo.png', new Uint8Array([0x89, 0x50, 0, 0, ...Buffer.from(openai)]))
    await write(root, 'big.log', `${openai}\n${'x'.repeat(MAX_SCANNED_BYTES)}`)
    await symlink('app/.env', join(root, 'link.env'))
    git(root, 'init', '-q', '-b', 'main')
    git(root, 'add', '.')
    git(root, 'commit', '-q', '-m', 'initial')
    // Staged but not committed: tracked, so scanned.
    await write(root, 'staged.txt', `\n\n  ${groq}\n`)
    git(root, 'add', 'staged.txt')
    // Never added: not scanned (SPEC §3 scopes exposed-key to tracked files).
    await write(root, 'untracked.env', `KEY=${openai}\n`)

    const result = await scanRepository(root, {
      ignorePaths: ['vendor/**'],
      allow: [`sha256:${sha256(allowed)}`],
      baseDir: 'gov',
    })

    expect(result.source).toBe('git')
    expect(result.hits.map((h) => `${h.file}:${h.line}:${h.column} ${h.kind}`)).toEqual([
      'app/.env:3:16 openai-project',
      'staged.txt:3:3 groq',
      'vendor/lib.js:1:12 groq',
    ])
    expect(result.skipped).toEqual([
      { file: 'big.log', reason: 'too-large' },
      { file: 'gov/vendor/lib.js', reason: 'ignored' },
      { file: 'link.env', reason: 'not-a-file' },
      { file: 'logo.png', reason: 'binary' },
    ])
    // keyward.yaml, a.sops.yaml, fixture.txt, .env, staged.txt, vendor/lib.js
    expect(result.scannedFiles).toBe(6)
    expect(JSON.stringify(result)).not.toContain(openai)
    expect(JSON.stringify(result)).not.toContain(groq)
  })

  it('reports a tracked file deleted from the work tree as unreadable', async () => {
    await write(root, 'gone.txt', 'x\n')
    git(root, 'init', '-q', '-b', 'main')
    git(root, 'add', '.')
    await rm(join(root, 'gone.txt'))

    const result = await scanRepository(root, { ignorePaths: [], allow: [] })

    expect(result.skipped).toEqual([{ file: 'gone.txt', reason: 'unreadable' }])
    expect(result.scannedFiles).toBe(0)
  })

  it('lists paths relative to a root below the top level of the repository', async () => {
    await write(root, 'gov/keyward.yaml', 'version: 1\n')
    await write(root, 'gov/docs/readme with space.md', 'x\n')
    await write(root, 'other/file.txt', 'x\n')
    git(root, 'init', '-q', '-b', 'main')
    git(root, 'add', '.')

    expect(await listTrackedFiles(join(root, 'gov'))).toEqual({
      files: ['docs/readme with space.md', 'keyward.yaml'],
      source: 'git',
    })
  })
})

describe('scanRepository outside a git repository', () => {
  it('walks the folder instead, skipping node_modules', async () => {
    const key = sampleKey('huggingface')
    await write(root, 'keyward.yaml', `note: ${key}\n`)
    await write(root, 'node_modules/pkg/index.js', `"${key}"\n`)
    await write(root, 'sub/dir/file.txt', `\n${key}\n`)

    const result = await scanRepository(root, { ignorePaths: [], allow: [] })

    expect(result.source).toBe('walk')
    expect(result.hits.map((h) => `${h.file}:${h.line}:${h.column}`)).toEqual([
      'keyward.yaml:1:7',
      'sub/dir/file.txt:2:1',
    ])
    expect(result.scannedFiles).toBe(2)
  })

  it('lists nothing for an empty folder', async () => {
    expect(await listTrackedFiles(root)).toEqual({ files: [], source: 'walk' })
  })

  it('fails with a clear message when git cannot run there, rather than guessing', async () => {
    await write(root, 'file.txt', 'x\n')

    await expect(listTrackedFiles(join(root, 'file.txt'))).rejects.toThrow(
      /^cannot list the files git tracks in .*file\.txt: /,
    )
  })
})
