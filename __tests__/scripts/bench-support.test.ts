import { repeat, sampled, sampleFigures } from "../../scripts/bench/support";

describe("the bench's figures over runs", () => {
  test("a figure keeps every sample in run order, with median, min and max", () => {
    expect(sampled([3, 1, 2])).toEqual({ samples: [3, 1, 2], median: 2, min: 1, max: 3 });
    expect(sampled([4, 1, 2, 10])).toEqual({ samples: [4, 1, 2, 10], median: 3, min: 1, max: 10 });
    expect(sampled([1.23456, 2.34567], 2)).toEqual({ samples: [1.23, 2.35], median: 1.79, min: 1.23, max: 2.35 });
    expect(() => sampled([])).toThrow("at least one sample");
  });

  test("grouped figures of several runs become the same groups of sampled figures", () => {
    const runs = [
      { small: { concurrency1: { objectsPerSecond: 10 }, concurrency4: { objectsPerSecond: 30 } }, seconds: 5 },
      { small: { concurrency1: { objectsPerSecond: 12 }, concurrency4: { objectsPerSecond: 20 } }, seconds: 7 },
    ];
    expect(sampleFigures(runs)).toEqual({
      small: {
        concurrency1: { objectsPerSecond: { samples: [10, 12], median: 11, min: 10, max: 12 } },
        concurrency4: { objectsPerSecond: { samples: [30, 20], median: 25, min: 20, max: 30 } },
      },
      seconds: { samples: [5, 7], median: 6, min: 5, max: 7 },
    });
  });

  test("a figure missing from one run is an error, not a shorter list of samples", () => {
    const runs = [{ a: 1, b: 2 }, { a: 1 } as { a: number; b: number }];
    expect(() => sampleFigures(runs)).toThrow("figure b is missing from a run");
  });

  test("repeat runs the measurement the given number of times, in order", async () => {
    expect(await repeat(3, async (run) => run * 10)).toEqual([10, 20, 30]);
  });
});
