import { z } from "zod";
import {
  LOG_RETENTION_DAYS,
  NODE_RUNTIMES,
  ORIGIN_SHIELD_REGIONS,
  partitionOfRegion,
  s3BucketNameProblem,
} from "./aws-facts";
import { chinaProblems } from "./china-rules";
import { type FieldDocs, hostname, kmsKeyArn, region, s3BucketName } from "./primitives";
import { adoptionSection } from "./sections/adoption";
import { cdnSection } from "./sections/cdn";
import { chinaSection } from "./sections/china";
import { edgeSection } from "./sections/edge";
import { imageSection } from "./sections/image";
import { standaloneInvalidationSection } from "./sections/invalidation";
import { isPrivateLegacyOrigin, legacyOriginSection } from "./sections/legacy-origin";
import { objectStatsSection } from "./sections/object-stats";
import { operationsSection } from "./sections/operations";
import {
  DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS,
  DEFAULT_ABORT_INCOMPLETE_MULTIPART_UPLOAD_DAYS,
  DEFAULT_LOG_RETENTION_DAYS,
  DEFAULT_LAMBDA_RUNTIME,
  DEFAULT_LAMBDA_ARCHITECTURE,
} from "../constructs/defaults";

/** Built-in defaults: an example deployment that synthesizes with no config file at all. */
export const DEFAULT_NAME_PREFIX = "s3edge-example";
export const DEFAULT_PRIMARY_REGION = "us-east-2";
export const DEFAULT_REPLICA_REGION = "us-west-2";
export const DEFAULT_ZONE_NAME = "example.com";
export const DEFAULT_LEGACY_BUCKET = "s3edge-example-legacy";
export const DEFAULT_STATE_KEY_PREFIX = "s3-edge";

const localBackend = z.strictObject({
  type: z.literal("local").meta({ description: "state files on disk" }),
  directory: z
    .string()
    .min(1)
    .default(".")
    .meta({ description: "directory of the state files `terraform.<stack>.tfstate`, relative to the project root" }),
});

const s3Backend = z.strictObject({
  type: z.literal("s3").meta({ description: "state in an S3 bucket" }),
  bucket: s3BucketName.meta({ description: "an existing, versioned state bucket" }),
  region: region.meta({ description: "region of the state bucket" }),
  keyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9!_.*'()\/-]+$/, "must be an S3 key prefix without leading or trailing slash")
    .refine((value) => !value.startsWith("/") && !value.endsWith("/"), "must not start or end with a slash")
    .default(DEFAULT_STATE_KEY_PREFIX)
    .meta({ description: "each stack's state is `<keyPrefix>/<stack id>.tfstate`" }),
  useLockfile: z
    .boolean()
    .default(true)
    .meta({ description: "S3-native state locking (Terraform ≥ 1.10), no DynamoDB table needed" }),
  encrypt: z.boolean().default(true).meta({ description: "server-side encryption of the state objects" }),
});

const encryption = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("sse-s3").meta({ description: "S3-managed keys" }) }),
  z.strictObject({
    type: z.literal("sse-kms").meta({ description: "KMS keys, with S3 Bucket Keys" }),
    primaryKeyArn: kmsKeyArn.optional().meta({
      description:
        "existing key for the primary bucket, in `primaryRegion`; absent: a rotating key with alias `alias/<bucket>` is created",
      defaultLabel: "created",
    } satisfies FieldDocs),
    replicaKeyArn: kmsKeyArn.optional().meta({
      description: "existing key for the replica bucket, in `replicaRegion`; absent: a key is created",
      defaultLabel: "created",
    } satisfies FieldDocs),
  }),
]);

const storage = z.strictObject({
  primaryBucketName: s3BucketName.optional().meta({
    description: "the primary bucket; dots are refused (they break virtual-hosted HTTPS)",
    defaultLabel: "`<namePrefix>-primary-<primaryRegion>`",
  } satisfies FieldDocs),
  replicaBucketName: s3BucketName.optional().meta({
    description: "the replica bucket",
    defaultLabel: "`<namePrefix>-replica-<replicaRegion>`",
  } satisfies FieldDocs),
  encryption: encryption.default({ type: "sse-s3" }).meta({ description: "default encryption of both buckets" }),
  noncurrentVersionExpirationDays: z
    .int()
    .min(1)
    .max(3650)
    .default(DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS)
    .meta({ description: "days a replaced or deleted version is kept" }),
  abortIncompleteMultipartUploadDays: z
    .int()
    .min(1)
    .max(365)
    .default(DEFAULT_ABORT_INCOMPLETE_MULTIPART_UPLOAD_DAYS)
    .meta({ description: "days after which an incomplete multipart upload is aborted" }),
  forceDestroy: z
    .boolean()
    .default(false)
    .meta({ description: "let `cdktf destroy` delete non-empty buckets; off, a destroy never deletes content" }),
  adopt: adoptionSection.prefault({}),
  replication: z
    .strictObject({
      deleteMarkerReplication: z
        .boolean()
        .default(true)
        .meta({ description: "a delete on the primary hides the object on the replica too" }),
      replicationTimeControl: z
        .boolean()
        .default(false)
        .meta({ description: "S3 Replication Time Control (15-minute SLA, extra cost) with replication metrics" }),
    })
    .prefault({}),
});

const lambda = z.strictObject({
  runtime: z
    .enum(NODE_RUNTIMES)
    .default(DEFAULT_LAMBDA_RUNTIME)
    .meta({ description: "runtime of every function, Lambda@Edge included" }),
  architecture: z.enum(["arm64", "x86_64"]).default(DEFAULT_LAMBDA_ARCHITECTURE).meta({
    description: "regional functions; Lambda@Edge is always `x86_64` (the only architecture it runs)",
  }),
  logRetentionDays: z
    .int()
    .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      message: `must be a retention CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .default(DEFAULT_LOG_RETENTION_DAYS)
    .meta({
      description: "retention of every function's log group (and of the access and API log groups)",
      typeLabel: `days CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(", ")})`,
    } satisfies FieldDocs),
});

const domain = z.strictObject({
  zoneName: hostname.meta({ description: "the Route53 hosted zone's name" }),
  hostedZoneId: z
    .string()
    .regex(/^Z[A-Z0-9]{1,31}$/, "must be a Route53 hosted zone id (Z...)")
    .optional()
    .meta({
      description: "look the zone up by id instead of by name (split-horizon or duplicate zone names)",
      typeLabel: "Route53 zone id (`Z…`)",
      defaultLabel: "looked up by name",
    } satisfies FieldDocs),
  contentHostname: hostname.optional().meta({
    description: "name of the content distribution",
    defaultLabel: "`cdn.<zoneName>`",
  } satisfies FieldDocs),
  imageHostname: hostname.optional().meta({
    description: "name of the primary bucket's image distribution",
    defaultLabel: "`img.<zoneName>`",
  } satisfies FieldDocs),
  subjectAlternativeNames: z
    .array(hostname)
    .default([])
    .meta({ description: "further names on the certificate; every name must lie in the zone" }),
});

export const configSchema = z
  .strictObject({
    namePrefix: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
        "must be 3 to 32 lowercase letters, digits or hyphens, starting with a letter",
      )
      .default(DEFAULT_NAME_PREFIX)
      .meta({
        description: "prefix of every resource name (roles, default bucket names); lowercase, so valid in bucket names",
        typeLabel: "3–32 of `a-z 0-9 -`, starts with a letter",
      } satisfies FieldDocs),
    primaryRegion: region.default(DEFAULT_PRIMARY_REGION).meta({
      description: "the primary bucket and the regional services; `cn-*` deploys to AWS China (docs/china.md)",
    }),
    replicaRegion: region
      .default(DEFAULT_REPLICA_REGION)
      .meta({ description: "the replica bucket; must differ from `primaryRegion`, in the same partition" }),
    tags: z
      .record(
        z
          .string()
          .min(1)
          .max(128)
          .refine((key) => !key.toLowerCase().startsWith("aws:"), "tag keys starting with aws: are reserved by AWS"),
        z.string().max(256),
      )
      .default({})
      .meta({
        description:
          "tags on every taggable resource (provider `default_tags`), beside `Project`, `ManagedBy`, `Stack`; keys starting with `aws:` are reserved",
      }),
    backend: z
      .discriminatedUnion("type", [localBackend, s3Backend])
      .default({ type: "local", directory: "." })
      .meta({ description: "where Terraform state lives; every remote-state reader follows it" }),
    storage: storage
      .prefault({})
      .meta({ description: "the primary and replica buckets (stack `storage-replication`)" }),
    lambda: lambda.prefault({}).meta({ description: "settings every function shares" }),
    domain: domain.nullable().prefault({ zoneName: DEFAULT_ZONE_NAME }).meta({
      description:
        "custom domain; `null`: no custom domain, no `dns-cert` stack, the distributions answer on their CloudFront names only",
    }),
    legacyOrigin: legacyOriginSection.nullable().prefault({ bucket: DEFAULT_LEGACY_BUCKET }).meta({
      description:
        "the store migrated from (GCS by default, S3-compatible or HTTPS by `kind`; docs/migration.md); `null`: nothing to migrate from: no `edge` stack, no backfill pipeline, the cdn fails over to the replica",
    }),
    edge: edgeSection.prefault({}),
    cdn: cdnSection.prefault({}),
    image: imageSection.prefault({}),
    objectStats: objectStatsSection.prefault({}),
    operations: operationsSection.prefault({}),
    standaloneInvalidation: standaloneInvalidationSection.default([]),
    china: chinaSection.nullable().default(null).meta({
      description:
        "CloudFront in the China regions (aws-cn): required there while `cdn` or `image` is on, `null` elsewhere (docs/china.md)",
    }),
  })
  .superRefine((config, ctx) => {
    // One partition per deployment, and what CloudFront China does not offer (config/china-rules.ts).
    const partitionIssues = chinaProblems(config);
    for (const issue of partitionIssues) ctx.addIssue({ code: "custom", ...issue });
    const inChina = partitionOfRegion(config.primaryRegion) === "aws-cn";
    // CloudFront's requests to a private legacy bucket are signed by the edge stack's gcs-signer.
    if (
      !inChina &&
      config.legacyOrigin &&
      isPrivateLegacyOrigin(config.legacyOrigin) &&
      !config.edge.enabled &&
      config.cdn.enabled &&
      config.cdn.failover === "auto"
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["edge", "enabled"],
        message:
          'must be true while the cdn fails over to a private legacy bucket (the edge stack signs those requests); or set cdn.failover to "replica"',
      });
    }
    if (config.primaryRegion === config.replicaRegion) {
      ctx.addIssue({
        code: "custom",
        path: ["replicaRegion"],
        message: `must differ from primaryRegion (both are ${config.primaryRegion}): cross-region replication needs two regions`,
      });
    }
    const shieldRegion = config.cdn.originShieldRegion ?? config.primaryRegion;
    if (!inChina && config.cdn.enabled && !(ORIGIN_SHIELD_REGIONS as readonly string[]).includes(shieldRegion)) {
      ctx.addIssue({
        code: "custom",
        path: ["cdn", "originShieldRegion"],
        message: `CloudFront offers no Origin Shield in ${shieldRegion}${config.cdn.originShieldRegion ? "" : " (the primary region, used by default)"}; choose one of ${ORIGIN_SHIELD_REGIONS.join(", ")}`,
      });
    }
    const { ttl } = config.cdn;
    if (ttl.min > ttl.default || ttl.default > ttl.max) {
      ctx.addIssue({
        code: "custom",
        path: ["cdn", "ttl"],
        message: `must satisfy min <= default <= max (got min ${ttl.min}, default ${ttl.default}, max ${ttl.max})`,
      });
    }
    if (config.domain) {
      const zone = config.domain.zoneName;
      const names = [
        ["contentHostname", config.domain.contentHostname],
        ["imageHostname", config.domain.imageHostname],
        ...config.domain.subjectAlternativeNames.map(
          (name, index) => [["subjectAlternativeNames", index], name] as const,
        ),
      ] as const;
      for (const [field, name] of names) {
        // The certificate's DNS validation records are written in this one zone.
        if (name && name !== zone && !name.endsWith(`.${zone}`)) {
          ctx.addIssue({
            code: "custom",
            path: ["domain", ...([] as (string | number)[]).concat(field)],
            message: `"${name}" is not in the hosted zone ${zone}; every certificate name is validated through that zone`,
          });
        }
      }
    }
    const { encryption } = config.storage;
    if (encryption.type === "sse-kms") {
      const keys = [
        ["primaryKeyArn", encryption.primaryKeyArn, config.primaryRegion],
        ["replicaKeyArn", encryption.replicaKeyArn, config.replicaRegion],
      ] as const;
      for (const [field, arn, expected] of keys) {
        const keyRegion = arn?.split(":")[3];
        if (keyRegion && keyRegion !== expected) {
          ctx.addIssue({
            code: "custom",
            path: ["storage", "encryption", field],
            message: `the key is in ${keyRegion} but its bucket is in ${expected}; S3 needs a key in the bucket's region`,
          });
        }
      }
    }
    for (const [field, name] of [
      ["primaryBucketName", primaryBucketName(config)],
      ["replicaBucketName", replicaBucketName(config)],
      [undefined, batchReportBucketName(config)],
    ] as const) {
      const reason = s3BucketNameProblem(name);
      if (reason && !(field && config.storage[field])) {
        ctx.addIssue({
          code: "custom",
          path: ["namePrefix"],
          message: `gives the bucket name "${name}", which ${reason}`,
        });
      }
    }
    for (const [role, field] of [
      ["primary", "primaryBucketName"],
      ["replica", "replicaBucketName"],
    ] as const) {
      if (!config.storage.adopt[role]) continue;
      if (!config.storage[field]) {
        ctx.addIssue({
          code: "custom",
          path: ["storage", field],
          message: `is required while storage.adopt.${role} is set: name the existing bucket to adopt`,
        });
      }
    }
    const adopted = (["primary", "replica"] as const).filter((role) => config.storage.adopt[role]);
    if (adopted.length > 0 && config.storage.forceDestroy) {
      ctx.addIssue({
        code: "custom",
        path: ["storage", "forceDestroy"],
        message: `must be false while storage.adopt.${adopted[0]} is set: an adopted bucket is never destroyed`,
      });
    }
    const primaryIndex = config.objectStats.monitoredBuckets.indexOf(primaryBucketName(config));
    if (primaryIndex !== -1) {
      ctx.addIssue({
        code: "custom",
        path: ["objectStats", "monitoredBuckets", primaryIndex],
        message: `"${primaryBucketName(config)}" is the primary bucket, which is always monitored; list only other buckets`,
      });
    }
    const ownBuckets = [primaryBucketName(config), replicaBucketName(config)];
    config.image.extraSourceBuckets.forEach((bucket, index) => {
      const duplicate = config.image.extraSourceBuckets.findIndex((other) => other.name === bucket.name) !== index;
      if (ownBuckets.includes(bucket.name) || duplicate) {
        ctx.addIssue({
          code: "custom",
          path: ["image", "extraSourceBuckets", index, "name"],
          message: `"${bucket.name}" is ${duplicate ? "listed twice" : "an s3-edge bucket (the primary is a source already)"}`,
        });
      }
    });
    if (config.legacyOrigin?.kind === "gcs" && !config.legacyOrigin.project) {
      const { create, access } = config.legacyOrigin;
      const needs = [
        ...(create ? ["legacyOrigin.create is true (the bucket is created in that project)"] : []),
        ...(access === "private"
          ? ['legacyOrigin.access is "private" (the read-only service account and its HMAC key live in that project)']
          : []),
      ];
      if (needs.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["legacyOrigin", "project"],
          message: `is required when ${needs.join(" and ")}`,
        });
      }
    }
  })
  .transform((config) => ({
    ...config,
    /** `aws` or `aws-cn`: the partition of every region of the deployment. */
    partition: partitionOfRegion(config.primaryRegion),
    storage: {
      ...config.storage,
      primaryBucketName: primaryBucketName(config),
      replicaBucketName: replicaBucketName(config),
      batchReportBucketName: batchReportBucketName(config),
    },
    domain: config.domain && {
      ...config.domain,
      contentHostname: config.domain.contentHostname ?? `cdn.${config.domain.zoneName}`,
      imageHostname: config.domain.imageHostname ?? `img.${config.domain.zoneName}`,
    },
    cdn: { ...config.cdn, originShieldRegion: config.cdn.originShieldRegion ?? config.primaryRegion },
    standaloneInvalidation: config.standaloneInvalidation.map((target) => ({
      ...target,
      region: target.region ?? config.primaryRegion,
    })),
    image: {
      ...config.image,
      extraSourceBuckets: config.image.extraSourceBuckets.map((bucket, index) => ({
        ...bucket,
        region: bucket.region ?? config.primaryRegion,
        hostname: bucket.hostname ?? (config.domain ? `img-${index + 1}.${config.domain.zoneName}` : undefined),
      })),
    },
  }));

interface NamingFields {
  readonly namePrefix: string;
  readonly primaryRegion: string;
  readonly replicaRegion: string;
  readonly storage: { readonly primaryBucketName?: string; readonly replicaBucketName?: string };
}

function primaryBucketName(config: NamingFields): string {
  return config.storage.primaryBucketName ?? `${config.namePrefix}-primary-${config.primaryRegion}`;
}

function replicaBucketName(config: NamingFields): string {
  return config.storage.replicaBucketName ?? `${config.namePrefix}-replica-${config.replicaRegion}`;
}

/** The private bucket of the batch replication jobs' completion reports (`npm run replicate-existing`). */
function batchReportBucketName(config: NamingFields): string {
  return `${config.namePrefix}-batch-reports-${config.primaryRegion}`;
}

/** The JSON a config file may contain: every field optional. */
export type S3EdgeConfigInput = z.input<typeof configSchema>;
/** The validated config with every default and derived name filled in. */
export type S3EdgeConfig = z.output<typeof configSchema>;
export type BackendConfig = S3EdgeConfig["backend"];
export type EncryptionConfig = S3EdgeConfig["storage"]["encryption"];
export type ImageConfig = S3EdgeConfig["image"];
export type InvalidationConfig = S3EdgeConfig["cdn"]["invalidation"];
export type ChinaConfig = S3EdgeConfig["china"];
export type StandaloneInvalidationTarget = S3EdgeConfig["standaloneInvalidation"][number];
export type {
  GcsOriginConfig,
  HttpsOriginConfig,
  LegacyOriginConfig,
  S3CompatibleOriginConfig,
} from "./sections/legacy-origin";
export { isPrivateLegacyOrigin, legacyCredentialsSecretName } from "./sections/legacy-origin";
