import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ImageError } from "./errors";

/** Where source images come from. */
export interface ImageSource {
  /** The object's bytes; NoSuchKey (404) when it does not exist, ImageTooLarge past `maxBytes`. */
  get(bucket: string, key: string, maxBytes: number): Promise<Buffer>;
}

/** Reads objects with GetObject; the client comes from the standard SDK configuration (AWS_ENDPOINT_URL_S3 works). */
export class S3Source implements ImageSource {
  constructor(private readonly client: S3Client) {}

  async get(bucket: string, key: string, maxBytes: number): Promise<Buffer> {
    let response;
    try {
      response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (name === "NoSuchKey" || name === "NotFound" || $metadata?.httpStatusCode === 404)
        throw new ImageError("NoSuchKey", `the object "${key}" does not exist`);
      if (name === "AccessDenied" || $metadata?.httpStatusCode === 403)
        throw new ImageError("AccessDenied", `the image function may not read "${key}"`);
      throw error;
    }
    const tooLarge = (size: number) =>
      new ImageError(
        "ImageTooLarge",
        `the object "${key}" is ${size} bytes or more; at most ${maxBytes} bytes are processed`,
      );
    const body = response.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    if (response.ContentLength !== undefined && response.ContentLength > maxBytes) {
      body?.destroy?.();
      throw tooLarge(response.ContentLength);
    }
    if (!body) return Buffer.alloc(0);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > maxBytes) {
        body.destroy?.();
        throw tooLarge(size);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  }
}
