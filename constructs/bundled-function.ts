import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { AssetType, TerraformAsset, type TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import {
  sharedBundler,
  type AssetFolder,
  type Bundle,
  type FunctionBundler,
  type NodeModulesSpec,
} from "../packaging/bundle";
import { assumeRolePolicy, policyDocument, type PolicyStatement } from "../aws/iam";
import { Partition } from "../aws/partition";
import { DEFAULT_LOG_RETENTION_DAYS, DEFAULT_LAMBDA_RUNTIME, DEFAULT_LAMBDA_ARCHITECTURE } from "./defaults";

export const DEFAULT_MEMORY_MB = 256;
export const DEFAULT_TIMEOUT_SECONDS = 30;

export interface BundledFunctionProps {
  /** Folder of the handler: the code is `functions/<name>/index.ts`, exporting `handler`. */
  readonly name: string;
  /**
   * Entry module, absolute or relative to the project root.
   * @default `functions/<name>/index.ts`
   */
  readonly entry?: string;
  /** The Lambda function's name (also names its role and log group). */
  readonly functionName: string;
  readonly description?: string;
  /** @default DEFAULT_LAMBDA_RUNTIME */
  readonly runtime?: string;
  /** @default DEFAULT_LAMBDA_ARCHITECTURE */
  readonly architecture?: string;
  /** @default DEFAULT_MEMORY_MB */
  readonly memorySize?: number;
  /** @default DEFAULT_TIMEOUT_SECONDS */
  readonly timeout?: number;
  /** Concurrent executions reserved for (and the most allowed to) the function; null: unreserved. @default null */
  readonly reservedConcurrentExecutions?: number | null;
  /** @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default DEFAULT_LOG_RETENTION_DAYS */
  readonly logRetentionDays?: number;
  /**
   * What the function may do beside writing its own logs; scope every statement to ARNs.
   * @default none
   */
  readonly policyStatements?: readonly PolicyStatement[];
  /** @default the stack's default aws provider */
  readonly provider?: TerraformProvider;
  /**
   * Packages shipped in the zip's `node_modules` instead of the bundle (native code such as sharp).
   * @default none
   */
  readonly nodeModules?: NodeModulesSpec;
  /**
   * Folders of data files shipped beside the code (`/var/task/<zipFolder>`).
   * @default none
   */
  readonly assets?: readonly AssetFolder[];
  /** @default the bundler shared by every stack of the synth */
  readonly bundler?: FunctionBundler;
  /**
   * Compile-time constants (esbuild `define`, identifier → JavaScript expression).
   * @default none
   */
  readonly define?: Readonly<Record<string, string>>;
  /**
   * Set `NODE_OPTIONS=--enable-source-maps` so that stack traces point at the TypeScript source.
   * Lambda@Edge accepts no environment variables at all, so edge functions turn this off.
   * @default true
   */
  readonly enableSourceMaps?: boolean;
  /**
   * Publish a numbered version on every code or configuration change (`qualified_arn`).
   * @default false
   */
  readonly publish?: boolean;
  /**
   * Services that may assume the execution role.
   * @default the partition's Lambda service principal
   */
  readonly assumedBy?: readonly string[];
  /**
   * Name of the log group created with retention and configured as the function's log group.
   * @default `/aws/lambda/<functionName>`
   */
  readonly logGroupName?: string;
  /**
   * Log group ARNs (with their `:*` stream suffix) the role may write to.
   * @default the created log group only
   */
  readonly logResources?: readonly string[];
  /**
   * Also allow `logs:CreateLogGroup` on `logResources`: a function that runs in regions where the
   * stack created no log group (Lambda@Edge replicas) creates its group there itself.
   * @default false
   */
  readonly createsLogGroups?: boolean;
}

/**
 * A Lambda function from `functions/<name>/index.ts`: bundled by esbuild into a deterministic zip
 * (an unchanged function never redeploys), with its own role and a log group with retention that
 * exists before the function (so Lambda never creates one without retention).
 */
export class BundledFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly bundle: Bundle;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    const { provider, functionName } = props;
    const runtime = props.runtime ?? DEFAULT_LAMBDA_RUNTIME;
    this.bundle = (props.bundler ?? sharedBundler).bundle({
      entry: props.entry ?? `functions/${props.name}/index.ts`,
      runtime,
      define: props.define,
      nodeModules: props.nodeModules,
      assets: props.assets,
    });
    const asset = new TerraformAsset(this, "code", {
      path: this.bundle.zipPath,
      type: AssetType.FILE,
      assetHash: this.bundle.assetHash,
    });

    this.logGroup = new CloudwatchLogGroup(this, "logs", {
      provider,
      name: props.logGroupName ?? `/aws/lambda/${functionName}`,
      retentionInDays: props.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
    });

    this.role = new IamRole(this, "role", {
      provider,
      name: functionName,
      description: `s3-edge: execution role of ${functionName}`,
      assumeRolePolicy: assumeRolePolicy(props.assumedBy ?? [Partition.of(this).servicePrincipal("lambda")]),
    });
    const policy = new IamRolePolicy(this, "policy", {
      provider,
      name: "execution",
      role: this.role.id,
      policy: policyDocument([
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: [
            ...(props.createsLogGroups ? ["logs:CreateLogGroup"] : []),
            "logs:CreateLogStream",
            "logs:PutLogEvents",
          ],
          Resource: props.logResources ? [...props.logResources] : `${this.logGroup.arn}:*`,
        },
        ...(props.policyStatements ?? []),
      ]),
    });

    const variables = {
      // Stack traces point at the TypeScript source through the bundled source map.
      ...((props.enableSourceMaps ?? true) ? { NODE_OPTIONS: "--enable-source-maps" } : {}),
      ...props.environment,
    };
    this.function = new LambdaFunction(this, "function", {
      provider,
      functionName,
      description: props.description,
      runtime,
      architectures: [props.architecture ?? DEFAULT_LAMBDA_ARCHITECTURE],
      handler: "index.handler",
      filename: asset.path,
      sourceCodeHash: this.bundle.sha256,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: props.timeout ?? DEFAULT_TIMEOUT_SECONDS,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? undefined,
      role: this.role.arn,
      publish: props.publish,
      environment: Object.keys(variables).length > 0 ? { variables } : undefined,
      loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
      // The role's permissions (logs included) must exist before the first invocation.
      dependsOn: [this.logGroup, policy],
    });
  }
}
