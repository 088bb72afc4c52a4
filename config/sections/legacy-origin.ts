import { z } from "zod";
import { LAMBDA_MAX_MEMORY_MB, LAMBDA_MIN_MEMORY_MB } from "../aws-facts";
import { type FieldDocs, gcsBucketName, hostname } from "../primitives";
import {
  DEFAULT_BACKFILL_BATCH_SIZE,
  DEFAULT_BACKFILL_MAX_CONCURRENCY,
  DEFAULT_BACKFILL_WORKER_MEMORY_MB,
} from "../../constructs/defaults";

/** Where a bucket that s3-edge creates lives (a GCS multi-region). */
export const DEFAULT_GCS_LOCATION = "US";
/** How an S3-compatible bucket is addressed when config does not say: what most stores (and OSS only) serve. */
export const DEFAULT_S3_COMPATIBLE_ADDRESSING = "virtual-hosted";

const backfill = z
  .strictObject({
    batchSize: z
      .int()
      .min(1)
      .max(10, "must be at most 10 (SQS batches above 10 need a batching window)")
      .default(DEFAULT_BACKFILL_BATCH_SIZE)
      .meta({ description: "copy jobs per worker invocation" }),
    maxConcurrency: z
      .int()
      .min(2, "must be at least 2 (the smallest SQS maximum concurrency)")
      .max(1000, "must be at most 1000 (the largest SQS maximum concurrency)")
      .default(DEFAULT_BACKFILL_MAX_CONCURRENCY)
      .meta({
        description: "most workers at once (SQS `maximum_concurrency`): bounds the load on the legacy store and S3",
      }),
    workerMemoryMb: z
      .int()
      .min(LAMBDA_MIN_MEMORY_MB)
      .max(LAMBDA_MAX_MEMORY_MB)
      .default(DEFAULT_BACKFILL_WORKER_MEMORY_MB)
      .meta({ description: "worker memory in MB (CPU and network scale with it)" }),
  })
  .meta({ description: "the queue and workers that copy objects from the legacy store into the primary bucket" });

/** Name of the secret s3-edge creates (empty) for an S3-compatible store's key when none is named. */
export const legacyCredentialsSecretName = (namePrefix: string) => `${namePrefix}/legacy-origin-credentials`;

/** A Secrets Manager secret by name, or by full ARN (which may be in another region). */
const secretReference = z
  .string()
  .regex(
    /^(arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]{1,512})$/,
    "must be a Secrets Manager secret name or ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)",
  )
  .meta({ typeLabel: "secret name or ARN" } satisfies FieldDocs);

/** A bucket name as S3-compatible stores accept it (3-63 lowercase letters, digits, dots, hyphens). */
const compatibleBucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "must be 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit",
  );

/** The legacy Google Cloud Storage bucket (the default kind: a config without `kind` is this). */
const gcsOrigin = z.strictObject({
  kind: z.literal("gcs").meta({ description: "a Google Cloud Storage bucket (a config without `kind` is this)" }),
  bucket: gcsBucketName.meta({ description: "the GCS bucket that is the origin of record" }),
  access: z.enum(["public", "private"]).default("public").meta({
    description:
      "`private`: requests are signed with the HMAC key of a read-only service account the `gcs-origin` stack creates",
  }),
  create: z
    .boolean()
    .default(false)
    .meta({ description: "create the bucket (for a demo) instead of using an existing one" }),
  project: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project id")
    .optional()
    .meta({
      description: "Google Cloud project of the bucket; required when `create` is true or `access` is `private`",
      typeLabel: "Google Cloud project id",
    } satisfies FieldDocs),
  location: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, "must be a GCS location such as US, EU or europe-west1")
    .default(DEFAULT_GCS_LOCATION)
    .meta({
      description: "location of a bucket s3-edge creates (`US`, `EU`, `europe-west1`, …)",
      typeLabel: "GCS location",
    } satisfies FieldDocs),
  backfill: backfill.prefault({}),
});

/** A bucket of any store that speaks the S3 API (Alibaba OSS, Cloudflare R2, Wasabi, MinIO, ...), over HTTPS. */
const s3CompatibleOrigin = z.strictObject({
  kind: z.literal("s3-compatible").meta({
    description: "a bucket of any store that speaks the S3 API (Alibaba OSS, Cloudflare R2, Wasabi, MinIO, …)",
  }),
  endpoint: hostname.meta({
    description:
      "the store's API host without scheme or bucket (`oss-eu-central-1.aliyuncs.com`, `<account>.r2.cloudflarestorage.com`, `s3.wasabisys.com`)",
  }),
  bucket: compatibleBucketName.meta({
    description: "the store's bucket",
    typeLabel: "bucket name (3–63 of `a-z 0-9 . -`)",
  } satisfies FieldDocs),
  addressing: z.enum(["virtual-hosted", "path"]).default(DEFAULT_S3_COMPATIBLE_ADDRESSING).meta({
    description:
      "`virtual-hosted`: `https://<bucket>.<endpoint>/<key>`; `path`: `https://<endpoint>/<bucket>/<key>`; dotted bucket names need `path`",
  }),
  region: z
    .string({ error: (issue) => (issue.input === undefined ? "is required (the SigV4 signing region)" : undefined) })
    .regex(
      /^[a-z0-9][a-z0-9-]{0,47}$/,
      "must be the SigV4 signing region the store expects (lowercase, such as us-east-1 or auto)",
    )
    .meta({
      description:
        "the region in SigV4's credential scope (`auto` for R2, `us-east-1` for MinIO, the bucket's region elsewhere)",
      typeLabel: "SigV4 region",
    } satisfies FieldDocs),
  access: z.enum(["public", "private"]).default("private").meta({
    description: "`private`: every request is signed with the key in `credentialsSecret`; `public`: anonymous reads",
  }),
  credentialsSecret: secretReference.optional().meta({
    description:
      'the secret holding `{"accessKeyId":"...","secretAccessKey":"..."}` of a read-only key; absent for a private store: `<namePrefix>/legacy-origin-credentials` is created empty, to be filled with `aws secretsmanager put-secret-value` (docs/migration.md). Keys never go in config or Terraform',
    defaultLabel: "created empty",
  } satisfies FieldDocs),
  backfill: backfill.prefault({}),
});

/** A public HTTPS origin (any web server or CDN): objects are fetched, never listed. */
const httpsOrigin = z.strictObject({
  kind: z
    .literal("https")
    .meta({ description: "a public HTTPS origin (any web server or CDN): fetched, never listed" }),
  domain: hostname.meta({ description: "the origin's host name" }),
  pathPrefix: z
    .string()
    .regex(
      /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/,
      "must start with a slash, not end with one, and hold only URL path characters",
    )
    .optional()
    .meta({
      description: "path before every key (`/assets`: the key `a/b.jpg` is `https://<domain>/assets/a/b.jpg`)",
      typeLabel: "URL path (`/…`)",
    } satisfies FieldDocs),
  backfill: backfill.prefault({}),
});

export const LEGACY_ORIGIN_KINDS = ["gcs", "s3-compatible", "https"] as const;

/** The legacy origin the content is migrated from: a GCS bucket (default), an S3-compatible bucket, or an HTTPS origin. */
export const legacyOriginSection = z
  .preprocess(
    // Configs written before `kind` existed describe a GCS bucket.
    (value) =>
      value && typeof value === "object" && !Array.isArray(value) && !("kind" in value)
        ? { kind: "gcs", ...value }
        : value,
    z.discriminatedUnion("kind", [gcsOrigin, s3CompatibleOrigin, httpsOrigin], {
      error: (issue) =>
        issue.code === "invalid_union" ? `must be one of ${LEGACY_ORIGIN_KINDS.join(", ")}` : undefined,
    }),
  )
  .superRefine((origin, ctx) => {
    if (origin.kind !== "s3-compatible") return;
    if (origin.access === "public" && origin.credentialsSecret) {
      ctx.addIssue({
        code: "custom",
        path: ["credentialsSecret"],
        message: 'must be absent when access is "public" (public reads are anonymous)',
      });
    }
    // A dotted bucket name in the host name does not match the store's wildcard TLS certificate.
    if (origin.addressing === "virtual-hosted" && origin.bucket.includes(".")) {
      ctx.addIssue({
        code: "custom",
        path: ["addressing"],
        message: `must be "path" for the bucket "${origin.bucket}": a dotted name breaks TLS with virtual-hosted addressing`,
      });
    }
  });

export type LegacyOriginConfig = z.output<typeof legacyOriginSection>;
export type GcsOriginConfig = Extract<LegacyOriginConfig, { kind: "gcs" }>;
export type S3CompatibleOriginConfig = Extract<LegacyOriginConfig, { kind: "s3-compatible" }>;
export type HttpsOriginConfig = Extract<LegacyOriginConfig, { kind: "https" }>;

/** Whether requests to the origin are signed (a private GCS or S3-compatible bucket). */
export function isPrivateLegacyOrigin(origin: LegacyOriginConfig): boolean {
  return origin.kind !== "https" && origin.access === "private";
}
