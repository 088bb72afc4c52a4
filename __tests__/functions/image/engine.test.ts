import sharp from "sharp";
import { encoderSettingsFromEnv } from "../../../functions/image/encoders";
import { ImageEngine, negotiateFormat, outputQuality } from "../../../functions/image/engine";
import { ImageError } from "../../../functions/image/errors";
import { estimateJpegQuality } from "../../../functions/image/jpeg-quality";
import { parseProcess } from "../../../functions/image/parser";
import { animated, jpeg, orientedJpeg, pixel, pngClaiming, solid } from "../../fixtures/image/generate";

const engine = new ImageEngine();

function actionsOf(process: string) {
  const spec = parseProcess(process);
  if (spec.kind !== "actions") throw new Error("expected actions");
  return spec.actions;
}

async function run(
  source: Buffer,
  process: string,
  extra: { accept?: string; objects?: Record<string, Buffer>; engine?: ImageEngine } = {},
) {
  const result = await (extra.engine ?? engine).process({
    source,
    actions: actionsOf(process),
    accept: extra.accept,
    loadObject: async (key) => {
      const object = extra.objects?.[key];
      if (!object) throw new ImageError("NoSuchKey", `the object "${key}" does not exist`);
      return object;
    },
  });
  return result;
}

async function meta(source: Buffer, process: string, extra?: Parameters<typeof run>[2]) {
  const result = await run(source, process, extra);
  const metadata = await sharp(result.body, { animated: true }).metadata();
  return {
    ...metadata,
    pageHeight: metadata.pageHeight ?? metadata.height,
    contentType: result.contentType,
    body: result.body,
  };
}

async function failure(source: Buffer, process: string, extra?: Parameters<typeof run>[2]): Promise<ImageError> {
  try {
    await run(source, process, extra);
  } catch (error) {
    if (error instanceof ImageError) return error;
    throw error;
  }
  throw new Error(`${process} did not fail`);
}

let photo: Buffer; // 400x300 JPEG at quality 90
let odd: Buffer; // 400x301 JPEG
let translucent: Buffer; // 200x100 PNG, red at alpha 0.5
let opaqueBlue: Buffer; // 200x100 PNG, blue

beforeAll(async () => {
  photo = await jpeg(400, 300, 90);
  odd = await jpeg(400, 301, 90);
  translucent = await solid(200, 100, { r: 255, g: 0, b: 0, alpha: 0.5 });
  opaqueBlue = await solid(200, 100, { r: 0, g: 0, b: 255 });
});

describe("resize", () => {
  test.each([
    ["image/resize,w_200,h_100", 133, 100], // lfit: fits inside
    ["image/resize,w_200,h_100,m_lfit", 133, 100],
    ["image/resize,w_200,h_100,m_mfit", 200, 150], // covers the box
    ["image/resize,w_200,h_100,m_fill", 200, 100], // covers, then centre crop
    ["image/resize,w_200,h_100,m_pad", 200, 100], // fits, then pads
    ["image/resize,w_200,h_100,m_fixed", 200, 100], // stretches
    ["image/resize,w_100", 100, 75], // one side: proportional
    ["image/resize,h_150,m_fill", 200, 150],
    ["image/resize,l_200", 200, 150], // long side
    ["image/resize,s_150", 200, 150], // short side
    ["image/resize,l_200,s_50", 67, 50], // both: the box in the image's orientation
    ["image/resize,w_100,l_300", 100, 75], // l/s ignored when w or h is given
    ["image/resize,p_50", 200, 150],
    ["image/resize,p_150", 600, 450], // p above 100 enlarges whatever limit says
    ["image/resize,w_100,p_10", 100, 75], // w/h win over p
    ["image/resize,w_800", 400, 300], // limit_1 (default): a larger target returns the source
    ["image/resize,w_800,limit_0", 800, 600],
    ["image/resize,w_300,h_400,m_fixed,limit_1", 400, 300], // fixed: larger height → unchanged
  ])("%s → %dx%d", async (process, width, height) => {
    const result = await meta(photo, process);
    expect([result.width, result.height]).toEqual([width, height]);
    expect(result.format).toBe("jpeg");
  });

  test("the engine rounds half up: 400x301 to w_200 is 200x151", async () => {
    const result = await meta(odd, "image/resize,w_200");
    expect([result.width, result.height]).toEqual([200, 151]);
  });

  test("pad uses color and centres the image", async () => {
    const result = await meta(photo, "image/resize,w_200,h_200,m_pad,color_FF0000/format,png");
    expect([result.width, result.height]).toEqual([200, 200]);
    expect(await pixel(result.body, 100, 2)).toEqual([255, 0, 0, 255]);
    expect(await pixel(result.body, 100, 197)).toEqual([255, 0, 0, 255]);
  });

  test("a target past the output limits is ImageTooLarge", async () => {
    const error = await failure(photo, "image/resize,p_1000,w_16384,h_16384,m_fixed,limit_0");
    expect(error.code).toBe("ImageTooLarge");
    expect(error.message).toMatch(/16384x16384.*16777216/);
  });
});

describe("crop", () => {
  test.each([
    ["image/crop,w_100,h_50", [100, 50]],
    ["image/crop,x_350,y_280", [50, 20]], // w/h default to the edge
    ["image/crop,w_100,h_100,x_350,y_250", [50, 50]], // overflow is clipped
    ["image/crop,w_100,h_100,g_se", [100, 100]],
    ["image/crop,w_100,h_100,g_center,x_200", [50, 100]], // moved right from the centre anchor, clipped
    ["image/crop,w_1000,h_1000,g_se", [400, 300]],
  ])("%s → %j", async (process, size) => {
    const result = await meta(photo, process);
    expect([result.width, result.height]).toEqual(size);
  });

  test("gravity anchors the box: se with x/y moves it inward from the corner", async () => {
    // A 4-quadrant image: the se quadrant is blue.
    const quadrants = await sharp({ create: { width: 100, height: 100, channels: 3, background: "#ff0000" } })
      .composite([{ input: await solid(50, 50, { r: 0, g: 0, b: 255 }), left: 50, top: 50 }])
      .png()
      .toBuffer();
    const se = await run(quadrants, "image/crop,w_20,h_20,g_se,x_5,y_5");
    expect(await pixel(se.body, 19, 19)).toEqual([0, 0, 255, 255]);
    const north = await run(quadrants, "image/crop,w_20,h_20,g_north");
    expect((await sharp(north.body).metadata()).width).toBe(20);
    expect(await pixel(north.body, 0, 0)).toEqual([255, 0, 0, 255]);
  });

  test("an origin outside the image is 400", async () => {
    const error = await failure(photo, "image/crop,x_400,y_0");
    expect(error.code).toBe("InvalidArgument");
    expect(error.message).toMatch(/crop: .*outside the 400x300 image/);
  });
});

describe("circle, indexcrop, rounded-corners", () => {
  test("circle: 2r square, transparent outside for PNG", async () => {
    const result = await meta(opaqueBlue, "image/circle,r_40");
    expect([result.width, result.height, result.channels]).toEqual([80, 80, 4]);
    expect((await pixel(result.body, 0, 0))[3]).toBe(0);
    expect(await pixel(result.body, 40, 40)).toEqual([0, 0, 255, 255]);
  });

  test("circle: white outside for JPEG, radius capped at half the short side", async () => {
    const result = await meta(opaqueBlue, "image/circle,r_4000/format,jpg");
    expect([result.width, result.height, result.channels]).toEqual([100, 100, 3]);
    const corner = await pixel(result.body, 0, 0);
    expect(corner.slice(0, 3).every((value) => value > 245)).toBe(true);
  });

  test.each([
    ["image/indexcrop,x_150,i_1", [150, 300]],
    ["image/indexcrop,x_150,i_2", [100, 300]], // the last slice is what is left
    ["image/indexcrop,y_100,i_0", [400, 100]],
    ["image/indexcrop,x_50,y_100,i_1", [400, 100]], // y wins
    ["image/indexcrop,x_150,i_3", [400, 300]], // past the last slice: unchanged
  ])("%s → %j", async (process, size) => {
    const result = await meta(photo, process);
    expect([result.width, result.height]).toEqual(size);
  });

  test("rounded-corners: transparent corners, opaque centre", async () => {
    const result = await meta(opaqueBlue, "image/rounded-corners,r_30");
    expect([result.width, result.height]).toEqual([200, 100]);
    expect((await pixel(result.body, 0, 0))[3]).toBe(0);
    expect((await pixel(result.body, 199, 99))[3]).toBe(0);
    expect(await pixel(result.body, 100, 50)).toEqual([0, 0, 255, 255]);
  });
});

describe("rotate and auto-orient", () => {
  test("rotate,90 swaps the sides", async () => {
    const result = await meta(photo, "image/rotate,90");
    expect([result.width, result.height]).toEqual([300, 400]);
  });

  test("rotate,45 grows the canvas: white corners for JPEG, transparent for PNG", async () => {
    const asJpeg = await meta(opaqueBlue, "image/rotate,45/format,jpg");
    expect(asJpeg.width).toBeGreaterThan(200);
    expect((await pixel(asJpeg.body, 0, 0)).slice(0, 3).every((value) => value > 245)).toBe(true);
    const asPng = await meta(opaqueBlue, "image/rotate,45");
    expect(asPng.channels).toBe(4);
    expect((await pixel(asPng.body, 0, 0))[3]).toBe(0);
  });

  test("rotate,360 and rotate,0 leave the image as it is", async () => {
    expect((await meta(photo, "image/rotate,360")).width).toBe(400);
  });

  test("EXIF orientation is applied by default; auto-orient,0 keeps the stored orientation", async () => {
    const sideways = await orientedJpeg(40, 20);
    const oriented = await meta(sideways, "image/resize,w_10");
    expect([oriented.width, oriented.height]).toEqual([10, 20]);
    const stored = await meta(sideways, "image/auto-orient,0/resize,w_10");
    expect([stored.width, stored.height]).toEqual([10, 5]);
  });
});

describe("effects", () => {
  const stats = async (body: Buffer) => (await sharp(body).stats()).channels[0];

  test("blur lowers the variance", async () => {
    const before = await stats((await run(photo, "image/format,png")).body);
    const after = await stats((await run(photo, "image/blur,r_5,s_3/format,png")).body);
    expect(after.stdev).toBeLessThan(before.stdev / 2);
  });

  test("bright raises (and lowers) the mean", async () => {
    const base = await stats((await run(photo, "image/format,png")).body);
    expect((await stats((await run(photo, "image/bright,50/format,png")).body)).mean).toBeGreaterThan(base.mean + 20);
    expect((await stats((await run(photo, "image/bright,-50/format,png")).body)).mean).toBeLessThan(base.mean - 20);
  });

  test("contrast,-100 flattens to grey; contrast,50 spreads", async () => {
    const base = await stats((await run(photo, "image/format,png")).body);
    expect((await stats((await run(photo, "image/contrast,-100/format,png")).body)).stdev).toBeLessThan(1);
    expect((await stats((await run(photo, "image/contrast,50/format,png")).body)).stdev).toBeGreaterThan(base.stdev);
  });

  test("sharpen raises the variance of a blurred image", async () => {
    const soft = (await run(photo, "image/blur,r_3,s_2/format,png")).body;
    const sharpened = await stats((await run(soft, "image/sharpen,300/format,png")).body);
    expect(sharpened.stdev).toBeGreaterThan((await stats(soft)).stdev);
  });
});

describe("format, quality, interlace", () => {
  test.each([
    ["jpg", "jpeg", "image/jpeg"],
    ["jpeg", "jpeg", "image/jpeg"],
    ["png", "png", "image/png"],
    ["webp", "webp", "image/webp"],
    ["tiff", "tiff", "image/tiff"],
    ["avif", "heif", "image/avif"],
  ])("format,%s", async (name, format, contentType) => {
    const result = await meta(await jpeg(64, 48), `image/format,${name}`);
    expect(result.format).toBe(format);
    expect(result.contentType).toBe(contentType);
    expect([result.width, result.height]).toEqual([64, 48]);
  });

  test("format,gif keeps a GIF a GIF and a non-GIF in its own format", async () => {
    expect((await meta(await animated("gif", 20, 10), "image/format,gif")).format).toBe("gif");
    expect((await meta(photo, "image/format,gif")).format).toBe("jpeg");
  });

  test.each(["heic", "bmp", "svg"])("format,%s is 400 naming the allowed formats", async (name) => {
    const error = await failure(photo, `image/format,${name}`);
    expect(error.code).toBe("InvalidArgument");
    expect(error.message).toContain("allowed: jpg, jpeg, png, webp, gif, tiff, avif");
  });

  test("JPEG output of an image with alpha is flattened on white", async () => {
    const result = await meta(translucent, "image/format,jpg");
    expect(result.channels).toBe(3);
    const [r, g, b] = await pixel(result.body, 10, 10);
    expect(r).toBeGreaterThan(250);
    expect(g).toBeGreaterThan(120);
    expect(g).toBeLessThan(135);
    expect(Math.abs(b - g)).toBeLessThanOrEqual(2);
  });

  test("PNG output keeps alpha and stays lossless (no palette)", async () => {
    const result = await meta(translucent, "image/resize,w_100");
    expect(result.format).toBe("png");
    expect(result.channels).toBe(4);
    expect(result.isPalette).toBe(false);
  });

  test("q is relative to the source's estimated quality, Q absolute but never above the source's", async () => {
    expect(estimateJpegQuality(photo)).toBe(90);
    expect(estimateJpegQuality((await run(photo, "image/quality,q_50")).body)).toBe(45);
    expect(estimateJpegQuality((await run(photo, "image/quality,Q_60")).body)).toBe(60);
    expect(estimateJpegQuality((await run(photo, "image/quality,Q_98")).body)).toBe(90);
    expect(estimateJpegQuality((await run(photo, "image/quality,q_50,Q_70")).body)).toBe(70); // Q wins
    expect(estimateJpegQuality((await run(translucent, "image/quality,q_40/format,jpg")).body)).toBe(40); // absolute for non-JPEG
  });

  test("outputQuality rules", () => {
    expect(outputQuality(undefined, undefined)).toBe(85);
    expect(outputQuality(undefined, 70)).toBe(70);
    expect(outputQuality({ q: 33 }, 75)).toBe(25); // 24.75 rounds half up to 25
    expect(outputQuality({ Q: 10 }, 75)).toBe(10);
  });

  test("interlace,1 makes a progressive JPEG whatever its position", async () => {
    expect((await meta(photo, "image/interlace,1/resize,w_100")).isProgressive).toBe(true);
    expect((await meta(photo, "image/resize,w_100/interlace,0")).isProgressive).toBe(false);
  });

  test("automatic format from Accept, with Vary", async () => {
    const auto = new ImageEngine({ autoFormat: true });
    const avif = await run(photo, "image/resize,w_50", { engine: auto, accept: "image/avif,image/webp,*/*" });
    expect([avif.contentType, avif.varyAccept]).toEqual(["image/avif", true]);
    const webp = await run(photo, "image/resize,w_50", { engine: auto, accept: "image/webp,*/*" });
    expect(webp.contentType).toBe("image/webp");
    const explicit = await run(photo, "image/resize,w_50/format,png", { engine: auto, accept: "image/avif" });
    expect([explicit.contentType, explicit.varyAccept]).toEqual(["image/png", false]);
    expect(negotiateFormat("image/avif,image/webp", "gif", true)).toBe("webp");
    expect(negotiateFormat(undefined, "png", false)).toBe("png");
  });

  test("reads a viewer's raw Accept as well (China: no normalising function), honouring q=0", () => {
    const chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    expect(negotiateFormat(chrome, "jpeg", false)).toBe("avif");
    expect(negotiateFormat("image/webp, image/avif;q=0, */*;q=0.5", "jpeg", false)).toBe("webp");
    expect(negotiateFormat("IMAGE/WEBP;q=0.9,*/*;q=0.1", "png", false)).toBe("webp");
    expect(negotiateFormat("image/avif;q=0,image/webp;q=0", "png", false)).toBe("png");
    expect(negotiateFormat("image/avif-sequence,text/html", "png", false)).toBe("png");
  });
});

describe("watermark", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64url");

  test("image watermark at nw with x/y margins, from the same bucket", async () => {
    const white = await solid(300, 200, { r: 255, g: 255, b: 255 });
    const mark = await solid(20, 20, { r: 255, g: 0, b: 0 });
    const result = await run(white, `image/watermark,image_${b64("marks/red.png")},g_nw,x_10,y_30`, {
      objects: { "marks/red.png": mark },
    });
    expect(await pixel(result.body, 15, 35)).toEqual([255, 0, 0, 255]);
    expect(await pixel(result.body, 5, 35)).toEqual([255, 255, 255, 255]);
  });

  test("t sets the opacity; se with margins by default", async () => {
    const white = await solid(300, 200, { r: 255, g: 255, b: 255 });
    const mark = await solid(20, 20, { r: 0, g: 0, b: 0 });
    const result = await run(white, `image/watermark,image_${b64("m.png")},t_50`, { objects: { "m.png": mark } });
    const [r] = await pixel(result.body, 300 - 10 - 10, 200 - 10 - 10);
    expect(r).toBeGreaterThan(120);
    expect(r).toBeLessThan(135);
  });

  test("a missing watermark object is NoSuchKey", async () => {
    const error = await failure(photo, `image/watermark,image_${b64("nope.png")}`);
    expect([error.code, error.status]).toEqual(["NoSuchKey", 404]);
  });

  test("text watermark draws the text (colour, size, shadow, rotate), near the chosen corner", async () => {
    const white = await solid(400, 200, { r: 255, g: 255, b: 255 });
    const result = await run(
      white,
      `image/watermark,text_${b64("Hello s3-edge")},color_FF0000,size_40,g_nw,shadow_50,rotate_10`,
    );
    const { data, info } = await sharp(result.body).raw().toBuffer({ resolveWithObject: true });
    let red = 0;
    let redFarAway = 0;
    for (let y = 0; y < info.height; y++)
      for (let x = 0; x < info.width; x++) {
        const at = (y * info.width + x) * info.channels;
        if (data[at] > 200 && data[at + 1] < 60 && data[at + 2] < 60) {
          red++;
          if (x > 350 || y > 150) redFarAway++;
        }
      }
    expect(red).toBeGreaterThan(100);
    expect(redFarAway).toBe(0);
  });

  test("a text watermark at the smallest font size still renders (found by the fuzz test)", async () => {
    const small = await jpeg(24, 16);
    const process = `image/watermark,text_${b64("fuzz")},size_1,color_FF0000,shadow_20,rotate_30,g_center,voffset_3,t_60`;
    const result = await meta(small, process);
    expect([result.width, result.height, result.format]).toEqual([24, 16, "jpeg"]);
  });

  test("fill tiles the watermark over the whole image", async () => {
    const white = await solid(300, 300, { r: 255, g: 255, b: 255 });
    const mark = await solid(10, 10, { r: 0, g: 0, b: 0 });
    const result = await run(white, `image/watermark,image_${b64("m.png")},fill_1`, { objects: { "m.png": mark } });
    expect(await pixel(result.body, 295, 295)).toEqual([0, 0, 0, 255]);
    expect(await pixel(result.body, 5, 5)).toEqual([0, 0, 0, 255]);
  });

  test("image and text together, text first (order_1), aligned, interval apart; larger than the image is scaled down", async () => {
    const white = await solid(120, 60, { r: 255, g: 255, b: 255 });
    const mark = await solid(80, 80, { r: 0, g: 0, b: 255 });
    const result = await meta(
      white,
      `image/watermark,image_${b64("m.png")},text_${b64("AB")},size_30,order_1,align_1,interval_5,g_center`,
      { objects: { "m.png": mark } },
    );
    expect([result.width, result.height]).toEqual([120, 60]);
    const [r, g, b] = await pixel(result.body, 100, 30);
    expect([r, g, b]).toEqual([0, 0, 255]); // the image is on the right of the text
  });
});

describe("info and average-hue", () => {
  test("info reports the source and its EXIF; other actions are ignored", async () => {
    const sideways = await orientedJpeg(40, 20);
    const result = await run(sideways, "image/resize,w_10/info");
    expect(result.contentType).toBe("application/json");
    expect(JSON.parse(result.body.toString())).toMatchObject({
      FileSize: { value: String(sideways.length) },
      Format: { value: "jpg" },
      ImageHeight: { value: "20" },
      ImageWidth: { value: "40" },
      Orientation: { value: "6" },
      PixelXDimension: { value: "40" },
    });
  });

  test("average-hue of a flat colour is that colour", async () => {
    const result = await run(await solid(50, 50, { r: 0x12, g: 0x34, b: 0x56 }), "image/average-hue");
    expect(JSON.parse(result.body.toString())).toEqual({ RGB: "0x123456" });
  });

  test("average-hue sees the actions before it", async () => {
    const result = await run(opaqueBlue, "image/rotate,45/format,png/average-hue");
    const { RGB } = JSON.parse(result.body.toString()) as { RGB: string };
    expect(RGB).not.toBe("0x0000FF"); // the transparent corners count as white
  });
});

describe("animated GIF and WebP", () => {
  test.each(["gif", "webp"] as const)("%s keeps every frame through resize, crop, rotate", async (format) => {
    const source = await animated(format, 40, 20, 3);
    const resized = await meta(source, "image/resize,w_20");
    expect([resized.format, resized.pages, resized.width, resized.pageHeight]).toEqual([format, 3, 20, 10]);
    const cropped = await meta(source, "image/crop,w_10,h_5,g_se");
    expect([cropped.pages, cropped.width, cropped.pageHeight]).toEqual([3, 10, 5]);
    const rotated = await meta(source, "image/rotate,90");
    expect([rotated.pages, rotated.width, rotated.pageHeight]).toEqual([3, 20, 40]);
    const turned = await meta(source, "image/rotate,180/resize,w_10");
    expect([turned.pages, turned.width, turned.pageHeight]).toEqual([3, 10, 5]);
    expect(resized.delay).toEqual([80, 80, 80]);
  });

  test("GIF → WebP keeps the frames; GIF → JPEG is the first frame", async () => {
    const source = await animated("gif", 40, 20, 3);
    expect((await meta(source, "image/format,webp")).pages).toBe(3);
    const still = await meta(source, "image/format,jpg");
    expect([still.format, still.pages ?? 1, still.height]).toEqual(["jpeg", 1, 20]);
  });

  test("p on a GIF and actions outside resize/crop/rotate/format make it static", async () => {
    const source = await animated("gif", 40, 20, 3);
    expect((await meta(source, "image/resize,p_50")).pages ?? 1).toBe(1);
    expect((await meta(source, "image/blur,r_2,s_2")).pages ?? 1).toBe(1);
  });

  test("a GIF above the frame bound is returned unprocessed", async () => {
    const source = await animated("gif", 10, 10, 5);
    const small = new ImageEngine({ limits: { animationPassthroughFrames: 4 } });
    const result = await run(source, "image/resize,w_5", { engine: small });
    expect(result.body.equals(source)).toBe(true);
    expect(result.contentType).toBe("image/gif");
  });
});

describe("pipelines", () => {
  test("actions run in the order given across sharp stages", async () => {
    const b64 = Buffer.from("x").toString("base64url");
    const result = await meta(
      photo,
      `image/resize,w_200/rotate,90/crop,w_100,h_100,g_center/rotate,30/blur,r_2,s_1/watermark,text_${b64}/contrast,10/resize,w_50/format,webp/quality,q_80`,
    );
    expect(result.format).toBe("webp");
    expect(result.width).toBe(50);
    expect(result.height).toBe(50);
  });

  test.each([90, 180, 270])("resize → crop → rotate,%d in one instance equals doing them one by one", async (angle) => {
    const result = await run(photo, `image/resize,w_200/crop,w_50,h_30,x_10,y_20/rotate,${angle}/format,png`);
    const cropped = await sharp(photo)
      .resize(200, 150, { fit: "fill" })
      .extract({ left: 10, top: 20, width: 50, height: 30 })
      .png()
      .toBuffer();
    const expected = await sharp(cropped).rotate(angle).raw().toBuffer();
    expect((await sharp(result.body).raw().toBuffer()).equals(expected)).toBe(true);
  });

  test("crop then rotate is not rotate then crop", async () => {
    const a = await meta(photo, "image/crop,w_100,h_50/rotate,90");
    expect([a.width, a.height]).toEqual([50, 100]);
    const b = await meta(photo, "image/rotate,90/crop,w_100,h_50");
    expect([b.width, b.height]).toEqual([100, 50]);
  });
});

describe("limits and bad sources", () => {
  test("a tiny PNG that claims 100000x100000 is rejected from its header", async () => {
    const bomb = pngClaiming(100_000, 100_000);
    expect(bomb.length).toBeLessThan(200);
    const error = await failure(bomb, "image/resize,w_10");
    expect([error.code, error.status]).toEqual(["ImageTooLarge", 400]);
    expect(error.message).toContain("at most 30000 px per side");
  });

  test("within the side limit but above 250 M pixels in total is rejected too", async () => {
    const error = await failure(pngClaiming(20_000, 20_000), "image/resize,w_10");
    expect(error.code).toBe("ImageTooLarge");
    expect(error.message).toContain("250000000 px in total");
  });

  test("a source above the byte limit is ImageTooLarge", async () => {
    const error = await failure(photo, "image/resize,w_10", {
      engine: new ImageEngine({ limits: { maxSourceBytes: 1000 } }),
    });
    expect(error.code).toBe("ImageTooLarge");
  });

  test("frames count toward the pixel limit", async () => {
    const source = await animated("gif", 100, 100, 3);
    const error = await failure(source, "image/resize,w_10", {
      engine: new ImageEngine({ limits: { maxSourcePixels: 29_999 } }),
    });
    expect(error.message).toContain("3 frame(s)");
  });

  test("bytes that are not an image, or a truncated image, are 400 BadRequest", async () => {
    expect((await failure(Buffer.from("not an image at all"), "image/resize,w_10")).code).toBe("BadRequest");
    const truncated = photo.subarray(0, 600);
    const error = await failure(truncated, "image/resize,w_10");
    expect([error.code, error.status]).toEqual(["BadRequest", 400]);
  });
});

describe("encoder settings", () => {
  test("WebP and AVIF default to the CDN-origin settings, the same bytes as bare sharp with them", async () => {
    // PNG: no source quality caps the output's.
    const photo = await sharp(await jpeg(300, 200))
      .png()
      .toBuffer();
    const webp = await run(photo, "image/resize,w_100/format,webp");
    expect(
      webp.body.equals(await sharp(photo).resize(100, 67, { fit: "fill" }).webp({ quality: 80, effort: 2 }).toBuffer()),
    ).toBe(true);
    const avif = await run(photo, "image/resize,w_100/format,avif");
    expect(
      avif.body.equals(await sharp(photo).resize(100, 67, { fit: "fill" }).avif({ quality: 50, effort: 2 }).toBuffer()),
    ).toBe(true);
  });

  test("the environment overrides them; a quality action still wins", async () => {
    const photo = await sharp(await jpeg(300, 200))
      .png()
      .toBuffer();
    const tuned = new ImageEngine({ encoders: encoderSettingsFromEnv({ WEBP_QUALITY: "40", WEBP_EFFORT: "6" }) });
    const webp = await run(photo, "image/resize,w_100/format,webp", { engine: tuned });
    expect(
      webp.body.equals(await sharp(photo).resize(100, 67, { fit: "fill" }).webp({ quality: 40, effort: 6 }).toBuffer()),
    ).toBe(true);
    const explicit = await run(photo, "image/resize,w_100/format,webp/quality,Q_70", { engine: tuned });
    expect(
      explicit.body.equals(
        await sharp(photo).resize(100, 67, { fit: "fill" }).webp({ quality: 70, effort: 6 }).toBuffer(),
      ),
    ).toBe(true);
    expect(() => encoderSettingsFromEnv({ AVIF_EFFORT: "12" })).toThrow(
      'AVIF_EFFORT must be an integer from 0 to 9, got "12"',
    );
  });
});
