import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timeCommand, type BenchSection } from "./support";

/** A full `npm run synth` (cdktf CLI, all stacks, bundles included) from a warm install. */
export const synth: BenchSection = ({ runs }) => {
  const outdir = mkdtempSync(join(tmpdir(), "s3-edge-bench-synth-"));
  try {
    const timed = timeCommand("npm run synth", "npm", ["run", "-s", "synth", "--", "--output", outdir], runs);
    return { ...timed, goalSeconds: 8, meetsGoal: timed.median < 8 };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};

/** The whole test suite, as CI runs it after install. */
export const tests: BenchSection = () => {
  const timed = timeCommand("npm test", "npm", ["test", "--silent"], 1);
  return { ...timed, goalSeconds: 90, meetsGoal: timed.median < 90 };
};

/**
 * `npm run validate -- --plan` on the default app: init, validate and an offline plan of every AWS
 * stack in apply order (the plugin cache is warm after the first run).
 */
export const plan: BenchSection = ({ runs }) =>
  timeCommand("npm run validate -- --plan", "npm", ["run", "-s", "validate", "--", "--plan"], runs);
