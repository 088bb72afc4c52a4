/**
 * The server under a hostile request, a request past its deadline and clients that leave: sources in
 * s3rver, the production service from the environment, real HTTP.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import sharp from "sharp";
import { createImageServer, type ImageServer } from "../../../functions/image/server";
import { ImageService, servicePropsFromEnv } from "../../../functions/image/service";
import type { ImageSource } from "../../../functions/image/source";
import { animated, jpeg } from "../../fixtures/image/generate";
import { localAwsEnv, startS3, type LocalS3 } from "../../../testing/local-servers";

const logger = new Logger({ serviceName: "image-server-limits-test", logLevel: "SILENT" });
const savedEnv = { ...process.env };
let s3: LocalS3;

beforeAll(async () => {
  s3 = await startS3(["images"]);
  await s3.put("images", "cat.jpg", await jpeg(400, 300));
  await s3.put("images", "anim.gif", await animated("gif", 100, 100, 300));
  const large = sharp({ create: { width: 3000, height: 3000, channels: 3, background: "#808080" } });
  await s3.put("images", "large.jpg", await large.jpeg().toBuffer());
  Object.assign(process.env, { ...localAwsEnv(s3.endpoint), SOURCE_BUCKET: "images" });
});

afterAll(async () => {
  process.env = savedEnv;
  await s3?.close();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
};

/**
 * Twelve large blurs of a 3000x3000 image, near the most work one request may ask for (a larger image or
 * more steps is refused as ImageTooLarge): several seconds of CPU on any machine, far past the 500 ms
 * deadline, which the ordinary 400x300 request meets with a wide margin even on a loaded machine.
 */
const HEAVY = `/large.jpg?x-oss-process=image/${Array(12).fill("blur,r_50,s_50/contrast,10").join("/")}`;
const HOSTILE = "/anim.gif?x-oss-process=image/resize,m_fixed,w_4096,h_4096,limit_0";
const ORDINARY = "/cat.jpg?x-oss-process=image/resize,w_100/quality,q_50";

describe("a hostile request and a request past its deadline beside ordinary ones", () => {
  let image: ImageServer;
  let base: string;

  beforeAll(async () => {
    const service = new ImageService({ ...servicePropsFromEnv(process.env, logger), deadlineMs: 500 });
    image = createImageServer({ service, logger, maxConcurrency: 2, maxQueue: 8 });
    base = await listen(image.server);
  });
  afterAll(() => image.shutdown());

  test("the hostile one is refused at once, the ordinary one completes, the slow one is abandoned and frees its slot", async () => {
    const finished: string[] = [];
    const timed = (name: string, path: string) =>
      fetch(`${base}${path}`).then(async (response) => {
        finished.push(name);
        return { status: response.status, body: await response.text() };
      });

    // Warm: clients and sharp loaded. On a busy machine the first request may miss the 500 ms deadline.
    let warm = 0;
    for (let attempt = 0; attempt < 5 && warm !== 200; attempt++) warm = (await fetch(`${base}${ORDINARY}`)).status;
    expect(warm).toBe(200);
    const slow = timed("slow", HEAVY);
    await until(() => image.load().active === 1); // the slow one holds a slot
    const hostile = await timed("hostile", HOSTILE);
    const ordinary = await timed("ordinary", ORDINARY);

    expect(hostile.status).toBe(400);
    expect(hostile.body).toContain("<Code>ImageTooLarge</Code>");
    expect(hostile.body).toContain("300 frames of 4096x4096");
    expect(ordinary.status).toBe(200);
    // Both were answered while the slow request was still at work in the other slot.
    expect(finished).toEqual(["hostile", "ordinary"]);
    expect(image.load().active).toBe(1);

    const abandoned = await slow;
    expect(abandoned.status).toBe(503);
    expect(abandoned.body).toContain("<Code>ServiceUnavailable</Code>");
    expect(abandoned.body).toMatch(/deadline; its work was abandoned/);
    // The processing slot is held until libvips has stopped, at most a second after the answer.
    await until(() => image.load().active === 0);
    expect(image.load()).toEqual({ active: 0, reading: 0, queued: 0 });
    // libvips stopped too: no pipeline keeps the CPU after the answer.
    const stopBy = Date.now() + 5000;
    while (sharp.counters().process > 0 && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 50));
    expect(sharp.counters().process).toBe(0);
    expect((await fetch(`${base}${ORDINARY}`)).status).toBe(200);
  });
});

describe("clients that disconnect", () => {
  test("leave the queue at once, and free their slot without waiting for their work", async () => {
    const props = servicePropsFromEnv(process.env, logger);
    const reads: string[] = [];
    // The first read never ends on its own: only the request's abort signal ends it.
    const stalled: ImageSource = {
      get: (bucket, key, maxBytes, signal) => {
        reads.push(key);
        if (reads.length > 1) return props.source.get(bucket, key, maxBytes, signal);
        return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
      },
    };
    const service = new ImageService({ ...props, source: stalled });
    const image = createImageServer({ service, logger, maxConcurrency: 1, maxSources: 1, maxQueue: 4 });
    const base = await listen(image.server);
    try {
      const first = new AbortController();
      const holding = fetch(`${base}${ORDINARY}`, { signal: first.signal }).catch(() => "aborted");
      await until(() => image.load().reading === 1);
      const second = new AbortController();
      const queued = fetch(`${base}${ORDINARY}`, { signal: second.signal }).catch(() => "aborted");
      await until(() => image.load().queued === 1);

      second.abort();
      expect(await queued).toBe("aborted");
      await until(() => image.load().queued === 0);
      expect(image.load()).toEqual({ active: 0, reading: 1, queued: 0 });

      first.abort();
      expect(await holding).toBe("aborted");
      await until(() => image.load().reading === 0);
      const next = await fetch(`${base}${ORDINARY}`);
      expect(next.status).toBe(200);
      expect(reads).toEqual(["cat.jpg", "cat.jpg"]); // the queued one never read its source
    } finally {
      await image.shutdown();
    }
  });
});

describe("slots", () => {
  test("a slow source read holds no processing slot: the next request is processed meanwhile", async () => {
    const props = servicePropsFromEnv(process.env, logger);
    let stall = true;
    // The first read waits until the test lets it go; later reads go straight to s3rver.
    let letGo!: () => void;
    const stalledUntil = new Promise<void>((resolve) => (letGo = resolve));
    const slowFirst: ImageSource = {
      get: async (bucket, key, maxBytes, signal) => {
        if (stall) {
          stall = false;
          await stalledUntil;
        }
        return props.source.get(bucket, key, maxBytes, signal);
      },
    };
    const service = new ImageService({ ...props, source: slowFirst });
    // One processing slot: before, the stalled read held it and the second request waited behind it.
    const image = createImageServer({ service, logger, maxConcurrency: 1, maxQueue: 0 });
    const base = await listen(image.server);
    try {
      const slow = fetch(`${base}${ORDINARY}`);
      await until(() => image.load().reading === 1);
      const fast = await fetch(`${base}${ORDINARY}`);
      expect(fast.status).toBe(200);
      expect(image.load()).toEqual({ active: 0, reading: 1, queued: 0 });
      letGo();
      expect((await slow).status).toBe(200);
      expect(image.load()).toEqual({ active: 0, reading: 0, queued: 0 });
    } finally {
      letGo();
      await image.shutdown();
    }
  });

  test("the sources held in memory are bounded: past them requests queue, past the queue 503", async () => {
    const props = servicePropsFromEnv(process.env, logger);
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const gated: ImageSource = {
      get: async (...args) => {
        await gate;
        return props.source.get(...args);
      },
    };
    const service = new ImageService({ ...props, source: gated });
    const image = createImageServer({ service, logger, maxConcurrency: 1, maxSources: 2, maxQueue: 1 });
    const base = await listen(image.server);
    try {
      const held = [fetch(`${base}${ORDINARY}`), fetch(`${base}${ORDINARY}`)];
      await until(() => image.load().reading === 2);
      const waiting = fetch(`${base}${ORDINARY}`);
      await until(() => image.load().queued === 1);
      const refused = await fetch(`${base}${ORDINARY}`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      letGo();
      expect((await Promise.all([...held, waiting])).map((r) => r.status)).toEqual([200, 200, 200]);
      expect(image.load()).toEqual({ active: 0, reading: 0, queued: 0 });
    } finally {
      letGo();
      await image.shutdown();
    }
  });
});
