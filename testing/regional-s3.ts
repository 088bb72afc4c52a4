import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LocalS3 } from "./local-servers";

export interface RegionalS3 {
  readonly endpoint: string;
  /** Each request as it arrived: the bucket, the region it was signed for, and the status answered. */
  readonly requests: Array<{ bucket: string; signedFor: string; status: number }>;
  close(): Promise<void>;
}

/**
 * S3's regions in front of s3rver: each bucket lives in a region, and a request signed for another
 * region is answered as S3 answers it, 301 PermanentRedirect with `x-amz-bucket-region`; requests
 * signed for the bucket's region pass through to s3rver. Path-style requests (`/<bucket>/<key>`).
 */
export async function startRegionalS3(target: LocalS3, regions: Readonly<Record<string, string>>): Promise<RegionalS3> {
  const upstream = new URL(target.endpoint);
  const requests: RegionalS3["requests"] = [];
  const server = createServer((incoming, outgoing) => {
    const bucket = decodeURIComponent((incoming.url ?? "/").split("?")[0].split("/")[1] ?? "");
    const signedFor = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//.exec(incoming.headers.authorization ?? "")?.[1] ?? "";
    const region = regions[bucket];
    if (region !== undefined && region !== signedFor) {
      requests.push({ bucket, signedFor, status: 301 });
      const body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are ` +
        `attempting to access must be addressed using the specified endpoint. Please send all future requests to ` +
        `this endpoint.</Message><Endpoint>${bucket}.s3.${region}.amazonaws.com</Endpoint><Bucket>${bucket}</Bucket>` +
        `<RequestId>0000000000000000</RequestId><HostId>stand-in</HostId></Error>`;
      outgoing.writeHead(301, {
        "content-type": "application/xml",
        "x-amz-bucket-region": region,
        "content-length": Buffer.byteLength(body),
      });
      outgoing.end(incoming.method === "HEAD" ? undefined : body);
      return;
    }
    requests.push({ bucket, signedFor, status: 200 });
    forwardRequest(upstream, incoming, outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Passes a request on to `upstream` unchanged and its answer back (stand-ins that sit in front of s3rver). */
export function forwardRequest(upstream: URL, incoming: IncomingMessage, outgoing: ServerResponse): void {
  const forwarded = httpRequest(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: incoming.method,
      path: incoming.url,
      headers: incoming.headers,
    },
    (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(outgoing);
    },
  );
  incoming.pipe(forwarded);
}
