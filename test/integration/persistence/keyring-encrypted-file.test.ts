/**
 * EncryptedFilePersistence with a key given directly (the keyring-held key is covered by
 * keyring-secret-service.test.ts): round trip, and a file encrypted under a wrong key, truncated or
 * tampered with is refused with the exact problem, moved aside unchanged, and the cache starts empty.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CacheDeserializationError,
  decryptCacheFile,
  EncryptedCacheFileError,
  EncryptedFilePersistence,
  encryptCacheFile,
  PersistedTokenCache,
  type TokenCache,
  type TokenCacheEvent,
  withCacheAccess,
} from "../../../src/node/index.js";

const KEY = new Uint8Array(32).fill(7);
const OTHER_KEY = new Uint8Array(32).fill(9);

function appToken(name: string): TokenCacheEvent {
  return {
    clientId: "daemon",
    scopes: [`api://${name}/.default`],
    tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
    grantType: "client_credentials",
    response: { access_token: `secret-${name}`, expires_in: 3600, token_type: "Bearer" },
  };
}

const tokens = (cache: TokenCache): Record<string, string> =>
  Object.fromEntries([...cache.entries("AccessToken")].map(([, at]) => [at.target, at.secret]));

let dir: string;
let file: string;
let warnings: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "msal-ts-encrypted-file-"));
  file = join(dir, "msal_token_cache.bin");
  warnings = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function cacheWith(key: Uint8Array): PersistedTokenCache {
  return new PersistedTokenCache(
    new EncryptedFilePersistence(file, {
      key,
      logger: { log: (level, message) => level === "warning" && warnings.push(message) },
    }),
  );
}

async function writeOne(name: string, key = KEY): Promise<void> {
  const cache = cacheWith(key);
  await withCacheAccess(cache, undefined, () => cache.add(appToken(name)));
}

/** Loads the file with KEY; expects it refused for `problem`, moved aside unchanged, and an empty cache. */
async function expectRefused(problem: string, text: RegExp): Promise<void> {
  const before = readFileSync(file);
  const cache = cacheWith(KEY);
  await withCacheAccess(cache, undefined, () => {});
  expect(tokens(cache)).toEqual({});
  const aside = readdirSync(dir).filter((f) => f.startsWith("msal_token_cache.bin.corrupt-"));
  expect(aside).toHaveLength(1);
  expect(readFileSync(join(dir, aside[0] as string)).equals(before)).toBe(true);
  expect(readdirSync(dir)).toEqual(aside); // the cache file itself is gone, nothing else appeared
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(text);
  expect(warnings[0]).toContain(`It was moved to ${join(dir, aside[0] as string)}`);
  let error: unknown;
  try {
    decryptCacheFile(before, KEY);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(EncryptedCacheFileError);
  expect(error).toBeInstanceOf(CacheDeserializationError);
  expect((error as EncryptedCacheFileError).problem).toBe(problem);
  expect((error as EncryptedCacheFileError).code).toBe("cache_deserialization_failed");
}

describe("EncryptedFilePersistence", () => {
  it("round trip: two caches on one file see each other's tokens, and the file holds no token in clear", async () => {
    await writeOne("a");
    await writeOne("b");
    const cache = cacheWith(KEY);
    await withCacheAccess(cache, undefined, () => {});
    expect(tokens(cache)).toEqual({ "api://a/.default": "secret-a", "api://b/.default": "secret-b" });
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 8).toString("latin1")).toBe("MSALTSE1");
    expect(bytes.includes("secret-a")).toBe(false);
    expect(bytes.includes("AccessToken")).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["msal_token_cache.bin"]);
    expect(warnings).toEqual([]);
    // The header's length field and the tag: 32 + the JSON's bytes + 16.
    expect(bytes.length).toBe(32 + Buffer.byteLength(cache.serialize(), "utf8") + 16);
  });

  it("a file encrypted under another key is refused as wrong_key", async () => {
    await writeOne("a", OTHER_KEY);
    await expectRefused("wrong_key", /was encrypted under another key than the one in the keyring/);
  });

  it("a truncated file is refused as truncated", async () => {
    await writeOne("a");
    writeFileSync(file, readFileSync(file).subarray(0, -10));
    await expectRefused("truncated", /is truncated: \d+ bytes, but its header says \d+/);
  });

  it("a file cut inside its header is refused as truncated", async () => {
    await writeOne("a");
    writeFileSync(file, readFileSync(file).subarray(0, 20));
    await expectRefused("truncated", /is truncated: 20 bytes, less than the 48 of an empty encrypted cache/);
  });

  it("a file with one ciphertext bit flipped is refused as tampered", async () => {
    await writeOne("a");
    const bytes = readFileSync(file);
    bytes[40] = (bytes[40] as number) ^ 1;
    writeFileSync(file, bytes);
    await expectRefused("tampered", /was changed after it was written: its AES-GCM authentication failed/);
  });

  it("a file whose authenticated header was changed (length) is refused as tampered", async () => {
    await writeOne("a");
    const bytes = readFileSync(file);
    const extended = Buffer.concat([bytes, Buffer.from("xx")]);
    extended.writeUInt32BE(extended.readUInt32BE(28) + 2, 28);
    writeFileSync(file, extended);
    await expectRefused("tampered", /AES-GCM authentication failed/);
  });

  it("a plain JSON cache file is refused as not_encrypted, not read", async () => {
    writeFileSync(file, JSON.stringify({ AccessToken: {} }));
    await expectRefused("not_encrypted", /is not an msal-ts encrypted token cache/);
  });

  it("encryptCacheFile uses a fresh nonce each time and rejects a key that is not 32 bytes", () => {
    const a = encryptCacheFile("{}", KEY);
    const b = encryptCacheFile("{}", KEY);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(decryptCacheFile(a, KEY)).toBe("{}");
    expect(() => encryptCacheFile("{}", new Uint8Array(16))).toThrow(/needs a 32-byte AES-256 key/);
  });
});
