import fc from "fast-check";
import {
  keyPath,
  MAX_INVALIDATION_PATHS,
  MAX_WILDCARD_PATHS,
  planInvalidation,
  type PlanOptions,
} from "../../../functions/invalidate/plan";

/** Whether a CloudFront path invalidates a key, judged independently of the planner's encoder. */
function covers(path: string, key: string): boolean {
  const wildcard = path.endsWith("*");
  const decoded = decodeURIComponent(wildcard ? path.slice(1, -1) : path.slice(1));
  return wildcard ? key.startsWith(decoded) : key === decoded;
}

const segment = fc.stringMatching(/^[a-z0-9 ._~%#?+é漢-]{1,6}$/);
const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));
const keys = fc.array(key, { minLength: 0, maxLength: 400 });
const options: fc.Arbitrary<PlanOptions> = fc.record({
  exactPathLimit: fc.integer({ min: 1, max: 120 }),
  maxWildcards: fc.integer({ min: 1, max: MAX_WILDCARD_PATHS }),
  queryStringVariants: fc.boolean(),
});

describe("planInvalidation (properties)", () => {
  it("covers every changed key", () => {
    fc.assert(
      fc.property(keys, options, (batch, opts) => {
        const paths = planInvalidation(batch, opts);
        for (const changed of batch) expect(paths.some((path) => covers(path, changed))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("stays within the configured limits and CloudFront's", () => {
    fc.assert(
      fc.property(keys, options, (batch, opts) => {
        const paths = planInvalidation(batch, opts);
        const wildcards = paths.filter((path) => path.endsWith("*"));
        expect(paths.length).toBeLessThanOrEqual(Math.min(opts.exactPathLimit!, MAX_INVALIDATION_PATHS));
        expect(wildcards.length).toBeLessThanOrEqual(opts.maxWildcards!);
        expect(new Set(paths).size).toBe(paths.length);
        for (const path of paths) {
          expect(path.startsWith("/")).toBe(true);
          // `*` only at the end, and nothing CloudFront needs encoded is left raw.
          expect(path.slice(0, -1)).not.toContain("*");
          expect(path).not.toMatch(/[\s<>"#{}|\\^~[\]`?\u0080-\uffff]/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("is idempotent: order and duplicates do not change the plan, and planning twice gives the same", () => {
    fc.assert(
      fc.property(keys, options, fc.integer(), (batch, opts, seed) => {
        const shuffled = [...batch, ...batch.slice(0, seed % 7)].sort(() => 0).reverse();
        const plan = planInvalidation(batch, opts);
        expect(planInvalidation(shuffled, opts)).toEqual(plan);
        expect(planInvalidation(batch, opts)).toEqual(plan);
      }),
      { numRuns: 200 },
    );
  });

  it("gives exact paths to a batch within the exact-path limit", () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 50 }), (batch) => {
        const paths = planInvalidation(batch);
        expect(paths).toEqual([...new Set(batch.map((k) => keyPath(k)))].sort());
      }),
      { numRuns: 200 },
    );
  });
});

describe("planInvalidation (examples)", () => {
  it("encodes keys as CloudFront expects", () => {
    expect(planInvalidation(["a b/c#d?.jpg", "photos/été.png", "x+y~z.txt"])).toEqual([
      "/a%20b/c%23d%3F.jpg",
      "/photos/%C3%A9t%C3%A9.png",
      "/x+y%7Ez.txt",
    ]);
  });

  it("collapses a re-upload of one prefix into one wildcard", () => {
    const batch = Array.from({ length: 500 }, (_, i) => `assets/img/${i}.png`);
    expect(planInvalidation(batch)).toEqual(["/assets/img/*"]);
  });

  it("keeps scattered keys exact next to a collapsed prefix", () => {
    const batch = [...Array.from({ length: 200 }, (_, i) => `big/${i}`), "a/1", "b/2", "c/3"];
    expect(planInvalidation(batch)).toEqual(["/a/1", "/b/2", "/big/*", "/c/3"]);
  });

  it("covers query-string variants with /key* when asked", () => {
    expect(planInvalidation(["img/cat.jpg"], { queryStringVariants: true })).toEqual(["/img/cat.jpg*"]);
  });

  it("covers a key with * inside through the wildcard of its part before the *", () => {
    expect(planInvalidation(["odd*name.txt"])).toEqual(["/odd*"]);
  });

  it("returns nothing for an empty batch", () => {
    expect(planInvalidation([])).toEqual([]);
  });
});
