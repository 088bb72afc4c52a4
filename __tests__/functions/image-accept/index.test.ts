import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { ACCEPT_FUNCTION_FILE } from "../../../constructs/image-distribution";

/** CloudFront Functions' maximum code size. */
const MAX_FUNCTION_BYTES = 10 * 1024;

type Request = { uri: string; headers: Record<string, { value: string }> };
const code = readFileSync(ACCEPT_FUNCTION_FILE, "utf8");
// The code as CloudFront runs it: a script defining `handler`, no modules.
const handler = runInNewContext(`${code}\nhandler;`) as (event: { request: Request }) => Request;

/** A viewer-request event as CloudFront Functions documents it (version 1.0 event structure). */
function viewerRequest(accept?: string) {
  return {
    version: "1.0",
    context: { eventType: "viewer-request", distributionId: "EDFDVBD6EXAMPLE", requestId: "r-1" },
    viewer: { ip: "198.51.100.11" },
    request: {
      method: "GET",
      uri: "/photos/cat.jpg",
      querystring: { "x-oss-process": { value: "image/resize,w_200" } },
      headers: {
        host: { value: "img.example.com" },
        ...(accept === undefined ? {} : { accept: { value: accept } }),
      },
      cookies: {},
    },
  };
}

describe("the Accept-normalizing CloudFront Function", () => {
  it.each([
    ["Chrome", "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "image/avif"],
    ["Firefox", "image/avif,image/webp,*/*", "image/avif"],
    ["Safari 14-15", "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5", "image/webp"],
    ["AVIF refused with q=0", "image/avif;q=0, image/webp;q=0.9", "image/webp"],
    ["upper case", "IMAGE/WEBP", "image/webp"],
    ["an API client", "application/json", "*/*"],
    ["no preference", "*/*", "*/*"],
    ["no Accept header", undefined, "*/*"],
  ])("%s → %s", (_client, accept, expected) => {
    const request = handler(viewerRequest(accept));
    expect(request.headers.accept).toEqual({ value: expected });
    expect(request.uri).toBe("/photos/cat.jpg");
    expect(request.headers.host).toEqual({ value: "img.example.com" });
  });

  it("is a plain script within CloudFront Functions' size limit", () => {
    expect(Buffer.byteLength(code)).toBeLessThan(MAX_FUNCTION_BYTES);
    expect(code).not.toMatch(/\b(import|export|require)\b/);
  });
});
