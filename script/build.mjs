// Bundles the action (dist/index.js) and the CLI (dist/cli.js) with esbuild.
// esbuild does no type-checking: `npm run typecheck` stays in the gate.
import { build } from 'esbuild'
import { rm } from 'node:fs/promises'

// ESM bundles of CommonJS dependencies still call require(); give them a real one (STYLE.md §6.4).
const banner =
  "import { createRequire as __createRequire } from 'node:module';\n" +
  'const require = __createRequire(import.meta.url);'

await rm('dist', { recursive: true, force: true })
const common = {
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
}
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' })
await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  banner: { js: '#!/usr/bin/env node\n' + banner },
})
