/**
 * npm run bench [-- --only synth,tests] [--runs N]
 *
 * Measures the figures the issues name and prints one JSON document on stdout (progress goes to
 * stderr). Every figure of a run comes from the same machine state, so ratios within it compare.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../config";

interface Timed {
  readonly seconds: number[];
  readonly median: number;
  readonly min: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/** Runs a command `runs` times (after one warm-up when asked) and reports wall seconds. */
function timeCommand(label: string, command: string, args: string[], runs: number, env: NodeJS.ProcessEnv = {}): Timed {
  const seconds: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: "utf8" });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
      throw new Error(`${label} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
    }
    seconds.push(round(elapsed));
    process.stderr.write(`bench: ${label} run ${run + 1}/${runs}: ${elapsed.toFixed(2)} s\n`);
  }
  return { seconds, median: round(median(seconds)), min: Math.min(...seconds) };
}

const sections: Record<string, (runs: number) => unknown> = {
  /** A full `npm run synth` (cdktf CLI, all stacks, bundles included) from a warm install. */
  synth(runs) {
    const outdir = mkdtempSync(join(tmpdir(), "s3-edge-bench-synth-"));
    try {
      const timed = timeCommand("npm run synth", "npm", ["run", "-s", "synth", "--", "--output", outdir], runs);
      return { ...timed, goalSeconds: 8, meetsGoal: timed.median < 8 };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  },
  /** The whole test suite, as CI runs it after install. */
  tests() {
    const timed = timeCommand("npm test", "npm", ["test", "--silent"], 1);
    return { ...timed, goalSeconds: 90, meetsGoal: timed.median < 90 };
  },
};

function main(): void {
  const { values } = parseArgs({ options: { only: { type: "string" }, runs: { type: "string", default: "3" } } });
  const selected = values.only ? values.only.split(",") : Object.keys(sections);
  const unknown = selected.filter((name) => !(name in sections));
  if (unknown.length > 0)
    throw new Error(`unknown bench section(s): ${unknown.join(", ")}; known: ${Object.keys(sections).join(", ")}`);
  const runs = Number(values.runs);
  const results: Record<string, unknown> = {};
  for (const name of selected) results[name] = sections[name](runs);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  console.log(JSON.stringify({ date: new Date().toISOString(), machine, ...results }, null, 2));
}

main();
