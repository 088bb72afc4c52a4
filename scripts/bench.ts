/**
 * npm run bench [-- --only synth,tests] [--runs N]
 *
 * Measures the figures the issues name and prints one JSON document on stdout (progress goes to
 * stderr). Every figure of a run comes from the same machine state, so ratios within it compare.
 * Every section measures its figures `--runs` times (default 3) and reports each as its samples
 * with their median, min and max (`sampled` in scripts/bench/support.ts); a figure labelled cold
 * says in its section what was emptied first. Each section lives in `scripts/bench/<topic>.ts`.
 */
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { plan, synth, tests } from "./bench/app";
import { invalidation } from "./bench/invalidation";
import { imagePackaging } from "./bench/image-packaging";
import { migrate } from "./bench/migrate";
import { migrateVsRcloneSection } from "./bench/migrate-rclone";
import { image } from "./bench/image";
import { objectStats } from "./bench/object-stats";
import type { BenchSection } from "./bench/support";

const sections: Record<string, BenchSection> = {
  synth,
  tests,
  plan,
  invalidation,
  "image-packaging": imagePackaging,
  migrate,
  migrateVsRclone: migrateVsRcloneSection,
  image,
  objectStats,
};

const USAGE = `npm run bench [-- --only a,b] [--runs N]

  --only a,b   the sections to run (default: all): ${Object.keys(sections).join(", ")}
  --runs N     how many times each section measures each figure (default 3); every figure is
               reported as its samples with their median, min and max

One JSON document on stdout (progress on stderr), with the machine and its load average at the
start and the end of the run: figures are comparable within one run on an otherwise idle machine.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: "string" }, runs: { type: "string", default: "3" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const selected = values.only ? values.only.split(",") : Object.keys(sections);
  const unknown = selected.filter((name) => !(name in sections));
  if (unknown.length > 0)
    throw new Error(`unknown bench section(s): ${unknown.join(", ")}; known: ${Object.keys(sections).join(", ")}`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${values.runs}"`);
  const started = new Date();
  const loadAtStart = loadavg();
  const results: Record<string, unknown> = {};
  for (const name of selected) results[name] = await sections[name]({ runs });
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    node: process.version,
    // 1, 5 and 15-minute load averages: near zero at the start on an idle machine.
    loadAverageAtStart: loadAtStart.map((load) => Math.round(load * 100) / 100),
    loadAverageAtEnd: loadavg().map((load) => Math.round(load * 100) / 100),
  };
  console.log(
    JSON.stringify(
      { date: started.toISOString(), finished: new Date().toISOString(), machine, runs, ...results },
      null,
      2,
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
