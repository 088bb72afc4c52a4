import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SpawnSyncReturns } from "node:child_process";
import { parseConfig } from "../../config";
import { ENGINE_SOURCES, engineImageTag } from "../../packaging/engine-image-tag";
import { MALLOC_ARENAS } from "../../functions/image/environment";
import {
  engineImageUri,
  executePlan,
  ImagePushError,
  planPush,
  requireTools,
  type Runner,
} from "../../scripts/image-push";
import { PROJECT_ROOT } from "../../config/paths";

const ECR_URI = "123456789012.dkr.ecr.us-east-2.amazonaws.com/s3edge-example-image:engine-0123456789abcdef";

function result(overrides: Partial<SpawnSyncReturns<string>> = {}): SpawnSyncReturns<string> {
  return { pid: 1, output: [], stdout: "", stderr: "", status: 0, signal: null, ...overrides };
}

describe("npm run image:push", () => {
  it("pushes to the stack's repository at the engine's source-hash tag, or to the configured image", () => {
    const tag = engineImageTag();
    expect(tag).toMatch(/^engine-[0-9a-f]{16}$/);
    expect(engineImageTag()).toBe(tag);
    expect(engineImageUri(parseConfig({}), "123456789012", tag)).toBe(
      `123456789012.dkr.ecr.us-east-2.amazonaws.com/s3edge-example-image:${tag}`,
    );
    const configured = parseConfig({ image: { ecs: { imageUri: "ghcr.io/acme/engine:1.2.3" } } });
    expect(engineImageUri(configured, undefined, tag)).toBe("ghcr.io/acme/engine:1.2.3");
    expect(() => engineImageUri(parseConfig({}), undefined, tag)).toThrow(ImagePushError);
  });

  it("logs in to the image's ECR registry, then builds for linux/arm64 and pushes", () => {
    const plan = planPush(ECR_URI);
    expect(plan.commands).toEqual([
      { command: "aws", args: ["ecr", "get-login-password", "--region", "us-east-2"] },
      {
        command: "docker",
        args: ["login", "--username", "AWS", "--password-stdin", "123456789012.dkr.ecr.us-east-2.amazonaws.com"],
        stdinFromPrevious: true,
      },
      {
        command: "docker",
        args: [
          "buildx",
          "build",
          "--platform",
          "linux/arm64",
          "--file",
          "functions/image/Dockerfile",
          "--tag",
          ECR_URI,
          "--provenance=false",
          "--push",
          ".",
        ],
      },
    ]);
    expect(planPush("ghcr.io/acme/engine:1.2.3").commands.map((c) => c.args[0])).toEqual(["buildx"]);
  });

  it("pipes the ECR password into docker login, never into arguments", () => {
    const calls: Array<{ command: string; args: readonly string[]; input?: string }> = [];
    const run: Runner = (command, args, input) => {
      calls.push({ command, args, input });
      return result({ stdout: command === "aws" ? "secret-token" : "" });
    };
    executePlan(planPush(ECR_URI), run);
    expect(calls.map((c) => c.input)).toEqual([undefined, "secret-token", undefined]);
    expect(calls.flatMap((c) => c.args)).not.toContain("secret-token");
  });

  it("says clearly when docker is missing, before running anything", () => {
    const calls: string[] = [];
    const run: Runner = (command, args) => {
      calls.push(`${command} ${args.join(" ")}`);
      if (command === "docker")
        return result({ status: null, error: Object.assign(new Error("spawn docker ENOENT"), { code: "ENOENT" }) });
      return result();
    };
    expect(() => requireTools(planPush(ECR_URI), run)).toThrow(
      "image:push: docker is not installed (or not on PATH); install Docker with the buildx plugin to build the engine image",
    );
    expect(calls).toEqual(["aws --version", "docker buildx version"]);
  });

  it("stops at the first failing step", () => {
    const run: Runner = (command) => result({ status: command === "aws" ? 255 : 0 });
    expect(() => executePlan(planPush(ECR_URI), run)).toThrow("`aws ecr get-login-password` failed with exit code 255");
  });
});

describe("the engine's Dockerfile", () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, "functions", "image", "Dockerfile"), "utf8");
  const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

  it("builds in one stage and runs as an unprivileged user in a slim one with sharp only", () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toContain("--external:sharp");
    expect(runtimeStage).toMatch(/^USER node$/m);
    expect(runtimeStage).toMatch(/^EXPOSE 8080$/m);
    expect(runtimeStage).toMatch(/^CMD \["node", "server\.js"\]$/m);
    expect(runtimeStage).not.toMatch(/npm (ci|install)/);
  });

  it("sends only the build's inputs as context", () => {
    const ignore = readFileSync(join(PROJECT_ROOT, "functions", "image", "Dockerfile.dockerignore"), "utf8");
    expect(ignore.split("\n").filter((line) => line && !line.startsWith("#"))).toEqual([
      "*",
      "!package.json",
      "!package-lock.json",
      "!tsconfig.json",
      "!functions/",
      "!config/paths.ts",
      "!packaging/font-package.ts",
      "!packaging/sharp-package.ts",
      "functions/**/node_modules",
    ]);
    // Every file of the context is part of the image tag, so a change to any of them is a new image.
    for (const path of ["config/paths.ts", "packaging/font-package.ts", "packaging/sharp-package.ts"])
      expect(ENGINE_SOURCES).toContain(path);
  });

  it("installs the watermark fonts with the Lambda package's installer and points fontconfig at them only", () => {
    expect(dockerfile).toMatch(/^RUN apt-get update && npx tsx packaging\/font-package\.ts \/app\/fonts$/m);
    expect(runtimeStage).toMatch(/^COPY --from=build \/app\/fonts \.\/fonts$/m);
    expect(runtimeStage).toContain("FONTCONFIG_FILE=/app/fonts/fonts.conf");
  });

  it("bounds libvips' threads' memory with the same malloc arenas as the Lambda function", () => {
    expect(runtimeStage).toContain(`${MALLOC_ARENAS.variable}=${MALLOC_ARENAS.value}`);
  });
});
