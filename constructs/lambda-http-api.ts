import { Apigatewayv2Api } from "@cdktf/provider-aws/lib/apigatewayv2-api";
import { Apigatewayv2Authorizer } from "@cdktf/provider-aws/lib/apigatewayv2-authorizer";
import { Apigatewayv2Integration } from "@cdktf/provider-aws/lib/apigatewayv2-integration";
import { Apigatewayv2Route } from "@cdktf/provider-aws/lib/apigatewayv2-route";
import { Apigatewayv2Stage } from "@cdktf/provider-aws/lib/apigatewayv2-stage";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { Construct } from "constructs";
import { Partition } from "../aws/partition";
import { DEFAULT_LOG_RETENTION_DAYS } from "./defaults";

/**
 * Who may call the routes: SigV4-signed IAM callers, bearer tokens of an OpenID Connect issuer, or
 * anyone (`open`: only for a public origin, such as CloudFront China's image origin, which cannot
 * sign its requests; throttling and the function's reserved concurrency bound it).
 */
export type HttpApiAuthorization =
  | { readonly type: "iam" }
  | { readonly type: "jwt"; readonly issuer: string; readonly audience: readonly string[] }
  | { readonly type: "open" };

export interface HttpApiCors {
  /** None turns CORS off. */
  readonly allowOrigins: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
}

export interface LambdaHttpApiProps {
  readonly apiName: string;
  /** The function behind every route (payload format 2.0). */
  readonly handler: LambdaFunction;
  /** Route keys, e.g. `GET /count`; any other request gets API Gateway's 404. */
  readonly routes: readonly string[];
  readonly authorization: HttpApiAuthorization;
  /** Default route throttling of the stage. */
  readonly throttling: { readonly burstLimit: number; readonly rateLimit: number };
  readonly cors: HttpApiCors;
  /** @default DEFAULT_LOG_RETENTION_DAYS */
  readonly accessLogRetentionDays?: number;
}

/** One line of JSON per request in the access log. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  caller: "$context.identity.caller",
  userArn: "$context.identity.userArn",
  jwtSubject: "$context.authorizer.claims.sub",
  requestTime: "$context.requestTime",
  routeKey: "$context.routeKey",
  status: "$context.status",
  responseLength: "$context.responseLength",
  integrationError: "$context.integrationErrorMessage",
  authorizerError: "$context.authorizer.error",
});

export const JWT_IDENTITY_SOURCE = "$request.header.Authorization";

/**
 * An HTTP API in front of one Lambda function: the `$default` stage with throttling and JSON access
 * logs (with retention), IAM or JWT authorization on every route, CORS from config, and an invoke
 * permission scoped to the API's routes.
 */
export class LambdaHttpApi extends Construct {
  readonly api: Apigatewayv2Api;
  readonly stage: Apigatewayv2Stage;
  readonly accessLogs: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: LambdaHttpApiProps) {
    super(scope, id);
    const { cors } = props;
    this.api = new Apigatewayv2Api(this, "api", {
      name: props.apiName,
      protocolType: "HTTP",
      corsConfiguration:
        cors.allowOrigins.length > 0
          ? {
              allowOrigins: [...cors.allowOrigins],
              allowMethods: [...new Set(props.routes.map((route) => route.split(" ")[0]))],
              allowHeaders: [...cors.allowHeaders],
              allowCredentials: cors.allowCredentials,
              maxAge: cors.maxAgeSeconds,
            }
          : undefined,
    });
    const integration = new Apigatewayv2Integration(this, "integration", {
      apiId: this.api.id,
      integrationType: "AWS_PROXY",
      integrationUri: props.handler.arn,
      integrationMethod: "POST",
      payloadFormatVersion: "2.0",
    });
    const authorizer =
      props.authorization.type === "jwt"
        ? new Apigatewayv2Authorizer(this, "authorizer", {
            apiId: this.api.id,
            name: `${props.apiName}-jwt`,
            authorizerType: "JWT",
            identitySources: [JWT_IDENTITY_SOURCE],
            jwtConfiguration: { issuer: props.authorization.issuer, audience: [...props.authorization.audience] },
          })
        : undefined;
    props.routes.forEach((routeKey, index) => {
      new Apigatewayv2Route(this, `route-${index}`, {
        apiId: this.api.id,
        routeKey,
        target: `integrations/${integration.id}`,
        authorizationType: authorizer ? "JWT" : props.authorization.type === "open" ? "NONE" : "AWS_IAM",
        authorizerId: authorizer?.id,
      });
      const [method, path] = routeKey.split(" ");
      new LambdaPermission(this, `invoke-${index}`, {
        statementId: `AllowHttpApi${index}`,
        action: "lambda:InvokeFunction",
        functionName: props.handler.functionName,
        principal: Partition.of(this).servicePrincipal("apigateway"),
        // arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<method><path>
        sourceArn: `${this.api.executionArn}/*/${method}${path}`,
      });
    });

    this.accessLogs = new CloudwatchLogGroup(this, "access-logs", {
      name: `/aws/apigateway/${props.apiName}`,
      retentionInDays: props.accessLogRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
    });
    this.stage = new Apigatewayv2Stage(this, "stage", {
      apiId: this.api.id,
      name: "$default",
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingBurstLimit: props.throttling.burstLimit,
        throttlingRateLimit: props.throttling.rateLimit,
      },
      accessLogSettings: { destinationArn: this.accessLogs.arn, format: ACCESS_LOG_FORMAT },
    });
  }

  /** `https://<api id>.execute-api.<region>.<dns suffix>` */
  get endpoint(): string {
    return this.api.apiEndpoint;
  }
}
