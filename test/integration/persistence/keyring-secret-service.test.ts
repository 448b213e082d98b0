/**
 * KeyringPersistence, EncryptedFilePersistence with its key in the keyring, and securePersistence,
 * against a real Secret Service (gnome-keyring-daemon on a private session D-Bus, see
 * keyring-harness.ts): store, load, eight processes merging, remove; and where there is no
 * keyring, the exact error with nothing written in plain text.
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyringAccountOf } from "../../../src/node/index.js";
import {
  ENTRY,
  ensureBuilt,
  missingForSecretService,
  ROOT,
  runWorker,
  type SecretService,
  secretItems,
  startSecretService,
  WORKER,
} from "./keyring-harness.js";

const NO_BINDING = fileURLToPath(new URL("./keyring-no-binding.mjs", import.meta.url));
const missing = missingForSecretService();
if (missing) console.warn(`Skipping the Secret Service keyring tests: ${missing}.`);

let dir: string;
let service: SecretService;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (missing) return;
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "msal-ts-keyring-"));
  service = await startSecretService(join(dir, "home"));
}, 120_000);
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
  service?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every file under `root` (recursively) whose bytes contain `needle`. */
function filesContaining(root: string, needle: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => {
    const path = join(root, f);
    return statSync(path).isFile() && readFileSync(path).includes(needle);
  });
}

/** A fresh directory for one test's cache, outside the keyring daemon's HOME. */
function appDir(name: string): string {
  const path = join(dir, "apps", name);
  mkdirSync(path, { recursive: true });
  return path;
}

describe.skipIf(missing)(
  `the Secret Service (gnome-keyring)${missing ? ` — skipped, ${missing}` : ""}`,
  () => {
    it("KeyringPersistence stores the cache in one Secret Service item, another process loads it, and no file holds a token", async () => {
      const app = appDir("store");
      const signal = join(app, "msal_token_cache");
      expect(await runWorker(service.env, ["add", "keyring", signal, "a", "b"])).toMatchObject({
        ok: true,
        warnings: [],
      });
      const loaded = await runWorker(service.env, ["list", "keyring", signal]);
      expect(loaded).toEqual({
        tokens: { "api://a/.default": "secret-a", "api://b/.default": "secret-b" },
        warnings: [],
      });

      const items = secretItems(service.env, "service", "msal-extensions");
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        "attribute.service": "msal-extensions",
        "attribute.username": keyringAccountOf(signal),
      });
      expect(JSON.parse(items[0]?.secret as string).AccessToken).toBeDefined();
      // The signal file is empty and the lock file is gone; no file anywhere holds a token.
      expect(readdirSync(app)).toEqual(["msal_token_cache"]);
      expect(statSync(signal).size).toBe(0);
      expect(filesContaining(dir, "secret-a")).toEqual([]);
    });

    it("8 processes adding 25 tokens each at once end with all 200 in the keyring item", async () => {
      const signal = join(appDir("merge"), "msal_token_cache");
      const env = { ...service.env, KEYRING_SERVICE: "msal-ts-merge-test", KEYRING_ACCOUNT: "cache" };
      const writers = await Promise.all(
        Array.from({ length: 8 }, (_, w) => {
          const child = fork(WORKER, [ENTRY, "writer", "keyring", signal, `w${w}`, "25"], {
            cwd: ROOT,
            env,
            execArgv: [],
            stdio: ["ignore", "inherit", "inherit", "ipc"],
          });
          children.push(child);
          const report = new Promise<{ done: boolean; started: number; ended: number; error?: unknown }>(
            (resolve, reject) => {
              child.on("message", (m: { done?: boolean }) => m.done !== undefined && resolve(m as never));
              child.on("exit", (code) => reject(new Error(`writer w${w} exited (${code}) without a report`)));
            },
          );
          report.catch(() => {});
          return new Promise<{ child: ChildProcess; report: typeof report }>((resolve) =>
            child.on("message", (m: { ready?: boolean }) => m.ready && resolve({ child, report })),
          );
        }),
      );
      for (const { child } of writers) child.send("go");
      const reports = await Promise.all(writers.map((w) => w.report));
      for (const report of reports) expect(report).toMatchObject({ done: true });
      expect(Math.max(...reports.map((r) => r.started))).toBeLessThanOrEqual(
        Math.min(...reports.map((r) => r.ended)),
      );

      const listed = await runWorker(env, ["list", "keyring", signal]);
      const expected: Record<string, string> = {};
      for (let w = 0; w < 8; w++)
        for (let i = 0; i < 25; i++) expected[`api://w${w}-${i}/.default`] = `secret-w${w}-${i}`;
      expect(listed.tokens).toEqual(expected);
      expect(secretItems(service.env, "service", "msal-ts-merge-test")).toHaveLength(1);
    }, 120_000);

    it("remove() deletes the item: the next load is empty and the keyring holds nothing for it", async () => {
      const signal = join(appDir("remove"), "msal_token_cache");
      const env = { ...service.env, KEYRING_SERVICE: "msal-ts-remove-test" };
      await runWorker(env, ["add", "keyring", signal, "gone"]);
      expect(secretItems(service.env, "service", "msal-ts-remove-test")).toHaveLength(1);
      expect(await runWorker(env, ["remove", "keyring", signal])).toEqual({ removed: true, warnings: [] });
      expect(secretItems(service.env, "service", "msal-ts-remove-test")).toEqual([]);
      expect(await runWorker(env, ["list", "keyring", signal])).toEqual({ tokens: {}, warnings: [] });
      expect(await runWorker(env, ["remove", "keyring", signal])).toEqual({ removed: false, warnings: [] });
    });

    it("EncryptedFilePersistence keeps its AES key in the keyring and only ciphertext on disk; remove() deletes both", async () => {
      const app = appDir("encrypted");
      const file = join(app, "msal_token_cache.bin");
      await runWorker(service.env, ["add", "encrypted-file", file, "big"]);
      expect(await runWorker(service.env, ["list", "encrypted-file", file])).toEqual({
        tokens: { "api://big/.default": "secret-big" },
        warnings: [],
      });
      const keys = secretItems(service.env, "service", "msal-ts");
      expect(keys).toHaveLength(1);
      expect(keys[0]?.["attribute.username"]).toMatch(/^token-cache-key:[0-9a-f]{64}$/);
      expect(Buffer.from(keys[0]?.secret as string, "base64")).toHaveLength(32);
      expect(readdirSync(app)).toEqual(["msal_token_cache.bin"]);
      expect(readFileSync(file).subarray(0, 8).toString("latin1")).toBe("MSALTSE1");
      expect(filesContaining(dir, "secret-big")).toEqual([]);
      await runWorker(service.env, ["remove", "encrypted-file", file]);
      expect(readdirSync(app)).toEqual([]);
      expect(secretItems(service.env, "service", "msal-ts")).toEqual([]);
    });

    it("an item that is not a cache is moved aside to <account>.corrupt-<time>, with a warning, and the cache starts empty", async () => {
      const signal = join(appDir("corrupt"), "msal_token_cache");
      execFileSync(
        "secret-tool",
        ["store", "--label=garbage", "service", "msal-ts-corrupt-test", "username", "cache"],
        {
          env: service.env,
          input: "not a token cache",
        },
      );
      const env = { ...service.env, KEYRING_SERVICE: "msal-ts-corrupt-test", KEYRING_ACCOUNT: "cache" };
      const listed = await runWorker(env, ["list", "keyring", signal]);
      expect(listed.tokens).toEqual({});
      expect(listed.warnings).toHaveLength(1);
      expect(listed.warnings?.[0]).toMatch(
        /^The token cache in the item service="msal-ts-corrupt-test" account="cache" in the Secret Service \(D-Bus org\.freedesktop\.secrets\) could not be read \(.+\)\. It was moved to the item service="msal-ts-corrupt-test" account="cache\.corrupt-[0-9T-]+Z" in the Secret Service \(D-Bus org\.freedesktop\.secrets\), unchanged, and the cache starts empty: sign in again\.$/,
      );
      const items = secretItems(service.env, "service", "msal-ts-corrupt-test");
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ secret: "not a token cache" });
      expect(items[0]?.["attribute.username"]).toMatch(/^cache\.corrupt-/);
    });

    it("securePersistence picks the Secret Service on Linux and says so", async () => {
      const app = appDir("secure");
      const result = await runWorker(service.env, ["secure", join(app, "msal_token_cache")]);
      expect(result).toEqual({
        kind: "keyring",
        location: `the item service="msal-extensions" account="${keyringAccountOf(join(app, "msal_token_cache"))}" in the Secret Service (D-Bus org.freedesktop.secrets)`,
        tokens: { "api://probe/.default": "secret-probe" },
        warnings: [],
      });
    });
  },
);

describe.skipIf(missing)("no keyring", () => {
  const WAYS_OUT =
    "Either make a keyring available (on Linux, a Secret Service such as gnome-keyring-daemon on the session D-Bus, unlocked; " +
    "install the optional package @napi-rs/keyring where it is missing), or accept a token cache in a plain file readable only " +
    "by you (mode 0600) by passing `allowPlaintextFallback: true` (the msal-ts CLI: --cache-file <path>).";
  const noBus = (): NodeJS.ProcessEnv => ({
    ...service.env,
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, "no-such-bus")}`,
  });

  it("securePersistence without a Secret Service throws keyring_unavailable naming the cause and both ways out, and writes nothing", async () => {
    const app = appDir("no-bus");
    const result = await runWorker(noBus(), ["secure", join(app, "msal_token_cache")]);
    expect(result.error).toMatchObject({ name: "KeyringUnavailableError", code: "keyring_unavailable" });
    const account = keyringAccountOf(join(app, "msal_token_cache"));
    expect(result.error?.reason).toMatch(
      new RegExp(
        `^Could not read the item service="msal-extensions" account="${account}" in the Secret Service \\(D-Bus org\\.freedesktop\\.secrets\\): .+`,
      ),
    );
    expect(result.error?.message).toBe(`${result.error?.reason}. ${WAYS_OUT}`);
    expect(readdirSync(app)).toEqual([]);
  });

  it("a KeyringPersistence cache access without a Secret Service fails the same way and leaves no file behind", async () => {
    const app = appDir("no-bus-access");
    const result = await runWorker(noBus(), ["add", "keyring", join(app, "msal_token_cache"), "a"]);
    expect(result.error).toMatchObject({ name: "KeyringUnavailableError", code: "keyring_unavailable" });
    expect(result.error?.message.endsWith(WAYS_OUT)).toBe(true);
    expect(readdirSync(app)).toEqual([]);
  });

  it("msal-ts imports and FilePersistence works without @napi-rs/keyring; securePersistence then names the missing package", async () => {
    const app = appDir("no-binding");
    const result = await runWorker(
      service.env,
      ["secure", join(app, "msal_token_cache")],
      ["--import", NO_BINDING],
    );
    expect(result.error).toMatchObject({ name: "KeyringUnavailableError", code: "keyring_unavailable" });
    expect(result.error?.reason).toBe(
      "The OS keyring cannot be used: the optional package @napi-rs/keyring could not be loaded (Cannot find package '@napi-rs/keyring' (hidden by keyring-no-binding.mjs))",
    );
    expect(readdirSync(app)).toEqual([]);
    // The rest of msal-ts works without it: the plain file persistence, here through the fallback.
    const fallback = await runWorker(
      service.env,
      ["secure", join(app, "msal_token_cache"), "fallback"],
      ["--import", NO_BINDING],
    );
    expect(fallback).toMatchObject({
      kind: "plaintext-file",
      tokens: { "api://probe/.default": "secret-probe" },
    });
    expect(readdirSync(app)).toEqual(["msal_token_cache"]);
  });

  it("allowPlaintextFallback: true keeps the cache in a 0600 plain file, with a warning that says so", async () => {
    const app = appDir("fallback");
    const path = join(app, "msal_token_cache.json");
    const result = await runWorker(noBus(), ["secure", path, "fallback"]);
    expect(result).toMatchObject({
      kind: "plaintext-file",
      location: `the plain file ${path} (mode 0600; not in the Secret Service (D-Bus org.freedesktop.secrets))`,
      tokens: { "api://probe/.default": "secret-probe" },
    });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings?.[0]).toMatch(
      /^No keyring can be used \(Could not read the item .+\), so the token cache is kept in the plain file .+msal_token_cache\.json \(mode 0600\), as allowPlaintextFallback allows\.$/,
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(app)).toEqual(["msal_token_cache.json"]);
  });
});
