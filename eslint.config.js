// @ts-check
// ESLint 9 flat config, run by `npm run lint` (and so by `npm test`) with --max-warnings=0.
// TypeScript is linted with typescript-eslint's type-checked rule sets (strict + stylistic) plus the
// rules ../shared/STYLE.md (Lint) adopts from Medplum's eslint-config.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));

/** Rules for every file, TypeScript or the sandbox's browser JavaScript. */
const common = {
  curly: ['error', 'all'],
  eqeqeq: ['error', 'always'],
  // One import statement per module; `import type` from the same module may stay separate.
  'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
  // Numbers in messages and ids are the norm here and print as expected; strict's default forbids them.
  '@typescript-eslint/restrict-template-expressions': [
    'error',
    { allowNumber: true, allowAny: false, allowBoolean: false, allowNullish: false, allowRegExp: false, allowNever: false },
  ],
  // noUncheckedIndexedAccess types every a[i] as possibly undefined; `a[i]!` after a bounds check is the idiom.
  '@typescript-eslint/no-non-null-assertion': 'off',
  // `async` without `await` is how a synchronous implementation (SQLite, test fakes) meets a Promise
  // interface while still turning a throw into a rejection.
  '@typescript-eslint/require-await': 'off',
  // A `default:` branch is a deliberate catch-all (FHIR resource types, open code systems).
  '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
  // `s || fallback` on a string deliberately treats '' (an empty header or env var) as missing, and
  // `a?.includes(x) || b` is a boolean or: `??` would skip `b` when `a` holds false.
  '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true, boolean: true } }],
  '@typescript-eslint/no-unused-vars': [
    'error',
    { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
  ],
};

export default defineConfig(
  {
    // The .gitignore'd outputs, plus generated FHIR artifacts.
    ignores: ['dist/', 'out/', 'var/', '.cache/', '.gl/', 'test/artifacts/', 'bench/.scratch/', 'fhir-profiles/'],
  },
  {
    files: ['**/*.ts'],
    extends: [eslint.configs.recommended, tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      // tsconfig.json covers src, test and bench; scripts/tsconfig.json covers scripts.
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      ...common,
      // Declared functions and methods state their return type; a function expression inside an
      // object literal or call (a store's methods, a callback) is typed by the interface it meets.
      '@typescript-eslint/explicit-function-return-type': ['error', { allowExpressions: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises that the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
    },
  },
  {
    // Tests and their helpers probe untyped JSON (HTTP bodies, CLI stdout, manifest files) and assert
    // on its shape; a cast per probe would prove nothing the assertion does not.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Test helpers such as fhirRequest<T>() name the type a JSON body is expected to have.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      // An assertion message that prints `undefined` says what was missing.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowNullish: true, allowAny: true, allowBoolean: false, allowRegExp: false, allowNever: false }],
    },
  },
  {
    // Conformance resources are read from JSON and cast to Medplum's types, which mark spec-required
    // elements (ElementDefinition.path, CodeSystem.content) as always set; the `??` fallbacks guard
    // partial or hand-edited files.
    files: ['src/tools/profiles/**/*.ts'],
    rules: { '@typescript-eslint/no-unnecessary-condition': 'off' },
  },
  {
    // The sandbox's browser scripts: plain JS with JSDoc types, type-checked by their own tsconfig.
    files: ['src/sandbox/public/*.js'],
    extends: [eslint.configs.recommended, tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      sourceType: 'module',
      parserOptions: { project: ['src/sandbox/tsconfig.browser.json'], tsconfigRootDir: root },
    },
    rules: {
      ...common,
      // Browser globals (document, fetch, crypto) are checked by tsc's checkJs against lib.dom.
      'no-undef': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      // Async DOM event listeners: the browser drops the returned promise, and each handler reports
      // its own failures in the page.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: ['eslint.config.js'],
    extends: [eslint.configs.recommended],
  },
);
