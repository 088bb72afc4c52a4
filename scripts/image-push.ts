/**
 * npm run image:push [-- --dry-run]
 *
 * Builds the image engine's container for linux/arm64 with docker buildx and pushes it to the tag
 * the image stack's task definition pulls: `<namePrefix>-image` in the primary region's ECR at the
 * engine's source hash (or `image.ecs.imageUri` from config). Deploy the image stack first so that
 * the repository exists. `--dry-run` prints the commands without running them.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, PROJECT_ROOT, type S3EdgeConfig } from "../config";
import { engineImageTag } from "../packaging/engine-image-tag";

export const ENGINE_PLATFORM = "linux/arm64";
export const ENGINE_DOCKERFILE = "functions/image/Dockerfile";

export interface Command {
  readonly command: string;
  readonly args: readonly string[];
  /** Feed the previous command's standard output to this one's standard input. */
  readonly stdinFromPrevious?: boolean;
}

export interface PushPlan {
  readonly imageUri: string;
  readonly commands: readonly Command[];
}

export class ImagePushError extends Error {
  constructor(message: string) {
    super(`image:push: ${message}`);
    this.name = "ImagePushError";
  }
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/[^:@]+/;

/** The image reference to push: the configured one, or the stack's repository at the source-hash tag. */
export function engineImageUri(config: S3EdgeConfig, accountId: string | undefined, tag: string): string {
  if (config.image.ecs.imageUri) return config.image.ecs.imageUri;
  if (!accountId) throw new ImagePushError("the AWS account id is needed to name the ECR repository");
  return `${accountId}.dkr.ecr.${config.primaryRegion}.amazonaws.com/${config.namePrefix}-image:${tag}`;
}

/** The commands that log in to ECR (when the image lives there), build for arm64 and push. */
export function planPush(imageUri: string): PushPlan {
  const ecr = ECR_IMAGE.exec(imageUri);
  const login: Command[] = ecr
    ? [
        { command: "aws", args: ["ecr", "get-login-password", "--region", ecr[2]] },
        {
          command: "docker",
          args: ["login", "--username", "AWS", "--password-stdin", imageUri.split("/")[0]],
          stdinFromPrevious: true,
        },
      ]
    : [];
  const build: Command = {
    command: "docker",
    args: [
      "buildx",
      "build",
      "--platform",
      ENGINE_PLATFORM,
      "--file",
      ENGINE_DOCKERFILE,
      "--tag",
      imageUri,
      // A plain image manifest (no attestation index), which every ECS platform version pulls.
      "--provenance=false",
      "--push",
      ".",
    ],
  };
  return { imageUri, commands: [...login, build] };
}

export type Runner = (command: string, args: readonly string[], input?: string) => SpawnSyncReturns<string>;

const spawnRunner: Runner = (command, args, input) =>
  spawnSync(command, args, {
    cwd: PROJECT_ROOT,
    input,
    encoding: "utf8",
    // Secrets (the ECR password) stay in pipes; the build's progress goes to the terminal.
    stdio: [
      input === undefined ? "inherit" : "pipe",
      command === "docker" && args[0] === "buildx" ? "inherit" : "pipe",
      "inherit",
    ],
  });

/** Fails clearly when a tool is missing, before anything runs. */
export function requireTools(plan: PushPlan, run: Runner): void {
  const needed = [...new Set(plan.commands.map((c) => c.command))];
  for (const tool of needed) {
    const probe = run(tool, tool === "docker" ? ["buildx", "version"] : ["--version"]);
    if ((probe.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
      throw new ImagePushError(
        tool === "docker"
          ? "docker is not installed (or not on PATH); install Docker with the buildx plugin to build the engine image"
          : `${tool} is not installed (or not on PATH); the AWS CLI v2 logs docker in to ECR`,
      );
    }
    if (probe.status !== 0) {
      throw new ImagePushError(
        `\`${tool} ${tool === "docker" ? "buildx version" : "--version"}\` failed: ${probe.stderr ?? ""}`,
      );
    }
  }
}

export function executePlan(plan: PushPlan, run: Runner): void {
  let previousOutput: string | undefined;
  for (const step of plan.commands) {
    const result = run(step.command, step.args, step.stdinFromPrevious ? previousOutput : undefined);
    if (result.error || result.status !== 0) {
      throw new ImagePushError(
        `\`${step.command} ${step.args.slice(0, 2).join(" ")}\` failed${result.error ? `: ${result.error.message}` : ` with exit code ${result.status}`}`,
      );
    }
    previousOutput = result.stdout;
  }
}

function main(): number {
  const { values } = parseArgs({ options: { "dry-run": { type: "boolean", default: false } } });
  const config = loadConfig({ env: process.env, cwd: process.cwd() });
  const tag = engineImageTag();
  let accountId: string | undefined;
  if (!config.image.ecs.imageUri && !values["dry-run"]) {
    const identity = spawnRunner("aws", ["sts", "get-caller-identity", "--query", "Account", "--output", "text"]);
    if (identity.error || identity.status !== 0) {
      throw new ImagePushError(
        "cannot read the AWS account id (`aws sts get-caller-identity`); configure AWS credentials",
      );
    }
    accountId = identity.stdout.trim();
  }
  if (values["dry-run"] && !config.image.ecs.imageUri) {
    console.error("dry run: the account id is not looked up; 000000000000 stands in for it");
  }
  const plan = planPush(engineImageUri(config, accountId ?? "000000000000", tag));
  if (values["dry-run"]) {
    for (const step of plan.commands)
      console.log(`${step.stdinFromPrevious ? "| " : ""}${step.command} ${step.args.join(" ")}`);
    return 0;
  }
  requireTools(plan, spawnRunner);
  executePlan(plan, spawnRunner);
  console.log(plan.imageUri);
  return 0;
}

if (require.main === module) {
  try {
    process.exit(main());
  } catch (error) {
    console.error(error instanceof ImagePushError || error instanceof ConfigError ? error.message : error);
    process.exit(1);
  }
}
