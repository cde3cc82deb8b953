// ESLint flat config: typescript-eslint with type information, Prettier owns formatting.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Value imports that would break the layering; `import type` stays allowed. */
const layerRule = (forbidden) => [
  'error',
  {
    patterns: forbidden.map((group) => ({
      group: [group],
      allowTypeImports: true,
      message: 'Layers depend one way (engine <- main <- renderer); import types only.',
    })),
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'release/', 'node_modules/', '.fixtures/', 'bench/results/', 'runs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [
            '*.js',
            'bin/*.js',
            'scripts/*.js',
            'vite.config.ts',
            'vitest.config.ts',
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // Shared by every layer, so it imports none of them, nor Node, Electron, React or tfjs.
    files: ['common/**'],
    rules: {
      'no-restricted-imports': layerRule([
        '**/engine/**',
        '**/main/**',
        '**/renderer/**',
        'node:*',
        'electron',
        'react',
        '@tensorflow/*',
      ]),
    },
  },
  {
    files: ['engine/**'],
    rules: {
      'no-restricted-imports': layerRule(['**/main/**', '**/renderer/**', 'electron', 'react']),
    },
  },
  {
    files: ['main/**'],
    rules: { 'no-restricted-imports': layerRule(['**/renderer/**', 'react']) },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': layerRule(['**/main/**', '**/engine/**', 'node:*', 'electron']),
    },
  },
  {
    // A sandboxed preload is CommonJS, where `import x = require()` is TypeScript's only form.
    files: ['main/preload.cts', 'main/engine-preload.cts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // CLI entry points and scripts talk to the terminal on purpose.
    files: ['bin/**', 'scripts/**', 'bench/**', 'engine/cli/**'],
    rules: { 'no-console': 'off' },
  },
  prettier,
);
