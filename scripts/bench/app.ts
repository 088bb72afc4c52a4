import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { PROJECT_ROOT, TEST_SYNTH_CACHE_DIR } from "../../config/paths";
import { timeCommand, type BenchSection } from "./support";

/**
 * What these whole-command figures reuse: they measure a developer's everyday loop, not a clean
 * clone (the image-packaging section measures that part cold).
 */
const WARM = "warm: node_modules installed, the repository's .build (bundle index and zips, sharp and fonts) reused";

/** A full `npm run synth` (cdktf CLI, all stacks, bundles included) from a warm install. */
export const synth: BenchSection = ({ runs }) => {
  const outdir = mkdtempSync(join(tmpdir(), "s3-edge-bench-synth-"));
  try {
    const seconds = timeCommand("npm run synth", "npm", ["run", "-s", "synth", "--", "--output", outdir], runs);
    return { seconds, caches: WARM, goalSeconds: 8, meetsGoal: seconds.median < 8 };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};

/**
 * The whole test suite: as a developer reruns it (every cache warm), and as the first run after an
 * edit to the sources a synth reads (the test suite's synth cache emptied first).
 */
export const tests: BenchSection = ({ runs }) => {
  const seconds = timeCommand("npm test", "npm", ["test", "--silent"], runs);
  const afterSourceEdit = timeCommand("npm test, test synths emptied", "npm", ["test", "--silent"], runs, {}, () =>
    rmSync(TEST_SYNTH_CACHE_DIR, { recursive: true, force: true }),
  );
  return {
    seconds,
    afterSourceEdit: {
      seconds: afterSourceEdit,
      caches: `as above, but ${relative(PROJECT_ROOT, TEST_SYNTH_CACHE_DIR)} emptied`,
    },
    caches: `${WARM}, jest's transform cache and the test suite's synths reused`,
    goalSeconds: 90,
    meetsGoal: seconds.median < 90,
  };
};

/**
 * `npm run validate -- --plan` on the default app: init, validate and an offline plan of every AWS
 * stack in apply order (the plugin cache is warm after the first run).
 */
export const plan: BenchSection = ({ runs }) => ({
  seconds: timeCommand("npm run validate -- --plan", "npm", ["run", "-s", "validate", "--", "--plan"], runs),
  caches: `${WARM}, terraform's plugin cache warm after the first run`,
});
