import { parseConfig } from "../../config";
import { configProblems } from "../support/config-problems";

const problems = configProblems;

describe("image config", () => {
  it("defaults to the Lambda variant with named sizes", () => {
    expect(parseConfig({}).image).toEqual({
      enabled: true,
      variant: "lambda",
      lambda: { memoryMb: 1536, reservedConcurrency: 100 },
      ecs: { cpu: 1024, memory: 2048, desiredCount: 2, minCount: 1, maxCount: 10, targetCpuPercent: 60 },
      autoFormat: true,
      encoding: { webpQuality: 80, webpEffort: 2, avifQuality: 50, avifEffort: 2 },
      deadlineSeconds: 25,
      extraSourceBuckets: [],
      styles: {},
    });
  });

  it("derives each extra bucket's region and hostname", () => {
    const config = parseConfig({
      domain: { zoneName: "acme.test" },
      image: {
        extraSourceBuckets: [{ name: "acme-a" }, { name: "acme-b", region: "eu-west-1", hostname: "b.acme.test" }],
      },
    });
    expect(config.image.extraSourceBuckets).toEqual([
      { name: "acme-a", region: "us-east-2", hostname: "img-1.acme.test" },
      { name: "acme-b", region: "eu-west-1", hostname: "b.acme.test" },
    ]);
    const noDomain = parseConfig({ domain: null, image: { extraSourceBuckets: [{ name: "acme-a" }] } });
    expect(noDomain.image.extraSourceBuckets[0].hostname).toBeUndefined();
  });

  it.each([
    [
      { ecs: { cpu: 1000 } },
      "image.ecs.cpu: 1000 is not a Fargate CPU value; choose one of 256, 512, 1024, 2048, 4096, 8192, 16384",
    ],
    [
      { ecs: { cpu: 256, memory: 4096 } },
      "image.ecs.memory: 4096 MiB does not go with 256 CPU units on Fargate; choose one of 512, 1024, 2048",
    ],
    [{ ecs: { minCount: 5, maxCount: 3, desiredCount: 4 } }, "image.ecs.minCount: must not exceed maxCount (3)"],
    [{ ecs: { desiredCount: 20 } }, "image.ecs.desiredCount: must be between minCount (1) and maxCount (10)"],
    [{ variant: "k8s" }, expect.stringMatching(/^image\.variant: /)],
    [{ lambda: { memoryMb: 64 } }, expect.stringMatching(/^image\.lambda\.memoryMb: /)],
    [{ encoding: { avifEffort: 10 } }, expect.stringMatching(/^image\.encoding\.avifEffort: /)],
    [
      {
        ecs: {
          vpc: {
            vpcId: "vpc-0123456789abcdef0",
            privateSubnetIds: ["subnet-0123456789abcdef1"],
          },
        },
      },
      "image.ecs.vpc.privateSubnetIds: the internal load balancer needs private subnets in at least two availability zones",
    ],
    [
      {
        ecs: {
          vpc: {
            vpcId: "vpc-0123456789abcdef0",
            // The internet-facing load balancer's subnets of earlier versions: the ALB is internal now.
            publicSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef2"],
            privateSubnetIds: ["subnet-0123456789abcdef1", "subnet-0123456789abcdef3"],
          },
        },
      },
      "image.ecs.vpc.publicSubnetIds: no longer used: the load balancer is internal and lives in privateSubnetIds (see docs/image-private-origin.md)",
    ],
    [
      { extraSourceBuckets: [{ name: "a-1" }, { name: "a-2" }, { name: "a-3" }, { name: "a-4" }] },
      "image.extraSourceBuckets: at most 3 buckets beside the primary",
    ],
    [
      { extraSourceBuckets: [{ name: "acme-a" }, { name: "acme-a" }] },
      'image.extraSourceBuckets.1.name: "acme-a" is listed twice',
    ],
    [
      { extraSourceBuckets: [{ name: "s3edge-example-primary-us-east-2" }] },
      'image.extraSourceBuckets.0.name: "s3edge-example-primary-us-east-2" is an s3-edge bucket (the primary is a source already)',
    ],
    [
      { extraSourceBuckets: [{ name: "Bad_Name" }] },
      expect.stringMatching(/^image\.extraSourceBuckets\.0\.name: "Bad_Name" is not a valid S3 bucket name/),
    ],
    [
      { styles: { "bad name": "image/resize,w_1" } },
      expect.stringMatching(/^image\.styles\.bad name: style names are 1 to 63/),
    ],
    [{ styles: { thumb: "resize,w_1" } }, 'image.styles.thumb: must be an action string such as "image/resize,w_100"'],
    [
      { ecs: { imageUri: "not an image" } },
      expect.stringMatching(/^image\.ecs\.imageUri: must be a container image reference/),
    ],
  ])("rejects %j naming the field", (image, expected) => {
    expect(problems({ image })).toContainEqual(expected);
  });

  it("parses every style with the engine's parser: a style it would refuse fails, naming it", () => {
    expect(
      problems({
        image: {
          styles: {
            thumb: "image/resize,w_200/quality,q_50",
            broken: "image/resize,w_0",
            wrong: "image/rotate,90/frobnicate",
          },
        },
      }),
    ).toEqual([
      'image.styles.broken: the image engine refuses it: resize: w must be an integer in 1..16384, got "0"',
      'image.styles.wrong: the image engine refuses it: unknown action "frobnicate"',
    ]);
  });

  it("keeps the deadline below CloudFront's origin read timeout; reserved concurrency may be turned off", () => {
    expect(problems({ image: { deadlineSeconds: 30 } })).toEqual([
      "image.deadlineSeconds: must be below CloudFront's origin read timeout of the image distributions (30 s)",
    ]);
    expect(parseConfig({ image: { deadlineSeconds: 10 } }).image.deadlineSeconds).toBe(10);
    expect(
      parseConfig({ image: { lambda: { reservedConcurrency: null } } }).image.lambda.reservedConcurrency,
    ).toBeNull();
  });
});
