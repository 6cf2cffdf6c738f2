module.exports = { testEnvironment: 'node', transform: { '^.+\\.tsx?$': ['@swc/jest'] }, testMatch: ['<rootDir>/test/**/*.test.ts'] };
