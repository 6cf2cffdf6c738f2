/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
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
