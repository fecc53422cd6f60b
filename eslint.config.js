// Lint: typescript-eslint's recommended type-aware rules, tuned for a library
// whose hot paths must not leak floating promises.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      // Aborted reads reject with signal.reason, typed any/unknown by design.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // node 22 keeps a link per call in a long-lived source signal (nodejs/node#54614): the SOAK heap drift.
      'no-restricted-properties': [
        'error',
        { object: 'AbortSignal', property: 'any', message: 'Use linkedSignal() from src/internal/abort.ts and dispose it when the request is done.' },
      ],
    },
  },
  {
    // A deprecated name stays for users until it goes (CHANGELOG.md); the code, tests and benchmarks call its new
    // name, so removing the old one is only removing it. Only the aliases' own tests call them.
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-deprecated': 'error' },
  },
  {
    files: ['test/pipeline/system-deprecated.test.ts', 'test/internal/deprecated.test.ts', 'test/cluster/control.test.ts'],
    rules: { '@typescript-eslint/no-deprecated': 'off' },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The package's install step: plain Node, run before anything is built.
    files: ['scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
  {
    // The dashboard: plain browser modules, served as they are (no build step).
    files: ['src/http/dashboard/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.browser },
  },
);
