import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { objectCreated } from "../../testing/aws-events";
import { localAwsEnv } from "../../testing/local-servers";
import { sqsRecord } from "../../testing/sqs";
import { startVersionedS3 } from "../../testing/versioned-s3rver";
import { CLOUDFRONT_INVALIDATION_PATH_PRICE_USD as PRICE_PER_PATH_USD } from "../../config/aws-facts";
import { ENVIRONMENT } from "../../functions/invalidate/environment";
import {
  DEFAULT_EXACT_PATH_LIMIT as DEFAULT_INVALIDATION_EXACT_PATH_LIMIT,
  keyPath,
  planInvalidation,
  type PlanOptions,
} from "../../functions/invalidate/plan";
import { MIGRATION_WRITE_METADATA, MigrationWrite } from "../../functions/shared/migration-write";
import { median, progress, repeat, round, sampled, sampleFigures, type BenchSection } from "./support";
import { DEFAULT_INVALIDATION_BATCH_SIZE } from "../../constructs/defaults";

/** Goals from the issue: under 1% of the seed's paths for the bulk workloads, planner under 50 ms. */
const BULK_RATIO_GOAL = 0.01;
const PLANNER_GOAL_MS = 50;
/** Exact-path limits compared on every workload (the default among them). */
const CANDIDATE_LIMITS = [15, 50, 100, 200, 500, 1_000];

/** A deterministic pseudo-random sequence (the workloads are the same on every run). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) % 2 ** 32;
    return state / 2 ** 32;
  };
}

/** A batch of changed keys and the bucket they live in (a synthetic listing, the changed keys included). */
interface Workload {
  readonly changed: string[];
  readonly listing: string[];
}

const site = (i: number) => {
  const prefix = `section-${String(i % 100).padStart(2, "0")}`;
  return i % 3 === 0 ? `${prefix}/page-${i}.html` : `${prefix}/assets/${i % 7}/file-${i}.css`;
};

const workloads: Record<string, () => Workload> = {
  /** A site re-upload: 10,000 objects across 100 top-level prefixes of a 50,000-object site. */
  "10000-updates-100-prefixes": () => ({
    changed: Array.from({ length: 10_000 }, (_, i) => site(i)),
    listing: Array.from({ length: 50_000 }, (_, i) => site(i)),
  }),
  /** A batch job rewriting 500 of the 2,000 products' images, in a bucket of 20,000 objects. */
  "500-updates-one-prefix": () => ({
    changed: Array.from({ length: 500 }, (_, i) => `images/products/${i * 4}.jpg`),
    listing: [
      ...Array.from({ length: 2_000 }, (_, i) => `images/products/${i}.jpg`),
      ...Array.from({ length: 18_000 }, (_, i) => `images/banners/${i % 90}/${i}.jpg`),
    ],
  }),
  /** A busy editorial day: 200 updates in 20 of 100 folders of 500 objects each. */
  "200-updates-20-folders": () => ({
    changed: Array.from({ length: 200 }, (_, i) => `articles/${(i % 20) * 5}/story-${Math.floor(i / 20) * 50}.html`),
    listing: Array.from({ length: 50_000 }, (_, i) => `articles/${i % 100}/story-${Math.floor(i / 100)}.html`),
  }),
  /** Everyday editing: 20 unrelated objects of 50,000 directories. */
  "20-scattered-updates": () => {
    const random = lcg(20);
    const changed = Array.from(
      { length: 20 },
      (_, i) => `dir-${Math.floor(random() * 1000)}/sub-${Math.floor(random() * 50)}/item-${i}.html`,
    );
    const listing = Array.from({ length: 50_000 }, (_, i) => `dir-${i % 1000}/sub-${i % 50}/item-${i}.html`);
    return { changed, listing: [...new Set([...listing, ...changed])] };
  },
};

/**
 * Objects that did not change but that the paths invalidate: each is a cache miss the batch
 * causes for nothing (an origin fetch, or an image processed again).
 */
function collateral(paths: readonly string[], workload: Workload): number {
  const changed = new Set(workload.changed);
  const exact = new Set(paths.filter((path) => !path.endsWith("*")));
  const wildcards = paths.filter((path) => path.endsWith("*")).map((path) => path.slice(0, -1));
  let count = 0;
  for (const key of workload.listing) {
    if (changed.has(key)) continue;
    const path = keyPath(key);
    if (exact.has(path) || wildcards.some((prefix) => path.startsWith(prefix))) count++;
  }
  return count;
}

function planFigures(workload: Workload, options: PlanOptions) {
  const paths = planInvalidation(workload.changed, options);
  return {
    paths: paths.length,
    wildcardPaths: paths.filter((path) => path.endsWith("*")).length,
    costUsd: round(paths.length * PRICE_PER_PATH_USD, 3),
    collateralObjects: collateral(paths, workload),
  };
}

/**
 * Issue 10 part 1: 10,000 S3 events, 9,000 of them the migration's creations, through the handler
 * in batches of the default size against s3rver (with versioning) holding every version; CloudFront
 * mocked at the SDK boundary. Paths created with the marker check, and without it.
 */
async function migrationWrites(runs: number) {
  const bucket = "s3edge-bench-primary";
  const server = await startVersionedS3([bucket]);
  const savedEnv = { ...process.env };
  Object.assign(process.env, localAwsEnv(server.endpoint), {
    [ENVIRONMENT.distributionId]: "EBENCH0000001",
    [ENVIRONMENT.exactPathLimit]: String(DEFAULT_INVALIDATION_EXACT_PATH_LIMIT),
    [ENVIRONMENT.migrationBucket]: bucket,
    POWERTOOLS_LOG_LEVEL: "SILENT",
    // stdout carries only the bench's JSON document (the handler prints its figures as EMF there otherwise).
    POWERTOOLS_METRICS_DISABLED: "true",
  });
  const cloudFront = mockClient(CloudFrontClient);
  cloudFront.on(CreateInvalidationCommand).resolves({
    Invalidation: { Id: "I", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined },
  });
  const s3 = new S3Client({ requestChecksumCalculation: "WHEN_REQUIRED" });
  try {
    const keys = Array.from({ length: 10_000 }, (_, i) => site(i));
    // The owner keeps editing 10 of the 100 sections while the migration copies the site.
    const owner = new Set(keys.filter((_, i) => i % 100 < 10));
    const versions = new Map<string, string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys.length) {
          const key = keys[next++];
          const output = await s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: key,
              Metadata: owner.has(key) ? undefined : { [MIGRATION_WRITE_METADATA]: MigrationWrite.created },
            }),
          );
          versions.set(key, output.VersionId!);
        }
      }),
    );
    progress("invalidation migration-writes: 10,000 objects written");
    const { handler } = (await import("../../functions/invalidate/index")) as {
      handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    };
    const context = { getRemainingTimeInMillis: () => 120_000 } as unknown as Context;
    const batches: string[][] = [];
    for (let i = 0; i < keys.length; i += DEFAULT_INVALIDATION_BATCH_SIZE)
      batches.push(keys.slice(i, i + DEFAULT_INVALIDATION_BATCH_SIZE));
    // The same events `runs` times (a redelivery): the paths must be the same on every pass.
    let pathsWithCheck: string[][] = [];
    let heads = 0;
    const passes = await repeat(runs, async (run) => {
      cloudFront.resetHistory();
      const headsBefore = server.heads.length;
      const batchMs: number[] = [];
      for (const batch of batches) {
        const records = batch.map((key) =>
          sqsRecord(`m-${key}`, objectCreated(key, key.length, { bucket, versionId: versions.get(key)! })),
        );
        const started = process.hrtime.bigint();
        const response = await handler({ Records: records }, context);
        batchMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (response.batchItemFailures.length > 0) throw new Error("the bench batch had failures");
      }
      const paths = cloudFront
        .commandCalls(CreateInvalidationCommand)
        .map((call) => call.args[0].input.InvalidationBatch?.Paths?.Items ?? []);
      if (run > 1 && JSON.stringify(paths) !== JSON.stringify(pathsWithCheck))
        throw new Error(`pass ${run} invalidated other paths than pass 1`);
      pathsWithCheck = paths;
      heads = server.heads.length - headsBefore;
      progress(`invalidation migration-writes pass ${run}/${runs}: median ${median(batchMs).toFixed(1)} ms a batch`);
      return { median: median(batchMs), max: Math.max(...batchMs) };
    });
    const pathsWithoutCheck = batches.map((batch) =>
      planInvalidation(batch, { exactPathLimit: DEFAULT_INVALIDATION_EXACT_PATH_LIMIT }),
    );
    // What each batch purged besides its owner writes (the migration's copies did not change).
    const purgedForNothing = (paths: string[][]) =>
      paths.reduce(
        (sum, batchPaths, index) =>
          sum + collateral(batchPaths, { changed: batches[index].filter((key) => owner.has(key)), listing: keys }),
        0,
      );
    const withCheck = pathsWithCheck.flat();
    const withoutCheck = pathsWithoutCheck.flat();
    progress(
      `invalidation migration-writes: ${withCheck.length} path(s) with the check, ${withoutCheck.length} without`,
    );
    return {
      events: keys.length,
      migrationWrites: keys.length - owner.size,
      ownerWrites: owner.size,
      batches: batches.length,
      headsPerPass: heads,
      pathsCreated: withCheck.length,
      wildcardPaths: withCheck.filter((path) => path.endsWith("*")).length,
      collateralObjects: purgedForNothing(pathsWithCheck),
      pathsWithoutCheck: withoutCheck.length,
      collateralObjectsWithoutCheck: purgedForNothing(pathsWithoutCheck),
      passes: runs,
      // Per pass over the batches: the median batch and the slowest one.
      handlerMsPerBatch: sampleFigures(passes, 1),
    };
  } finally {
    s3.destroy();
    cloudFront.restore();
    process.env = savedEnv;
    await server.close();
  }
}

/** Paths, cost and collateral per workload at the default limit and at the candidates. */
export const invalidation: BenchSection = async ({ runs }) => {
  const results: Record<string, unknown> = {};
  for (const [name, build] of Object.entries(workloads)) {
    const workload = build();
    const seedPaths = workload.changed.length;
    const figures = planFigures(workload, { exactPathLimit: DEFAULT_INVALIDATION_EXACT_PATH_LIMIT });
    const ratio = figures.paths / seedPaths;
    const paths = planInvalidation(workload.changed, { exactPathLimit: DEFAULT_INVALIDATION_EXACT_PATH_LIMIT });
    results[name] = {
      updates: seedPaths,
      listedObjects: workload.listing.length,
      seedPaths,
      seedCostUsd: round(seedPaths * PRICE_PER_PATH_USD, 3),
      ...figures,
      ratio: round(ratio, 5),
      sample: paths.slice(0, 5),
      ...(name.startsWith("20-")
        ? { meetsGoal: figures.wildcardPaths === 0 && figures.paths === seedPaths }
        : name.startsWith("10000-") || name.startsWith("500-")
          ? { goalRatio: BULK_RATIO_GOAL, meetsGoal: ratio < BULK_RATIO_GOAL }
          : {}),
      byExactPathLimit: Object.fromEntries(
        CANDIDATE_LIMITS.map((limit) => [limit, planFigures(workload, { exactPathLimit: limit })]),
      ),
      // The image distributions invalidate `/key*`: each path is a wildcard (at most 15).
      imageDistribution: planFigures(workload, {
        exactPathLimit: DEFAULT_INVALIDATION_EXACT_PATH_LIMIT,
        queryStringVariants: true,
      }),
    };
    progress(
      `invalidation ${name}: ${seedPaths} updates → ${figures.paths} path(s), ${figures.collateralObjects} unchanged object(s) purged`,
    );
  }
  results["10000-events-9000-migration-writes"] = await migrationWrites(runs);

  const keys = workloads["10000-updates-100-prefixes"]().changed;
  const scattered = Array.from({ length: 10_000 }, (_, i) => `d${i % 997}/e${i % 89}/k-${i}`);
  const time = (batch: string[]) => {
    const samples: number[] = [];
    // Many short samples: the median resists a busy machine; min is the uncontended figure.
    for (let run = 0; run < Math.max(runs * 10, 30) + 2; run++) {
      const started = process.hrtime.bigint();
      planInvalidation(batch, { exactPathLimit: DEFAULT_INVALIDATION_EXACT_PATH_LIMIT });
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
      ...sampled(samples, 2),
      goalMs: PLANNER_GOAL_MS,
      meetsGoal: median(samples) < PLANNER_GOAL_MS,
    };
    progress(`invalidation ${label}: median ${median(samples).toFixed(2)} ms`);
  }
  return results;
};
