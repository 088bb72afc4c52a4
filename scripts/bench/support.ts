import { fork, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../config";

/** One bench section: returns the figures it measured (JSON-serializable). */
export type BenchSection = (options: { readonly runs: number }) => unknown | Promise<unknown>;

/**
 * One figure over the runs of a section: every run's value, and their median, min and max. Every
 * section reports a measured figure in this shape, so that `--runs N` reads the same everywhere.
 */
export interface Sampled {
  readonly samples: number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Figures one run measured: numbers, possibly grouped (`{ concurrency4: { objectsPerSecond } }`). */
export type Figures = { readonly [name: string]: number | Figures };

/** The same figures, each a `Sampled` over the runs. */
export type SampledFigures<T extends Figures> = {
  readonly [K in keyof T]: T[K] extends number ? Sampled : T[K] extends Figures ? SampledFigures<T[K]> : never;
};

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

/** `values` (one per run, in run order) as a `Sampled`, rounded to `digits`. */
export function sampled(values: readonly number[], digits = 3): Sampled {
  if (values.length === 0) throw new Error("a figure needs at least one sample");
  return {
    samples: values.map((value) => round(value, digits)),
    median: round(median(values), digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
  };
}

/**
 * The figures of every run (same names in each), figure by figure, as `Sampled`s. A figure missing
 * from a run is a bug in the section: it throws rather than report fewer samples than runs.
 */
export function sampleFigures<T extends Figures>(runs: readonly T[], digits = 3): SampledFigures<T> {
  if (runs.length === 0) throw new Error("no runs to report");
  const result: Record<string, unknown> = {};
  for (const [name, first] of Object.entries(runs[0])) {
    const values = runs.map((run) => run[name]);
    if (typeof first === "number") {
      if (values.some((value) => typeof value !== "number")) throw new Error(`figure ${name} is missing from a run`);
      result[name] = sampled(values as number[], digits);
    } else {
      if (values.some((value) => typeof value !== "object"))
        throw new Error(`figure group ${name} is missing from a run`);
      result[name] = sampleFigures(values as Figures[], digits);
    }
  }
  return result as SampledFigures<T>;
}

/** Runs `measure` `runs` times, one after the other, and collects what each run returned. */
export async function repeat<T>(runs: number, measure: (run: number) => T | Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let run = 1; run <= runs; run++) results.push(await measure(run));
  return results;
}

/** Seconds since `started` (a `process.hrtime.bigint()`). */
export const secondsSince = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** Progress for humans goes to stderr; stdout carries only the JSON document. */
export const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

/** Runs a command `runs` times and reports its wall seconds. */
export function timeCommand(
  label: string,
  command: string,
  args: string[],
  runs: number,
  env: NodeJS.ProcessEnv = {},
  /** Runs before each timed run, untimed (emptying a cache, say). */
  prepare?: () => void,
): Sampled {
  const seconds: number[] = [];
  for (let run = 0; run < runs; run++) {
    prepare?.();
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: "utf8" });
    const elapsed = secondsSince(started);
    if (result.status !== 0) {
      throw new Error(`${label} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
    }
    seconds.push(elapsed);
    progress(`${label} run ${run + 1}/${runs}: ${elapsed.toFixed(2)} s`);
  }
  return sampled(seconds);
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

/** CPU milliseconds of a process by thread kind. */
export interface ThreadCpu extends Figures {
  /** The main thread: JavaScript and the event loop. */
  readonly eventLoop: number;
  /** libvips' worker threads: the pixels. */
  readonly libvips: number;
  /** Every other thread: libuv's threadpool (sharp's pipeline calls), V8's compiler and GC helpers. */
  readonly other: number;
}

/** CPU milliseconds each kind of thread of a process has used so far, from /proc/<pid>/task (zeros elsewhere). */
export function threadCpuMs(pid: number): ThreadCpu {
  const cpu = { eventLoop: 0, libvips: 0, other: 0 };
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return cpu;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime and stime in clock ticks (100 per second), as cpuSeconds reads them.
      const ms = (Number(fields[11]) + Number(fields[12])) * 10;
      const kind = tid === String(pid) ? "eventLoop" : name.startsWith("libvips") ? "libvips" : "other";
      cpu[kind] += ms;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return cpu;
}

/** CPU milliseconds per image by thread kind between two readings of `threadCpuMs`. */
export function threadCpuPerImage(before: ThreadCpu, after: ThreadCpu, images: number): ThreadCpu {
  return {
    eventLoop: (after.eventLoop - before.eventLoop) / images,
    libvips: (after.libvips - before.libvips) / images,
    other: (after.other - before.other) / images,
  };
}

/**
 * A bench helper in a process of its own: `script` (below the project, run under tsx) with an IPC
 * channel, which it serves until the channel closes. `stop` closes it and waits for the exit.
 */
export function forkWorker(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const child: ChildProcess = fork(join(PROJECT_ROOT, script), args, {
    cwd: PROJECT_ROOT,
    env,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.disconnect();
    await exited;
  };
  return { child, stop };
}
