import { resolve } from "node:path";

/** The repository root (config/ sits directly below it). */
export const PROJECT_ROOT = resolve(__dirname, "..");

/** Build outputs that are not Terraform: function bundles, terraform scratch directories. */
export const BUILD_DIR = resolve(PROJECT_ROOT, ".build");

/** The test suite's synths, reused while the sources they read are unchanged (__tests__/support/synth.ts). */
export const TEST_SYNTH_CACHE_DIR = resolve(BUILD_DIR, "test-synths");
