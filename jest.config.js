/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
    ],
  },
  setupFilesAfterEnv: ["<rootDir>/__tests__/support/setup.ts"],
  reporters: ["default", "<rootDir>/__tests__/support/slowest-suites-reporter.js"],
  // Synthesizing loads large provider bindings: allow for a cold cache on a 2-core machine.
  testTimeout: 60_000,
  // Many suites wait on terraform, local servers and child processes as much as on the CPU: three
  // workers finish the suite on two cores in about two thirds of the time one worker per spare core takes.
  maxWorkers: 3,
};
