// @ts-check
/**
 * Lint rules (docs/contributing.md says why each is here). Type-aware: typescript-eslint reads the
 * project through tsconfig.json, so a rule like no-floating-promises sees what a call returns.
 */
import { builtinModules, createRequire } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const require = createRequire(import.meta.url);
/** The import layers, shared with test/unit/layers.test.ts (docs/architecture.md#import-rules). */
const LAYERS = require('./layers.json');

/**
 * A file as a glob (`package.json` as `package.@(json)`): a zone's paths must be all globs or none,
 * and an extglob must not contain a slash.
 */
const fileGlob = (file) => file.replace(/\.(\w+)$/, '.@($1)');

/** The files of a layer unit, as globs: a folder (`src/client`), a single module (`src/main` is src/main.ts) or a file. */
const filesOf = (unit) => (unit.endsWith('.json') ? [fileGlob(unit)] : [`${unit}{.ts,/**}`]);

/** Every unit a rule names, as importer or imported (`package.json` is only ever imported). */
const ALL_UNITS = [...new Set([...Object.keys(LAYERS.units), ...Object.values(LAYERS.units).flat()])];

/**
 * One zone per unit: its files may import no other unit that its rule does not name. Imports from
 * test/, bench/ and outside the units are not checked (they are not layers).
 */
const layerZones = Object.entries(LAYERS.units).map(([unit, allowed]) => {
  const forbidden = ALL_UNITS.filter((other) => other !== unit && !allowed.includes(other));
  return {
    target: filesOf(unit),
    from: forbidden.flatMap(filesOf),
    message: `${unit} may import only ${allowed.join(', ') || 'nothing of andon'} (layers.json, docs/architecture.md).`,
  };
});

/** The HTTP client stays off Temporal: none of the modules that load it. */
layerZones.push({
  target: ['src/client/http/**'],
  from: LAYERS.httpClientForbidden.map(fileGlob),
  message: 'The HTTP client loads no Temporal code (layers.json, httpClientForbidden).',
});

/** Workflow code runs in Temporal's deterministic sandbox: only types from activities and Node. */
const workflowImports = {
  paths: builtinModules
    .filter((name) => !name.startsWith('_'))
    .flatMap((name) => [name, `node:${name}`])
    .map((name) => ({
      name,
      allowTypeImports: true,
      message: 'Workflow code runs in the deterministic sandbox: import only types from Node modules.',
    })),
  patterns: [
    {
      regex: '(^|/)activities(/|$)',
      allowTypeImports: true,
      message: 'Workflow code calls activities through proxyActivities: import only their types.',
    },
    {
      // Values from the other runtime folders only through their deterministic schema modules (layers.json).
      regex: valueModulesOnly(LAYERS.workflowValues),
      allowTypeImports: true,
      message: `Workflow code imports values only from src/protocol, src/session and ${LAYERS.workflowValues.join(', ')}.`,
    },
  ],
};

/**
 * A regex for an import of any module in the folders of `files` except `files` themselves:
 * ['src/agents/agent.ts'] gives `(^|/)src/agents/(?!(?:agent)$)`.
 */
function valueModulesOnly(files) {
  const byDir = new Map();
  for (const file of files) {
    const dir = file.slice(0, file.lastIndexOf('/'));
    byDir.set(dir, [...(byDir.get(dir) ?? []), file]);
  }
  const names = (list) => list.map((file) => file.slice(file.lastIndexOf('/') + 1).replace(/\.ts$/, '')).join('|');
  return [...byDir].map(([dir, list]) => `(^|/)${dir}/(?!(?:${names(list)})$)`).join('|');
}

export default defineConfig(
  { ignores: ['dist/', 'data/', 'coverage/', 'node_modules/', 'tools/', 'test/replay/histories/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // What import-x needs to parse the TypeScript files it follows (its own flat `typescript` config).
      'import-x/extensions': ['.ts', '.js', '.json'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: import.meta.dirname })],
    },
    rules: {
      // The type-aware rules that catch real bugs here; the rest of recommendedTypeChecked (no-unsafe-*)
      // would mostly flag JSON.parse results and test assertions.
      // A promise nobody awaits loses its error, and in workflow code its ordering.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowImports] },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' },
    },
  },
  prettier,
);
