/**
 * Packages published as ES modules only (`"type": "module"` with no `require` export): the AI SDK,
 * commander, and Octokit with the small packages it imports (universal-user-agent,
 * before-after-hook, content-type; its json-with-bigint has a CommonJS twin).
 */
const ESM_ONLY =
  '(?:ai|@ai-sdk/[^/]+|@workflow/serde|commander|@octokit/[^/]+|universal-user-agent|before-after-hook|content-type|@google/jules-sdk)';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx?$': ['@swc/jest'],
    // The AI SDK and Octokit ship ES modules only. Plain Node >= 22.12 require()s them, but jest's
    // module runtime does so only under --experimental-vm-modules; swc compiles these few packages to
    // CommonJS for the tests instead (docs/runtime.md). Keep this list and the one below in step.
    [`/node_modules/${ESM_ONLY}/.+\\.m?js$`]: ['@swc/jest'],
  },
  transformIgnorePatterns: [`/node_modules/(?!${ESM_ONLY}/)`],
  // The AI SDK imports zod's locale as `zod/v4/locales/en.js`, which zod maps to its ES module even
  // for require(); jest gets zod's CommonJS twin of the same file, as every other zod import does.
  moduleNameMapper: {
    '^zod/v4/locales/(.+)\\.js$': 'zod/v4/locales/$1.cjs',
    // @google/jules-sdk (the Jules door's tests drive it) exports only an `import` condition, which
    // jest's CommonJS resolver does not follow: point it at the bundle, which swc compiles above.
    '^@google/jules-sdk$': '<rootDir>/node_modules/@google/jules-sdk/dist/index.mjs',
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Tests talk to a real Temporal server; sessions take seconds, not milliseconds.
  testTimeout: 60_000,
  maxWorkers: 2,
  // The Temporal native runtime can keep a handle alive after every worker and connection is
  // closed (sdk-typescript #928); without this a green run could hang CI.
  forceExit: true,
};
