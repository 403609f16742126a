/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/harness/node-environment.js',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.cache/'],
  // Native addons (onnxruntime, sqlite) and child processes: two workers on a 2-core machine.
  maxWorkers: 2,
  testTimeout: 30000,
};
