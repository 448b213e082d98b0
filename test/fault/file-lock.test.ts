/**
 * Cache file lock faults. The lock file (`<cache file>.lockfile`) named only a pid, and a lock whose
 * pid was not alive *here* was removed at once as left behind by a crash. But a pid names a process
 * only on one host, in one boot and in one PID namespace: a container sharing `~/.azure` with the
 * host, a second host on a shared home directory, or MSAL Python's msal-extensions (which writes
 * `<pid> <argv[0]>` to the same file) lost the lock's protection, and two writers ran at once.
 *
 * The holder in another PID namespace is a real process started with
 * `unshare --pid --fork --mount-proc`, running today's sources (bundled by rolldown for plain Node),
 * with its pid inside the namespace chosen to be one that no process has outside it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CacheLockTimeoutError,
  FilePersistence,
  type FilePersistenceOptions,
  PersistedTokenCache,
  type TokenCacheEvent,
  withCacheAccess,
} from "../../src/node/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What this process's lock files record about where their pid means something. */
const OWN = {
  host: hostname(),
  bootId: readOr(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()),
  pidNamespace: readOr(() => readlinkSync("/proc/self/ns/pid")),
};

function readOr(read: () => string): string {
  try {
    return read();
  } catch {
    return "";
  }
}

/** Whether a pid is a process in this PID namespace. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** A pid no process has here: one that just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (typeof child.pid !== "number") throw new Error("Could not start a process.");
  return child.pid;
}

/** Why a child cannot run in a PID namespace of its own here, or `undefined` when it can. */
function unshareProblem(): string | undefined {
  if (process.platform !== "linux") return "PID namespaces are a Linux feature";
  const probe = spawnSync(
    "unshare",
    [
      "--pid",
      "--fork",
      "--mount-proc",
      "sh",
      "-c",
      "echo 4999 > /proc/sys/kernel/ns_last_pid && (exec sh -c 'echo $$')",
    ],
    { encoding: "utf8" },
  );
  if (probe.error) return `unshare could not be run: ${probe.error.message}`;
  if (probe.status !== 0 || probe.stdout.trim() !== "5000")
    return `unshare --pid --fork --mount-proc is not allowed here: ${(probe.stderr || probe.stdout).trim()}`;
  return undefined;
}

const UNSHARE_PROBLEM = unshareProblem();
if (UNSHARE_PROBLEM) console.warn(`The PID namespace lock test is skipped: ${UNSHARE_PROBLEM}.`);

const event = (name: string): TokenCacheEvent => ({
  clientId: "daemon",
  scopes: [`api://${name}/.default`],
  tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
  grantType: "client_credentials",
  response: { access_token: `secret-${name}`, expires_in: 3600, token_type: "Bearer" },
});

/** A cache file's access token targets. */
const fileTargets = (file: string): string[] =>
  Object.values(
    (JSON.parse(readFileSync(file, "utf8")) as { AccessToken: Record<string, { target: string }> })
      .AccessToken,
  )
    .map((at) => at.target)
    .sort();

const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

let dir: string;
let file: string;
let warnings: string[];

function persisted(options: FilePersistenceOptions = {}): PersistedTokenCache {
  const logger: FilePersistenceOptions["logger"] = {
    level: "verbose",
    log: (level, message) => level === "warning" && warnings.push(message),
  };
  return new PersistedTokenCache(new FilePersistence(file, { logger, ...options }));
}

/** Starts a cache access that adds `name`'s token; `acquiredAt` is set once it holds the lock. */
function startAccess(cache: PersistedTokenCache, name: string) {
  const state: { acquiredAt?: number; done: Promise<void> } = { done: Promise.resolve() };
  state.done = withCacheAccess(cache, undefined, () => {
    state.acquiredAt = Date.now();
    cache.add(event(name));
  });
  return state;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "msal-ts-fault-file-lock-"));
  mkdirSync(join(dir, "cache"));
  file = join(dir, "cache", "msal_token_cache.json");
  warnings = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("a lock held from another PID namespace", () => {
  let bundleDir: string;
  let holder: ChildProcess | undefined;

  beforeAll(async () => {
    if (UNSHARE_PROBLEM) return;
    bundleDir = mkdtempSync(join(tmpdir(), "msal-ts-fault-file-lock-bundle-"));
    const entry = join(bundleDir, "entry.ts");
    writeFileSync(
      entry,
      [
        `export { FilePersistence } from ${JSON.stringify(join(ROOT, "src/node/file-persistence.ts"))};`,
        `export { PersistedTokenCache } from ${JSON.stringify(join(ROOT, "src/cache/persisted-token-cache.ts"))};`,
        `export { withCacheAccess } from ${JSON.stringify(join(ROOT, "src/cache/plugin.ts"))};`,
      ].join("\n"),
    );
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    await build({
      input: { persistence: entry },
      platform: "node",
      external: (id) => builtins.has(id),
      logLevel: "silent",
      output: {
        dir: bundleDir,
        format: "esm",
        entryFileNames: "[name].mjs",
        chunkFileNames: "[name]-[hash].mjs",
      },
    });
    // Holds the lock during one cache access until told to let go on stdin.
    writeFileSync(
      join(bundleDir, "holder.mjs"),
      `const [file] = process.argv.slice(2);
const { FilePersistence, PersistedTokenCache, withCacheAccess } = await import("./persistence.mjs");
const cache = new PersistedTokenCache(new FilePersistence(file, { lockTimeoutMs: 5000 }));
await withCacheAccess(cache, undefined, async () => {
  cache.add(${JSON.stringify(event("holder"))});
  process.stdout.write("held " + process.pid + "\\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
});
process.stdout.write("released\\n");
process.stdin.destroy();
`,
    );
  }, 60_000);
  afterAll(() => {
    holder?.kill("SIGKILL");
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it.skipIf(UNSHARE_PROBLEM !== undefined)(
    `is waited for while its holder runs, not removed because its pid is not alive here${UNSHARE_PROBLEM ? ` (skipped: ${UNSHARE_PROBLEM})` : ""}`,
    async () => {
      // A pid far ahead of this namespace's allocations, free here: the holder gets it in its own.
      const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
      let target = ((deadPid() + 100_000) % (pidMax - 1000)) + 300;
      while (alive(target)) target++;
      holder = spawn(
        "unshare",
        [
          "--pid",
          "--fork",
          "--mount-proc",
          "--kill-child",
          "sh",
          "-c",
          `echo ${target - 1} > /proc/sys/kernel/ns_last_pid && (exec "$0" "$@")`,
          process.execPath,
          join(bundleDir, "holder.mjs"),
          file,
        ],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      const lines: string[] = [];
      const waitFor = async (prefix: string): Promise<string> => {
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          const line = lines.find((l) => l.startsWith(prefix));
          if (line) return line;
          await sleep(20);
        }
        throw new Error(`The holder never said "${prefix}"; it said: ${JSON.stringify(lines)}`);
      };
      holder.stdout?.setEncoding("utf8").on("data", (chunk: string) => lines.push(...chunk.split("\n")));

      const held = await waitFor("held ");
      const holderPid = Number(held.slice(5));
      expect(holderPid).toBe(target);
      expect(alive(holderPid)).toBe(false); // here, the holder's pid is no process at all
      const lockText = readFileSync(`${file}.lockfile`, "utf8");

      const access = startAccess(persisted({ lockTimeoutMs: 15_000 }), "here");
      await sleep(1500);
      expect(access.acquiredAt).toBeUndefined();
      expect(readFileSync(`${file}.lockfile`, "utf8")).toBe(lockText);
      // Its first line has the shape msal-extensions writes; then where the pid means something.
      expect(lockText.split("\n")[0]).toMatch(new RegExp(`^${holderPid} \\S`));
      expect(lockText).toContain(`\nhost=${OWN.host}\n`);
      expect(lockText).toMatch(/\npid_namespace=pid:\[\d+\]\n/);
      expect(lockText).not.toContain(`\npid_namespace=${OWN.pidNamespace}\n`);

      const releasedAt = Date.now();
      holder.stdin?.write("release\n");
      await waitFor("released");
      await access.done;
      expect(access.acquiredAt).toBeGreaterThanOrEqual(releasedAt);
      expect(warnings).toEqual([]);
      expect(fileTargets(file)).toEqual(["api://here/.default", "api://holder/.default"]);
    },
    60_000,
  );
});

describe("a lock from another host, boot or writer", () => {
  const ownLines = `host=${OWN.host}\nboot_id=${OWN.bootId}\npid_namespace=${OWN.pidNamespace}\n`;
  it.each([
    {
      origin: "another host",
      text: (pid: number) =>
        `${pid} /usr/bin/node\nhost=build-agent-7\nboot_id=${OWN.bootId}\npid_namespace=${OWN.pidNamespace}\n`,
      cause: "it was taken on host build-agent-7",
    },
    {
      origin: "another boot",
      text: (pid: number) =>
        `${pid} /usr/bin/node\nhost=${OWN.host}\nboot_id=0f5b0c55-0000-4000-8000-000000000000\npid_namespace=${OWN.pidNamespace}\n`,
      cause: "it was taken under another boot, boot id 0f5b0c55-0000-4000-8000-000000000000",
    },
    {
      origin: "MSAL Python's msal-extensions (`<pid> <argv[0]>`, no newline)",
      text: (pid: number) => `${pid} /usr/bin/az`,
      cause:
        "the lock file does not say where its process runs: MSAL Python's msal-extensions and older msal-ts write only the pid",
    },
  ])(
    "with a pid that is dead here is respected until staleLockMs, then removed naming why: $origin",
    async ({ text, cause }) => {
      const pid = deadPid();
      writeFileSync(`${file}.lockfile`, text(pid));
      const access = startAccess(persisted({ staleLockMs: 1200, lockTimeoutMs: 10_000 }), "here");
      await sleep(600);
      expect(access.acquiredAt).toBeUndefined();
      expect(readFileSync(`${file}.lockfile`, "utf8")).toBe(text(pid));
      await access.done;
      expect(warnings).toHaveLength(1);
      const expected = new RegExp(
        `^Removed the stale token cache lock file ${literal(`${file}.lockfile`)} \\(it is (\\d+) ms old, older than staleLockMs \\(1200 ms\\)\\); ` +
          `whether its process ${pid} still runs cannot be seen from here, because ${literal(cause)}, so only its age counted\\.$`,
      );
      expect(warnings[0]).toMatch(expected);
      expect(Number(expected.exec(warnings[0] ?? "")?.[1])).toBeGreaterThan(1200);
      expect(fileTargets(file)).toEqual(["api://here/.default"]);
    },
    20_000,
  );

  it("a wait that times out on it says where the holder runs and that only its age counts", async () => {
    const pid = deadPid();
    writeFileSync(`${file}.lockfile`, `${pid} /usr/bin/node\nhost=build-agent-7\nboot_id=${OWN.bootId}\n`);
    const error = await startAccess(persisted({ lockTimeoutMs: 300 }), "here").done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheLockTimeoutError);
    expect((error as CacheLockTimeoutError).code).toBe("cache_lock_timeout");
    expect((error as Error).message).toContain(
      `held by process ${pid} (/usr/bin/node; it was taken on host build-agent-7, so only its age counts) since `,
    );
    expect(readFileSync(`${file}.lockfile`, "utf8")).toContain(`${pid} /usr/bin/node\n`);
  });

  it("a lock of an exited process of this host, boot and PID namespace is still taken over at once", async () => {
    const pid = deadPid();
    writeFileSync(`${file}.lockfile`, `${pid} /usr/bin/node\n${ownLines}`);
    const started = Date.now();
    await startAccess(persisted(), "here").done;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(warnings).toEqual([
      `Removed the stale token cache lock file ${file}.lockfile (its process ${pid} has exited); the process that held it did not release it.`,
    ]);
  });
});

it("a lock lost while held is reported with its real cause, not as held longer than staleLockMs", async () => {
  const cache = persisted();
  const python = deadPid();
  await withCacheAccess(cache, undefined, () => {
    cache.add(event("here"));
    // What msal-extensions does with portalocker after 5 s of waiting: opens the file, truncating, and writes itself in.
    writeFileSync(`${file}.lockfile`, `${python} /usr/bin/az`);
  });
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(
    new RegExp(
      `^The token cache lock file ${literal(`${file}.lockfile`)} was removed or replaced while this process held it for \\d+ ms, less than staleLockMs \\(30000 ms\\), ` +
        "so another program removed or overwrote it without waiting .*; other processes may have written the cache meanwhile\\. " +
        `It is now held by process ${python} \\(/usr/bin/az\\)\\.$`,
    ),
  );
  // Not ours any more: left for its owner to remove.
  expect(readFileSync(`${file}.lockfile`, "utf8")).toBe(`${python} /usr/bin/az`);
});
