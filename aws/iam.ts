/** IAM policy documents as plain JSON strings, so the synthesized Terraform shows the policy as-is. */

export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: "*" | Readonly<Record<string, string | readonly string[]>>;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: ConditionBlock;
}

export const POLICY_VERSION = "2012-10-17";

/** A policy document; token strings (ARNs of resources) resolve inside it at synth. */
export function policyDocument(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({ Version: POLICY_VERSION, Statement: statements });
}

/** Trust policy that lets the given AWS services assume a role. */
export function assumeRolePolicy(services: readonly string[], condition?: ConditionBlock): string {
  return policyDocument([
    {
      Effect: "Allow",
      Principal: { Service: services.length === 1 ? services[0] : services },
      Action: "sts:AssumeRole",
      ...(condition ? { Condition: condition } : {}),
    },
  ]);
}

/** Denies every request to `resource` that does not arrive over TLS (the statement each resource policy starts with). */
export function denyInsecureTransport(
  action: string | readonly string[],
  resource: string | readonly string[],
): PolicyStatement {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: action,
    Resource: resource,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}
