/**
 * The package as users get it. The working tree's files are copied without dist/ (what a fresh clone
 * has), so `npm pack` there must build it through the `prepare` script; the tarball is installed into
 * an empty project with TypeScript 5, and consumers written as users write them are type-checked
 * (strict, `nodenext` and `bundler`, with TypeScript 5 and the TypeScript we build with) and run
 * against the emulator: an ES module, a CommonJS module that `require()`s the package, and the ES
 * module bundled by a bundler that honours `sideEffects`.
 *
 * Building in a copy leaves this repository's dist/ alone while other test files run the CLI from it.
 */
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { build } from "rolldown";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/build.js";

const exec = promisify(execFile);
const FIXTURES = join(ROOT, "test/package/fixtures");
const REPO_TSC = join(ROOT, "node_modules/.bin/tsc");
/** Two app tokens, the first from the emulator and the second from the cache; JWTs have 3 parts. */
const TOKENS = ["identity_provider:3", "cache:3"];

let work = "";
let consumer = "";
let tarballFiles: string[] = [];
let sideEffects: string[] = [];
let nodenextBuild: Promise<void> | undefined;

/**
 * consumer.mts and consumer.cts under `nodenext`, into out/ by TypeScript 5 and out-ours/ by ours.
 * Ours also type-checks the package's .d.ts files (`skipLibCheck` off): TypeScript 5 takes several
 * times longer to do the same.
 */
function compileNodenext(): Promise<void> {
  nodenextBuild ??= (async () => {
    await run(join(consumer, "node_modules/.bin/tsc"), ["-p", "tsconfig.nodenext.json"], consumer);
    await run(
      REPO_TSC,
      ["-p", "tsconfig.nodenext.json", "--outDir", "out-ours", "--skipLibCheck", "false"],
      consumer,
    );
  })();
  return nodenextBuild;
}

/** The consumer runs with `ca` and must not need the test run's CA in NODE_EXTRA_CA_CERTS. */
function consumerEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _ignored, ...env } = process.env;
  return env;
}

async function run(file: string, args: string[], cwd: string) {
  try {
    return await exec(file, args, { cwd, env: consumerEnv(), encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${file} ${args.join(" ")} failed in ${cwd}:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`,
    );
  }
}

/** What a clone of the repository holds: tracked and new files, not ignored ones such as dist/. */
async function copyAsFreshClone(to: string): Promise<void> {
  const { stdout } = await exec("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of new Set(stdout.split("\0").filter(Boolean))) {
    // Deleted in the working tree but not yet committed, or a link such as a node_modules symlink.
    if (!existsSync(join(ROOT, file)) || !lstatSync(join(ROOT, file)).isFile()) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(to, file));
  }
  // The dev dependencies `prepare` builds with, as `npm ci` would install them.
  symlinkSync(join(ROOT, "node_modules"), join(to, "node_modules"), "dir");
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "msal-ts-pack-"));
  const clone = join(work, "clone");
  await copyAsFreshClone(clone);
  await run("npm", ["pack", "--pack-destination", work], clone);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack made no tarball in ${work}.`);
  tarballFiles = (await run("tar", ["-tzf", join(work, tarball)], work)).stdout.split("\n").filter(Boolean);

  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await run(
    "npm",
    [
      "install",
      join(work, tarball),
      "typescript@5",
      "@types/node@20",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
    ],
    consumer,
  );
  // The consumers are kept as .txt so that the repository's own typecheck, which has no installed
  // msal-ts to resolve, leaves them out.
  for (const file of readdirSync(FIXTURES))
    copyFileSync(join(FIXTURES, file), join(consumer, file.replace(/\.txt$/, "")));
  const installed = JSON.parse(readFileSync(join(consumer, "node_modules/msal-ts/package.json"), "utf8"));
  sideEffects = installed.sideEffects;
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("npm pack on a fresh clone builds the code and types, and ships LICENSE and every sideEffects file", () => {
    for (const file of [
      "package/LICENSE",
      "package/README.md",
      "package/dist/lib/node.js",
      "package/dist/lib/index.js",
      "package/dist/lib/emulator.js",
      "package/dist/lib/cli.js",
      "package/dist/types/src/node/index.d.ts",
      "package/dist/types/emulator/index.d.ts",
    ]) {
      expect(tarballFiles).toContain(file);
    }
    expect(sideEffects.length).toBeGreaterThan(0);
    for (const file of sideEffects) expect(tarballFiles).toContain(`package/${file.replace(/^\.\//, "")}`);
    expect(tarballFiles.filter((f) => f.startsWith("package/src/") || f.startsWith("package/test/"))).toEqual(
      [],
    );
  });

  it("an ES module consumer compiles (strict, nodenext) with TypeScript 5 and ours, then gets an app token", async () => {
    await compileNodenext();
    for (const out of ["out", "out-ours"]) {
      const { stdout, stderr } = await run("node", [`${out}/consumer.mjs`], consumer);
      expect(JSON.parse(stdout)).toEqual({ module: "esm", sources: TOKENS });
      expect(stderr).toBe("");
    }
  }, 90_000);

  it("a CommonJS consumer require()s it: compiled from .cts with both TypeScripts, it runs with no warning", async () => {
    await compileNodenext();
    for (const out of ["out", "out-ours"]) {
      expect(readFileSync(join(consumer, out, "consumer.cjs"), "utf8")).toContain('require("msal-ts")');
      const { stdout, stderr } = await run("node", [`${out}/consumer.cjs`], consumer);
      expect(JSON.parse(stdout)).toEqual({ module: "cjs", sources: TOKENS });
      expect(stderr).toBe("");
    }
  }, 90_000);

  it("the installed msal-ts command runs through its bin link", async () => {
    const { stdout, stderr } = await run(join(consumer, "node_modules/.bin/msal-ts"), ["--help"], consumer);
    expect(stdout).toMatch(/^Usage: msal-ts <command> \[options\]\n/);
    expect(stderr).toBe("");
  });

  it("the types resolve under moduleResolution bundler with TypeScript 5 and ours", async () => {
    await run(join(consumer, "node_modules/.bin/tsc"), ["-p", "tsconfig.bundler.json"], consumer);
    await run(REPO_TSC, ["-p", "tsconfig.bundler.json", "--skipLibCheck", "false"], consumer);
  }, 60_000);

  it("a bundler that honours sideEffects keeps the Node platform: the bundled consumer still takes `ca`", async () => {
    await compileNodenext();
    await build({
      input: join(consumer, "out-ours/consumer.mjs"),
      platform: "node",
      logLevel: "silent",
      external: (id) => id.startsWith("node:") || id === "undici" || id.startsWith("@xmldom/"),
      output: { dir: join(consumer, "bundle"), format: "esm", entryFileNames: "[name].mjs" },
    });
    const { stdout, stderr } = await run("node", ["bundle/consumer.mjs"], consumer);
    expect(JSON.parse(stdout)).toEqual({ module: "esm", sources: TOKENS });
    expect(stderr).toBe("");
  }, 60_000);
});
