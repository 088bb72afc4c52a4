import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../config/paths";

describe("npm run synth (the cdktf CLI running main.ts through tsx)", () => {
  it("writes every enabled stack from the built-in config, offline and without credentials", () => {
    const outdir = mkdtempSync(join(tmpdir(), "s3-edge-cli-"));
    try {
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
        AWS_PROFILE: "",
        S3EDGE_CONFIG: "",
      };
      const result = spawnSync("npm", ["run", "-s", "synth", "--", "--output", outdir], {
        cwd: PROJECT_ROOT,
        env,
        encoding: "utf8",
      });
      expect(result.stderr).not.toMatch(/error/i);
      expect(result.status).toBe(0);
      const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as {
        stacks: Record<string, unknown>;
      };
      // The built-in legacy origin is a public GCS bucket: no gcs-origin stack.
      expect(Object.keys(manifest.stacks).sort()).toEqual([
        "cdn",
        "dns-cert",
        "edge",
        "image",
        "object-stats",
        "operations",
        "storage-replication",
      ]);
      for (const id of Object.keys(manifest.stacks)) {
        expect(existsSync(join(outdir, "stacks", id, "cdk.tf.json"))).toBe(true);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
