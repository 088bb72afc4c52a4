/**
 * gcs-signer: requests bound for the GCS origin are signed with SigV4, checked by an independent
 * verifier written from AWS's specification (s3rver accepts any signature, so serving a request
 * proves nothing about it); other requests pass untouched and never read the secret.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { CloudFrontRequest, CloudFrontRequestEvent, CloudFrontRequestResult } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { request as httpRequest } from "node:http";
import { signForGcs } from "../../../functions/gcs-signer/sign";
import { verifySigV4 as verify } from "../../../testing/sigv4";
import { localAwsEnv, S3RVER_CREDENTIALS, startS3, type LocalS3 } from "../../../testing/local-servers";

Object.assign(globalThis, {
  __GCS_HMAC_SECRET_ID__: "s3edge/gcs-hmac",
  __GCS_HMAC_SECRET_REGION__: "us-east-1",
  __LEGACY_ORIGIN_DOMAIN__: "127.0.0.1",
  __LEGACY_SIGNING_REGION__: "auto",
});
const secrets = mockClient(SecretsManagerClient);
let handler: (event: CloudFrontRequestEvent) => Promise<CloudFrontRequestResult>;
let gcs: LocalS3;

function gcsRequest(uri: string, querystring = ""): CloudFrontRequest {
  return {
    clientIp: "203.0.113.178",
    method: "GET",
    uri,
    querystring,
    headers: {
      host: [{ key: "Host", value: "127.0.0.1" }],
      "user-agent": [{ key: "User-Agent", value: "Amazon CloudFront" }],
      authorization: [{ key: "Authorization", value: "Bearer viewer-token" }],
    },
    origin: {
      custom: {
        customHeaders: {},
        domainName: "127.0.0.1",
        keepaliveTimeout: 5,
        path: "/legacy",
        port: Number(new URL(gcs.endpoint).port),
        protocol: "http",
        readTimeout: 30,
        sslProtocols: ["TLSv1.2"],
      },
    },
  };
}

/** The request as the origin receives it (origin path + URI), checked by the independent verifier. */
function verifySigV4(request: CloudFrontRequest, host: string, secretAccessKey: string): boolean {
  const header = (name: string) => (name === "host" ? host : (request.headers[name]?.[0]?.value ?? ""));
  return verify(
    {
      method: request.method,
      path: `${request.origin!.custom!.path}${request.uri}`,
      querystring: request.querystring,
      header,
    },
    secretAccessKey,
  ).valid;
}

const eventFor = (request: CloudFrontRequest): CloudFrontRequestEvent => ({
  Records: [
    {
      cf: {
        config: {
          distributionDomainName: "d111111abcdef8.cloudfront.net",
          distributionId: "EDFDVBD6EXAMPLE",
          eventType: "origin-request",
          requestId: "request",
        },
        request,
      },
    },
  ],
});

/** Sends the request CloudFront would send to the origin: origin path + URI, the function's headers. */
function fetchFromOrigin(request: CloudFrontRequest): Promise<{ status: number; body: string }> {
  const origin = request.origin!.custom!;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, values]) => [name, values.map((entry) => entry.value).join(",")]),
  );
  headers.host = `${origin.domainName}:${origin.port}`;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: origin.domainName,
        port: origin.port,
        method: request.method,
        path: `${origin.path}${request.uri}${request.querystring ? `?${request.querystring}` : ""}`,
        headers,
      },
      (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

beforeAll(async () => {
  Object.assign(process.env, localAwsEnv(), { POWERTOOLS_LOG_LEVEL: "SILENT" });
  gcs = await startS3(["legacy"]);
  await gcs.client.send(new PutObjectCommand({ Bucket: "legacy", Key: "photos/a b+c.jpg", Body: "jpeg bytes" }));
  await gcs.client.send(new PutObjectCommand({ Bucket: "legacy", Key: "photos/other.jpg", Body: "other" }));
  ({ handler } = await import("../../../functions/gcs-signer/index"));
});

afterAll(async () => {
  await gcs?.close();
});

beforeEach(() => {
  secrets.reset();
});

it("answers an uncached 503 while the secret cannot be read, reads it again next time, then keeps it", async () => {
  secrets
    .on(GetSecretValueCommand)
    .rejectsOnce(new Error("throttled"))
    .resolves({ SecretString: JSON.stringify(S3RVER_CREDENTIALS) });
  const refused = (await handler(eventFor(gcsRequest("/photos/a%20b%2Bc.jpg")))) as { status: string; headers: object };
  expect(refused.status).toBe("503");
  expect(refused.headers).toMatchObject({ "cache-control": [{ key: "Cache-Control", value: "no-store" }] });
  const signed = (await handler(eventFor(gcsRequest("/photos/a%20b%2Bc.jpg")))) as CloudFrontRequest;
  expect((await fetchFromOrigin(signed)).status).toBe(200);
  await handler(eventFor(gcsRequest("/photos/a%20b%2Bc.jpg")));
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
});

it("signs a GCS-bound request with SigV4 over the bucket path and the URI", async () => {
  const signed = (await handler(eventFor(gcsRequest("/photos/a%20b%2Bc.jpg")))) as CloudFrontRequest;
  expect(signed.headers.authorization[0].value).toMatch(
    /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/auto\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
  );
  expect(signed.headers["user-agent"]).toEqual([{ key: "User-Agent", value: "Amazon CloudFront" }]);
  const host = `127.0.0.1:${new URL(gcs.endpoint).port}`;
  expect(verifySigV4(signed, host, S3RVER_CREDENTIALS.secretAccessKey)).toBe(true);
  // The signature covers the origin path (the bucket) and the URI.
  expect(verifySigV4({ ...signed, uri: "/photos/other.jpg" }, host, S3RVER_CREDENTIALS.secretAccessKey)).toBe(false);
  expect(verifySigV4(signed, host, "another secret")).toBe(false);
  expect(await fetchFromOrigin(signed)).toEqual({ status: 200, body: "jpeg bytes" });

  // A fixed signing date gives a reproducible signature (the core is pure).
  const at = new Date("2025-04-01T10:00:00Z");
  const again = await signForGcs(gcsRequest("/photos/a%20b%2Bc.jpg"), S3RVER_CREDENTIALS, "auto", at);
  expect(again.headers["x-amz-date"][0].value).toBe("20250401T100000Z");
  expect(verifySigV4(again, host, S3RVER_CREDENTIALS.secretAccessKey)).toBe(true);
});

it("signs query strings too", async () => {
  const signed = (await handler(
    eventFor(gcsRequest("/photos/a%20b%2Bc.jpg", "response-content-type=image%2Fjpeg")),
  )) as CloudFrontRequest;
  expect(verifySigV4(signed, `127.0.0.1:${new URL(gcs.endpoint).port}`, S3RVER_CREDENTIALS.secretAccessKey)).toBe(true);
  expect((await fetchFromOrigin(signed)).status).toBe(200);
});

it("leaves requests for other origins untouched and does not read the secret", async () => {
  const s3Request: CloudFrontRequest = {
    ...gcsRequest("/photos/x.jpg"),
    origin: {
      s3: {
        authMethod: "origin-access-identity",
        customHeaders: {},
        domainName: "primary.s3.us-east-1.amazonaws.com",
        path: "",
        region: "us-east-1",
      },
    },
  };
  const before = JSON.parse(JSON.stringify(s3Request));
  expect(await handler(eventFor(s3Request))).toEqual(before);
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
});
