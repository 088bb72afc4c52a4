/**
 * The work of one request is bounded before any pixel is decoded (work.ts, limits.ts), and a
 * request past its deadline stops its libvips work (deadline.ts).
 */
import sharp from "sharp";
import { getEventListeners } from "node:events";
import type { Action } from "../../../functions/image/actions";
import { Deadline } from "../../../functions/image/deadline";
import { ImageEngine } from "../../../functions/image/engine";
import { ImageError } from "../../../functions/image/errors";
import { DEFAULT_LIMITS } from "../../../functions/image/limits";
import { parseProcess } from "../../../functions/image/parser";
import { checkWork } from "../../../functions/image/work";
import { animated, jpeg } from "../../fixtures/image/generate";

const engine = new ImageEngine();
const b64 = (text: string) => Buffer.from(text).toString("base64url");

function actionsOf(process: string): Action[] {
  const spec = parseProcess(process);
  if (spec.kind !== "actions") throw new Error("expected actions");
  return spec.actions;
}

/** The error a request is answered with, and how long the engine took to give it. */
async function refusal(source: Buffer, process: string, deadline?: Deadline) {
  const started = performance.now();
  const error = await engine.process({ source, actions: actionsOf(process), deadline }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  const ms = performance.now() - started;
  if (!(error instanceof ImageError)) throw new Error(`expected an ImageError, got ${String(error)}`);
  return { code: error.code, status: error.status, message: error.message, ms };
}

/** The mean red of each frame of an animation, in frame order. */
async function frameReds(image: Buffer): Promise<number[]> {
  const { data, info } = await sharp(image, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const frames = info.pages ?? 1;
  const frameBytes = data.length / frames;
  return Array.from({ length: frames }, (_, frame) => {
    let sum = 0;
    for (let at = frame * frameBytes; at < (frame + 1) * frameBytes; at += info.channels) sum += data[at];
    return Math.round(sum / (frameBytes / info.channels));
  });
}

describe("the total work of a request is checked from the header and the actions", () => {
  let gif300: Buffer;
  beforeAll(async () => {
    gif300 = await animated("gif", 100, 100, 300); // a few KB
  });

  test("300 frames resized to 4096x4096 (5 Gpx) are refused with ImageTooLarge before any decode", async () => {
    const answer = await refusal(gif300, "image/resize,m_fixed,w_4096,h_4096,limit_0");
    expect(answer).toMatchObject({ code: "ImageTooLarge", status: 400 });
    expect(answer.message).toContain("300 frames of 4096x4096, an animation");
    expect(answer.message).toContain(`at most ${DEFAULT_LIMITS.maxAnimationOutputPixels} px`);
    // Decoding and resizing 300 frames takes seconds at the least; the refusal reads a header.
    expect(answer.ms).toBeLessThan(1000);
  });

  test("rotate,90 of a large animation is refused: its raw frames would exceed the buffer limit", async () => {
    const small = new ImageEngine({ limits: { maxBufferPixels: 10_000_000 } });
    const process = "image/resize,m_fixed,w_400,h_400,limit_0/rotate,90";
    const started = performance.now();
    const error = await small.process({ source: gif300, actions: actionsOf(process) }).catch((e: unknown) => e);
    const answer = { ...(error as ImageError), message: (error as Error).message, ms: performance.now() - started };
    expect(answer.code).toBe("ImageTooLarge");
    expect(answer.message).toContain("an intermediate raw buffer of 48000000 px");
    expect(answer.ms).toBeLessThan(1000);
  });

  test("an animation within the limits keeps its frames through resize and rotate,90", async () => {
    const source = await animated("gif", 100, 100, 30);
    const result = await engine.process({ source, actions: actionsOf("image/resize,w_50/rotate,90") });
    const metadata = await sharp(result.body, { animated: true }).metadata();
    expect([metadata.pages, metadata.width, metadata.pageHeight]).toEqual([30, 50, 50]);
  });

  test("31 text watermarks at size_1000 are refused: their overlays would exceed the composite limit", async () => {
    const photo = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: "#336699" } })
      .jpeg()
      .toBuffer();
    const mark = `watermark,text_${b64("s3-edge")},size_1000,t_50`;
    const answer = await refusal(photo, `image/${Array(31).fill(mark).join("/")}`);
    expect(answer.code).toBe("ImageTooLarge");
    expect(answer.message).toContain("overlays (watermarks, masks) covering");
    expect(answer.ms).toBeLessThan(1000);
  });

  test("ordinary requests are far inside every limit and need no intermediate buffer", () => {
    const photo = { width: 1600, height: 1200 };
    const chain = checkWork(
      photo,
      1,
      actionsOf("image/resize,w_800/crop,w_400,h_400,g_center/rotate,90/format,webp"),
      DEFAULT_LIMITS,
    );
    expect(chain).toEqual({
      workPixels: 800 * 600 + 3 * 400 * 400,
      compositePixels: 0,
      largestBufferPixels: 0,
      buffers: 0,
    });
    const marked = checkWork(
      photo,
      1,
      actionsOf(`image/resize,w_400/watermark,text_${b64("hi")},size_40`),
      DEFAULT_LIMITS,
    );
    expect(marked.compositePixels).toBeLessThan(400 * 300);
    expect(marked.buffers).toBe(0);
  });

  test("an action sharp must run earlier than one already queued counts a raw buffer", () => {
    const estimate = checkWork(
      { width: 1000, height: 1000 },
      1,
      actionsOf("image/blur,r_3,s_2/resize,w_500"),
      DEFAULT_LIMITS,
    );
    expect([estimate.buffers, estimate.largestBufferPixels]).toEqual([1, 1_000_000]);
  });
});

describe("animations", () => {
  test("an animated WebP above the frame cap is returned unprocessed, like a GIF", async () => {
    const source = await animated("webp", 8, 8, 5);
    const capped = new ImageEngine({ limits: { animationPassthroughFrames: 4 } });
    const result = await capped.process({ source, actions: actionsOf("image/resize,w_4,limit_0") });
    expect(result.body.equals(source)).toBe(true);
    expect(result.contentType).toBe("image/webp");
  });

  test.each([180, 90])("rotate,%d keeps the frame order", async (angle) => {
    const source = await animated("webp", 16, 8, 4);
    const result = await engine.process({ source, actions: actionsOf(`image/rotate,${angle}`) });
    const reds = await frameReds(result.body);
    const expected = await frameReds(source);
    expect(reds).toHaveLength(4);
    reds.forEach((red, frame) => expect(Math.abs(red - expected[frame])).toBeLessThanOrEqual(4));
  });
});

describe("deadline", () => {
  test("a cancelled request is answered at once, before its source is decoded", async () => {
    const cancelled = new AbortController();
    cancelled.abort(new Error("client disconnected"));
    const answer = await refusal(await jpeg(64, 64), "image/resize,w_32", new Deadline(10_000, cancelled.signal));
    expect(answer).toMatchObject({ code: "ServiceUnavailable", status: 503 });
    expect(answer.message).toContain("client went away");
  });

  test("work past the deadline is stopped inside libvips, not only abandoned", async () => {
    const photo = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: "#808080" } })
      .jpeg()
      .toBuffer();
    // Eight large blurs, each in its own sharp instance: well over a second of CPU on any machine.
    const heavy = `image/${Array(8).fill("blur,r_50,s_50/contrast,10").join("/")}`;
    const answer = await refusal(photo, heavy, new Deadline(1000));
    expect(answer).toMatchObject({ code: "ServiceUnavailable", status: 503 });
    expect(answer.message).toMatch(/deadline/);
    // libvips' timeout (whole seconds) ends the pipeline that was running: nothing keeps working.
    const until = Date.now() + 5000;
    while (sharp.counters().process > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(sharp.counters().process).toBe(0);
  });

  test("an answered request leaves nothing on its deadline's signal, so its response is not kept until the deadline", async () => {
    const client = new AbortController();
    const deadline = new Deadline(25_000, client.signal);
    await expect(deadline.race(Promise.resolve("answered"))).resolves.toBe("answered");
    await expect(deadline.race(Promise.reject(new Error("failed")))).rejects.toThrow("failed");
    await new Promise((resolve) => setImmediate(resolve));
    expect(getEventListeners(deadline.signal, "abort")).toHaveLength(0);
  });

  test("disposed once answered, a deadline stops its timer and stops listening to its client", async () => {
    const client = new AbortController();
    const deadline = new Deadline(20, client.signal);
    expect(getEventListeners(client.signal, "abort")).toHaveLength(1);
    deadline.dispose();
    expect(getEventListeners(client.signal, "abort")).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    client.abort(new Error("client disconnected"));
    expect(deadline.signal.aborted).toBe(false);
  });

  test("work still running when its deadline passes or its client leaves is answered then", async () => {
    const never = new Promise<never>(() => undefined);
    await expect(new Deadline(20).race(never)).rejects.toMatchObject({ code: "ServiceUnavailable" });
    const client = new AbortController();
    const leaving = new Deadline(25_000, client.signal).race(never);
    client.abort(new Error("client disconnected"));
    await expect(leaving).rejects.toThrow(/client went away/);
  });
});
