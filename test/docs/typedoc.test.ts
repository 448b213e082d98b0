/**
 * The API reference builds without a warning: `npm run docs` runs TypeDoc (tools/docs/typedoc.jsonc)
 * over the package's two entries, "msal-ts" (src/node/index.ts) and "msal-ts/emulator", and any
 * warning fails it: an export without TSDoc (down to each property and method), a type a public
 * signature names that is not exported, a `{@link}` that does not resolve, a guide's link to a file
 * that does not exist. The run here uses the same options but writes to a temporary directory, so it
 * leaves docs/api/ alone and can run next to a real build.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const CONFIG = join(ROOT, "tools/docs/typedoc.jsonc");
const out = mkdtempSync(join(tmpdir(), "msal-ts-api-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** TypeDoc as the docs workspace installed it, with the TypeScript 6 it needs (TypeScript 7 has no compiler API). */
function typedocBin(): string {
  const require = createRequire(join(ROOT, "tools/docs/package.json"));
  return join(dirname(require.resolve("typedoc/package.json")), "bin/typedoc");
}

/** TypeDoc's warnings and errors, each with the source lines it quotes, without terminal colours. */
function problems(output: string): string[] {
  const found: string[] = [];
  let current: string[] | undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI colour codes TypeDoc prints.
  for (const line of output.replace(/\x1b\[[0-9;]*m/g, "").split("\n")) {
    if (/\[(warning|error)\]/.test(line)) {
      if (/Found \d+ errors? and \d+ warnings?/.test(line)) continue;
      current = [line];
      found.push("");
    } else if (/\[info\]/.test(line)) current = undefined;
    else if (current && line.trim() !== "") current.push(line);
    if (current) found[found.length - 1] = current.join("\n");
  }
  return found;
}

describe("API reference (npm run docs)", () => {
  it("builds with TypeDoc with no warning: every export documented, every referenced type exported, every link resolved", () => {
    // `npm run docs` is this run with docs/api/ as the output.
    const scripts = (file: string) => JSON.parse(readFileSync(join(ROOT, file), "utf8")).scripts;
    expect(scripts("package.json").docs).toBe("npm run --silent --workspace=tools/docs docs");
    expect(scripts("tools/docs/package.json").docs).toBe("typedoc --options typedoc.jsonc");
    // `npm run docs` stops at the first phase that warns; here every warning is collected in one run
    // (and each fails the test), so that the report lists them all.
    const options = ["--options", CONFIG, "--out", out, "--treatWarningsAsErrors", "false"];
    const run = spawnSync(process.execPath, [typedocBin(), ...options], {
      cwd: join(ROOT, "tools/docs"),
      encoding: "utf8",
      timeout: 110_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    const found = problems(output);
    const report =
      found.length > 0
        ? `TypeDoc reported ${found.length} problem(s); document each export (TSDoc on every property and method), export the types public signatures use, fix the links:\n\n${found.join("\n")}`
        : `TypeDoc exited ${run.status} (${run.error ?? "no error"}):\n${output}`;
    expect(found, report).toEqual([]);
    expect(run.status, report).toBe(0);
    // The two entries and a page each for a class, an interface and a guide.
    for (const page of [
      "index.html",
      "modules/msal-ts.html",
      "modules/msal-ts_emulator.html",
      "classes/msal-ts.PublicClientApplication.html",
      "interfaces/msal-ts.TokenSuccess.html",
      "documents/errors.html",
    ]) {
      expect(existsSync(join(out, page)), `${page} in the output`).toBe(true);
    }
  }, 120_000);
});
