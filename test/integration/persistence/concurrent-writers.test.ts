/**
 * Eight processes write one FilePersistence file at the same time, 25 cache accesses each: every
 * access takes the cross-process lock and merges into the file, and all 200 tokens end up in a
 * valid file. The writers are plain Node processes running the build (`dist/`).
 */
import { type ChildProcess, fork, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const ENTRY = join(ROOT, "dist/src/node/index.js");
const BUILT = [
  ENTRY,
  join(ROOT, "dist/src/node/file-persistence.js"),
  join(ROOT, "dist/src/node/file-lock.js"),
  join(ROOT, "dist/src/cache/persisted-token-cache.js"),
];
const WRITER = fileURLToPath(new URL("./writer.mjs", import.meta.url));
const WRITERS = 8;
const TOKENS_EACH = 25;

/** Whether every built file exists and is newer than every source file. */
function builtIsFresh(): boolean {
  const newestSource = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .reduce((newest, f) => Math.max(newest, statSync(join(ROOT, "src", f)).mtimeMs), 0);
  return BUILT.every((f) => existsSync(f) && statSync(f).mtimeMs >= newestSource);
}

/** `npm test` builds first (pretest); when run alone, build if dist is missing or older than the sources. */
function ensureBuilt(): void {
  if (builtIsFresh()) return;
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    { cwd: ROOT, encoding: "utf8" },
  );
  // tsc emits despite type errors elsewhere in the tree; what matters here is a fresh build.
  if (!builtIsFresh()) throw new Error(`Building dist failed:\n${tsc.stdout}${tsc.stderr}`);
}

interface Report {
  ready?: boolean;
  done?: boolean;
  started?: number;
  ended?: number;
  error?: string;
}

let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "msal-ts-concurrent-writers-"));
}, 120_000);
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a writer; resolves with it once it is ready, and gives a promise of its final report. */
function startWriter(
  file: string,
  writer: string,
): Promise<{ child: ChildProcess; report: Promise<Report> }> {
  const child = fork(WRITER, [ENTRY, file, writer, String(TOKENS_EACH)], {
    cwd: ROOT,
    execArgv: [],
    stdio: ["ignore", "inherit", "pipe", "ipc"],
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const report = new Promise<Report>((resolve, reject) => {
    child.on("message", (message: Report) => {
      if (message.done !== undefined) resolve(message);
    });
    child.on("exit", (code) =>
      reject(new Error(`Writer ${writer} exited (${code}) without a report. ${stderr}`)),
    );
  });
  report.catch(() => {});
  const ready = new Promise<void>((resolve, reject) => {
    child.on("message", (message: Report) => {
      if (message.ready) resolve();
    });
    child.on("exit", (code) =>
      reject(new Error(`Writer ${writer} exited (${code}) before it was ready. ${stderr}`)),
    );
  });
  return ready.then(() => ({ child, report }));
}

describe("FilePersistence across processes", () => {
  it(`${WRITERS} processes writing ${TOKENS_EACH} tokens each at the same time end with all ${WRITERS * TOKENS_EACH} in a valid file`, async () => {
    const file = join(dir, "shared", "msal_token_cache.json");
    const writers = await Promise.all(Array.from({ length: WRITERS }, (_, w) => startWriter(file, `w${w}`)));
    for (const { child } of writers) child.send("go");
    const reports = await Promise.all(writers.map((w) => w.report));

    for (const report of reports) expect(report.error).toBeUndefined();
    // They did run at the same time: every writer started before any had finished.
    const lastStart = Math.max(...reports.map((r) => r.started as number));
    const firstEnd = Math.min(...reports.map((r) => r.ended as number));
    expect(lastStart).toBeLessThanOrEqual(firstEnd);

    const parsed = JSON.parse(readFileSync(file, "utf8")) as {
      AccessToken: Record<string, { target: string; secret: string }>;
    };
    const tokens = Object.values(parsed.AccessToken);
    expect(tokens).toHaveLength(WRITERS * TOKENS_EACH);
    const expected = new Map<string, string>();
    for (let w = 0; w < WRITERS; w++)
      for (let i = 0; i < TOKENS_EACH; i++) expected.set(`api://w${w}-${i}/.default`, `secret-w${w}-${i}`);
    expect(new Map(tokens.map((t) => [t.target, t.secret]))).toEqual(expected);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // No lock file, temporary file or moved-aside file is left.
    expect(readdirSync(join(dir, "shared"))).toEqual(["msal_token_cache.json"]);
  }, 60_000);
});
