import { resolve } from "node:path";

/** `__tests__/`: test files sit in subfolders named like the code they test, so they locate fixtures from here. */
export const TESTS_DIR = resolve(__dirname, "..");
