/**
 * npm run migrate -- (--source-bucket NAME [--source-endpoint URL] [--source-region R]
 *                    [--source-addressing path|virtual-hosted] [--source-secret ID] | --source-url URL)
 *                    --bucket NAME [--prefix P] [--keys-from FILE] [--concurrency N] [--dry-run]
 *                    [--enqueue [--queue-url URL]] [--progress-interval S]
 *
 * Bulk migration from the legacy store into an S3 bucket, with the copy engine the backfill worker
 * uses. The store is a bucket behind an S3 API (GCS's XML API by default; any S3-compatible store
 * with --source-endpoint, its SigV4 --source-region and --source-addressing) or, with --source-url,
 * a public HTTP(S) origin, which cannot be listed: --keys-from names the keys (one a line). Source
 * credentials: --source-secret (a Secrets Manager secret `{"accessKeyId","secretAccessKey"}`, as
 * the worker reads), else SOURCE_ACCESS_KEY_ID / SOURCE_SECRET_ACCESS_KEY, anonymous when absent.
 * The destination uses the AWS SDK's standard configuration (AWS_REGION, credentials,
 * AWS_ENDPOINT_URL_S3, ...).
 *
 * Progress goes to stderr; the last line on stdout is a JSON summary. Exit code 1 when anything
 * failed, 2 on bad usage. Re-running resumes: objects already copied are skipped. Writes are
 * conditional: a key S3 holds an object for that the migration did not write is left alone and
 * counted as `newerInS3` (not a failure); the migration's own copy of a changed source is `replaced`.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { CopyJobMessage } from "../functions/shared/backfill-messages";
import { MemoryBudget } from "../functions/shared/copy/budget";
import { crc32cOf } from "../functions/shared/copy/checksums";
import { CopyEngine, DEFAULT_UPLOAD_CONCURRENCY, type DestinationState } from "../functions/shared/copy/engine";
import { CopyError } from "../functions/shared/copy/errors";
import { S3Http } from "../functions/shared/s3-http";
import { DestinationListing, listBucket, sameListedBytes, type ListedState } from "../functions/shared/copy/listing";
import type { SourceListing } from "../functions/shared/copy/source";
import { DEFAULT_SOURCE_ENDPOINT, GCS_SIGNING_REGION } from "../functions/shared/gcs";
import {
  openLegacySource,
  SOURCE_ADDRESSINGS,
  type LegacySourceSettings,
  type SourceAddressing,
} from "../functions/shared/legacy-source";

const USAGE =
  "usage: npm run migrate -- (--source-bucket NAME [--source-endpoint URL] [--source-region R] " +
  "[--source-addressing path|virtual-hosted] [--source-secret ID] | --source-url URL) --bucket NAME [--prefix P] " +
  "[--keys-from FILE] [--concurrency N] [--dry-run] [--enqueue [--queue-url URL]] [--progress-interval SECONDS]";

interface Options {
  readonly source: LegacySourceSettings;
  readonly sourceSecret?: string;
  readonly keysFrom?: string;
  readonly bucket: string;
  readonly prefix?: string;
  readonly concurrency: number;
  readonly dryRun: boolean;
  readonly enqueue: boolean;
  readonly queueUrl?: string;
  readonly progressIntervalMs: number;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      "source-bucket": { type: "string" },
      "source-endpoint": { type: "string", default: DEFAULT_SOURCE_ENDPOINT },
      "source-region": { type: "string", default: GCS_SIGNING_REGION },
      "source-addressing": { type: "string", default: "path" },
      "source-secret": { type: "string" },
      "source-url": { type: "string" },
      "keys-from": { type: "string" },
      bucket: { type: "string" },
      prefix: { type: "string" },
      concurrency: { type: "string", default: "8" },
      "dry-run": { type: "boolean", default: false },
      enqueue: { type: "boolean", default: false },
      "queue-url": { type: "string", default: process.env.BACKFILL_QUEUE_URL },
      "progress-interval": { type: "string", default: "10" },
    },
    strict: true,
  });
  const concurrency = Number(values.concurrency);
  const interval = Number(values["progress-interval"]);
  const sourceUrl = values["source-url"];
  if (!values["source-bucket"] && !sourceUrl) {
    throw new UsageError("--source-bucket is required (or --source-url for an HTTP origin)");
  }
  if (values["source-bucket"] && sourceUrl) throw new UsageError("give --source-bucket or --source-url, not both");
  if (sourceUrl && !/^https?:\/\/[^/]/.test(sourceUrl)) throw new UsageError("--source-url must be an http(s) URL");
  if (sourceUrl && !values["keys-from"]) {
    throw new UsageError("--source-url needs --keys-from (an HTTP origin cannot be listed)");
  }
  const addressing = values["source-addressing"];
  if (!(SOURCE_ADDRESSINGS as readonly string[]).includes(addressing)) {
    throw new UsageError(`--source-addressing must be one of ${SOURCE_ADDRESSINGS.join(", ")}`);
  }
  if (!values.bucket && !values.enqueue) throw new UsageError("--bucket is required");
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError("--concurrency must be a positive integer");
  if (!(interval > 0)) throw new UsageError("--progress-interval must be a positive number of seconds");
  if (values.enqueue && !values["queue-url"]) throw new UsageError("--enqueue needs --queue-url or BACKFILL_QUEUE_URL");
  return {
    source: sourceUrl
      ? { api: "http", endpoint: sourceUrl }
      : {
          api: "s3",
          endpoint: values["source-endpoint"],
          bucket: values["source-bucket"],
          region: values["source-region"],
          addressing: addressing as SourceAddressing,
        },
    sourceSecret: values["source-secret"],
    keysFrom: values["keys-from"],
    bucket: values.bucket ?? "",
    prefix: values.prefix,
    concurrency,
    dryRun: values["dry-run"],
    enqueue: values.enqueue,
    queueUrl: values["queue-url"],
    progressIntervalMs: interval * 1000,
  };
}

/** Keys from a file, one a line (blank lines skipped), in pages like a listing; sizes come from each HEAD. */
async function* keysFrom(file: string, prefix?: string): AsyncGenerator<SourceListing[]> {
  let page: SourceListing[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    const key = line.replace(/^\/+/, "");
    if (!key || (prefix && !key.startsWith(prefix))) continue;
    page.push({ key, size: 0 });
    if (page.length === 1000) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

interface Tally {
  listed: number;
  listedBytes: number;
  listingDone: boolean;
  copied: number;
  replaced: number;
  skipped: number;
  newerInS3: number;
  failed: number;
  enqueued: number;
  /** Bytes copied (or, in a dry run, that would be). */
  bytes: number;
  toCopy: number;
}

const MB = 1e6;
/** Object bytes the CLI holds at once over all its copies (parts grow to 525 MiB for a 5 TiB object). */
const CLI_MEMORY_BUDGET_BYTES = 1024 ** 3;

/** `12.3 MB/s`, ETA from the listed total when the listing has finished. */
function progressLine(tally: Tally, seconds: number): string {
  const done = tally.copied + tally.replaced + tally.skipped + tally.newerInS3 + tally.failed + tally.enqueued;
  const rate = tally.bytes / MB / Math.max(seconds, 0.001);
  const objectsPerSecond = done / Math.max(seconds, 0.001);
  const remaining = tally.listed - done;
  const eta = tally.listingDone && objectsPerSecond > 0 ? `${Math.ceil(remaining / objectsPerSecond)}s` : "?";
  return (
    `objects ${done}/${tally.listed}${tally.listingDone ? "" : "+"} (copied ${tally.copied}, skipped ${tally.skipped}, ` +
    `failed ${tally.failed}${tally.replaced ? `, replaced ${tally.replaced}` : ""}` +
    `${tally.newerInS3 ? `, newer in S3 ${tally.newerInS3}` : ""}${tally.enqueued ? `, enqueued ${tally.enqueued}` : ""}) ` +
    `${(tally.bytes / MB).toFixed(1)} MB, ${rate.toFixed(1)} MB/s, ${objectsPerSecond.toFixed(1)} obj/s, ETA ${eta}`
  );
}

/**
 * Less SDK work per request, a measurable share of the CPU per small object: each command's
 * middleware resolved once per client (`cacheMiddleware`), not at every request; no logger
 * middleware, which filters every input and output for sensitive fields even when nothing logs.
 * Before the client's first request (the resolved middleware is cached then).
 */
function leanForBulk(client: S3Client): void {
  client.middlewareStack.remove("loggerMiddleware");
  client.config.cacheMiddleware = true;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const accessKeyId = process.env.SOURCE_ACCESS_KEY_ID;
  const secretAccessKey = process.env.SOURCE_SECRET_ACCESS_KEY;
  // Secrets Manager and SQS load only when asked for: a tenth of the start-up otherwise.
  const secretKey = options.sourceSecret
    ? await import("../functions/shared/gcs-hmac-key").then(async ({ cachedHmacKey }) =>
        cachedHmacKey(
          new (await import("@aws-sdk/client-secrets-manager")).SecretsManagerClient({
            region: options.sourceSecret!.split(":")[3] || undefined,
          }),
          options.sourceSecret!,
        ),
      )
    : undefined;
  // Keep-alive connections to each side: up to --concurrency objects at once, each with up to
  // DEFAULT_UPLOAD_CONCURRENCY parts in flight.
  const connections = options.concurrency * DEFAULT_UPLOAD_CONCURRENCY;
  const source = openLegacySource(options.source, {
    credentials: secretKey
      ? () => secretKey()
      : accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey }
        : undefined,
    configureClient: leanForBulk,
    plainHttp: { connections },
  });
  const tty = process.stderr.isTTY;
  const agent = { keepAlive: true, maxSockets: connections };
  const destination = new S3Client({
    maxAttempts: 5,
    // The engine sends the CRC32C and MD5 it verified on every write: the SDK need not hash the bytes again.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // The SDK's own requests (multipart starts and ends, heads) as many at once as the copies.
    requestHandler: { httpAgent: agent, httpsAgent: agent },
    // Parts are verified before they are sent: no round trip waiting for "100 Continue" on each.
    expectContinueHeader: false,
  });
  leanForBulk(destination);
  const engine = new CopyEngine(source, destination, options.bucket, {
    memory: new MemoryBudget(CLI_MEMORY_BUDGET_BYTES),
    http: new S3Http(destination, { connections }),
    readSequentially: true,
    onDroppedMetadata: (key, dropped) =>
      process.stderr.write(
        `${tty ? "\r\x1b[K" : ""}warning: ${key}: metadata field "${dropped.field}" not copied (${dropped.reason})\n`,
      ),
  });
  const queue = options.enqueue
    ? new (await import("../functions/shared/job-queue")).JobQueue(
        new (await import("@aws-sdk/client-sqs")).SQSClient({ maxAttempts: 5 }),
        options.queueUrl!,
      )
    : undefined;

  const started = Date.now();
  const tally: Tally = {
    listed: 0,
    listedBytes: 0,
    listingDone: false,
    copied: 0,
    replaced: 0,
    skipped: 0,
    newerInS3: 0,
    failed: 0,
    enqueued: 0,
    bytes: 0,
    toCopy: 0,
  };
  const interrupt = new AbortController();
  let interrupted = false;
  const stop = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\ninterrupted: finishing in-flight objects (again to quit now)\n");
    interrupt.abort();
  };
  process.on("SIGINT", stop).on("SIGTERM", stop);

  const elapsed = () => (Date.now() - started) / 1000;
  const ticker = setInterval(
    () =>
      process.stderr.write(tty ? `\r\x1b[K${progressLine(tally, elapsed())}` : `${progressLine(tally, elapsed())}\n`),
    tty ? 250 : options.progressIntervalMs,
  );

  const fail = (key: string, error: unknown) => {
    tally.failed++;
    const reason = error instanceof CopyError ? `${error.reason}: ${error.message}` : (error as Error).message;
    process.stderr.write(`${tty ? "\r\x1b[K" : ""}failed: ${key}: ${reason}\n`);
  };

  /** --dry-run: what migrateListed would do, from the listings and (for keys S3 holds with other bytes) HEADs. */
  const planOne = async (listing: SourceListing, listed: ListedState) => {
    let state: DestinationState = { kind: "absent" };
    if (listed.kind === "present" && sameListedBytes(listing, listed.entry)) state = { kind: "copied" };
    else if (listed.kind !== "absent") state = await engine.destinationState(await engine.inspect(listing.key));
    if (state.kind === "copied") tally.skipped++;
    else if (state.kind === "newer-in-s3") tally.newerInS3++;
    else {
      tally.toCopy++;
      tally.bytes += listing.size;
    }
  };

  const migrateOne = async (listing: SourceListing, listed: ListedState) => {
    try {
      if (options.dryRun) return await planOne(listing, listed);
      const { outcome, copy } = await engine.migrateListed(listing, listed, { signal: interrupt.signal });
      if (outcome === "newer-in-s3") {
        tally.newerInS3++;
        process.stderr.write(`${tty ? "\r\x1b[K" : ""}newer in S3, left as it is: ${listing.key}\n`);
      } else if (outcome === "skipped") tally.skipped++;
      else tally[outcome]++;
      tally.bytes += copy?.bytes ?? 0;
    } catch (error) {
      fail(listing.key, error);
    }
  };

  // Compiles the CRC32C WebAssembly while the first listing pages load, not when the first part is ready.
  void crc32cOf(new Uint8Array(0)).catch(() => undefined);
  const inFlight = new Set<Promise<void>>();
  try {
    // The destination is listed alongside the source (both in key order): a HEAD only for keys it
    // holds that may differ. Keys from a file come in any order: each is looked at with HEADs.
    const listed =
      queue || options.keysFrom
        ? undefined
        : new DestinationListing(
            listBucket(destination, options.bucket, options.prefix)[Symbol.asyncIterator](),
            (error) =>
              process.stderr.write(
                `${tty ? "\r\x1b[K" : ""}warning: cannot list the destination (${(error as Error).message}): a HEAD per object instead\n`,
              ),
          );
    const listing = options.keysFrom ? keysFrom(options.keysFrom, options.prefix) : source.list(options.prefix);
    for await (const page of listing) {
      tally.listed += page.length;
      tally.listedBytes += page.reduce((sum, entry) => sum + entry.size, 0);
      if (queue) {
        const jobs: CopyJobMessage[] = page.map((entry) => ({
          type: "copy",
          key: entry.key,
          size: entry.size,
          ...(entry.etag ? { etag: entry.etag } : {}),
        }));
        if (!options.dryRun) await queue.send(jobs);
        tally.enqueued += jobs.length;
        continue;
      }
      for (const entry of page) {
        if (interrupt.signal.aborted) break;
        const state: ListedState = listed ? await listed.lookup(entry.key) : { kind: "unknown" };
        const work = migrateOne(entry, state).finally(() => inFlight.delete(work));
        inFlight.add(work);
        if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      }
      if (interrupt.signal.aborted) break;
    }
    tally.listingDone = true;
    await Promise.all(inFlight);
  } catch (error) {
    await Promise.allSettled(inFlight);
    process.stderr.write(`${tty ? "\r\x1b[K" : ""}migration stopped: ${(error as Error).message}\n`);
    tally.failed++;
  } finally {
    clearInterval(ticker);
  }
  process.stderr.write(`${tty ? "\r\x1b[K" : ""}${progressLine(tally, elapsed())}\n`);
  const summary = {
    copied: tally.copied,
    replaced: tally.replaced,
    skipped: tally.skipped,
    newerInS3: tally.newerInS3,
    failed: tally.failed,
    bytes: tally.bytes,
    seconds: Math.round(elapsed() * 1000) / 1000,
    ...(options.enqueue ? { enqueued: tally.enqueued } : {}),
    ...(options.dryRun ? { dryRun: true, toCopy: tally.toCopy } : {}),
    ...(interrupted ? { interrupted: true } : {}),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return tally.failed > 0 || interrupted ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`migrate: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
