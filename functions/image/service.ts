/**
 * The HTTP-shaped core shared by the Lambda handler and the container server: URL → key, style and
 * actions → source read → engine → response, with every failure turned into an OSS error body.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Action } from "./actions";
import { Deadline } from "./deadline";
import { encoderSettingsFromEnv } from "./encoders";
import { ImageEngine } from "./engine";
import { ImageError, errorXml, type ErrorCode } from "./errors";
import { DEFAULT_DEADLINE_MS } from "./limits";
import type { ImageFigures } from "./figures";
import { parseActions, parseProcess, STYLE_NAME } from "./parser";
import { readEnvironment, EnvironmentError } from "../shared/environment";
import { ENVIRONMENT, ENVIRONMENT_FIELDS, PROCESS_PARAMETER, SOURCE_BUCKET_HEADER } from "./environment";
import { RegionalS3Clients, S3Source, type ImageSource } from "./source";
import { DynamoStyleStore, type StyleStore } from "./styles";

/** Processed images are immutable for a given URL: cache them long. */
export const SUCCESS_CACHE_CONTROL = "public, max-age=31536000";
export const DEFAULT_STYLE_DELIMITERS = ["@!", "!"];
/** Milliseconds to connect to DynamoDB and to get a style lookup's answer. */
export const DYNAMODB_CONNECTION_TIMEOUT_MS = 1_000;
export const DYNAMODB_REQUEST_TIMEOUT_MS = 2_000;

export interface ImageRequest {
  readonly method: string;
  /** The path as received, percent-encoded: `/photos/a%20b.jpg`. */
  readonly path: string;
  /** The query string as received, without `?`. */
  readonly query: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly requestId: string;
  /** Aborts when the client goes away: the work stops and the response is not sent. */
  readonly signal?: AbortSignal;
  /** Time the runtime still gives the request (Lambda's remaining time), when shorter than the deadline. */
  readonly timeLeftMs?: number;
  /**
   * Waits for a processing (CPU) slot once the source is in memory, so that a slow read holds no
   * slot; resolves with the slot's release, or undefined when the signal aborted first.
   * @default processing starts at once (Lambda: one request per instance)
   */
  readonly processingSlot?: (signal: AbortSignal) => Promise<(() => void) | undefined>;
}

export interface ImageResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface ImageServiceProps {
  readonly engine: ImageEngine;
  readonly source: ImageSource;
  /** Without a style store, style requests are 404 NoSuchStyle. */
  readonly styles?: StyleStore;
  /** Bucket read when the request names none. */
  readonly defaultBucket: string;
  /** Buckets a request may name in `x-s3edge-source-bucket` (the default bucket is always allowed). */
  readonly allowedBuckets: readonly string[];
  readonly logger: Logger;
  /** Separators of the `<key>@!<style>` path forms, longest first. @default ["@!", "!"] */
  readonly styleDelimiters?: readonly string[];
  /**
   * After this long a request's work is abandoned and it is answered 503: below CloudFront's origin
   * read timeout, after which nobody waits for the answer. @default DEFAULT_DEADLINE_MS
   */
  readonly deadlineMs?: number;
  /** Where requests, times and bytes are counted. @default not counted */
  readonly figures?: ImageFigures;
}

/** A request's answer, and what records it once it is sent. */
export interface ImageAnswer {
  readonly response: ImageResponse;
  /** Writes the request's log line and figures (the time taken is the time to the answer). */
  readonly record: () => void;
}

export class ImageService {
  private readonly allowed: ReadonlySet<string>;
  private readonly delimiters: readonly string[];

  constructor(private readonly props: ImageServiceProps) {
    this.allowed = new Set([props.defaultBucket, ...props.allowedBuckets]);
    this.delimiters = [...(props.styleDelimiters ?? DEFAULT_STYLE_DELIMITERS)].sort((a, b) => b.length - a.length);
  }

  get engine(): ImageEngine {
    return this.props.engine;
  }

  /** Answers the request and records it (its log line and figures). */
  async handle(request: ImageRequest): Promise<ImageResponse> {
    const { response, record } = await this.answer(request);
    record();
    return response;
  }

  /**
   * Answers the request; `record` writes its log line and figures. The server sends the response
   * before it records, so the viewer does not wait for them; Lambda, which may freeze once it
   * returns, records first (`handle`).
   */
  async answer(request: ImageRequest): Promise<ImageAnswer> {
    const started = Date.now();
    const deadline = new Deadline(
      Math.min(this.props.deadlineMs ?? DEFAULT_DEADLINE_MS, request.timeLeftMs ?? Infinity),
      request.signal,
    );
    let response: ImageResponse;
    try {
      // The answer comes at the deadline even when a step cannot be interrupted; that step's work
      // ends at its libvips timeout or at the engine's next check.
      const work = this.process(request, deadline);
      work.catch(() => undefined);
      response = await deadline.race(work);
    } catch (caught) {
      const error = deadline.signal.aborted ? deadline.error() : caught;
      if (error instanceof ImageError) {
        response = errorResponse(error.status, error.code, error.message, request.requestId);
      } else {
        this.props.logger.error("internal failure", {
          requestId: request.requestId,
          path: request.path,
          error: error as Error,
        });
        response = errorResponse(500, "InternalError", "the image could not be processed", request.requestId);
      }
    } finally {
      // Work that is still running past its answer has its signal aborted already.
      deadline.dispose();
    }
    const ms = Date.now() - started;
    const record = () => {
      this.props.logger.info("request", {
        requestId: request.requestId,
        method: request.method,
        path: request.path,
        query: request.query,
        status: response.status,
        bytes: response.body.length,
        ms,
      });
      this.props.figures?.answered(response.status, response.body.length, ms);
    };
    return { response, record };
  }

  private async process(request: ImageRequest, deadline: Deadline): Promise<ImageResponse> {
    if (request.method !== "GET" && request.method !== "HEAD")
      throw new ImageError("InvalidArgument", `method ${request.method} is not supported; use GET`);
    const bucket = this.bucket(request.headers[SOURCE_BUCKET_HEADER]);
    const { key, style } = this.splitPath(request.path);
    const process = new URLSearchParams(request.query).get(PROCESS_PARAMETER) ?? undefined;
    if (process === undefined && style === undefined)
      throw new ImageError(
        "AccessDenied",
        `no ${PROCESS_PARAMETER}: the object is served by its bucket, not by the image function`,
      );
    const actions = await this.actions(process, style);
    if (key === "") throw new ImageError("InvalidArgument", "the URL names no object key");

    const { maxSourceBytes } = this.props.engine.limits;
    const source = await this.props.source.get(bucket, key, maxSourceBytes, deadline.signal);
    this.props.figures?.sourceRead(source.length);
    const release = await request.processingSlot?.(deadline.signal);
    if (request.processingSlot && !release) throw deadline.error();
    let result: Awaited<ReturnType<ImageEngine["process"]>>;
    try {
      deadline.check();
      result = await this.props.engine.process({
        source,
        actions,
        accept: request.headers.accept,
        loadObject: (watermarkKey) => this.props.source.get(bucket, watermarkKey, maxSourceBytes, deadline.signal),
        deadline,
      });
    } finally {
      release?.();
    }
    const headers: Record<string, string> = {
      "content-type": result.contentType,
      "cache-control": SUCCESS_CACHE_CONTROL,
    };
    if (result.varyAccept) headers.vary = "Accept";
    return { status: 200, headers, body: result.body };
  }

  private bucket(requested: string | undefined): string {
    if (requested === undefined || requested === "") return this.props.defaultBucket;
    if (!this.allowed.has(requested))
      throw new ImageError(
        "AccessDenied",
        `the bucket "${requested.slice(0, 63)}" is not a source bucket of this image function`,
      );
    return requested;
  }

  /** `/a/b.jpg@!thumb` → key `a/b.jpg`, style `thumb` (an explicit style comes from x-oss-process instead). */
  private splitPath(path: string): { key: string; style?: { name: string } } {
    let key: string;
    try {
      key = decodeURIComponent(path.replace(/^\/+/, ""));
    } catch {
      throw new ImageError("InvalidArgument", "the URL path is not valid percent-encoding");
    }
    for (const delimiter of this.delimiters) {
      const at = key.lastIndexOf(delimiter);
      const name = key.slice(at + delimiter.length);
      if (at > 0 && STYLE_NAME.test(name)) return { key: key.slice(0, at), style: { name } };
    }
    return { key };
  }

  /** The actions of the path's style (if any) followed by those of `x-oss-process`. */
  private async actions(process: string | undefined, pathStyle: { name: string } | undefined): Promise<Action[]> {
    const spec = process === undefined ? undefined : parseProcess(process);
    const actions: Action[] = [];
    if (pathStyle) {
      const style = await this.style(pathStyle.name);
      // Not a style after all: a key that contains the delimiter. Without processing, S3 serves it.
      if (style === undefined && spec === undefined)
        throw new ImageError(
          "AccessDenied",
          `no ${PROCESS_PARAMETER} and no style "${pathStyle.name}": served by the bucket`,
        );
      if (style === undefined) throw new ImageError("NoSuchStyle", `the style "${pathStyle.name}" does not exist`);
      actions.push(...style);
    }
    if (spec?.kind === "style") {
      const style = await this.style(spec.name);
      if (style === undefined) throw new ImageError("NoSuchStyle", `the style "${spec.name}" does not exist`);
      actions.push(...style);
    } else if (spec) {
      actions.push(...spec.actions);
    }
    return actions;
  }

  private async style(name: string): Promise<Action[] | undefined> {
    const value = await this.props.styles?.get(name);
    if (value === undefined) return undefined;
    const match = /^image\/(.*)$/s.exec(value);
    if (!match) throw new ImageError("InvalidArgument", `the style "${name}" is not an image/ action string`);
    try {
      return parseActions(match[1]);
    } catch (error) {
      if (error instanceof ImageError) throw new ImageError(error.code, `style "${name}": ${error.message}`);
      throw error;
    }
  }
}

export function errorResponse(status: number, code: ErrorCode, message: string, requestId: string): ImageResponse {
  return {
    status,
    headers: { "content-type": "application/xml", "cache-control": "no-store" },
    body: Buffer.from(errorXml(code, message, requestId)),
  };
}

/**
 * The service as both runtimes configure it from the environment (ENVIRONMENT and the encoder
 * settings in environment.ts); SDK clients use the standard configuration (AWS_REGION,
 * AWS_ENDPOINT_URL_*) with timeouts.
 */
export function servicePropsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
  figures?: ImageFigures,
): ImageServiceProps {
  const settings = readEnvironment(ENVIRONMENT, ENVIRONMENT_FIELDS, env);
  const defaultBucket = settings.sourceBucket || settings.sourceBuckets[0];
  if (!defaultBucket)
    throw new EnvironmentError(
      `${ENVIRONMENT.sourceBucket} (or ${ENVIRONMENT.sourceBuckets}) must name the bucket to read images from`,
    );
  const { maxSourceBytes, styleTable } = settings;
  return {
    engine: new ImageEngine({
      autoFormat: settings.autoFormat ?? false,
      limits: maxSourceBytes ? { maxSourceBytes } : {},
      encoders: encoderSettingsFromEnv(env),
    }),
    source: new S3Source(new RegionalS3Clients(settings.sourceBucketRegions)),
    styles: styleTable
      ? new DynamoStyleStore(
          new DynamoDBClient({
            requestHandler: {
              connectionTimeout: DYNAMODB_CONNECTION_TIMEOUT_MS,
              requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS,
              throwOnRequestTimeout: true,
            },
          }),
          styleTable,
        )
      : undefined,
    defaultBucket,
    allowedBuckets: settings.sourceBuckets,
    logger,
    styleDelimiters: settings.styleDelimiters.length > 0 ? settings.styleDelimiters : undefined,
    deadlineMs: settings.deadlineMs,
    figures,
  };
}

export const createServiceFromEnv = (
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
  figures?: ImageFigures,
) => new ImageService(servicePropsFromEnv(env, logger, figures));
