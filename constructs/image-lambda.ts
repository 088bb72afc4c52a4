import { CloudfrontOriginAccessControl } from "@cdktf/provider-aws/lib/cloudfront-origin-access-control";
import { LambdaFunctionUrl } from "@cdktf/provider-aws/lib/lambda-function-url";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { join } from "node:path";
import { LAMBDA_TASK_ROOT } from "../config/aws-facts";
import { FONTS_CONF, FONTS_FOLDER } from "../functions/image/fonts";
import { imageFonts } from "../packaging/font-package";
import type { AssetFolder, NodeModulesSpec } from "../packaging/bundle";
import { BundledFunction } from "./bundled-function";
import { LambdaHttpApi } from "./lambda-http-api";
import { engineEnvironment, engineReadStatements, type EngineSettings } from "./image-engine-settings";
import {
  COMPLETE_MARKER,
  sharpNodeModules,
  type CommandRunner,
  type LambdaArchitecture,
} from "../packaging/sharp-package";
import { Partition } from "../aws/partition";
import {
  FONTCONFIG_FILE_VARIABLE,
  IMAGE_ORIGIN_READ_TIMEOUT_SECONDS,
  MALLOC_ARENAS,
} from "../functions/image/environment";
import { DEFAULT_IMAGE_LAMBDA_MEMORY_MB, DEFAULT_IMAGE_RESERVED_CONCURRENCY } from "./defaults";

/** Long enough for a large source: the distributions' origin read timeout is the real bound. */
export const IMAGE_FUNCTION_TIMEOUT_SECONDS = IMAGE_ORIGIN_READ_TIMEOUT_SECONDS;
export const IMAGE_FUNCTION_ENTRY = "functions/image/lambda.ts";

export interface ImageFunctionPackageOptions {
  readonly architecture: LambdaArchitecture;
  /** Where sharp and the fonts are installed. @default NATIVE_CACHE_DIR (`.build/native`) */
  readonly cacheDir?: string;
  /** Runs npm for sharp. @default npm through execFileSync */
  readonly runCommand?: CommandRunner;
}

/** What the image function's zip carries beside its code: sharp for its architecture, and the fonts. */
export function imageFunctionPackage(options: ImageFunctionPackageOptions): {
  readonly nodeModules: NodeModulesSpec;
  readonly assets: readonly AssetFolder[];
} {
  const { architecture, cacheDir, runCommand } = options;
  return {
    nodeModules: sharpNodeModules({ architecture, cacheDir, runCommand }),
    assets: [{ directory: imageFonts({ cacheDir }), zipFolder: FONTS_FOLDER, exclude: [COMPLETE_MARKER] }],
  };
}

export interface ImageLambdaProps extends EngineSettings {
  readonly functionName: string;
  readonly styleTableArn: string;
  /**
   * Concurrent executions reserved for the function, which are also the most it may run: a flood of
   * image requests is throttled here instead of starving the region's other functions. `null`:
   * unreserved. @default DEFAULT_IMAGE_RESERVED_CONCURRENCY
   */
  readonly reservedConcurrency?: number | null;
  /** @default "nodejs22.x" (BundledFunction's default) */
  readonly runtime?: string;
  /** @default "arm64" */
  readonly architecture?: LambdaArchitecture;
  /** @default DEFAULT_IMAGE_LAMBDA_MEMORY_MB */
  readonly memorySize?: number;
  /** @default BundledFunction's default */
  readonly logRetentionDays?: number;
  /** Runs npm when sharp's binaries are not cached yet (tests inject one). @default npm */
  readonly runCommand?: CommandRunner;
  /**
   * How CloudFront reaches the function: a Function URL signed through an origin access control, or
   * (where Function URLs are not offered: the China regions) an API Gateway HTTP API open to
   * CloudFront's unsigned requests, bounded by its throttling and the reserved concurrency.
   * @default "function-url"
   */
  readonly origin?: "function-url" | "http-api";
}

/** Routes of the HTTP API origin: what the image distributions send (origin groups fail over for GET and HEAD). */
export const IMAGE_HTTP_API_ROUTES = ["GET /{proxy+}", "HEAD /{proxy+}"];
/** Stage throttling of the HTTP API origin: above what the reserved concurrency serves, so it binds only direct callers. */
export const IMAGE_HTTP_API_THROTTLING = { burstLimit: 1_000, rateLimit: 500 };

/**
 * The image engine as a Lambda function, packaged with sharp's linux binaries for its
 * architecture, behind a Function URL that only CloudFront can call: the URL requires IAM auth and
 * the distributions sign their requests with an origin access control of type `lambda`. No public
 * endpoint, no API Gateway (its 30-second and 10 MB limits add nothing over the Function URL's),
 * except in the China regions, which offer neither Function URLs nor origin access control there:
 * an HTTP API (same event shape, payload 2.0) is the origin (see docs/china.md).
 */
export class ImageLambda extends Construct {
  readonly fn: BundledFunction;
  /** Present with the `function-url` origin. */
  readonly functionUrl?: LambdaFunctionUrl;
  /** The origin access control the distributions use for the Function URL origin (none for the HTTP API). */
  readonly originAccessControl?: CloudfrontOriginAccessControl;
  /** Present with the `http-api` origin. */
  readonly httpApi?: LambdaHttpApi;
  /**
   * The origin's host name: the Function URL's (`<id>.lambda-url.<region>.on.aws`) or the HTTP API's
   * (`<id>.execute-api.<region>.<dns suffix>`).
   */
  readonly originDomainName: string;
  /** The URL that reaches the function directly (for the stack's outputs). */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: ImageLambdaProps) {
    super(scope, id);
    const architecture = props.architecture ?? "arm64";
    this.fn = new BundledFunction(this, "engine", {
      name: "image",
      entry: IMAGE_FUNCTION_ENTRY,
      functionName: props.functionName,
      description: "s3-edge: x-oss-process image processing (Function URL origin of the image distributions)",
      runtime: props.runtime,
      architecture,
      memorySize: props.memorySize ?? DEFAULT_IMAGE_LAMBDA_MEMORY_MB,
      timeout: IMAGE_FUNCTION_TIMEOUT_SECONDS,
      reservedConcurrentExecutions:
        props.reservedConcurrency === undefined ? DEFAULT_IMAGE_RESERVED_CONCURRENCY : props.reservedConcurrency,
      logRetentionDays: props.logRetentionDays,
      environment: {
        ...engineEnvironment(props),
        // fontconfig sees the shipped fonts only (functions/image/fonts.ts).
        [FONTCONFIG_FILE_VARIABLE]: join(LAMBDA_TASK_ROOT, FONTS_FOLDER, FONTS_CONF),
        [MALLOC_ARENAS.variable]: MALLOC_ARENAS.value,
      },
      policyStatements: engineReadStatements(Partition.of(this), props.sourceBuckets, props.styleTableArn),
      ...imageFunctionPackage({ architecture, runCommand: props.runCommand }),
    });
    if (props.origin === "http-api") {
      this.httpApi = new LambdaHttpApi(this, "api", {
        apiName: props.functionName,
        handler: this.fn.function,
        routes: IMAGE_HTTP_API_ROUTES,
        authorization: { type: "open" },
        throttling: IMAGE_HTTP_API_THROTTLING,
        cors: { allowOrigins: [], allowHeaders: [], allowCredentials: false, maxAgeSeconds: 0 },
        accessLogRetentionDays: props.logRetentionDays,
      });
      this.endpoint = this.httpApi.endpoint;
      this.originDomainName = Fn.element(Fn.split("/", this.endpoint), 2);
      return;
    }
    this.functionUrl = new LambdaFunctionUrl(this, "url", {
      functionName: this.fn.function.functionName,
      authorizationType: "AWS_IAM",
      invokeMode: "BUFFERED",
    });
    this.endpoint = this.functionUrl.functionUrl;
    this.originDomainName = Fn.element(Fn.split("/", this.functionUrl.functionUrl), 2);
    this.originAccessControl = new CloudfrontOriginAccessControl(this, "oac", {
      name: props.functionName,
      description: "s3-edge: CloudFront signs requests to the image Function URL",
      originAccessControlOriginType: "lambda",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    });
  }

  /**
   * Lets one distribution invoke the Function URL. Function URLs created since October 2025 need
   * both lambda:InvokeFunctionUrl and lambda:InvokeFunction for the caller; both are scoped to the
   * distribution's ARN.
   */
  allowDistribution(id: string, distributionArn: string): void {
    if (!this.functionUrl) return; // The HTTP API's own invoke permission covers it.
    new LambdaPermission(this, `${id}-url`, {
      functionName: this.fn.function.functionName,
      action: "lambda:InvokeFunctionUrl",
      functionUrlAuthType: "AWS_IAM",
      principal: Partition.of(this).servicePrincipal("cloudfront"),
      sourceArn: distributionArn,
      statementId: `cloudfront-url-${id}`,
    });
    new LambdaPermission(this, `${id}-invoke`, {
      functionName: this.fn.function.functionName,
      action: "lambda:InvokeFunction",
      principal: Partition.of(this).servicePrincipal("cloudfront"),
      sourceArn: distributionArn,
      statementId: `cloudfront-invoke-${id}`,
    });
  }
}
