import { planInvalidation } from "../../functions/invalidate/plan";
import { median, progress, round, type BenchSection } from "./support";

/** CloudFront's price per invalidation path past the first 1,000 paths of a month (USD). */
const PRICE_PER_PATH_USD = 0.005;
/** Goals from the issue: under 1% of the seed's paths for the bulk workloads, planner under 50 ms. */
const BULK_RATIO_GOAL = 0.01;
const PLANNER_GOAL_MS = 50;

/** A deterministic pseudo-random sequence (the workloads are the same on every run). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) % 2 ** 32;
    return state / 2 ** 32;
  };
}

const workloads: Record<string, () => string[]> = {
  /** A site re-upload: 10,000 objects across 100 top-level prefixes, at varying depths. */
  "10000-updates-100-prefixes": () =>
    Array.from({ length: 10_000 }, (_, i) => {
      const prefix = `section-${String(i % 100).padStart(2, "0")}`;
      return i % 3 === 0 ? `${prefix}/page-${i}.html` : `${prefix}/assets/${i % 7}/file-${i}.css`;
    }),
  /** A batch job rewriting one folder. */
  "500-updates-one-prefix": () => Array.from({ length: 500 }, (_, i) => `images/products/${i}.jpg`),
  /** Everyday editing: 20 unrelated objects. */
  "20-scattered-updates": () => {
    const random = lcg(20);
    return Array.from(
      { length: 20 },
      (_, i) => `dir-${Math.floor(random() * 1000)}/sub-${Math.floor(random() * 50)}/item-${i}.html`,
    );
  },
};

/** Paths submitted per workload versus the seed's one path per update, and the planner's time. */
export const invalidation: BenchSection = ({ runs }) => {
  const results: Record<string, unknown> = {};
  for (const [name, build] of Object.entries(workloads)) {
    const keys = build();
    const paths = planInvalidation(keys);
    const seedPaths = keys.length;
    const ratio = paths.length / seedPaths;
    const exact = paths.every((path) => !path.endsWith("*"));
    results[name] = {
      updates: keys.length,
      seedPaths,
      paths: paths.length,
      wildcardPaths: paths.filter((path) => path.endsWith("*")).length,
      ratio: round(ratio, 5),
      seedCostUsd: round(seedPaths * PRICE_PER_PATH_USD, 3),
      costUsd: round(paths.length * PRICE_PER_PATH_USD, 3),
      sample: paths.slice(0, 5),
      ...(name.startsWith("20-")
        ? { exactPaths: exact, meetsGoal: exact && paths.length === seedPaths }
        : { goalRatio: BULK_RATIO_GOAL, meetsGoal: ratio < BULK_RATIO_GOAL }),
    };
    progress(`invalidation ${name}: ${seedPaths} updates → ${paths.length} path(s)`);
  }

  const keys = workloads["10000-updates-100-prefixes"]();
  const scattered = Array.from({ length: 10_000 }, (_, i) => `d${i % 997}/e${i % 89}/k-${i}`);
  const time = (batch: string[]) => {
    const samples: number[] = [];
    // Many short samples: the median resists a busy machine; min is the uncontended figure.
    for (let run = 0; run < Math.max(runs * 10, 30) + 2; run++) {
      const started = process.hrtime.bigint();
      planInvalidation(batch);
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return samples.slice(2); // the first runs warm up the JIT
  };
  for (const [label, batch] of [
    ["plannerMs10000Keys", keys],
    ["plannerMs10000ScatteredKeys", scattered],
  ] as const) {
    const samples = time(batch);
    results[label] = {
      samples: samples.length,
      median: round(median(samples), 2),
      min: round(Math.min(...samples), 2),
      goalMs: PLANNER_GOAL_MS,
      meetsGoal: median(samples) < PLANNER_GOAL_MS,
    };
    progress(`invalidation ${label}: median ${median(samples).toFixed(2)} ms`);
  }
  return results;
};
