/**
 * FilePersistence with PersistedTokenCache, at the plugin level: real files, real lock files,
 * accesses driven through `withCacheAccess` as the flows drive them.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CacheLockTimeoutError,
  ConfigurationError,
  FilePersistence,
  type FilePersistenceOptions,
  MsalError,
  PersistedTokenCache,
  SerializableTokenCache,
  TokenCache,
  type TokenCacheEvent,
  withCacheAccess,
} from "../../../src/node/index.js";

const ENDPOINT = "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token";

/** An app token (client credentials) for `api://<name>`, with secret `secret-<name>` unless told. */
function appToken(name: string, secret = `secret-${name}`): TokenCacheEvent {
  return {
    clientId: "daemon",
    scopes: [`api://${name}/.default`],
    tokenEndpoint: ENDPOINT,
    grantType: "client_credentials",
    response: { access_token: secret, expires_in: 3600, token_type: "Bearer" },
  };
}

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "msal-ts-file-persistence-"));
  file = join(dir, "cache", "msal_token_cache.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function persisted(options: FilePersistenceOptions = {}): PersistedTokenCache {
  return new PersistedTokenCache(new FilePersistence(file, options));
}

const access = <T>(cache: TokenCache, work: () => T): Promise<T> => withCacheAccess(cache, undefined, work);

/** The file's access tokens: target (`api://<name>/.default`) to secret. */
function fileTokens(path = file): Record<string, string> {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as {
    AccessToken?: Record<string, { target: string; secret: string }>;
  };
  return Object.fromEntries(Object.values(parsed.AccessToken ?? {}).map((at) => [at.target, at.secret]));
}

/** The cache's access tokens, as {@link fileTokens}. */
function cacheTokens(cache: TokenCache): Record<string, string> {
  return Object.fromEntries([...cache.entries("AccessToken")].map(([, at]) => [at.target, at.secret]));
}

function keyOf(cache: TokenCache, name: string): string {
  for (const [key, at] of cache.entries("AccessToken"))
    if (at.target === `api://${name}/.default`) return key;
  throw new Error(`No access token for ${name}.`);
}

/** Another program writing the file directly, without the lock. */
function writeBehindTheLock(change: (cache: SerializableTokenCache) => void): void {
  const other = new SerializableTokenCache();
  other.deserialize(readFileSync(file, "utf8"));
  change(other);
  writeFileSync(file, other.serialize());
}

/** Files in the cache's directory other than the cache file (lock files, temporary files). */
const leftovers = (): string[] => readdirSync(join(dir, "cache")).filter((f) => f !== basename(file));

function capturingLogger(): { logger: FilePersistenceOptions["logger"]; warnings: string[] } {
  const warnings: string[] = [];
  return {
    logger: { level: "verbose", log: (level, message) => level === "warning" && warnings.push(message) },
    warnings,
  };
}

/** What `read` gives, or `""` where this system has no such thing (no /proc). */
function orEmpty(read: () => string): string {
  try {
    return read();
  } catch {
    return "";
  }
}

/** A pid no process has: one that just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (typeof child.pid !== "number") throw new Error("Could not start a process.");
  return child.pid;
}

describe("FilePersistence: writing", () => {
  it("writes the unified format atomically, mode 0600 in a new 0700 directory, leaving no temp or lock file", async () => {
    const cache = persisted();
    await access(cache, () => cache.add(appToken("one")));

    expect(fileTokens()).toEqual({ "api://one/.default": "secret-one" });
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")))).toEqual(["AccessToken", "AppMetadata"]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "cache")).mode & 0o777).toBe(0o700);
    expect(leftovers()).toEqual([]);
  });

  it("makes an existing file 0600 when it rewrites it", async () => {
    mkdirSync(join(dir, "cache"));
    writeFileSync(file, "{}", { mode: 0o644 });
    const cache = persisted();
    await access(cache, () => cache.add(appToken("one")));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("a missing file is an empty cache, and an access that changes nothing writes nothing", async () => {
    const cache = persisted();
    await access(cache, () => cache.findAccounts());
    expect(existsSync(file)).toBe(false);
    expect(leftovers()).toEqual([]);

    await access(cache, () => cache.add(appToken("one")));
    const before = statSync(file, { bigint: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const found = await access(cache, () =>
      cache.findAccessToken({
        clientId: "daemon",
        homeAccountId: null,
        environment: "login.microsoftonline.com",
        realm: "tenant-a",
        scopes: ["api://one/.default"],
      }),
    );
    expect(found?.secret).toBe("secret-one");
    const after = statSync(file, { bigint: true });
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(after.ino).toBe(before.ino);
  });

  it("serializes concurrent accesses of one process, across caches and FilePersistence objects of one file", async () => {
    const caches = [persisted(), persisted(), persisted()];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const cache = caches[i % caches.length] as PersistedTokenCache;
        return access(cache, async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          cache.add(appToken(`t${i}`));
        });
      }),
    );
    const expected = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`api://t${i}/.default`, `secret-t${i}`]),
    );
    expect(fileTokens()).toEqual(expected);
    const reader = persisted();
    await access(reader, () => {});
    expect(cacheTokens(reader)).toEqual(expected);
    expect(leftovers()).toEqual([]);
  });
});

describe("FilePersistence: other writers", () => {
  it("reloads a file another writer changed between two accesses", async () => {
    const a = persisted();
    const b = persisted();
    await access(a, () => a.add(appToken("from-a")));
    await access(b, () => b.add(appToken("from-b")));
    await access(a, () => {});
    expect(cacheTokens(a)).toEqual({
      "api://from-a/.default": "secret-from-a",
      "api://from-b/.default": "secret-from-b",
    });

    writeBehindTheLock((other) => other.add(appToken("from-b", "secret-from-b-2")));
    await access(a, () => {});
    expect(cacheTokens(a)["api://from-b/.default"]).toBe("secret-from-b-2");
  });

  it("merges: entries another writer wrote during the access stay, this access's writes win", async () => {
    const cache = persisted();
    await access(cache, () => {
      cache.add(appToken("mine"));
      cache.add(appToken("theirs-changes"));
      cache.add(appToken("both-change"));
    });

    await access(cache, () => {
      writeBehindTheLock((other) => {
        other.add(appToken("theirs"));
        other.add(appToken("theirs-changes", "secret-theirs-changes-2"));
        other.add(appToken("both-change", "secret-both-change-theirs"));
      });
      cache.add(appToken("new-mine"));
      cache.add(appToken("both-change", "secret-both-change-mine"));
    });

    const expected = {
      "api://mine/.default": "secret-mine",
      "api://new-mine/.default": "secret-new-mine",
      "api://theirs/.default": "secret-theirs",
      "api://theirs-changes/.default": "secret-theirs-changes-2",
      "api://both-change/.default": "secret-both-change-mine",
    };
    expect(fileTokens()).toEqual(expected);
    // The cache holds the merged file too.
    expect(cacheTokens(cache)).toEqual(expected);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(leftovers()).toEqual([]);
  });

  it("a removal in this access is not brought back by the merge", async () => {
    const cache = persisted();
    await access(cache, () => {
      cache.add(appToken("keep"));
      cache.add(appToken("remove"));
    });

    await access(cache, () => {
      writeBehindTheLock((other) => other.add(appToken("theirs")));
      expect(cache.remove("AccessToken", keyOf(cache, "remove"))).toBe(true);
    });

    expect(fileTokens()).toEqual({
      "api://keep/.default": "secret-keep",
      "api://theirs/.default": "secret-theirs",
    });
  });

  it("an entry another writer removed is not brought back by an access that did not touch it", async () => {
    const cache = persisted();
    await access(cache, () => {
      cache.add(appToken("signed-out-elsewhere"));
      cache.add(appToken("stays"));
    });
    await access(cache, () => {
      writeBehindTheLock((other) => other.remove("AccessToken", keyOf(other, "signed-out-elsewhere")));
      cache.add(appToken("mine"));
    });
    expect(fileTokens()).toEqual({
      "api://stays/.default": "secret-stays",
      "api://mine/.default": "secret-mine",
    });
  });
});

describe("FilePersistence: the lock", () => {
  it("releases the lock when the work throws, and still saves what it wrote", async () => {
    const cache = persisted();
    await expect(
      access(cache, () => {
        cache.add(appToken("before-the-error"));
        throw new Error("the flow failed");
      }),
    ).rejects.toThrow("the flow failed");
    expect(existsSync(`${file}.lockfile`)).toBe(false);
    expect(fileTokens()).toEqual({ "api://before-the-error/.default": "secret-before-the-error" });
    await access(cache, () => cache.add(appToken("after")));
    expect(Object.keys(fileTokens())).toHaveLength(2);
  });

  it("releases the lock when writing fails", async () => {
    const cache = persisted({ lockTimeoutMs: 1_000 });
    await expect(
      access(cache, () => {
        mkdirSync(file, { recursive: true }); // the cache file's path is now a directory
        cache.add(appToken("lost"));
      }),
    ).rejects.toThrow(/EISDIR/);
    expect(existsSync(`${file}.lockfile`)).toBe(false);
    expect(leftovers()).toEqual([]);

    rmSync(file, { recursive: true });
    await access(cache, () => cache.add(appToken("saved")));
    expect(fileTokens()["api://saved/.default"]).toBe("secret-saved");
  });

  it("removes a lock file whose process has exited, taken on this host, boot and PID namespace", async () => {
    mkdirSync(join(dir, "cache"));
    const pid = deadPid();
    // Where the pid means something (src/node/file-lock.ts): only then does its exit make the lock stale.
    const bootId = orEmpty(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    const pidNamespace = orEmpty(() => readlinkSync("/proc/self/ns/pid"));
    const space = `host=${hostname()}\nboot_id=${bootId}\npid_namespace=${pidNamespace}\n`;
    writeFileSync(`${file}.lockfile`, `${pid} node\n${space}taken=${new Date().toISOString()}\n`);
    const { logger, warnings } = capturingLogger();
    const cache = persisted({ logger });
    const started = Date.now();
    await access(cache, () => cache.add(appToken("one")));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fileTokens()).toEqual({ "api://one/.default": "secret-one" });
    expect(leftovers()).toEqual([]);
    expect(warnings).toEqual([
      `Removed the stale token cache lock file ${file}.lockfile (its process ${pid} has exited); the process that held it did not release it.`,
    ]);
  });

  it("removes a lock file older than staleLockMs, even of a live process", async () => {
    mkdirSync(join(dir, "cache"));
    const lock = `${file}.lockfile`;
    writeFileSync(lock, `${process.ppid}\n${new Date(Date.now() - 60_000).toISOString()}\n`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const { logger, warnings } = capturingLogger();
    const cache = persisted({ logger });
    await access(cache, () => cache.add(appToken("one")));
    expect(fileTokens()).toEqual({ "api://one/.default": "secret-one" });
    expect(existsSync(lock)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^Removed the stale token cache lock file .*\.lockfile \(it is \d+ ms old, older than staleLockMs \(30000 ms\)\)/,
    );
  });

  it("a live lock held too long gives cache_lock_timeout, naming the lock file and how to clear it", async () => {
    mkdirSync(join(dir, "cache"));
    const lock = `${file}.lockfile`;
    const holder = process.ppid; // alive: the test runner
    writeFileSync(lock, `${holder}\n${new Date().toISOString()}\n`);
    const since = new Date(statSync(lock).mtimeMs).toISOString();
    const cache = persisted({ lockTimeoutMs: 300 });
    const started = Date.now();

    const error = await access(cache, () => cache.add(appToken("never"))).catch((e: unknown) => e);

    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(CacheLockTimeoutError);
    expect(error).toBeInstanceOf(MsalError);
    expect((error as CacheLockTimeoutError).code).toBe("cache_lock_timeout");
    expect((error as CacheLockTimeoutError).lockPath).toBe(lock);
    expect((error as Error).message).toBe(
      `Timed out after 300 ms waiting for the token cache lock file ${lock}, held by process ${holder} since ${since}. ` +
        `If no process is using the cache, delete ${lock}. A lock file is also removed by itself once it is older than staleLockMs (30000 ms) or its process has exited.`,
    );
    // The other process's lock is left alone, nothing was written, and the in-process mutex is free.
    expect(readFileSync(lock, "utf8")).toContain(String(holder));
    expect(existsSync(file)).toBe(false);
    rmSync(lock);
    await access(cache, () => cache.add(appToken("now")));
    expect(fileTokens()).toEqual({ "api://now/.default": "secret-now" });
  });
  it("an access that waits on itself in one process times out instead of hanging", async () => {
    const cache = persisted({ lockTimeoutMs: 200 });
    const error = await access(cache, () => access(cache, () => {})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheLockTimeoutError);
    expect((error as CacheLockTimeoutError).code).toBe("cache_lock_timeout");
    expect((error as Error).message).toContain(`${file}.lockfile`);
    expect(existsSync(`${file}.lockfile`)).toBe(false);
    await access(cache, () => cache.add(appToken("after")));
    expect(fileTokens()).toEqual({ "api://after/.default": "secret-after" });
  });
});

describe("FilePersistence: a corrupt file", () => {
  for (const [what, bytes] of [
    ["not JSON (and not UTF-8)", Buffer.from([0x7b, 0x22, 0x41, 0xff, 0xfe, 0x00, 0x0a, 0x80])],
    ["JSON that is not an object", Buffer.from('["AccessToken"]\n')],
  ] as const) {
    it(`is moved aside byte for byte, with a warning naming both paths, and the cache starts empty: ${what}`, async () => {
      mkdirSync(join(dir, "cache"));
      writeFileSync(file, bytes);
      const { logger, warnings } = capturingLogger();
      const cache = persisted({ logger });

      await access(cache, () => {});

      const moved = leftovers();
      expect(moved).toHaveLength(1);
      expect(moved[0]).toMatch(/^msal_token_cache\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
      const aside = join(dir, "cache", moved[0] as string);
      expect(readFileSync(aside).equals(bytes)).toBe(true);
      expect(existsSync(file)).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`The token cache file ${file} could not be read`);
      expect(warnings[0]).toContain(`It was moved to ${aside}`);
      expect(cache.counts().AccessToken).toBe(0);

      await access(cache, () => cache.add(appToken("fresh")));
      expect(fileTokens()).toEqual({ "api://fresh/.default": "secret-fresh" });
      expect(readFileSync(aside).equals(bytes)).toBe(true);
    });
  }

  it("a file with a malformed entry is moved aside, with a warning naming the entry and what is wrong", async () => {
    mkdirSync(join(dir, "cache"));
    const text = '{"AccessToken":{"the-key":{"secret":"s","expires_on":"soon"}}}';
    writeFileSync(file, text);
    const { logger, warnings } = capturingLogger();
    const cache = persisted({ logger });

    await access(cache, () => {});

    const moved = leftovers();
    expect(moved).toHaveLength(1);
    const aside = join(dir, "cache", moved[0] as string);
    expect(readFileSync(aside, "utf8")).toBe(text);
    expect(existsSync(file)).toBe(false);
    expect(warnings).toEqual([
      `The token cache file ${file} could not be read (The AccessToken entry "the-key": its field "expires_on" is a string ("soon"), but it must be whole seconds since 1970, as text such as "1700000000" or as a number). It was moved to ${aside}, unchanged, and the cache starts empty: sign in again. Inspect or delete ${aside}.`,
    ]);
    expect(cache.counts().AccessToken).toBe(0);
  });

  it("a file larger than 256 MiB is moved aside without being read", async () => {
    mkdirSync(join(dir, "cache"));
    writeFileSync(file, "");
    // Sparse: the size is there, the bytes are not.
    truncateSync(file, 256 * 1024 * 1024 + 1);
    const { logger, warnings } = capturingLogger();
    const cache = persisted({ logger });

    await access(cache, () => cache.add(appToken("fresh")));

    const moved = leftovers();
    expect(moved).toHaveLength(1);
    expect(statSync(join(dir, "cache", moved[0] as string)).size).toBe(256 * 1024 * 1024 + 1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      `could not be read (it is ${256 * 1024 * 1024 + 1} bytes long, more than the ${256 * 1024 * 1024} a cache may have)`,
    );
    expect(fileTokens()).toEqual({ "api://fresh/.default": "secret-fresh" });
  });

  it("a file corrupted between two accesses is moved aside and the cache in memory starts empty", async () => {
    const { logger, warnings } = capturingLogger();
    const cache = persisted({ logger });
    await access(cache, () => cache.add(appToken("old")));
    writeFileSync(file, '{"AccessToken": {');
    await access(cache, () => {});
    expect(cacheTokens(cache)).toEqual({});
    expect(existsSync(file)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(readFileSync(join(dir, "cache", leftovers()[0] as string), "utf8")).toBe('{"AccessToken": {');
  });

  it("a corrupt file written during an access is moved aside and the cache written whole", async () => {
    const { logger, warnings } = capturingLogger();
    const cache = persisted({ logger });
    await access(cache, () => cache.add(appToken("old")));
    await access(cache, () => {
      writeFileSync(file, "garbage");
      cache.add(appToken("new"));
    });
    expect(fileTokens()).toEqual({ "api://old/.default": "secret-old", "api://new/.default": "secret-new" });
    const moved = leftovers();
    expect(moved).toHaveLength(1);
    expect(readFileSync(join(dir, "cache", moved[0] as string), "utf8")).toBe("garbage");
    expect(warnings).toHaveLength(1);
  });
});

describe("FilePersistence: configuration", () => {
  it("needs a serializable cache and sane options", async () => {
    const plain = new TokenCache({ plugin: new FilePersistence(file) });
    await expect(access(plain, () => {})).rejects.toBeInstanceOf(ConfigurationError);
    expect(existsSync(`${file}.lockfile`)).toBe(false);
    expect(() => new FilePersistence("")).toThrow(ConfigurationError);
    expect(() => new FilePersistence(file, { lockTimeoutMs: -1 })).toThrow(/lockTimeoutMs/);
    expect(() => new FilePersistence(file, { staleLockMs: Number.NaN })).toThrow(/staleLockMs/);
  });

  it("PersistedTokenCache passes the persistence as its plugin, and its other options through", async () => {
    const persistence = new FilePersistence(file);
    const cache = new PersistedTokenCache(persistence, { maxAccessTokens: 2 });
    expect(cache.plugin).toBe(persistence);
    expect(cache.persistence).toBe(persistence);
    expect(cache).toBeInstanceOf(SerializableTokenCache);
    await access(cache, () => {
      for (const name of ["a", "b", "c"]) cache.add(appToken(name));
    });
    expect(Object.keys(fileTokens())).toEqual(["api://b/.default", "api://c/.default"]);
  });
});
