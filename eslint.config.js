import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import studio from './eslint-rules/layers.js';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'out/', '.cache/', 'playwright-report/', 'release/', '.tsbuild/', 'sample/', 'test-results/', 'electron/pipeline/onnx/generated/', 'eslint-rules/fixtures/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Every linted file, JavaScript too: the layering rule fails closed (a file in no layer is an error).
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.mjs', '**/*.cjs'],
    plugins: { studio },
    rules: { 'studio/layers': 'error' },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
);
