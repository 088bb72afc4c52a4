import { spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

export interface CliRun {
  readonly code: number | null;
  readonly stderr: string;
  /** The JSON summary, the last line on stdout. */
  readonly summary: Record<string, unknown>;
}

/**
 * Runs `npm run migrate` as a user does (a child process running the script's command, the
 * launcher and its cached bundle), with these arguments and variables.
 */
export function runMigrate(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["scripts/launch.cjs", "scripts/migrate.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      let summary: Record<string, unknown> = {};
      try {
        summary = JSON.parse(stdout.trim().split("\n").pop() ?? "");
      } catch {
        summary = {};
      }
      resolve({ code, stderr, summary });
    });
  });
}
