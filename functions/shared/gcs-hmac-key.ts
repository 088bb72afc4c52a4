import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** A legacy store's key as stored in Secrets Manager: a GCS HMAC key (`{"accessKeyId":"GOOG1E...","secretAccessKey":"..."}`) or an S3-compatible access key. */
export interface HmacKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * Reads the HMAC key once per container: the promise is cached, so concurrent callers share one
 * GetSecretValue, and forgotten when it fails, so the next call tries again.
 */
export function cachedHmacKey(client: SecretsManagerClient, secretId: string): () => Promise<HmacKey> {
  let pending: Promise<HmacKey> | undefined;
  return () => {
    pending ??= readHmacKey(client, secretId).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function readHmacKey(client: SecretsManagerClient, secretId: string): Promise<HmacKey> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  let parsed: Partial<HmacKey> | undefined;
  try {
    parsed = JSON.parse(SecretString ?? "") as Partial<HmacKey>;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed?.accessKeyId !== "string" || typeof parsed.secretAccessKey !== "string") {
    throw new Error(`secret ${secretId} is not {"accessKeyId":"...","secretAccessKey":"..."}`);
  }
  return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
}
