/**
 * Runs the type tests: test/types/*.ts compiled by the TypeScript the project builds with, under
 * strict options. A type test fails by not compiling (an `expectTypeOf` that does not hold, or a
 * `@ts-expect-error` whose line now compiles), so the compiler's output is the test's result.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { ROOT } from "../support/build.js";

const exec = promisify(execFile);

it("the type tests in test/types compile", async () => {
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  const output = await exec(tsc, ["-p", join(ROOT, "test/types/tsconfig.json")], { cwd: ROOT }).then(
    ({ stdout, stderr }) => stdout + stderr,
    (error: { stdout?: string; stderr?: string }) =>
      `${error.stdout ?? ""}${error.stderr ?? ""}` || String(error),
  );
  expect(output.trim()).toBe("");
}, 120_000);
