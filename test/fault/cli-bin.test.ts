/**
 * The built CLI as a program. `npm run build` left `dist/lib/cli.js` without the execute bit, so
 * once `npm link` (or `npx msal-ts` in a checkout) pointed the `msal-ts` bin at it, running it
 * failed with `Permission denied` (EACCES). npm sets the bit only when it installs a package, not
 * for a checkout's own build.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { CLI, ensureBuilt } from "../support/build.js";

beforeAll(() => ensureBuilt(), 180_000);

it("dist/lib/cli.js is executable after the build and runs directly through its shebang", () => {
  const mode = statSync(CLI).mode;
  expect((mode & 0o100).toString(8), "the owner's execute bit").toBe("100");
  expect(readFileSync(CLI, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");

  // Run as the bin link runs it: the file itself, no `node` in front.
  const run = spawnSync(CLI, ["--help"], { encoding: "utf8", timeout: 30_000 });
  expect(run.error).toBeUndefined();
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^Usage: msal-ts <command> \[options\]\n/);
  expect(run.stderr).toBe("");
});
