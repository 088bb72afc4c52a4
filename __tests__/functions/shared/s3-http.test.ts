/**
 * S3Http's bounds (functions/shared/s3-http.ts), which the image source relies on: each stage of an
 * attempt has its timeout and a timed-out attempt is retried by the client's strategy; an abort
 * ends the request, its retries and its body at once; and with `followRegionRedirects` a bucket in
 * another region is read after one PermanentRedirect, remembered for later reads. Against node:http
 * stand-ins that stall where told to, and the regional stand-in in front of s3rver.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { S3Http, S3HttpTimeoutError } from "../../../functions/shared/s3-http";
import { localS3Client, startS3, type LocalS3 } from "../../../testing/local-servers";
import { startRegionalS3, type RegionalS3 } from "../../../testing/regional-s3";

const TIMEOUTS = { connectMs: 1_000, headersMs: 300, idleMs: 300 };

const client = (endpoint: string, maxAttempts: number, followRegionRedirects = false) =>
  localS3Client(endpoint, { maxAttempts, followRegionRedirects });

/**
 * A retry strategy (the SDK's token interface, as S3Http uses it) that waits 10 s before each retry:
 * the SDK's own waits a random part of its delay, which may be shorter than a test's pause.
 */
const WAITING_RETRIES = {
  acquireInitialRetryToken: async () => ({ getRetryCount: () => 0, getRetryDelay: () => 0 }),
  refreshRetryTokenForRetry: async () => ({ getRetryCount: () => 1, getRetryDelay: () => 10_000 }),
  recordSuccess: () => undefined,
};

/** A node:http stand-in answering each request with `answer`; counts the requests. */
async function standIn(answer: (request: IncomingMessage, response: ServerResponse) => void) {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests++;
    request.resume();
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const bodyOf = (body: NodeJS.ReadableStream) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on("data", (chunk: Buffer) => chunks.push(chunk));
    body.on("error", reject);
    body.on("end", () => resolve(Buffer.concat(chunks)));
  });

describe("S3Http timeouts", () => {
  it("fails an attempt that gets no response headers in time, and retries it with the client's strategy", async () => {
    const silent = await standIn(() => undefined);
    try {
      const http = new S3Http(client(silent.endpoint, 2), { timeouts: TIMEOUTS });
      const error = await http.get("images", "cat.jpg").catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(S3HttpTimeoutError);
      expect((error as Error).message).toContain("no response headers within 300 ms");
      expect(silent.requests()).toBe(2);
    } finally {
      await silent.close();
    }
  });

  it("ends a body that stalls for longer than the idle timeout", async () => {
    const stalling = await standIn((_, response) => {
      response.writeHead(200, { "content-length": "1000" });
      response.write(Buffer.alloc(10));
    });
    try {
      const http = new S3Http(client(stalling.endpoint, 1), { timeouts: TIMEOUTS });
      const response = await http.get("images", "cat.jpg");
      await expect(bodyOf(response.body)).rejects.toThrow();
    } finally {
      await stalling.close();
    }
  });

  it("keeps a slow but steady body: the idle timeout counts from the last read", async () => {
    const body = Buffer.alloc(8, 1);
    const trickling = await standIn((_, response) => {
      response.writeHead(200, { "content-length": String(body.length) });
      // One byte every 100 ms: 800 ms in all, each gap under the 300 ms idle timeout.
      let sent = 0;
      const timer = setInterval(() => {
        response.write(body.subarray(sent, sent + 1));
        if (++sent === body.length) {
          clearInterval(timer);
          response.end();
        }
      }, 100);
    });
    try {
      const http = new S3Http(client(trickling.endpoint, 1), { timeouts: TIMEOUTS });
      expect((await bodyOf((await http.get("images", "cat.jpg")).body)).equals(body)).toBe(true);
    } finally {
      await trickling.close();
    }
  });
});

describe("S3Http bodies", () => {
  it("a body dropped unread (destroyed) raises no error for a caller that does not listen", async () => {
    const answering = await standIn((_, response) => {
      response.writeHead(200, { "content-length": "100000" });
      response.end(Buffer.alloc(100_000));
    });
    const unhandled: unknown[] = [];
    const onUncaught = (error: unknown) => unhandled.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const http = new S3Http(client(answering.endpoint, 1));
      const response = await http.get("images", "cat.jpg");
      response.body.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(response.body.destroyed).toBe(true);
      expect(unhandled).toEqual([]);
      // The connection is not left half-read: the next request is answered.
      expect((await bodyOf((await http.get("images", "cat.jpg")).body)).length).toBe(100_000);
    } finally {
      process.off("uncaughtException", onUncaught);
      await answering.close();
    }
  });

  it("a body that ends short of its Content-Length fails its reader", async () => {
    const short = await standIn((request, response) => {
      response.writeHead(200, { "content-length": "1000" });
      response.write(Buffer.alloc(10));
      setTimeout(() => request.socket.destroy(), 20);
    });
    try {
      const http = new S3Http(client(short.endpoint, 1));
      await expect(bodyOf((await http.get("images", "cat.jpg")).body)).rejects.toThrow();
    } finally {
      await short.close();
    }
  });
});

describe("S3Http aborts", () => {
  it("an abort while waiting for headers rejects at once, with no retry", async () => {
    const silent = await standIn(() => undefined);
    try {
      const http = new S3Http(client(silent.endpoint, 3));
      const abort = new AbortController();
      const reading = http.get("images", "cat.jpg", {}, abort.signal);
      setTimeout(() => abort.abort(new Error("client went away")), 100);
      await expect(reading).rejects.toThrow();
      expect(silent.requests()).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it("an abort while the body is read ends the body", async () => {
    const stalling = await standIn((_, response) => {
      response.writeHead(200, { "content-length": "1000" });
      response.write(Buffer.alloc(10));
    });
    try {
      const http = new S3Http(client(stalling.endpoint, 1));
      const abort = new AbortController();
      const response = await http.get("images", "cat.jpg", {}, abort.signal);
      const reading = bodyOf(response.body);
      abort.abort(new Error("deadline"));
      await expect(reading).rejects.toThrow();
    } finally {
      await stalling.close();
    }
  });

  it("an abort during the wait between two attempts ends the retries", async () => {
    const abort = new AbortController();
    let aborted = 0;
    const failing = await standIn((_, response) => {
      response.writeHead(503, { "content-type": "application/xml" });
      response.end("<Error><Code>SlowDown</Code><Message>slow down</Message></Error>");
      // A moment after the first answer, timed from it (not from the test's start, which a loaded
      // machine may not have reached the server by): the client is in its wait for the second attempt.
      setTimeout(() => {
        aborted = Date.now();
        abort.abort(new Error("deadline"));
      }, 50);
    });
    try {
      const http = new S3Http(localS3Client(failing.endpoint, { retryStrategy: WAITING_RETRIES }));
      const reading = http.get("images", "cat.jpg", {}, abort.signal);
      await expect(reading).rejects.toThrow("deadline");
      expect(failing.requests()).toBe(1);
      // Not after the strategy's delay (10 s).
      expect(Date.now() - aborted).toBeLessThan(5_000);
    } finally {
      await failing.close();
    }
  });
});

describe("S3Http region redirects", () => {
  let s3: LocalS3;
  let regional: RegionalS3;

  beforeAll(async () => {
    s3 = await startS3(["far-photos"]);
    await s3.put("far-photos", "dog.txt", Buffer.from("woof"));
    regional = await startRegionalS3(s3, { "far-photos": "eu-west-1" });
  });
  afterAll(async () => {
    await regional.close();
    await s3.close();
  });
  beforeEach(() => regional.requests.splice(0));

  it("follows S3's PermanentRedirect to the bucket's region once, and addresses the bucket there from then on", async () => {
    const http = new S3Http(client(regional.endpoint, 1, true));
    for (let read = 0; read < 2; read++)
      expect((await bodyOf((await http.get("far-photos", "dog.txt")).body)).toString()).toBe("woof");
    expect(regional.requests).toEqual([
      { bucket: "far-photos", signedFor: "us-east-1", status: 301 },
      { bucket: "far-photos", signedFor: "eu-west-1", status: 200 },
      { bucket: "far-photos", signedFor: "eu-west-1", status: 200 },
    ]);
  });

  it("without followRegionRedirects, the redirect is the error", async () => {
    const http = new S3Http(client(regional.endpoint, 1));
    await expect(http.get("far-photos", "dog.txt")).rejects.toMatchObject({
      name: "PermanentRedirect",
      bucketRegion: "eu-west-1",
      $metadata: { httpStatusCode: 301 },
    });
  });
});
