/**
 * How every Lambda and container handler reads its environment: each function's `environment.ts`
 * names its variables (`ENVIRONMENT`, logical name → variable) and gives one field of this module
 * per logical name; `readEnvironment` parses them together and names every variable that is
 * missing or malformed. Lambda@Edge functions have no environment (see compile-time.ts).
 */
import { z } from "zod";

/** A function's environment is missing a variable or holds a malformed one. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

type Variables = Readonly<Record<string, string | undefined>>;

/**
 * The function's settings: `fields[key]` parses the variable `names[key]`. Throws (an
 * EnvironmentError, or what `fail` makes of the message) naming each bad variable, as in
 * `invalid environment: TABLE_NAME is not set; DEDUPE_TTL_DAYS must be a positive integer, got "x"`.
 */
export function readEnvironment<Fields extends z.ZodRawShape>(
  names: { readonly [Key in keyof Fields]: string },
  fields: Fields,
  env: Variables,
  fail: (message: string) => Error = (message) => new EnvironmentError(message),
): z.output<z.ZodObject<Fields>> {
  const keys = Object.keys(fields) as (keyof Fields & string)[];
  const parsed = z.object(fields).safeParse(Object.fromEntries(keys.map((key) => [key, env[names[key]]])));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [key] = issue.path;
      const variable = typeof key === "string" && key in names ? names[key as keyof Fields] : issue.path.join(".");
      return `${variable} ${issue.message}`;
    });
    throw fail(`invalid environment: ${problems.join("; ")}`);
  }
  return parsed.data;
}

const isUnset = (input: unknown) => input === undefined || input === "";
const got = (input: unknown) => `got "${String(input)}"`;

/** The fields of an environment; each error message reads after the variable's name. */
export const variable = {
  /** A required, non-empty string. */
  text: () =>
    z
      .string({ error: (issue) => (issue.input === undefined ? "is not set" : `must be a string, ${got(issue.input)}`) })
      .min(1, "is not set"),

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
    return z
      .string({ error: (issue) => (issue.input === undefined ? "is not set" : `must be ${expected}`) })
      .transform((raw, context) => {
        const value = raw.trim() === "" ? Number.NaN : Number(raw);
        if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
          context.addIssue({ code: "custom", message: `must be ${expected}, ${got(raw)}` });
          return z.NEVER;
        }
        return value;
      });
  },

  /** One of `values`. */
  oneOf: <const Value extends string>(values: readonly [Value, ...Value[]]) =>
    z.enum(values, {
      error: (issue) =>
        issue.input === undefined ? "is not set" : `must be one of ${values.join(", ")}, ${got(issue.input)}`,
    }),

  /** `true` or `false`. */
  flag: () =>
    z
      .enum(["true", "false"], { error: (issue) => `must be true or false, ${got(issue.input)}` })
      .transform((value) => value === "true"),

  /** An absolute URL. */
  url: () => z.url({ error: (issue) => (issue.input === undefined ? "is not set" : `must be a URL, ${got(issue.input)}`) }),

  /** A comma-separated list (items trimmed, empty items dropped). */
  list: () =>
    z.string().transform((value) =>
      value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean),
    ),
};

/** `field`, or undefined when the variable is unset or empty. */
export const unlessEmpty = <Field extends z.ZodType>(field: Field) =>
  z.preprocess((input) => (isUnset(input) ? undefined : input), field.optional());
