/** The built library and CLI (`dist/`), for tests that run them as child processes. */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = join(ROOT, "dist/lib/cli.js");

/** What the build reads: a change to the bundler or compiler settings changes dist as a source does. */
const BUILD_SETTINGS = ["rolldown.config.mjs", "tsconfig.json", "tsconfig.build.json"];

/**
 * `npm test` builds first (pretest); a test run alone builds when dist is missing or older than the
 * sources or the build settings.
 */
export function ensureBuilt(): void {
  const sources = ["src", "emulator"]
    .flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join(ROOT, dir, f)),
    )
    .concat(BUILD_SETTINGS.map((f) => join(ROOT, f)));
  const built = existsSync(CLI) ? statSync(CLI).mtimeMs : 0;
  if (sources.every((f) => statSync(f).mtimeMs <= built)) return;
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`Building dist failed:\n${build.stdout}${build.stderr}`);
}
