import { S3Client } from "@aws-sdk/client-s3";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PROJECT_ROOT } from "../config";

export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface BenchS3 {
  readonly endpoint: string;
  /** The server's process: its CPU time tells whether it, not the client, was the bottleneck. */
  readonly pid: number;
  readonly stop: () => void;
}

/** s3rver in its own process: listings past one page need OpenSSL's legacy provider (DES tokens). */
export async function startS3rver(): Promise<BenchS3> {
  const directory = mkdtempSync(join(tmpdir(), "s3-edge-bench-s3rver-"));
  const script =
    "const S3rver = require('s3rver');" +
    "new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[1] })" +
    ".run().then((address) => console.log(address.port));";
  const child: ChildProcess = spawn(process.execPath, ["--openssl-legacy-provider", "-e", script, directory], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () => {
      child.kill();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** An SDK client for a bench server (seeding and checks; the tools under test bring their own). */
export function benchClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (undefined elsewhere). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime are fields 14 and 15 of stat(5), counted from the state field (3) here.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
