/**
 * npm run bench [-- --only synth,tests] [--runs N]
 *
 * Measures the figures the issues name and prints one JSON document on stdout (progress goes to
 * stderr). Every figure of a run comes from the same machine state, so ratios within it compare.
 * Each section lives in `scripts/bench/<topic>.ts`.
 */
import { cpus } from "node:os";
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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: "string" }, runs: { type: "string", default: "3" } } });
  const selected = values.only ? values.only.split(",") : Object.keys(sections);
  const unknown = selected.filter((name) => !(name in sections));
  if (unknown.length > 0)
    throw new Error(`unknown bench section(s): ${unknown.join(", ")}; known: ${Object.keys(sections).join(", ")}`);
  const runs = Number(values.runs);
  const results: Record<string, unknown> = {};
  for (const name of selected) results[name] = await sections[name]({ runs });
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  console.log(JSON.stringify({ date: new Date().toISOString(), machine, ...results }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
