import { resolve } from "node:path";

/** The repository root (config/ sits directly below it). */
export const PROJECT_ROOT = resolve(__dirname, "..");

/** Build outputs that are not Terraform: function bundles, terraform scratch directories. */
export const BUILD_DIR = resolve(PROJECT_ROOT, ".build");
