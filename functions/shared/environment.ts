/**
 * How every Lambda and container handler reads its environment: each function's `environment.ts`
 * names its variables (`ENVIRONMENT`, logical name → variable) and gives one field of this module
 * per logical name; `readEnvironment` parses them together and names every variable that is
 * missing or malformed. Lambda@Edge functions have no environment (see compile-time.ts).
 *
 * zod/mini, not zod: its functions tree-shake, so a handler that uses zod for nothing else carries
 * about 17 KB of it instead of 450 KB.
 */
import * as z from "zod/mini";

/** A function's environment is missing a variable or holds a malformed one. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

type Variables = Readonly<Record<string, string | undefined>>;
type Fields = Record<string, z.ZodMiniType>;

/**
 * The function's settings: `fields[key]` parses the variable `names[key]`. Throws (an
 * EnvironmentError, or what `fail` makes of the message) naming each bad variable, as in
 * `invalid environment: TABLE_NAME is not set; DEDUPE_TTL_DAYS must be a positive integer, got "x"`.
 */
export function readEnvironment<Shape extends Fields>(
  names: { readonly [Key in keyof Shape]: string },
  fields: Shape,
  env: Variables,
  fail: (message: string) => Error = (message) => new EnvironmentError(message),
): z.output<z.ZodMiniObject<Shape>> {
  const keys = Object.keys(fields) as (keyof Shape & string)[];
  const parsed = z.object(fields).safeParse(Object.fromEntries(keys.map((key) => [key, env[names[key]]])));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [key] = issue.path;
      const variable = typeof key === "string" && key in names ? names[key as keyof Shape] : issue.path.join(".");
      return `${variable} ${issue.message}`;
    });
    throw fail(`invalid environment: ${problems.join("; ")}`);
  }
  return parsed.data;
}

const got = (input: unknown) => `got "${String(input)}"`;
const notSet = (expected: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? "is not set" : `must be ${expected}, ${got(issue.input)}`;

/** The fields of an environment; each error message reads after the variable's name. */
export const variable = {
  /** A required, non-empty string (of at least `minLength` characters, said as `message`). */
  text: (
    { minLength, message }: { readonly minLength: number; readonly message: string } = {
      minLength: 1,
      message: "is not set",
    },
  ) => z.string({ error: notSet("a string") }).check(z.minLength(minLength, message)),

  /** An integer (written as `Number` reads it) from `min` to `max`. */
  integer: ({ min, max }: { readonly min: number; readonly max?: number }) => {
    const expected =
      max !== undefined
        ? `an integer from ${min} to ${max}`
        : min === 1
          ? "a positive integer"
          : min === 0
            ? "a non-negative integer"
            : `an integer of at least ${min}`;
    return z.pipe(
      z.string({ error: notSet(expected) }),
      z.transform((raw: string, context) => {
        const value = raw.trim() === "" ? Number.NaN : Number(raw);
        if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
          context.issues.push({ code: "custom", message: `must be ${expected}, ${got(raw)}`, input: raw });
          return z.NEVER;
        }
        return value;
      }),
    );
  },

  /** One of `values`. */
  oneOf: <const Value extends string>(values: readonly [Value, ...Value[]]) =>
    z.enum(values, { error: notSet(`one of ${values.join(", ")}`) }),

  /** `true` or `false`. */
  flag: () =>
    z.pipe(
      z.enum(["true", "false"], { error: notSet("true or false") }),
      z.transform((value: "true" | "false") => value === "true"),
    ),

  /** An absolute URL. */
  url: () => z.url({ error: notSet("a URL") }),

  /** A comma-separated list (items trimmed, empty items dropped); unset is empty. */
  list: () =>
    z.pipe(
      z.optional(z.string()),
      z.transform((value: string | undefined) =>
        (value ?? "")
          .split(",")
          .map((item) => item.trim())
          .filter(Boolean),
      ),
    ),
};

/** `field`, or undefined when the variable is unset or empty. */
export const unlessEmpty = <Field extends z.ZodMiniType>(field: Field) =>
  z.pipe(
    z.transform((input: unknown) => (input === undefined || input === "" ? undefined : input)),
    z.optional(field),
  );
