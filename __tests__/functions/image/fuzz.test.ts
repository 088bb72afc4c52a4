/**
 * Random and mutated x-oss-process strings (`S3EDGE_FUZZ_RUNS`, thousands in CI) through the whole
 * service: the answer is always a response below 500, and no promise is left rejected.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import fc from "fast-check";
import { ImageEngine } from "../../../functions/image/engine";
import { ImageError } from "../../../functions/image/errors";
import { ImageService } from "../../../functions/image/service";
import { animated, jpeg, solid } from "../../fixtures/image/generate";

const b64 = (text: string) => Buffer.from(text).toString("base64url");

const VALID = [
  "image/resize,w_20,h_10,m_fill/quality,q_50",
  "image/resize,l_30,s_20,m_pad,color_00FF00,limit_0",
  "image/crop,w_5,h_5,x_1,y_1,g_se/rotate,45/format,png",
  "image/circle,r_3/rounded-corners,r_2/format,webp",
  "image/indexcrop,x_3,i_1/blur,r_3,s_2/bright,10/contrast,-10/sharpen,100",
  `image/watermark,text_${b64("fuzz")},size_12,color_FF0000,shadow_20,rotate_30,g_center,voffset_3,t_60`,
  `image/watermark,image_${b64("mark.png")},text_${b64("m")},order_1,align_1,interval_2,fill_1`,
  "image/auto-orient,0/interlace,1/format,jpg/info",
  "image/average-hue",
  "style/thumb",
  "image/resize,p_150/format,gif",
];

const ACTIONS = [
  "resize",
  "crop",
  "circle",
  "indexcrop",
  "rounded-corners",
  "rotate",
  "auto-orient",
  "blur",
  "bright",
  "contrast",
  "sharpen",
  "format",
  "quality",
  "interlace",
  "watermark",
  "info",
  "average-hue",
  "bogus",
];
const KEYS = [
  "w",
  "h",
  "l",
  "s",
  "p",
  "m",
  "limit",
  "color",
  "x",
  "y",
  "g",
  "r",
  "i",
  "t",
  "q",
  "Q",
  "image",
  "text",
  "type",
  "size",
  "shadow",
  "rotate",
  "fill",
  "order",
  "align",
  "interval",
  "voffset",
  "zz",
];
const VALUES = [
  "lfit",
  "mfit",
  "fill",
  "pad",
  "fixed",
  "se",
  "center",
  "nw",
  "png",
  "jpg",
  "gif",
  "avif",
  "bmp",
  "FFFFFF",
  b64("mark.png"),
  b64("missing.png"),
  b64("text"),
  "-1",
  "0",
  "1",
  "100",
  "16384",
  "99999999999",
  "_",
  "%",
  "1e3",
  "0x10",
  "",
];

const value = fc.oneof(
  fc.constantFrom(...VALUES),
  fc.integer({ min: -20, max: 5000 }).map(String),
  fc.string({ maxLength: 6 }),
);
const param = fc.oneof(
  fc.tuple(fc.constantFrom(...KEYS), value).map(([key, v]) => `${key}_${v}`),
  value, // bare values: rotate,90
);
const action = fc
  .tuple(fc.constantFrom(...ACTIONS), fc.array(param, { maxLength: 5 }))
  .map(([name, params]) => [name, ...params].join(","));
const grammar = fc.array(action, { minLength: 1, maxLength: 5 }).map((actions) => `image/${actions.join("/")}`);
const mutated = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ minLength: 1, maxLength: 2 })), { maxLength: 4 }),
  )
  .map(([text, edits]) =>
    edits.reduce((current, [at, kind, insert]) => {
      const position = current.length === 0 ? 0 : at % current.length;
      if (kind === 0) return current.slice(0, position) + current.slice(position + 1); // delete
      if (kind === 1) return current.slice(0, position) + insert + current.slice(position + 1); // replace
      return current.slice(0, position) + insert + current.slice(position); // insert
    }, text),
  );
const random = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ maxLength: 60 }).map((text) => `image/${text}`),
);

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261121);
/** Inputs per run: a quick sample for `npm test`; `.ci/run` sets the full volume (5000). */
const FUZZ_RUNS = Number(process.env.S3EDGE_FUZZ_RUNS ?? 1000);
if (!Number.isInteger(FUZZ_RUNS) || FUZZ_RUNS < 100) throw new Error("S3EDGE_FUZZ_RUNS: an integer of at least 100");

describe("fuzzing x-oss-process", () => {
  let service: ImageService;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    const objects: Record<string, Buffer> = {
      "photo.jpg": await jpeg(24, 16),
      "anim.gif": await animated("gif", 12, 8, 3),
      "mark.png": await solid(4, 4, { r: 255, g: 0, b: 0, alpha: 0.5 }),
    };
    service = new ImageService({
      // Small output limits keep each of the thousands of runs cheap; the limit checks are what is exercised.
      engine: new ImageEngine({ limits: { maxOutputSide: 400, maxOutputPixels: 40_000 } }),
      source: {
        get: async (_bucket, key) => {
          const object = objects[key];
          if (!object) throw new ImageError("NoSuchKey", `the object "${key}" does not exist`);
          return object;
        },
      },
      styles: {
        get: async (name) =>
          name === "thumb" ? "image/resize,w_10" : name === "broken" ? "image/resize,w_0" : undefined,
      },
      defaultBucket: "images",
      allowedBuckets: [],
      logger: new Logger({ serviceName: "image-fuzz", logLevel: "SILENT" }),
    });
  });

  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
  });

  test("never a 5xx, never an unhandled rejection", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { arbitrary: grammar, weight: 3 },
          { arbitrary: mutated, weight: 3 },
          { arbitrary: random, weight: 1 },
        ),
        fc.constantFrom("/photo.jpg", "/anim.gif", "/photo.jpg@!thumb", "/photo.jpg!broken", "/missing.jpg"),
        async (process, path) => {
          const response = await service.handle({
            method: "GET",
            path,
            query: `x-oss-process=${encodeURIComponent(process)}`,
            headers: { accept: "image/webp" },
            requestId: "fuzz",
          });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status >= 500)
            throw new Error(`${response.status} for ${path}?${process}: ${response.body.toString()}`);
        },
      ),
      // A fixed seed keeps CI deterministic; FUZZ_SEED=<n> explores other inputs (a failure prints its seed).
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED },
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    // The generators reach both outcomes: successes and each client error (at 5000 runs: over 50, 50, 10).
    expect(statuses.get(200)).toBeGreaterThan(FUZZ_RUNS / 100);
    expect(statuses.get(400)).toBeGreaterThan(FUZZ_RUNS / 100);
    expect(statuses.get(404)).toBeGreaterThan(FUZZ_RUNS / 500);
  });
});
