import { parseConfig, type S3EdgeConfigInput } from "../../config";
import { configProblems } from "../support/config-problems";
import { fullConfigInput } from "../support/synth";

const problems = (objectStats: unknown, rest: S3EdgeConfigInput = {}) => configProblems({ ...rest, objectStats });

describe("objectStats config", () => {
  it("has named defaults: IAM authorization, throttling, no CORS, per-change notifications, 7-day dedupe", () => {
    expect(parseConfig({}).objectStats).toEqual({
      enabled: true,
      monitoredBuckets: [],
      api: {
        authorization: { type: "iam" },
        throttling: { burstLimit: 20, rateLimit: 10 },
        cors: {
          allowOrigins: [],
          allowHeaders: ["authorization", "content-type", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"],
          allowCredentials: false,
          maxAgeSeconds: 300,
        },
      },
      notifications: { mode: "per-change", summaryWindowMinutes: 15, subscriberPrincipals: [] },
      dedupeTtlDays: 7,
    });
  });

  it("reads the full example", () => {
    expect(parseConfig(fullConfigInput()).objectStats).toMatchObject({
      monitoredBuckets: ["acme-media-uploads"],
      api: { authorization: { type: "jwt", audience: ["7d1example2client3id"] } },
      notifications: { mode: "summary", summaryWindowMinutes: 30 },
    });
  });

  it.each([
    [
      { monitoredBuckets: ["Not_A_Bucket"] },
      /^objectStats\.monitoredBuckets\.0: "Not_A_Bucket" is not a valid S3 bucket name/,
    ],
    [{ monitoredBuckets: ["a-bucket", "a-bucket"] }, /^objectStats\.monitoredBuckets: lists a bucket twice/],
    [
      { monitoredBuckets: ["s3edge-example-primary-us-east-2"] },
      /^objectStats\.monitoredBuckets\.0: "s3edge-example-primary-us-east-2" is the primary bucket/,
    ],
    [
      { api: { authorization: { type: "jwt", issuer: "http://idp.example", audience: ["a"] } } },
      /^objectStats\.api\.authorization\.issuer: must be the issuer's https:\/\/ URL/,
    ],
    [
      { api: { authorization: { type: "jwt", issuer: "https://idp.example", audience: [] } } },
      /^objectStats\.api\.authorization\.audience: needs at least one audience/,
    ],
    [{ api: { authorization: { type: "cognito" } } }, /^objectStats\.api\.authorization\.type: /],
    [{ api: { throttling: { burstLimit: 0 } } }, /^objectStats\.api\.throttling\.burstLimit: /],
    [
      { api: { cors: { allowOrigins: ["https://a.example/path"] } } },
      /^objectStats\.api\.cors\.allowOrigins\.0: "https:\/\/a\.example\/path" is not a valid CORS origin: give scheme/,
    ],
    [
      { api: { cors: { allowOrigins: ["*"], allowCredentials: true } } },
      /^objectStats\.api\.cors\.allowCredentials: allowCredentials cannot be used with the "\*" origin/,
    ],
    [{ notifications: { mode: "hourly" } }, /^objectStats\.notifications\.mode: /],
    [
      { notifications: { subscriberPrincipals: ["*"] } },
      /^objectStats\.notifications\.subscriberPrincipals\.0: "\*" is not a valid subscriber principal: give a 12-digit AWS account id or an IAM ARN/,
    ],
    [
      { notifications: { subscriberPrincipals: ["arn:aws:iam::123:role/x"] } },
      /"arn:aws:iam::123:role\/x" is not a valid subscriber principal/,
    ],
    [
      { dedupeTtlDays: 1 },
      /^objectStats\.dedupeTtlDays: must be at least 2: EventBridge and Lambda retry an event for up to 30 hours/,
    ],
  ])("rejects %j naming the field", (objectStats, expected) => {
    expect(problems(objectStats)).toEqual([expect.stringMatching(expected)]);
  });
});
