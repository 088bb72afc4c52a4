/**
 * S3's stand-in for the image bench (scripts/bench/image.ts), in a process of its own: every GET is
 * the fixture, at next to no CPU (unlike s3rver, which reads a file per request), with the checksum
 * headers S3 sends when asked for them, so that the server pays for whatever its client does with
 * them. Out of the bench's process, its answers do not wait behind the load generator's work.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { forkWorker } from "./support";

/**
 * S3's CRC64NVME (the full-object checksum S3 computes for objects uploaded without one), so that
 * the stand-in answers `x-amz-checksum-mode: ENABLED` with the header S3 sends.
 */
function crc64Nvme(data: Uint8Array): string {
  const polynomial = 0x9a6c9329ac4bc9b5n;
  const table = Array.from({ length: 256 }, (_, index) => {
    let crc = BigInt(index);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ polynomial : crc >> 1n;
    return crc;
  });
  let crc = 0xffffffffffffffffn;
  for (const byte of data) crc = table[Number((crc ^ BigInt(byte)) & 0xffn)] ^ (crc >> 8n);
  const digest = Buffer.alloc(8);
  digest.writeBigUInt64BE(crc ^ 0xffffffffffffffffn);
  return digest.toString("base64");
}

/** The stand-in's process: serves the file named in argv on a loopback port, which it sends over IPC. */
function serve(sourcePath: string): void {
  const body = readFileSync(sourcePath);
  const checksum = crc64Nvme(body);
  const server = createServer((request, response) => {
    request.resume();
    const checksumHeaders =
      String(request.headers["x-amz-checksum-mode"]).toUpperCase() === "ENABLED"
        ? { "x-amz-checksum-crc64nvme": checksum, "x-amz-checksum-type": "FULL_OBJECT" }
        : {};
    response.writeHead(200, {
      "content-type": "image/jpeg",
      "content-length": String(body.length),
      etag: '"bench"',
      "last-modified": new Date(0).toUTCString(),
      ...checksumHeaders,
    });
    response.end(request.method === "HEAD" ? undefined : body);
  });
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on("disconnect", () => process.exit(0));
}

/** Starts the stand-in serving `sourcePath`; `stop` ends its process. */
export async function startSourceStandIn(sourcePath: string) {
  const { child, stop } = forkWorker("scripts/bench/image-source.ts", ["--serve", sourcePath]);
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the S3 stand-in exited (${code}) before listening`)));
    child.once("message", (message: { port: number }) => resolve(message.port));
  });
  return { endpoint: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}

if (process.send && process.argv[2] === "--serve") serve(process.argv[3]);
