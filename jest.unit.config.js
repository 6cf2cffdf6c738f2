/**
 * `npm run test:unit`: the unit tests alone, with no Temporal dev server (jest.config.js starts one
 * for the whole suite). A unit test needs no server; one that does belongs in test/integration.
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  globalSetup: undefined,
  globalTeardown: undefined,
  testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
};
