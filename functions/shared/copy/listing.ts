import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { SourceListing } from "./source";

/** What the destination's listing says of a key. */
export type ListedState =
  | { readonly kind: "absent" }
  | { readonly kind: "present"; readonly entry: SourceListing }
  /** The listing cannot tell (a key asked out of listing order, or the listing failed): look with a HEAD. */
  | { readonly kind: "unknown" };

/** Every object of an S3 bucket under `prefix`, page by page (ListObjectsV2, 1,000 keys a page). */
export async function* listBucket(client: S3Client, bucket: string, prefix?: string): AsyncGenerator<SourceListing[]> {
  let ContinuationToken: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken }),
    );
    yield (page.Contents ?? []).flatMap((entry) =>
      entry.Key ? [{ key: entry.Key, size: entry.Size ?? 0, etag: entry.ETag }] : [],
    );
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
}

/**
 * Answers "what does the destination hold under this key?" for keys asked in listing order (the
 * source's listing order), by walking the destination's listing alongside: one page request per
 * 1,000 keys instead of a HEAD per key, the next page fetched while the current one is used (never
 * more than two held). S3 and GCS both list in
 * UTF-8 byte order; a key asked out of that order, or after the listing failed, is `unknown`.
 * Only a hint: every write stays conditional, so a key written since its page was read loses the
 * write and is looked at again.
 */
export class DestinationListing {
  private page: readonly SourceListing[] = [];
  private index = 0;
  private exhausted = false;
  private failed = false;
  private previous?: Buffer;
  /** The next page, asked for as soon as the one before arrived (and the first at once). */
  private nextPage: Promise<IteratorResult<SourceListing[]>>;

  constructor(
    private readonly pages: AsyncIterator<SourceListing[]>,
    /** Told once when the listing fails (every later key is then `unknown`). */
    private readonly onFailure: (error: unknown) => void = () => undefined,
  ) {
    this.nextPage = this.prefetch();
  }

  private prefetch(): Promise<IteratorResult<SourceListing[]>> {
    const page = this.pages.next();
    // Awaited (and its failure handled) in lookup; not an unhandled rejection meanwhile.
    page.catch(() => undefined);
    return page;
  }

  async lookup(key: string): Promise<ListedState> {
    const wanted = Buffer.from(key);
    if (this.failed || (this.previous && Buffer.compare(wanted, this.previous) < 0)) return { kind: "unknown" };
    this.previous = wanted;
    for (;;) {
      for (; this.index < this.page.length; this.index++) {
        const entry = this.page[this.index];
        const order = Buffer.compare(Buffer.from(entry.key), wanted);
        if (order === 0) return { kind: "present", entry };
        if (order > 0) return { kind: "absent" };
      }
      if (this.exhausted) return { kind: "absent" };
      try {
        const next = await this.nextPage;
        if (next.done) this.exhausted = true;
        else {
          [this.page, this.index] = [next.value, 0];
          this.nextPage = this.prefetch();
        }
      } catch (error) {
        this.failed = true;
        this.onFailure(error);
        return { kind: "unknown" };
      }
    }
  }
}

/** Listings of the same bytes: same size and ETag (an ETag names one version of one object's bytes). */
export function sameListedBytes(source: SourceListing, destination: SourceListing): boolean {
  const unquote = (etag: string) => etag.replace(/^"|"$/g, "");
  return (
    source.etag !== undefined &&
    destination.etag !== undefined &&
    source.size === destination.size &&
    unquote(source.etag) === unquote(destination.etag)
  );
}
