/**
 * Captures the CloudWatch embedded metric format lines a function prints (Powertools Metrics writes
 * them to stdout, one JSON object per line with an `_aws` member) and reads them back as figures.
 */
export interface EmfLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string;
      readonly Dimensions: ReadonlyArray<readonly string[]>;
      readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit: string }>;
    }>;
  };
  readonly [member: string]: unknown;
}

/** Runs `action` while recording stdout, and returns the EMF lines it printed (other output passes through). */
export async function captureEmf(action: () => Promise<unknown>): Promise<EmfLine[]> {
  const lines: EmfLine[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, "write").mockImplementation(((
    chunk: string | Uint8Array,
    ...rest: never[]
  ) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    let parsedAll = true;
    for (const line of text.split("\n").filter((l) => l.trim())) {
      try {
        const parsed = JSON.parse(line) as Partial<EmfLine>;
        if (parsed._aws?.CloudWatchMetrics) lines.push(parsed as EmfLine);
        else parsedAll = false;
      } catch {
        parsedAll = false;
      }
    }
    // Log lines are swallowed like the rest of the test output; anything else is printed.
    return parsedAll || text.startsWith("{") ? true : write(chunk, ...rest);
  }) as typeof process.stdout.write);
  try {
    await action();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

/** Sum of each metric over the lines (a metric's value is a number or a list of numbers). */
export function figures(lines: readonly EmfLine[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of lines) {
    for (const directive of line._aws.CloudWatchMetrics) {
      for (const { Name } of directive.Metrics) {
        const value = line[Name] as number | number[];
        sums[Name] = (sums[Name] ?? 0) + ([] as number[]).concat(value).reduce((a, b) => a + b, 0);
      }
    }
  }
  return sums;
}

/** Namespace, dimension names and dimension values of every line, deduplicated. */
export function dimensionSets(
  lines: readonly EmfLine[],
): Array<{ namespace: string; dimensions: Record<string, unknown> }> {
  const seen = new Map<string, { namespace: string; dimensions: Record<string, unknown> }>();
  for (const line of lines) {
    for (const directive of line._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        const entry = { namespace: directive.Namespace, dimensions: Object.fromEntries(set.map((d) => [d, line[d]])) };
        seen.set(JSON.stringify(entry), entry);
      }
    }
  }
  return [...seen.values()];
}
