import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig, parseConfig, type S3EdgeConfigInput } from "../../config";
import { configProblems } from "../support/config-problems";
import { fullConfigInput } from "../support/synth";
import { PROJECT_ROOT } from "../../config/paths";

const problems = configProblems;

describe("built-in defaults", () => {
  const config = parseConfig({});

  it("describe the example deployment", () => {
    expect(config).toMatchObject({
      namePrefix: "s3edge-example",
      primaryRegion: "us-east-2",
      replicaRegion: "us-west-2",
      backend: { type: "local", directory: "." },
      storage: {
        primaryBucketName: "s3edge-example-primary-us-east-2",
        replicaBucketName: "s3edge-example-replica-us-west-2",
        encryption: { type: "sse-s3" },
        noncurrentVersionExpirationDays: 30,
        abortIncompleteMultipartUploadDays: 7,
        forceDestroy: false,
        replication: { deleteMarkerReplication: true, replicationTimeControl: false },
      },
      lambda: { runtime: "nodejs22.x", architecture: "arm64", logRetentionDays: 30 },
      domain: { zoneName: "example.com", contentHostname: "cdn.example.com", imageHostname: "img.example.com" },
      legacyOrigin: {
        bucket: "s3edge-example-legacy",
        access: "public",
        create: false,
        location: "US",
        backfill: { batchSize: 5, maxConcurrency: 20, workerMemoryMb: 1024 },
      },
      edge: { enabled: true, memoryMb: 128, timeoutSeconds: 5 },
      cdn: { enabled: true, originShieldRegion: "us-east-2", failover: "auto" },
      image: { enabled: true, variant: "lambda" },
    });
  });

  it("fill every nested field that a partial file leaves out", () => {
    const partial = parseConfig({
      storage: { replication: { replicationTimeControl: true } },
      domain: { zoneName: "acme.test" },
    });
    expect(partial.storage.replication).toEqual({ deleteMarkerReplication: true, replicationTimeControl: true });
    expect(partial.storage.noncurrentVersionExpirationDays).toBe(30);
    expect(partial.domain).toMatchObject({ contentHostname: "cdn.acme.test", imageHostname: "img.acme.test" });
  });

  it("read a legacy origin without kind as GCS, and fill each kind's defaults", () => {
    expect(parseConfig({ legacyOrigin: { bucket: "acme-legacy" } }).legacyOrigin).toMatchObject({
      kind: "gcs",
      bucket: "acme-legacy",
      access: "public",
    });
    expect(
      parseConfig({
        legacyOrigin: {
          kind: "s3-compatible",
          endpoint: "oss-eu-central-1.aliyuncs.com",
          bucket: "acme",
          region: "eu-central-1",
        },
      }).legacyOrigin,
    ).toEqual({
      kind: "s3-compatible",
      endpoint: "oss-eu-central-1.aliyuncs.com",
      bucket: "acme",
      region: "eu-central-1",
      addressing: "virtual-hosted",
      access: "private",
      backfill: { batchSize: 5, maxConcurrency: 20, workerMemoryMb: 1024 },
    });
    expect(
      parseConfig({ legacyOrigin: { kind: "https", domain: "static.acme.test", pathPrefix: "/assets/v1" } })
        .legacyOrigin,
    ).toEqual({
      kind: "https",
      domain: "static.acme.test",
      pathPrefix: "/assets/v1",
      backfill: { batchSize: 5, maxConcurrency: 20, workerMemoryMb: 1024 },
    });
  });

  it("switch optional parts off with null", () => {
    const config = parseConfig({ domain: null, legacyOrigin: null });
    expect(config.domain).toBeNull();
    expect(config.legacyOrigin).toBeNull();
  });

  it("accept the full example config", () => {
    expect(parseConfig(fullConfigInput()).storage.encryption).toEqual({ type: "sse-kms" });
  });
});

describe("invalid config names the field and the reason", () => {
  const cases: Array<[string, S3EdgeConfigInput | Record<string, unknown>, RegExp]> = [
    ["wrong type", { namePrefix: 5 }, /^namePrefix: .*expected string, received number/],
    ["wrong nested type", { storage: { forceDestroy: "yes" } }, /^storage\.forceDestroy: .*expected boolean/],
    ["unknown key", { storage: { versioning: false } }, /^storage\.versioning: unknown field$/],
    [
      "reserved tag key",
      { tags: { "aws:cloudformation:stack-name": "x" } },
      /^tags\.aws:cloudformation:stack-name: tag keys starting with aws: are reserved/,
    ],
    ["unknown top-level key", { regions: ["us-east-1"] }, /^regions: unknown field$/],
    [
      "regional WAF web ACL",
      {
        cdn: {
          webAclArn: "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/a/a1b2c3d4-5678-90ab-cdef-1234567890ab",
        },
      },
      /^cdn\.webAclArn: must be the ARN of a CloudFront-scope WAFv2 web ACL/,
    ],
    ["TTLs out of order", { cdn: { ttl: { min: 600, default: 60 } } }, /^cdn\.ttl: must satisfy min <= default <= max/],
    [
      "batching window over the SQS maximum",
      { cdn: { invalidation: { batchingWindowSeconds: 301 } } },
      /^cdn\.invalidation\.batchingWindowSeconds: /,
    ],
    [
      "exact path limit over CloudFront's",
      { cdn: { invalidation: { exactPathLimit: 3001 } } },
      /^cdn\.invalidation\.exactPathLimit: /,
    ],
    [
      "certificate name outside the zone",
      { domain: { zoneName: "example.com", subjectAlternativeNames: ["static.example.org"] } },
      /^domain\.subjectAlternativeNames\.0: "static.example.org" is not in the hosted zone example.com/,
    ],
    [
      "content hostname outside the zone",
      { domain: { zoneName: "example.com", contentHostname: "cdn.other.com" } },
      /^domain\.contentHostname: "cdn.other.com" is not in the hosted zone/,
    ],
    ["region that does not exist", { primaryRegion: "us-east-7" }, /^primaryRegion: "us-east-7" is not an AWS region/],
    [
      "region of another partition",
      { replicaRegion: "us-gov-west-1" },
      /^replicaRegion: "us-gov-west-1" is not an AWS region/,
    ],
    [
      "Origin Shield region CloudFront does not offer",
      { cdn: { originShieldRegion: "us-west-1" } },
      /^cdn\.originShieldRegion: CloudFront offers no Origin Shield in us-west-1/,
    ],
    [
      "primary region without Origin Shield",
      { primaryRegion: "eu-north-1", replicaRegion: "eu-west-1" },
      /^cdn\.originShieldRegion: .*eu-north-1 \(the primary region, used by default\)/,
    ],
    [
      "primary region equal to replica region",
      { primaryRegion: "eu-west-1", replicaRegion: "eu-west-1" },
      /^replicaRegion: must differ from primaryRegion/,
    ],
    [
      "malformed domain",
      { domain: { zoneName: "exa_mple.com" } },
      /^domain\.zoneName: "exa_mple.com" is not a valid domain name/,
    ],
    ["domain with one label", { domain: { zoneName: "localhost" } }, /^domain\.zoneName: .*at least two labels/],
    [
      "malformed hostname",
      { domain: { zoneName: "example.com", imageHostname: "-img.example.com" } },
      /^domain\.imageHostname: /,
    ],
    [
      "bucket name with capitals",
      { storage: { primaryBucketName: "My-Bucket" } },
      /^storage\.primaryBucketName: "My-Bucket" is not a valid S3 bucket name: may contain only lowercase/,
    ],
    [
      "bucket name too short",
      { storage: { replicaBucketName: "ab" } },
      /^storage\.replicaBucketName: .*3 to 63 characters/,
    ],
    ["bucket name like an IP address", { storage: { primaryBucketName: "192.168.5.4" } }, /IP address/],
    ["bucket name with a reserved prefix", { storage: { primaryBucketName: "xn--bucket" } }, /reserved prefix "xn--"/],
    [
      "bucket name with a reserved suffix",
      { storage: { primaryBucketName: "media-s3alias" } },
      /reserved suffix "-s3alias"/,
    ],
    [
      "GCS bucket name S3 would refuse",
      { legacyOrigin: { bucket: "Legacy Bucket" } },
      /^legacyOrigin\.bucket: .*not a valid GCS bucket name/,
    ],
    ["state bucket name", { backend: { type: "s3", bucket: "UPPER", region: "us-east-1" } }, /^backend\.bucket: /],
    ["backend without its required fields", { backend: { type: "s3" } }, /^backend\.region: is required/],
    ["unknown backend", { backend: { type: "gcs" } }, /^backend\.type: /],
    [
      "KMS key in another region",
      { storage: { encryption: { type: "sse-kms", replicaKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234" } } },
      /^storage\.encryption\.replicaKeyArn: the key is in eu-west-1 but its bucket is in us-west-2/,
    ],
    [
      "log retention CloudWatch refuses",
      { lambda: { logRetentionDays: 10 } },
      /^lambda\.logRetentionDays: must be a retention CloudWatch Logs accepts/,
    ],
    ["runtime older than nodejs22.x", { lambda: { runtime: "nodejs18.x" } }, /^lambda\.runtime: /],
    [
      "created GCS bucket without a project",
      { legacyOrigin: { bucket: "demo-legacy", create: true } },
      /^legacyOrigin\.project: is required when legacyOrigin\.create is true/,
    ],
    [
      "private GCS bucket without a project",
      { legacyOrigin: { bucket: "demo-legacy", access: "private" } },
      /^legacyOrigin\.project: is required when legacyOrigin\.access is "private" \(the read-only service account/,
    ],
    [
      "backfill batch above the SQS limit",
      { legacyOrigin: { bucket: "demo-legacy", backfill: { batchSize: 25 } } },
      /^legacyOrigin\.backfill\.batchSize: must be at most 10/,
    ],
    [
      "backfill concurrency below the SQS minimum",
      { legacyOrigin: { bucket: "demo-legacy", backfill: { maxConcurrency: 1 } } },
      /^legacyOrigin\.backfill\.maxConcurrency: must be at least 2/,
    ],
    [
      "worker memory above the Lambda maximum",
      { legacyOrigin: { bucket: "demo-legacy", backfill: { workerMemoryMb: 20_000 } } },
      /^legacyOrigin\.backfill\.workerMemoryMb: /,
    ],
    [
      "GCS location with spaces",
      { legacyOrigin: { bucket: "demo-legacy", location: "us east" } },
      /^legacyOrigin\.location: /,
    ],
    [
      "edge timeout above the Lambda@Edge origin limit",
      { edge: { timeoutSeconds: 60 } },
      /^edge\.timeoutSeconds: must be at most 30 \(the Lambda@Edge limit/,
    ],
    ["edge memory below the Lambda minimum", { edge: { memoryMb: 64 } }, /^edge\.memoryMb: /],
    [
      "a private GCS origin without the signer",
      { legacyOrigin: { bucket: "demo-legacy", access: "private", project: "demo-project" }, edge: { enabled: false } },
      /^edge\.enabled: must be true while the cdn fails over to a private legacy bucket/,
    ],
    [
      "a private S3-compatible origin without the signer",
      {
        legacyOrigin: { kind: "s3-compatible", endpoint: "s3.wasabisys.com", bucket: "media", region: "us-east-1" },
        edge: { enabled: false },
      },
      /^edge\.enabled: must be true while the cdn fails over to a private legacy bucket/,
    ],
    [
      "unknown legacy origin kind",
      { legacyOrigin: { kind: "ftp" } },
      /^legacyOrigin\.kind: must be one of gcs, s3-compatible, https/,
    ],
    [
      "S3-compatible origin without a signing region",
      { legacyOrigin: { kind: "s3-compatible", endpoint: "s3.wasabisys.com", bucket: "media" } },
      /^legacyOrigin\.region: is required \(the SigV4 signing region\)/,
    ],
    [
      "S3-compatible endpoint with a scheme",
      {
        legacyOrigin: {
          kind: "s3-compatible",
          endpoint: "https://s3.wasabisys.com",
          bucket: "media",
          region: "us-east-1",
        },
      },
      /^legacyOrigin\.endpoint: /,
    ],
    [
      "S3-compatible bucket name with upper case",
      { legacyOrigin: { kind: "s3-compatible", endpoint: "s3.wasabisys.com", bucket: "Media", region: "us-east-1" } },
      /^legacyOrigin\.bucket: must be 3 to 63 lowercase letters/,
    ],
    [
      "dotted bucket with virtual-hosted addressing",
      {
        legacyOrigin: {
          kind: "s3-compatible",
          endpoint: "s3.wasabisys.com",
          bucket: "media.acme",
          region: "us-east-1",
        },
      },
      /^legacyOrigin\.addressing: must be "path" for the bucket "media\.acme"/,
    ],
    [
      "credentials secret for a public S3-compatible bucket",
      {
        legacyOrigin: {
          kind: "s3-compatible",
          endpoint: "s3.wasabisys.com",
          bucket: "media",
          region: "us-east-1",
          access: "public",
          credentialsSecret: "acme/wasabi",
        },
      },
      /^legacyOrigin\.credentialsSecret: must be absent when access is "public"/,
    ],
    [
      "credentials secret that is neither a name nor an ARN",
      {
        legacyOrigin: {
          kind: "s3-compatible",
          endpoint: "s3.wasabisys.com",
          bucket: "media",
          region: "us-east-1",
          credentialsSecret: "arn:aws:iam::123456789012:user/x y",
        },
      },
      /^legacyOrigin\.credentialsSecret: must be a Secrets Manager secret name or ARN/,
    ],
    [
      "keys in config instead of a secret",
      {
        legacyOrigin: {
          kind: "s3-compatible",
          endpoint: "s3.wasabisys.com",
          bucket: "media",
          region: "us-east-1",
          secretAccessKey: "plaintext",
        },
      },
      /^legacyOrigin\.secretAccessKey: unknown field/,
    ],
    [
      "HTTPS origin prefix with a trailing slash",
      { legacyOrigin: { kind: "https", domain: "static.acme.test", pathPrefix: "/assets/" } },
      /^legacyOrigin\.pathPrefix: must start with a slash, not end with one/,
    ],
    ["HTTPS origin without a domain", { legacyOrigin: { kind: "https" } }, /^legacyOrigin\.domain: /],
    [
      "GCS fields on an HTTPS origin",
      { legacyOrigin: { kind: "https", domain: "static.acme.test", bucket: "media" } },
      /^legacyOrigin\.bucket: unknown field/,
    ],
  ];

  it.each(cases)("%s", (_name, input, expected) => {
    expect(problems(input)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it("reports every problem at once, with the source in the message", () => {
    try {
      parseConfig({ primaryRegion: "mars-1", storage: { primaryBucketName: "A" } }, "/etc/s3-edge.json");
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain("Invalid s3-edge config (/etc/s3-edge.json)");
      expect(message).toContain("  - primaryRegion: ");
      expect(message).toContain("  - storage.primaryBucketName: ");
    }
  });
});

describe("loadConfig", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "s3-edge-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("uses the built-in defaults when no file exists", () => {
    expect(loadConfig({ env: {}, cwd: dir })).toEqual(parseConfig({}));
  });

  it(`reads ${DEFAULT_CONFIG_FILE} from the project root when present`, () => {
    writeFileSync(join(dir, DEFAULT_CONFIG_FILE), JSON.stringify({ namePrefix: "from-root-file" }));
    expect(loadConfig({ env: {}, cwd: dir }).namePrefix).toBe("from-root-file");
  });

  it("prefers the file named by S3EDGE_CONFIG, relative to the working directory", () => {
    writeFileSync(join(dir, DEFAULT_CONFIG_FILE), JSON.stringify({ namePrefix: "from-root-file" }));
    writeFileSync(join(dir, "prod.json"), JSON.stringify({ namePrefix: "from-env-file" }));
    expect(loadConfig({ env: { S3EDGE_CONFIG: "prod.json" }, cwd: dir }).namePrefix).toBe("from-env-file");
  });

  it("names a missing file", () => {
    expect(() => loadConfig({ env: { S3EDGE_CONFIG: "missing.json" }, cwd: dir })).toThrow(
      /missing\.json.*cannot read the file/s,
    );
  });

  it("names a file that is not JSON", () => {
    writeFileSync(join(dir, "broken.json"), "{ namePrefix: ");
    expect(() => loadConfig({ env: { S3EDGE_CONFIG: "broken.json" }, cwd: dir })).toThrow(
      /broken\.json.*not valid JSON/s,
    );
  });
});

describe("synth with bad config", () => {
  it("stops before any stack is built and names the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "s3-edge-badsynth-"));
    try {
      const configFile = join(dir, "bad.json");
      writeFileSync(configFile, JSON.stringify({ primaryRegion: "eu-west-1", replicaRegion: "eu-west-1" }));
      const outdir = join(dir, "out");
      const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), "main.ts"], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, S3EDGE_CONFIG: configFile, CDKTF_OUTDIR: outdir },
        encoding: "utf8",
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("replicaRegion: must differ from primaryRegion");
      expect(existsSync(outdir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
