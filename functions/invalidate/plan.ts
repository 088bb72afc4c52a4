/**
 * Turns a batch of changed S3 keys into CloudFront invalidation paths. Pure: no I/O.
 *
 * CloudFront charges per path (a wildcard path costs the same as an exact one) and limits an
 * invalidation to 3,000 paths, of which at most 15 may be wildcards, also counting the ones in
 * progress. Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-invalidations
 */

import {
  CLOUDFRONT_MAX_INVALIDATION_PATHS as MAX_INVALIDATION_PATHS,
  CLOUDFRONT_MAX_WILDCARD_INVALIDATION_PATHS as MAX_WILDCARD_PATHS,
} from "../../config/aws-facts";

/**
 * Up to this many paths a batch keeps exact paths; beyond, keys are collapsed into `prefix/*`.
 * The knee of cost against cache misses in `npm run bench -- --only invalidation`
 * (docs/invalidation.md): at 50, a batch of 200 changes in 20 folders already
 * purges everything; at 100 it costs $0.46 and purges an eighth as much; past 100, each avoided
 * miss costs more than fetching it again.
 */
export const DEFAULT_EXACT_PATH_LIMIT = 100;

export interface PlanOptions {
  /**
   * The most paths a plan returns: a batch with up to this many keys gets one exact path per key;
   * a larger one is collapsed into `prefix/*` paths until it fits.
   * @default DEFAULT_EXACT_PATH_LIMIT
   */
  readonly exactPathLimit?: number;
  /**
   * The most wildcard paths a plan returns.
   * @default CLOUDFRONT_MAX_WILDCARD_INVALIDATION_PATHS
   */
  readonly maxWildcards?: number;
  /**
   * Cover the query-string variants of each key (`/key*`), for a distribution whose cache key
   * includes the query string (image processing). Each such path counts as a wildcard.
   * @default false
   */
  readonly queryStringVariants?: boolean;
}

/**
 * Characters CloudFront wants percent-encoded in an invalidation path: RFC 1738's unsafe
 * characters, plus `?` (it would start a query string). Everything else ASCII stays as is:
 * "Do not URL-encode any other characters in the path, or CloudFront will not invalidate the old
 * version". Source: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Invalidation_Requests.html
 */
const UNSAFE = new Set([" ", "<", ">", '"', "#", "%", "{", "}", "|", "\\", "^", "~", "[", "]", "`", "?"]);

/** ASCII that CloudFront takes as is: most keys, which then need no per-character work. */
const NOTHING_TO_ENCODE = /^[A-Za-z0-9\-._/!$&'()*+,;=:@]*$/;

function encodeSegment(text: string): string {
  if (NOTHING_TO_ENCODE.test(text)) return text;
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0x80) out += encodeURIComponent(char);
    else if (code <= 0x20 || code === 0x7f || UNSAFE.has(char))
      out += `%${code.toString(16).toUpperCase().padStart(2, "0")}`;
    else out += char;
  }
  // Lone surrogates cannot be UTF-8 encoded; S3 keys are valid UTF-8, so they never occur.
  return out;
}

/**
 * The path that invalidates one key: `/` + the key, encoded as CloudFront expects. CloudFront
 * reads `*` as a wildcard only at the end of a path; a key with a `*` inside is covered by the
 * wildcard of its part before the `*`.
 */
export function keyPath(key: string, queryStringVariants = false): string {
  const star = key.indexOf("*");
  if (star >= 0) return `/${encodeSegment(key.slice(0, star))}*`;
  return `/${encodeSegment(key)}${queryStringVariants ? "*" : ""}`;
}

/** Whether a key's own path is a wildcard (query-string variants, or a `*` inside the key). */
const hasWildcardPath = (key: string, queryStringVariants: boolean) => queryStringVariants || key.includes("*");

/** A directory of the key space (`a/b/`), with the keys directly in it and its subdirectories. */
interface Directory {
  readonly prefix: string;
  readonly files: string[];
  readonly children: Map<string, Directory>;
  /** Keys in the whole subtree. */
  keyCount: number;
  /** Exact paths of the subtree that are wildcards anyway (query-string variants, `*` in keys). */
  wildcardKeyCount: number;
}

function directory(prefix: string): Directory {
  return { prefix, files: [], children: new Map(), keyCount: 0, wildcardKeyCount: 0 };
}

function buildTree(keys: readonly string[], queryStringVariants: boolean): Directory {
  const root = directory("");
  for (const key of keys) {
    const wildcard = hasWildcardPath(key, queryStringVariants) ? 1 : 0;
    let node = root;
    node.keyCount++;
    node.wildcardKeyCount += wildcard;
    let start = 0;
    for (let slash = key.indexOf("/"); slash >= 0; slash = key.indexOf("/", slash + 1)) {
      const segment = key.slice(start, slash + 1);
      let child = node.children.get(segment);
      if (!child) {
        child = directory(key.slice(0, slash + 1));
        node.children.set(segment, child);
      }
      node = child;
      node.keyCount++;
      node.wildcardKeyCount += wildcard;
      start = slash + 1;
    }
    node.files.push(key);
  }
  return root;
}

function subtreeKeys(node: Directory, into: string[] = []): string[] {
  into.push(...node.files);
  for (const child of node.children.values()) subtreeKeys(child, into);
  return into;
}

const directoryPath = (node: Directory) => `/${encodeSegment(node.prefix)}*`;

/**
 * CloudFront paths that invalidate every key of the batch: each key is covered by its exact path
 * or by a wildcard path of one of its directories. Deduplicated and sorted, so the same set of
 * keys always gives the same plan. At most `exactPathLimit` paths (and never more than 3,000),
 * at most `maxWildcards` of them wildcards.
 *
 * How: start from `/*` (one path that covers everything), then refine breadth-first: a wildcard
 * directory is replaced by its files' exact paths and its subdirectories (exact while the budget
 * allows, the largest ones as wildcards otherwise), whenever the result still fits the limits.
 * The plan is therefore as specific as the budget allows, and a batch that fits gets exact paths.
 */
export function planInvalidation(keys: readonly string[], options: PlanOptions = {}): string[] {
  const pathLimit = Math.min(options.exactPathLimit ?? DEFAULT_EXACT_PATH_LIMIT, MAX_INVALIDATION_PATHS);
  const wildcardLimit = Math.min(options.maxWildcards ?? MAX_WILDCARD_PATHS, MAX_WILDCARD_PATHS);
  if (pathLimit < 1 || wildcardLimit < 1) throw new RangeError("exactPathLimit and maxWildcards must be at least 1");
  const queryStringVariants = options.queryStringVariants ?? false;
  const unique = [...new Set(keys)];
  if (unique.length === 0) return [];

  const root = buildTree(unique, queryStringVariants);
  const exact = new Set<string>();
  const wildcardDirectories: Directory[] = [];
  let paths = 1;
  let wildcards = 1;
  const queue: Directory[] = [root];
  while (queue.length > 0) {
    const node = queue.shift()!;
    const expansion = expand(node, pathLimit - (paths - 1), wildcardLimit - (wildcards - 1), queryStringVariants);
    if (!expansion) {
      wildcardDirectories.push(node);
      continue;
    }
    paths += expansion.paths - 1;
    wildcards += expansion.wildcards - 1;
    for (const path of expansion.exactPaths) exact.add(path);
    queue.push(...expansion.wildcardChildren);
  }
  return [...exact, ...wildcardDirectories.map(directoryPath)].sort();
}

interface Expansion {
  readonly exactPaths: string[];
  readonly wildcardChildren: Directory[];
  readonly paths: number;
  readonly wildcards: number;
}

/**
 * Replaces a wildcard directory by its files' exact paths and its subdirectories, within the given
 * budget: subdirectories are exact unless the budget forces the largest ones to stay wildcards.
 * Undefined when even that does not fit.
 */
function expand(
  node: Directory,
  pathBudget: number,
  wildcardBudget: number,
  queryStringVariants: boolean,
): Expansion | undefined {
  let paths = node.files.length;
  let wildcards = node.files.filter((key) => hasWildcardPath(key, queryStringVariants)).length;
  const children = [...node.children.values()];
  for (const child of children) {
    paths += child.keyCount;
    wildcards += child.wildcardKeyCount;
  }
  // Largest first: turning a child into one wildcard path saves the most paths.
  const bySize = children.sort((a, b) => b.keyCount - a.keyCount || (a.prefix < b.prefix ? -1 : 1));
  const wildcardChildren: Directory[] = [];
  for (const child of bySize) {
    if (paths <= pathBudget && wildcards <= wildcardBudget) break;
    paths += 1 - child.keyCount;
    wildcards += 1 - child.wildcardKeyCount;
    wildcardChildren.push(child);
  }
  if (paths > pathBudget || wildcards > wildcardBudget) return undefined;
  const stayWildcard = new Set(wildcardChildren);
  const exactPaths = node.files.map((key) => keyPath(key, queryStringVariants));
  for (const child of children) {
    if (!stayWildcard.has(child))
      exactPaths.push(...subtreeKeys(child).map((key) => keyPath(key, queryStringVariants)));
  }
  return { exactPaths, wildcardChildren, paths, wildcards };
}
