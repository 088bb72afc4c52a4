import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Token } from "cdktf";
import { Construct } from "constructs";
import { CLOUDFRONT_HOME_REGION, LAMBDA_EDGE_LIMITS, LAMBDA_MIN_MEMORY_MB } from "../config/aws-facts";
import type { EdgeFunctionAssociation } from "../contracts/cross-stack";
import type { FunctionBundler } from "../packaging/bundle";
import { BundledFunction } from "./bundled-function";
import type { PolicyStatement } from "../aws/iam";
import { Partition } from "../aws/partition";
import {
  DEFAULT_LOG_RETENTION_DAYS,
  DEFAULT_LAMBDA_RUNTIME,
  DEFAULT_EDGE_MEMORY_MB,
  DEFAULT_EDGE_TIMEOUT_SECONDS,
} from "./defaults";

/** Lambda@Edge functions are created in us-east-1 only; CloudFront replicates them to its edges. */
export const EDGE_FUNCTION_REGION = CLOUDFRONT_HOME_REGION;
/** Lambda@Edge runs x86_64 code only (arm64 functions cannot be associated with a distribution). */
export const EDGE_ARCHITECTURE = "x86_64";

export type EdgeEventType = EdgeFunctionAssociation["eventType"];

export interface EdgeFunctionProps {
  /** Folder of the handler: `functions/<name>/index.ts`, exporting `handler`. */
  readonly name: string;
  /** @default `functions/<name>/index.ts` */
  readonly entry?: string;
  readonly functionName: string;
  readonly description?: string;
  /** The CloudFront event the function is attached to: sets the memory and timeout limits. */
  readonly eventType: EdgeEventType;
  /** Whether CloudFront passes the request body to the function. @default false */
  readonly includeBody?: boolean;
  /** An aws provider for us-east-1, the only region where Lambda@Edge functions can be created. */
  readonly provider: AwsProvider;
  /** The account id (a token is fine): names the log groups the function writes in every region. */
  readonly accountId: string;
  /**
   * Values known at synth time, baked into the bundle as string constants (esbuild `define`):
   * Lambda@Edge has no environment variables. Never a secret, never an apply-time token.
   * @default none
   */
  readonly constants?: Readonly<Record<string, string>>;
  /** @default DEFAULT_LAMBDA_RUNTIME */
  readonly runtime?: string;
  /** @default DEFAULT_EDGE_MEMORY_MB */
  readonly memorySize?: number;
  /** @default DEFAULT_EDGE_TIMEOUT_SECONDS */
  readonly timeout?: number;
  /** @default DEFAULT_LOG_RETENTION_DAYS */
  readonly logRetentionDays?: number;
  /** What the function may do beside writing its logs; scope every statement to ARNs. @default none */
  readonly policyStatements?: readonly PolicyStatement[];
  /** @default the bundler shared by every stack of the synth */
  readonly bundler?: FunctionBundler;
}

export class EdgeFunctionError extends Error {
  constructor(functionName: string, problem: string) {
    super(`Lambda@Edge function ${functionName}: ${problem}`);
    this.name = "EdgeFunctionError";
  }
}

/**
 * A Lambda@Edge function: a BundledFunction in us-east-1, x86_64, published (CloudFront needs a
 * numbered version), with no environment variables (synth-time values are compiled in), a role
 * that CloudFront's replication service can assume, and logs in every region it runs in.
 */
export class EdgeFunction extends Construct {
  readonly bundled: BundledFunction;
  /** `...:function:<name>:<version>`: what a cache behaviour references. */
  readonly qualifiedArn: string;
  readonly association: EdgeFunctionAssociation;

  constructor(scope: Construct, id: string, props: EdgeFunctionProps) {
    super(scope, id);
    const { functionName } = props;
    const memorySize = props.memorySize ?? DEFAULT_EDGE_MEMORY_MB;
    const timeout = props.timeout ?? DEFAULT_EDGE_TIMEOUT_SECONDS;
    checkEdgeLimits(functionName, props.eventType, memorySize, timeout);
    if (props.provider.region !== EDGE_FUNCTION_REGION) {
      throw new EdgeFunctionError(
        functionName,
        `needs a provider for ${EDGE_FUNCTION_REGION}, got ${props.provider.region ?? "no region"}`,
      );
    }
    const define: Record<string, string> = {};
    for (const [name, value] of Object.entries(props.constants ?? {})) {
      if (Token.isUnresolved(value)) {
        throw new EdgeFunctionError(functionName, `constant ${name} is only known at apply time; pass a literal`);
      }
      define[name] = JSON.stringify(value);
    }

    // Lambda@Edge replicas log to `/aws/lambda/us-east-1.<name>` in the region where each request
    // ran, creating the group there on first use. The stack owns the us-east-1 group (with
    // retention); the role may write, and create, that one name in any region: hence `*`.
    const logGroupName = `/aws/lambda/${EDGE_FUNCTION_REGION}.${functionName}`;
    this.bundled = new BundledFunction(this, "function", {
      name: props.name,
      entry: props.entry,
      functionName,
      description: props.description,
      provider: props.provider,
      runtime: props.runtime ?? DEFAULT_LAMBDA_RUNTIME,
      architecture: EDGE_ARCHITECTURE,
      memorySize,
      timeout,
      define,
      enableSourceMaps: false,
      publish: true,
      // Lambda@Edge exists in the aws partition only (config refuses the edge stack elsewhere).
      assumedBy: ["lambda.amazonaws.com", "edgelambda.amazonaws.com"],
      logGroupName,
      logResources: [Partition.of(this).arn("logs", "*", props.accountId, `log-group:${logGroupName}:*`)],
      createsLogGroups: true,
      logRetentionDays: props.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
      policyStatements: props.policyStatements,
      bundler: props.bundler,
    });
    this.qualifiedArn = this.bundled.function.qualifiedArn;
    this.association = {
      eventType: props.eventType,
      qualifiedArn: this.qualifiedArn,
      includeBody: props.includeBody ?? false,
    };
  }
}

function checkEdgeLimits(functionName: string, eventType: EdgeEventType, memorySize: number, timeout: number): void {
  const kind = eventType.startsWith("viewer-") ? "viewer" : "origin";
  const limits = LAMBDA_EDGE_LIMITS[kind];
  if (!Number.isInteger(memorySize) || memorySize < LAMBDA_MIN_MEMORY_MB || memorySize > limits.maxMemoryMb) {
    throw new EdgeFunctionError(
      functionName,
      `memory ${memorySize} MB is outside ${LAMBDA_MIN_MEMORY_MB}-${limits.maxMemoryMb} MB, the range for ${kind} events`,
    );
  }
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > limits.maxTimeoutSeconds) {
    throw new EdgeFunctionError(
      functionName,
      `timeout ${timeout} s is outside 1-${limits.maxTimeoutSeconds} s, the range for ${kind} events`,
    );
  }
}
