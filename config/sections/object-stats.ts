import { z } from "zod";
import { ARN_PARTITION, type FieldDocs, enabled, fromProblem, s3BucketName } from "../primitives";

/** API stage limits: steady requests per second and burst (token bucket) for `GET /count`. */
export const DEFAULT_COUNT_API_RATE_LIMIT = 10;
export const DEFAULT_COUNT_API_BURST_LIMIT = 20;
/** Seconds browsers may cache a CORS preflight answer. */
export const DEFAULT_CORS_MAX_AGE_SECONDS = 300;
/** Request headers a browser may send: what SigV4 signing and bearer tokens need. */
export const DEFAULT_CORS_ALLOW_HEADERS = [
  "authorization",
  "content-type",
  "x-amz-date",
  "x-amz-security-token",
  "x-amz-content-sha256",
];
export const DEFAULT_NOTIFICATION_MODE = "per-change";
export const DEFAULT_SUMMARY_WINDOW_MINUTES = 15;
/**
 * Days a redelivered event is still recognized. EventBridge retries a target for up to 24 hours
 * and Lambda retries an asynchronous event for up to 6 more, so anything under 2 days could let a
 * late retry count twice.
 */
export const DEFAULT_DEDUPE_TTL_DAYS = 7;
export const MIN_DEDUPE_TTL_DAYS = 2;

const accountId = /^\d{12}$/;
const iamPrincipalArn = new RegExp(`^arn:${ARN_PARTITION}:iam::\\d{12}:(root|(user|role)/[\\w+=,.@/-]{1,512})$`);

/** Who may subscribe to the notification topic: an account id or an IAM user/role/root ARN. */
const subscriberPrincipal = fromProblem(
  (value) =>
    accountId.test(value) || iamPrincipalArn.test(value)
      ? undefined
      : "give a 12-digit AWS account id or an IAM ARN (arn:<partition>:iam::<account>:root, :user/<name> or :role/<name>)",
  "subscriber principal",
).meta({ typeLabel: "12-digit account id or IAM root/user/role ARN" } satisfies FieldDocs);

const origin = fromProblem(
  (value) =>
    value === "*" || /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(value)
      ? undefined
      : 'give scheme://host[:port] without a path, or "*"',
  "CORS origin",
).meta({ typeLabel: 'origin (`https://host[:port]`) or `"*"`' } satisfies FieldDocs);

const authorization = z.discriminatedUnion("type", [
  z.strictObject({
    type: z
      .literal("iam")
      .meta({ description: "callers sign requests with SigV4 and need `execute-api:Invoke` on the route" }),
  }),
  z.strictObject({
    type: z
      .literal("jwt")
      .meta({ description: "callers send a bearer token from an OpenID Connect issuer for one of the audiences" }),
    issuer: z
      .url({ protocol: /^https$/, error: "must be the issuer's https:// URL" })
      .meta({ description: "the issuer's `https://` URL" }),
    audience: z
      .array(z.string().min(1))
      .min(1, "needs at least one audience (client id)")
      .meta({ description: "accepted audiences (client ids)" }),
  }),
]);

const api = z.strictObject({
  authorization: authorization.default({ type: "iam" }).meta({ description: "who may call `GET /count`" }),
  throttling: z
    .strictObject({
      burstLimit: z
        .int()
        .min(1)
        .max(5_000)
        .default(DEFAULT_COUNT_API_BURST_LIMIT)
        .meta({ description: "burst (token bucket) of the stage's default route, requests" }),
      rateLimit: z
        .number()
        .positive()
        .max(10_000)
        .default(DEFAULT_COUNT_API_RATE_LIMIT)
        .meta({ description: "steady rate of the stage's default route, requests per second" }),
    })
    .prefault({}),
  cors: z
    .strictObject({
      allowOrigins: z
        .array(origin)
        .default([])
        .meta({ description: "browser origins allowed to call the API; none turns CORS off" }),
      allowHeaders: z
        .array(z.string().min(1))
        .default(DEFAULT_CORS_ALLOW_HEADERS)
        .meta({ description: "request headers a browser may send (what SigV4 signing and bearer tokens need)" }),
      allowCredentials: z.boolean().default(false).meta({ description: 'not with the `"*"` origin' }),
      maxAgeSeconds: z
        .int()
        .min(0)
        .max(86_400)
        .default(DEFAULT_CORS_MAX_AGE_SECONDS)
        .meta({ description: "seconds browsers may cache a preflight answer" }),
    })
    .refine((cors) => !(cors.allowCredentials && cors.allowOrigins.includes("*")), {
      message: 'allowCredentials cannot be used with the "*" origin (browsers refuse it): list the origins',
      path: ["allowCredentials"],
    })
    .prefault({}),
});

const notifications = z.strictObject({
  mode: z.enum(["per-change", "summary"]).default(DEFAULT_NOTIFICATION_MODE).meta({
    description: "`per-change`: a message per counted change; `summary`: one per bucket per window with changes",
  }),
  summaryWindowMinutes: z
    .int()
    .min(1)
    .max(1_440)
    .default(DEFAULT_SUMMARY_WINDOW_MINUTES)
    .meta({ description: "summary mode's schedule" }),
  subscriberPrincipals: z.array(subscriberPrincipal).default([]).meta({
    description:
      "the only principals allowed to subscribe to the topic (your own account included: list it to subscribe from it)",
  }),
});

export const objectStatsSection = z
  .strictObject({
    enabled: enabled.meta({ description: "the `object-stats` stack" }),
    monitoredBuckets: z
      .array(s3BucketName)
      .default([])
      .refine((names) => new Set(names).size === names.length, "lists a bucket twice")
      .meta({
        description:
          "existing buckets in `primaryRegion` counted beside the primary bucket; they must already send their events to EventBridge: s3-edge does not touch their notification configuration (docs/object-stats.md)",
      }),
    api: api.prefault({}).meta({ description: "the `GET /count` HTTP API" }),
    notifications: notifications.prefault({}).meta({ description: "the KMS-encrypted SNS topic of counted changes" }),
    dedupeTtlDays: z
      .int()
      .min(
        MIN_DEDUPE_TTL_DAYS,
        `must be at least ${MIN_DEDUPE_TTL_DAYS}: EventBridge and Lambda retry an event for up to 30 hours`,
      )
      .max(365)
      .default(DEFAULT_DEDUPE_TTL_DAYS)
      .meta({
        description:
          "days a processed event id is remembered; EventBridge and Lambda retry an event for up to 30 hours",
      }),
  })
  .meta({
    description: "object counters, `GET /count` and notifications (stack `object-stats`; docs/object-stats.md)",
  });
