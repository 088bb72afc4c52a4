// s3rver ships no types: the part of its API the local stand-ins use (testing/local-servers.ts).
declare module "s3rver" {
  import type { AddressInfo } from "node:net";

  namespace S3rver {
    interface Options {
      /** 0: any free port. */
      port?: number;
      address?: string;
      silent?: boolean;
      /** Where buckets and objects are stored. */
      directory: string;
      /** Buckets created when the server starts. */
      configureBuckets?: { name: string }[];
    }

    /** The part of Koa's context the stand-ins read and write. */
    interface Context {
      method: string;
      path: string;
      query: Record<string, string | string[] | undefined>;
      status: number;
      body: unknown;
      request: { headers: Record<string, string | string[] | undefined> };
      req: NodeJS.EventEmitter;
      set(name: string, value: string): void;
    }

    /** Koa middleware: `unshift` one onto `middleware` before `run()` to change what s3rver answers. */
    type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;

    /** The S3 event notification s3rver emits for each object written or removed. */
    interface Event {
      Records: { eventName: string; s3: { object: { key: string } } }[];
    }
  }

  class S3rver {
    constructor(options: S3rver.Options);
    middleware: S3rver.Middleware[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: "event", listener: (event: S3rver.Event) => void): this;
  }
  export = S3rver;
}
