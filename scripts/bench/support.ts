import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { PROJECT_ROOT } from "../../config";

/** One bench section: returns the figures it measured (JSON-serializable). */
export type BenchSection = (options: { readonly runs: number }) => unknown | Promise<unknown>;

export interface Timed {
  readonly seconds: number[];
  readonly median: number;
  readonly min: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The value at quantile `q` (0..1) of `values`, nearest-rank. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Progress for humans goes to stderr; stdout carries only the JSON document. */
export const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

/** Runs a command `runs` times and reports wall seconds. */
export function timeCommand(
  label: string,
  command: string,
  args: string[],
  runs: number,
  env: NodeJS.ProcessEnv = {},
): Timed {
  const seconds: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: "utf8" });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
      throw new Error(`${label} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
    }
    seconds.push(round(elapsed));
    progress(`${label} run ${run + 1}/${runs}: ${elapsed.toFixed(2)} s`);
  }
  return { seconds, median: round(median(seconds)), min: Math.min(...seconds) };
}

/** CPU seconds (user + system) a process has used so far, from /proc (undefined elsewhere). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime are fields 14 and 15 of stat(5), counted from the state field (3) here.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
