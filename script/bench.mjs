// `npm run bench`: bundles bench/main.ts with esbuild (as script/build.mjs bundles the CLI)
// into a temporary folder and runs it from the repository root. Arguments pass through:
// `npm run bench -- --quick`. esbuild does no type-checking: `npm run typecheck` covers bench/.
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')

// ESM bundles of CommonJS dependencies still call require(); give them a real one (STYLE.md §6.4).
const banner =
  "import { createRequire as __createRequire } from 'node:module';\n" +
  'const require = __createRequire(import.meta.url);'

const dir = await mkdtemp(join(tmpdir(), 'keyward-bench-'))
try {
  const outfile = join(dir, 'bench.mjs')
  await build({
    entryPoints: [join(repo, 'bench/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: false,
    legalComments: 'none',
    banner: { js: banner },
    logLevel: 'warning',
    // undici 7 requires node:sqlite lazily; it does not exist on Node 20.
    external: ['node:sqlite'],
  })
  const child = spawn(process.execPath, [outfile, ...process.argv.slice(2)], {
    cwd: repo,
    stdio: 'inherit',
  })
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (status, signal) => resolve(status ?? (signal ? 1 : 0)))
  })
  process.exitCode = code
} finally {
  await rm(dir, { recursive: true, force: true })
}
