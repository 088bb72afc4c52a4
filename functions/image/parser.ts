import {
  GRAVITIES,
  OUTPUT_FORMATS,
  RESIZE_MODES,
  type Action,
  type OutputFormat,
  type TextWatermark,
  type WatermarkAction,
} from "./actions";
import { ImageError } from "./errors";
import { MAX_DIMENSION_PARAM } from "./limits";

/** What an `x-oss-process` value asks for: image actions, or a named style. */
export type ProcessSpec =
  { readonly kind: "actions"; readonly actions: Action[] } | { readonly kind: "style"; readonly name: string };

export const STYLE_NAME = /^[\w.-]{1,63}$/;
/** Longest `x-oss-process` value and most actions accepted: bounds the work a single URL can ask for. */
export const MAX_PROCESS_LENGTH = 4096;
export const MAX_ACTIONS = 32;
const MAX_TEXT_CHARS = 64;

const INTEGER = /^[+-]?\d{1,9}$/;
const COLOR = /^[0-9a-fA-F]{6}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const FONT_NAME = /^[\w .-]{1,64}$/;

/** `image/<action>/...` or `style/<name>`. Everything is validated here, before any read or decode. */
export function parseProcess(value: string): ProcessSpec {
  if (value.length > MAX_PROCESS_LENGTH)
    throw new ImageError("InvalidArgument", `x-oss-process is longer than ${MAX_PROCESS_LENGTH} characters`);
  const slash = value.indexOf("/");
  const kind = slash === -1 ? value : value.slice(0, slash);
  const rest = slash === -1 ? "" : value.slice(slash + 1);
  if (kind === "style") {
    const name = rest.replace(/\/+$/, "");
    if (!STYLE_NAME.test(name)) throw new ImageError("InvalidArgument", `style name must match ${STYLE_NAME.source}`);
    return { kind: "style", name };
  }
  if (kind !== "image")
    throw new ImageError(
      "InvalidArgument",
      `x-oss-process must start with "image/" or "style/", got "${truncate(kind)}"`,
    );
  return { kind: "actions", actions: parseActions(rest) };
}

/** The actions of `image/...` without the prefix: `resize,w_100/quality,q_80`. */
export function parseActions(text: string): Action[] {
  const segments = text.split("/").filter((segment) => segment !== "");
  if (segments.length > MAX_ACTIONS) throw new ImageError("InvalidArgument", `more than ${MAX_ACTIONS} actions`);
  return segments.map(parseAction);
}

function parseAction(segment: string): Action {
  const [name, ...raw] = segment.split(",");
  const params = raw.filter((param) => param !== "");
  switch (name) {
    case "resize": {
      const p = new Params(name, params);
      const action = {
        type: name,
        mode: p.oneOf("m", RESIZE_MODES) ?? "lfit",
        w: p.int("w", 1, MAX_DIMENSION_PARAM),
        h: p.int("h", 1, MAX_DIMENSION_PARAM),
        l: p.int("l", 1, MAX_DIMENSION_PARAM),
        s: p.int("s", 1, MAX_DIMENSION_PARAM),
        p: p.int("p", 1, 1000),
        limit: (p.int("limit", 0, 1) ?? 1) === 1,
        color: p.color("color") ?? "FFFFFF",
      } as const;
      p.done();
      if ([action.w, action.h, action.l, action.s, action.p].every((v) => v === undefined))
        throw new ImageError("MissingArgument", "resize: one of w, h, l, s or p is required");
      return action;
    }
    case "crop": {
      const p = new Params(name, params);
      const action = {
        type: name,
        w: p.int("w", 1, Number.MAX_SAFE_INTEGER),
        h: p.int("h", 1, Number.MAX_SAFE_INTEGER),
        x: p.int("x", 0, Number.MAX_SAFE_INTEGER) ?? 0,
        y: p.int("y", 0, Number.MAX_SAFE_INTEGER) ?? 0,
        g: p.oneOf("g", GRAVITIES) ?? "nw",
      } as const;
      p.done();
      return action;
    }
    case "circle":
    case "rounded-corners": {
      const p = new Params(name, params);
      const r = p.required(p.int("r", 1, 4096), "r");
      p.done();
      return { type: name, r };
    }
    case "indexcrop": {
      const p = new Params(name, params);
      const x = p.int("x", 1, Number.MAX_SAFE_INTEGER);
      const y = p.int("y", 1, Number.MAX_SAFE_INTEGER);
      const index = p.int("i", 0, Number.MAX_SAFE_INTEGER) ?? 0;
      p.done();
      if (y !== undefined) return { type: name, axis: "y", size: y, index };
      if (x !== undefined) return { type: name, axis: "x", size: x, index };
      throw new ImageError("MissingArgument", "indexcrop: x or y is required");
    }
    case "blur": {
      const p = new Params(name, params);
      const r = p.required(p.int("r", 1, 50), "r");
      const s = p.required(p.int("s", 1, 50), "s");
      p.done();
      return { type: name, r, s };
    }
    case "rotate":
      return { type: name, angle: single(name, params, 0, 360) };
    case "auto-orient":
      return { type: name, enabled: single(name, params, 0, 1) === 1 };
    case "interlace":
      return { type: name, enabled: single(name, params, 0, 1) === 1 };
    case "bright":
    case "contrast":
      return { type: name, value: single(name, params, -100, 100) };
    case "sharpen":
      return { type: name, value: single(name, params, 50, 399) };
    case "format":
      return { type: name, format: parseFormat(params) };
    case "quality": {
      const p = new Params(name, params);
      const action = { type: name, q: p.int("q", 1, 100), Q: p.int("Q", 1, 100) } as const;
      p.done();
      if (action.q === undefined && action.Q === undefined)
        throw new ImageError("MissingArgument", "quality: q or Q is required");
      return action;
    }
    case "watermark":
      return parseWatermark(params);
    case "info":
    case "average-hue":
      if (params.length > 0) throw new ImageError("InvalidArgument", `${name}: takes no parameters`);
      return { type: name };
    default:
      throw new ImageError("InvalidArgument", `unknown action "${truncate(name)}"`);
  }
}

function parseWatermark(params: string[]): WatermarkAction {
  const p = new Params("watermark", params);
  const imageKey = p.base64("image");
  const textValue = p.base64("text");
  const font = p.base64("type");
  const textParams = {
    color: p.color("color") ?? "000000",
    size: p.int("size", 1, 1000) ?? 40,
    shadow: p.int("shadow", 0, 100) ?? 0,
    rotate: p.int("rotate", 0, 360) ?? 0,
  };
  const action = {
    type: "watermark",
    t: p.int("t", 0, 100) ?? 100,
    g: p.oneOf("g", GRAVITIES) ?? "se",
    x: p.int("x", 0, 4096) ?? 10,
    y: p.int("y", 0, 4096) ?? 10,
    voffset: p.int("voffset", -1000, 1000) ?? 0,
    fill: (p.int("fill", 0, 1) ?? 0) === 1,
    order: (p.int("order", 0, 1) ?? 0) as 0 | 1,
    align: (p.int("align", 0, 2) ?? 2) as 0 | 1 | 2,
    interval: p.int("interval", 0, 1000) ?? 0,
  } as const;
  p.done();
  if (imageKey === undefined && textValue === undefined)
    throw new ImageError("MissingArgument", "watermark: image or text is required");
  if (imageKey !== undefined && (imageKey.length === 0 || imageKey.length > 1024))
    throw new ImageError("InvalidArgument", "watermark: image must name an object key of 1..1024 characters");
  let text: TextWatermark | undefined;
  if (textValue !== undefined) {
    const length = Array.from(textValue).length;
    if (length === 0 || length > MAX_TEXT_CHARS || textValue.trim() === "")
      throw new ImageError("InvalidArgument", `watermark: text must be 1..${MAX_TEXT_CHARS} characters, not blank`);
    if (font !== undefined && !FONT_NAME.test(font))
      throw new ImageError("InvalidArgument", `watermark: type must be a font name matching ${FONT_NAME.source}`);
    text = { text: textValue, font, ...textParams };
  }
  return { ...action, image: imageKey, text };
}

function parseFormat(params: string[]): OutputFormat {
  if (params.length !== 1)
    throw new ImageError(params.length ? "InvalidArgument" : "MissingArgument", "format: one value expected");
  const value = params[0].toLowerCase();
  if (value === "jpg") return "jpeg";
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new ImageError(
    "InvalidArgument",
    `format: "${truncate(params[0])}" is not supported; allowed: jpg, jpeg, png, webp, gif, tiff, avif`,
  );
}

/** Actions that take one bare value: `rotate,90`, `bright,-20`. */
function single(action: string, params: string[], min: number, max: number): number {
  if (params.length === 0) throw new ImageError("MissingArgument", `${action}: a value in ${min}..${max} is required`);
  if (params.length > 1) throw new ImageError("InvalidArgument", `${action}: takes a single value in ${min}..${max}`);
  return integer(action, "value", params[0], min, max);
}

function integer(action: string, name: string, value: string, min: number, max: number): number {
  const parsed = INTEGER.test(value) ? Number(value) : NaN;
  if (!(parsed >= min && parsed <= max))
    throw new ImageError(
      "InvalidArgument",
      `${action}: ${name} must be an integer in ${min}..${max}, got "${truncate(value)}"`,
    );
  return parsed;
}

const truncate = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}…` : text);

/** `k_v` parameters of one action: each read once, anything left over is an unknown parameter. */
class Params {
  private readonly values = new Map<string, string>();
  constructor(
    private readonly action: string,
    params: string[],
  ) {
    for (const param of params) {
      const split = param.indexOf("_");
      if (split <= 0)
        throw new ImageError("InvalidArgument", `${action}: parameter "${truncate(param)}" is not key_value`);
      this.values.set(param.slice(0, split), param.slice(split + 1));
    }
  }

  private take(name: string): string | undefined {
    const value = this.values.get(name);
    this.values.delete(name);
    return value;
  }

  int(name: string, min: number, max: number): number | undefined {
    const value = this.take(name);
    return value === undefined ? undefined : integer(this.action, name, value, min, max);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.take(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value))
      throw new ImageError(
        "InvalidArgument",
        `${this.action}: ${name} must be one of ${allowed.join(", ")}, got "${truncate(value)}"`,
      );
    return value as T;
  }

  color(name: string): string | undefined {
    const value = this.take(name);
    if (value !== undefined && !COLOR.test(value))
      throw new ImageError(
        "InvalidArgument",
        `${this.action}: ${name} must be a colour RRGGBB, got "${truncate(value)}"`,
      );
    return value?.toUpperCase();
  }

  /** URL-safe base64 (padding optional) of UTF-8 text. */
  base64(name: string): string | undefined {
    const value = this.take(name);
    if (value === undefined) return undefined;
    const error = () =>
      new ImageError("InvalidArgument", `${this.action}: ${name} must be URL-safe base64 of UTF-8 text`);
    if (!BASE64URL.test(value) || value.replace(/=+$/, "").length % 4 === 1) throw error();
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(value, "base64url"));
    } catch {
      throw error();
    }
  }

  required<T>(value: T | undefined, name: string): T {
    if (value === undefined) throw new ImageError("MissingArgument", `${this.action}: ${name} is required`);
    return value;
  }

  done(): void {
    const [unknown] = this.values.keys();
    if (unknown !== undefined)
      throw new ImageError("InvalidArgument", `${this.action}: unknown parameter "${truncate(unknown)}"`);
  }
}
