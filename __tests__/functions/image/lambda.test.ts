/**
 * The Lambda handler with the event shapes AWS documents for HTTP API payload 2.0 and Function URLs,
 * reading from s3rver through the standard SDK variables.
 */
import type { APIGatewayProxyEventV2, LambdaFunctionURLEvent } from "aws-lambda";
import sharp from "sharp";
import { handler, LAMBDA_RESPONSE_LIMIT, toLambdaResult } from "../../../functions/image/lambda";
import { jpeg } from "../../fixtures/image/generate";
import { localAwsEnv, startS3, type LocalS3 } from "../../../testing/local-servers";

let s3: LocalS3;
const savedEnv = { ...process.env };

beforeAll(async () => {
  s3 = await startS3(["images"]);
  await s3.put("images", "photos/dog.jpg", await jpeg(400, 300));
  await s3.put("images", "big.jpg", await jpeg(1000, 700, 100));
  // DEADLINE_MS: a loaded machine must not turn a slow encode into a 503; the deadline has its own test.
  Object.assign(process.env, localAwsEnv(s3.endpoint), {
    SOURCE_BUCKET: "images",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    DEADLINE_MS: "120000",
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await s3?.close();
});

/** The HTTP API (payload format 2.0) example event from the API Gateway developer guide. */
function httpApiEvent(
  rawPath: string,
  rawQueryString: string,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    cookies: ["cookie1", "cookie2"],
    headers: { accept: "*/*", host: "abc123.execute-api.us-east-1.amazonaws.com", ...headers },
    queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)),
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abc123",
      http: { method: "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "agent" },
      requestId: "JKJaXmPLvHcESHA=",
      routeKey: "$default",
      stage: "$default",
      time: "12/Mar/2020:19:03:58 +0000",
      timeEpoch: 1583348638390,
    },
    isBase64Encoded: false,
  };
}

/** The Function URL request payload from the Lambda developer guide (IAM auth, as behind CloudFront OAC). */
function functionUrlEvent(rawPath: string, rawQueryString: string): LambdaFunctionURLEvent {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers: {
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      host: "abcdefg.lambda-url.us-east-1.on.aws",
      accept: "image/webp",
    },
    queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)),
    requestContext: {
      accountId: "123456789012",
      apiId: "abcdefg",
      authorizer: {
        iam: {
          accessKey: "AKIA...",
          accountId: "111122223333",
          callerId: "AIDA...",
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: "arn:aws:iam::111122223333:user/example-user",
          userId: "AIDA...",
        },
      },
      domainName: "abcdefg.lambda-url.us-east-1.on.aws",
      domainPrefix: "abcdefg",
      http: { method: "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "123.123.123.123", userAgent: "agent" },
      requestId: "id",
      routeKey: "$default",
      stage: "$default",
      time: "12/Mar/2020:19:03:58 +0000",
      timeEpoch: 1583348638390,
    },
    isBase64Encoded: false,
  } as LambdaFunctionURLEvent;
}

const decode = (body: string | undefined) => Buffer.from(body ?? "", "base64");

describe("Lambda handler", () => {
  test("HTTP API 2.0: processed image, base64 body, headers", async () => {
    const result = await handler(httpApiEvent("/photos/dog.jpg", "x-oss-process=image%2Fresize%2Cw_100"), {} as never);
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(true);
    expect(result.headers).toMatchObject({ "content-type": "image/jpeg", "cache-control": "public, max-age=31536000" });
    const metadata = await sharp(decode(result.body)).metadata();
    expect([metadata.width, metadata.height]).toEqual([100, 75]);
  });

  test("Function URL event: same shape, same answer", async () => {
    const result = await handler(
      functionUrlEvent("/photos/dog.jpg", "x-oss-process=image/crop,w_50,h_40/format,png"),
      {} as never,
    );
    expect(result.statusCode).toBe(200);
    const metadata = await sharp(decode(result.body)).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(["png", 50, 40]);
  });

  test("no x-oss-process is 403 (the distribution fails over to S3)", async () => {
    const result = await handler(httpApiEvent("/photos/dog.jpg", ""), {} as never);
    expect(result.statusCode).toBe(403);
    expect(decode(result.body).toString()).toContain("<Code>AccessDenied</Code>");
  });

  test("bad input is 400 with the OSS XML body and the API Gateway request id", async () => {
    const result = await handler(httpApiEvent("/photos/dog.jpg", "x-oss-process=image/resize,w_0"), {} as never);
    expect(result.statusCode).toBe(400);
    expect(result.headers).toMatchObject({ "content-type": "application/xml" });
    const xml = decode(result.body).toString();
    expect(xml).toContain("<Code>InvalidArgument</Code>");
    expect(xml).toContain("<RequestId>JKJaXmPLvHcESHA=</RequestId>");
  });

  test("a missing object is 404 NoSuchKey", async () => {
    const result = await handler(functionUrlEvent("/nope.jpg", "x-oss-process=image/resize,w_10"), {} as never);
    expect(result.statusCode).toBe(404);
    expect(decode(result.body).toString()).toContain("<Code>NoSuchKey</Code>");
  });

  test("an output past the 6 MB response limit is a 413 that says why", async () => {
    const result = await handler(
      httpApiEvent("/big.jpg", "x-oss-process=image/resize,w_3000,limit_0/format,png"),
      {} as never,
    );
    expect(result.statusCode).toBe(413);
    const xml = decode(result.body).toString();
    expect(xml).toContain("<Code>ResponseTooLarge</Code>");
    expect(xml).toContain(`the limit is ${LAMBDA_RESPONSE_LIMIT} bytes`);
  });
});

describe("deadline in Lambda", () => {
  test("the function's remaining time, less a margin for the answer, bounds the request's deadline", async () => {
    const heavy = Array(8).fill("blur,r_50,s_50/contrast,10").join("/");
    const context = { getRemainingTimeInMillis: () => 1100, awsRequestId: "r" };
    const result = await handler(httpApiEvent("/big.jpg", `x-oss-process=image/${heavy}`), context as never);
    expect(result.statusCode).toBe(503);
    const xml = decode(result.body).toString();
    expect(xml).toContain("<Code>ServiceUnavailable</Code>");
    expect(xml).toContain("its 100 ms deadline");
  });
});

describe("response size arithmetic", () => {
  const headers = { "content-type": "image/png" };
  const overhead = Buffer.byteLength(JSON.stringify({ statusCode: 200, headers, isBase64Encoded: true, body: "" }));

  test("base64 is 4 characters per 3 bytes, rounded up; the limit applies to the whole JSON payload", () => {
    // The largest body whose payload fits exactly: 4 * ceil(n / 3) + overhead <= limit.
    const fits = Math.floor((LAMBDA_RESPONSE_LIMIT - overhead) / 4) * 3;
    const ok = toLambdaResult({ status: 200, headers, body: Buffer.alloc(fits) }, "r");
    expect(ok.statusCode).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(ok))).toBeLessThanOrEqual(LAMBDA_RESPONSE_LIMIT);
    const over = toLambdaResult({ status: 200, headers, body: Buffer.alloc(fits + 1) }, "r");
    expect(over.statusCode).toBe(413);
  });
});
