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
  // Synthesizing loads large provider bindings: allow for a cold cache on a 2-core machine.
  testTimeout: 60_000,
};
