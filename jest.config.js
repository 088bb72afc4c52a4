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
  // Many suites wait on terraform, local servers and child processes as much as on the CPU, and one
  // (server-keepalive) idles for 65 s: four workers keep two cores busy (75-85 s against 82-86 s
  // with three, alternating runs on the 2-core machine).
  maxWorkers: 4,
};
