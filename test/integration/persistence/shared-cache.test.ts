/**
 * Two applications sharing one cache file through two PersistedTokenCache objects: what app A
 * signs in, a new app B finds in the file, and gets its token without asking the emulator.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import {
  FilePersistence,
  PersistedTokenCache,
  PublicClientApplication,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, authority, startTestEmulator, user } from "../../support/emulator.js";

const SCOPES = ["User.Read"];

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startTestEmulator();
  dir = mkdtempSync(join(tmpdir(), "msal-ts-shared-cache-"));
});
afterAll(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

function success(result: TokenResult | null): TokenSuccess {
  if (result === null) throw new Error("Expected a token, got null.");
  if ("error" in result)
    throw new Error(`Expected a token, got ${result.error}: ${result.error_description}`);
  return result as TokenSuccess;
}

function publicApp(file: string): PublicClientApplication {
  return new PublicClientApplication(app(emulator, "public").clientId, {
    authority: authority(emulator),
    validateAuthority: false,
    tokenCache: new PersistedTokenCache(new FilePersistence(file)),
  });
}

describe("PersistedTokenCache with FilePersistence, two apps and one file", () => {
  it("app B finds the account app A signed in and gets its token silently from the file", async () => {
    const file = join(dir, "msal_token_cache.json");
    const alice = user(emulator, "managed");
    const appA = publicApp(file);
    const signedIn = success(
      await appA.acquireTokenByUsernamePassword(alice.username, alice.password, SCOPES),
    );
    expect(signedIn.token_source).toBe("identity_provider");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, "utf8")) as Record<
      string,
      Record<string, { secret?: string }>
    >;
    expect(Object.values(stored.AccessToken ?? {}).map((at) => at.secret)).toEqual([signedIn.access_token]);

    const appB = publicApp(file);
    const accounts = await appB.getAccounts();
    expect(accounts.map((a) => a.username)).toEqual([alice.username]);
    emulator.clearRequests();

    const silent = success(await appB.acquireTokenSilent(SCOPES, accounts[0]));

    expect(silent).toMatchObject({ token_source: "cache", access_token: signedIn.access_token });
    expect(emulator.requests("token")).toEqual([]);
  });
});
