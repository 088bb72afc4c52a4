import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { HttpObjectSource } from "./copy/http-source";
import { S3Http, type S3HttpOptions } from "./s3-http";
import { createSourceClient, ObjectSource, type ObjectReader } from "./copy/source";

/**
 * How the backfill worker and the migrate CLI read the legacy origin: through an S3 API (GCS's XML
 * API, or any S3-compatible store) or by plain HTTP GET (a public HTTPS origin). The stacks derive
 * these settings from `legacyOrigin` (stacks/legacy-origin.ts) and hand them to the worker as the
 * `source*` variables of functions/shared/backfill-environment.ts.
 */
export const SOURCE_APIS = ["s3", "http"] as const;
export type SourceApi = (typeof SOURCE_APIS)[number];
export const SOURCE_ADDRESSINGS = ["path", "virtual-hosted"] as const;
export type SourceAddressing = (typeof SOURCE_ADDRESSINGS)[number];

export interface LegacySourceSettings {
  readonly api: SourceApi;
  /** `s3`: the API endpoint (`https://storage.googleapis.com`); `http`: the base URL, path prefix included. */
  readonly endpoint: string;
  /** `s3` only: the bucket. */
  readonly bucket?: string;
  /** `s3` only: SigV4's signing region. @default `auto` (GCS) */
  readonly region?: string;
  /** `s3` only. @default "path" */
  readonly addressing?: SourceAddressing;
}

export interface OpenSourceOptions {
  /** A private bucket's key; anonymous reads without it. */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default the SDK's */
  readonly requestHandler?: S3ClientConfig["requestHandler"];
  /** Adjusts the S3 client of an S3 API source once made (the bulk CLI trims its middleware). */
  readonly configureClient?: (client: S3Client) => void;
  /**
   * An S3 API source's object GETs without the SDK (functions/shared/s3-http.ts), with this many
   * connections: the bulk CLI's, which spends most of a small object's CPU in the SDK otherwise.
   */
  readonly plainHttp?: Pick<S3HttpOptions, "connections">;
}

/** The reader of the legacy origin the settings describe. */
export function openLegacySource(settings: LegacySourceSettings, options: OpenSourceOptions = {}): ObjectReader {
  if (settings.api === "http") return new HttpObjectSource(settings.endpoint);
  if (!settings.bucket) throw new Error("an S3 API source needs a bucket (SOURCE_BUCKET, --source-bucket)");
  const client = createSourceClient({
    endpoint: settings.endpoint,
    region: settings.region,
    addressing: settings.addressing,
    credentials: options.credentials,
    requestHandler: options.requestHandler,
  });
  options.configureClient?.(client);
  const http = options.plainHttp
    ? new S3Http(client, {
        ...options.plainHttp,
        // What createSourceClient does to every request: anonymous reads unsigned, stored bytes of gzip objects.
        sign: options.credentials !== undefined,
        headers: { "accept-encoding": "gzip" },
      })
    : undefined;
  return new ObjectSource(client, settings.bucket, http);
}
