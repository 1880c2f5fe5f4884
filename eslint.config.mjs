import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

const pureFolders = [
  'src/inventory/**',
  'src/analysis/**',
  'src/ledger/**',
  'src/report/**',
  'src/scan/**',
]

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'examples/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/cli/**', 'src/cli.ts', 'script/**', 'bench/**', '__tests__/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // The pure core is a function of values: no I/O, no adapters (STYLE.md §3).
    files: pureFolders,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:fs', 'node:fs/*', 'fs', 'node:child_process'],
              message: 'pure code does no I/O',
            },
            {
              group: ['@actions/*', '@octokit/*', 'undici'],
              message: 'pure code talks to no service',
            },
            { group: ['**/adapters/**'], message: 'pure code imports no adapter' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/commands/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '@actions/*'],
              message: 'commands see ports, never adapters',
            },
          ],
        },
      ],
    },
  },
)
