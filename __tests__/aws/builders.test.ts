import { Testing, TerraformStack } from "cdktf";
import { aliasRecords, cloudFrontStatement, viewerCertificate } from "../../aws/cloudfront";
import { denyInsecureTransport } from "../../aws/iam";
import { Partition } from "../../aws/partition";
import { transportSecurityStatements } from "../../constructs/bucket-policy";

// The statements and blocks every construct builds through these helpers, spelled out once.
describe("policy statement builders", () => {
  it("denies requests without TLS", () => {
    expect(denyInsecureTransport("sqs:*", "arn:aws:sqs:eu-west-1:123456789012:q")).toEqual({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "sqs:*",
      Resource: "arn:aws:sqs:eu-west-1:123456789012:q",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
  });

  it("gives buckets the plain-HTTP and old-TLS denies on the bucket and its objects", () => {
    const arn = "arn:aws:s3:::media";
    expect(transportSecurityStatements(arn)).toEqual([
      denyInsecureTransport("s3:*", [arn, `${arn}/*`]),
      {
        Sid: "DenyOutdatedTls",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [arn, `${arn}/*`],
        Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
      },
    ]);
  });

  it("grants CloudFront on behalf of the named distributions only", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const statement = cloudFrontStatement(Partition.of(stack), {
      sid: "Read",
      action: "s3:GetObject",
      resource: "arn:aws:s3:::media/*",
      distributionArns: ["arn:aws:cloudfront::123456789012:distribution/E1"],
    });
    expect(statement).toMatchObject({
      Sid: "Read",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::media/*",
      Condition: { StringEquals: { "AWS:SourceArn": ["arn:aws:cloudfront::123456789012:distribution/E1"] } },
    });
    expect(Object.keys(statement.Principal as object)).toEqual(["Service"]);
  });
});

describe("CloudFront builders", () => {
  it("asks for SNI and TLS 1.2 (2021) with a custom certificate, and nothing with CloudFront's own", () => {
    expect(viewerCertificate({ kind: "cloudfront" })).toEqual({ cloudfrontDefaultCertificate: true });
    expect(viewerCertificate({ kind: "acm", certificateArn: "arn:cert" })).toEqual({
      acmCertificateArn: "arn:cert",
      sslSupportMethod: "sni-only",
      minimumProtocolVersion: "TLSv1.2_2021",
    });
    expect(viewerCertificate({ kind: "iam", iamCertificateId: "ASCA1" })).toEqual({
      iamCertificateId: "ASCA1",
      sslSupportMethod: "sni-only",
      minimumProtocolVersion: "TLSv1.2_2021",
    });
  });

  it("points A and AAAA alias records at the distribution", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    aliasRecords(stack, {
      zoneId: "Z1",
      hostname: "cdn.example.com",
      distribution: { domainName: "d1.cloudfront.net", hostedZoneId: "Z2FDTNDATAQYW2" },
    });
    const records = JSON.parse(Testing.synth(stack)).resource.aws_route53_record;
    expect(Object.values(records)).toEqual(
      ["A", "AAAA"].map((type) => ({
        zone_id: "Z1",
        name: "cdn.example.com",
        type,
        alias: { name: "d1.cloudfront.net", zone_id: "Z2FDTNDATAQYW2", evaluate_target_health: false },
      })),
    );
  });
});
