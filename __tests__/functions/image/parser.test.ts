import { ImageError } from "../../../functions/image/errors";
import { MAX_ACTIONS, parseProcess } from "../../../functions/image/parser";

const b64 = (text: string) => Buffer.from(text).toString("base64url");

function parseError(value: string): ImageError {
  try {
    parseProcess(value);
  } catch (error) {
    if (error instanceof ImageError) return error;
    throw error;
  }
  throw new Error(`"${value}" parsed`);
}

describe("x-oss-process grammar", () => {
  test("actions in order, empty segments and empty params ignored", () => {
    expect(parseProcess("image//resize,,w_100,//rotate,90//")).toEqual({
      kind: "actions",
      actions: [
        {
          type: "resize",
          mode: "lfit",
          w: 100,
          h: undefined,
          l: undefined,
          s: undefined,
          p: undefined,
          limit: true,
          color: "FFFFFF",
        },
        { type: "rotate", angle: 90 },
      ],
    });
  });

  test("style/<name>", () => {
    expect(parseProcess("style/thumb.small-1")).toEqual({ kind: "style", name: "thumb.small-1" });
    expect(parseError("style/bad name").code).toBe("InvalidArgument");
  });

  test("a param splits at its first underscore (base64url values contain _)", () => {
    const text = "a?>b~~"; // base64url "YT8-Yn5-": the encoding of ? > and ~ uses - and _
    const key = "??>>"; // "Pz8-Pg"
    const spec = parseProcess(`image/watermark,text_${b64(text)},image_${b64(key)}`);
    expect(spec).toMatchObject({
      actions: [{ type: "watermark", text: { text }, image: key, g: "se", t: 100, x: 10, y: 10 }],
    });
  });

  test("defaults of every action", () => {
    expect(
      parseProcess("image/crop,w_10/blur,r_3,s_2/format,JPG/quality,q_80/interlace,1/auto-orient,0/info/average-hue"),
    ).toEqual({
      kind: "actions",
      actions: [
        { type: "crop", w: 10, h: undefined, x: 0, y: 0, g: "nw" },
        { type: "blur", r: 3, s: 2 },
        { type: "format", format: "jpeg" },
        { type: "quality", q: 80, Q: undefined },
        { type: "interlace", enabled: true },
        { type: "auto-orient", enabled: false },
        { type: "info" },
        { type: "average-hue" },
      ],
    });
    expect(parseProcess(`image/watermark,text_${b64("hi")}`)).toMatchObject({
      actions: [
        {
          text: { color: "000000", size: 40, shadow: 0, rotate: 0 },
          order: 0,
          align: 2,
          interval: 0,
          fill: false,
          voffset: 0,
        },
      ],
    });
  });
});

describe("validation errors name the action, the param and the range", () => {
  test.each([
    ["image/resize,w_0", "InvalidArgument", 'resize: w must be an integer in 1..16384, got "0"'],
    ["image/resize,w_16385", "InvalidArgument", "resize: w must be an integer in 1..16384"],
    ["image/resize,w_1.5", "InvalidArgument", "resize: w must be an integer"],
    ["image/resize,p_1001", "InvalidArgument", "resize: p must be an integer in 1..1000"],
    ["image/resize,m_cover,w_10", "InvalidArgument", "resize: m must be one of lfit, mfit, fill, pad, fixed"],
    ["image/resize,color_GGGGGG,w_1", "InvalidArgument", "resize: color must be a colour RRGGBB"],
    ["image/resize,limit_2,w_1", "InvalidArgument", "resize: limit must be an integer in 0..1"],
    ["image/resize,m_fill", "MissingArgument", "resize: one of w, h, l, s or p is required"],
    ["image/resize,w_10,z_1", "InvalidArgument", 'resize: unknown parameter "z"'],
    ["image/resize,w10", "InvalidArgument", 'resize: parameter "w10" is not key_value'],
    [
      "image/crop,g_middle",
      "InvalidArgument",
      "crop: g must be one of nw, north, ne, west, center, east, sw, south, se",
    ],
    ["image/crop,x_-1", "InvalidArgument", "crop: x must be an integer in 0.."],
    ["image/circle", "MissingArgument", "circle: r is required"],
    ["image/circle,r_4097", "InvalidArgument", "circle: r must be an integer in 1..4096"],
    ["image/indexcrop,i_1", "MissingArgument", "indexcrop: x or y is required"],
    ["image/rounded-corners,r_0", "InvalidArgument", "rounded-corners: r must be an integer in 1..4096"],
    ["image/rotate,361", "InvalidArgument", "rotate: value must be an integer in 0..360"],
    ["image/rotate", "MissingArgument", "rotate: a value in 0..360 is required"],
    ["image/rotate,90,1", "InvalidArgument", "rotate: takes a single value in 0..360"],
    ["image/auto-orient,2", "InvalidArgument", "auto-orient: value must be an integer in 0..1"],
    ["image/blur,r_51,s_1", "InvalidArgument", "blur: r must be an integer in 1..50"],
    ["image/blur,r_5", "MissingArgument", "blur: s is required"],
    ["image/bright,101", "InvalidArgument", "bright: value must be an integer in -100..100"],
    ["image/contrast,-101", "InvalidArgument", "contrast: value must be an integer in -100..100"],
    ["image/sharpen,49", "InvalidArgument", "sharpen: value must be an integer in 50..399"],
    [
      "image/format,bmp",
      "InvalidArgument",
      'format: "bmp" is not supported; allowed: jpg, jpeg, png, webp, gif, tiff, avif',
    ],
    ["image/format", "MissingArgument", "format: one value expected"],
    ["image/quality,q_0", "InvalidArgument", "quality: q must be an integer in 1..100"],
    ["image/quality", "MissingArgument", "quality: q or Q is required"],
    ["image/interlace,yes", "InvalidArgument", "interlace: value must be an integer in 0..1"],
    ["image/watermark,t_50", "MissingArgument", "watermark: image or text is required"],
    ["image/watermark,text_@@@", "InvalidArgument", "watermark: text must be URL-safe base64 of UTF-8 text"],
    ["image/watermark,text_A", "InvalidArgument", "watermark: text must be URL-safe base64"],
    [`image/watermark,text_${Buffer.from([0xff, 0xfe]).toString("base64url")}`, "InvalidArgument", "UTF-8"],
    [`image/watermark,text_${b64("x".repeat(65))}`, "InvalidArgument", "watermark: text must be 1..64 characters"],
    [`image/watermark,text_${b64("hi")},size_1001`, "InvalidArgument", "watermark: size must be an integer in 1..1000"],
    [
      `image/watermark,text_${b64("hi")},voffset_-1001`,
      "InvalidArgument",
      "watermark: voffset must be an integer in -1000..1000",
    ],
    [
      `image/watermark,text_${b64("hi")},type_${b64("<script>")}`,
      "InvalidArgument",
      "watermark: type must be a font name",
    ],
    [`image/watermark,text_${b64("hi")},align_3`, "InvalidArgument", "watermark: align must be an integer in 0..2"],
    ["image/info,x_1", "InvalidArgument", "info: takes no parameters"],
    ["image/sepia", "InvalidArgument", 'unknown action "sepia"'],
    ["video/snapshot,t_1", "InvalidArgument", 'x-oss-process must start with "image/" or "style/"'],
    [`image/${"rotate,90/".repeat(MAX_ACTIONS + 1)}`, "InvalidArgument", `more than ${MAX_ACTIONS} actions`],
    [`image/resize,w_1${",".repeat(5000)}`, "InvalidArgument", "x-oss-process is longer than 4096 characters"],
  ])("%s → %s", (value, code, message) => {
    const error = parseError(value);
    expect(error.code).toBe(code);
    expect(error.status).toBe(400);
    expect(error.message).toContain(message);
  });
});
