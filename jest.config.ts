import type { Config } from 'jest';

// Tests import the packages' TypeScript sources; worker threads load the compiled
// JavaScript of @wasmpool/worker (Jest transforms do not reach inside worker_threads),
// so `npm test` builds first.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/benchmarks', '<rootDir>/examples'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  moduleNameMapper: {
    '^@wasmpool/(pool|worker|metrics|cli)$': '<rootDir>/packages/$1/src/index.ts',
  },
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.cjs'],
  testTimeout: 60_000,
  maxWorkers: 2,
};

export default config;
