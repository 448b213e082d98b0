/**
 * A signed-in user travels between libraries in the serialized cache: a user signed in by real MSAL
 * Python (1.21, Debian) or real @azure/msal-node is served silently by msal-ts, from the cache and
 * then through the peer's refresh token; and a user msal-ts signed in (auth code flow with PKCE, the
 * emulator's sign-in page submitted over HTTP) is served silently by the peer, from the cache and then
 * through msal-ts's refresh token. The emulator's request log shows which refresh token each refresh
 * carried.
 *
 * Environments: MSAL Python's `environment` is the authority's host without its port (`localhost`),
 * msal-node's keeps the port (`localhost:<port>`). msal-ts writes MSAL Python's form by default and
 * msal-node's with `environmentWithPort: true`, and finds entries written either way. So an app on
 * the emulator's port shares its cache with MSAL Python with nothing configured, both ways.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PublicClientApplication as NodePublicClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator, LoggedRequest } from "../../emulator/index.js";
import {
  PublicClientApplication,
  SerializableTokenCache,
  type TokenResult,
  type TokenSuccess,
} from "../../src/node/index.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import {
  MSAL_PYTHON_MISSING,
  msalPythonVersion,
  type PythonEvent,
  runMsalPython,
} from "../support/python.js";
import { signInOverHttp } from "../support/sign-in.js";

if (!msalPythonVersion) console.warn(MSAL_PYTHON_MISSING);

const USER_DRIVER = fileURLToPath(new URL("./python/user_driver.py", import.meta.url));
const SCOPES = ["User.Read"];
const LOOPBACK = "http://localhost:8400";

type Entry = Record<string, unknown>;
type CacheJson = Record<string, Record<string, Entry>>;

function success(result: TokenResult | null): TokenSuccess {
  if (!result) throw new Error("Expected a token, got null (nothing usable in the cache).");
  if ("error" in result)
    throw new Error(`Expected a token, got ${String(result.error)}: ${String(result.error_description)}`);
  return result;
}

/** The cache's entries of one section, with their keys. */
const entries = (json: CacheJson, section: string) => Object.entries(json[section] ?? {});

describe("a signed-in user shared with real MSAL clients through the serialized cache", () => {
  let emulator: Emulator;
  let host: string;
  let tenantId: string;
  let dir: string;
  const alice = () => user(emulator, "managed");
  const clientId = () => app(emulator, "public").clientId;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    host = new URL(emulator.url).host;
    tenantId = String(emulator.directory.tenants[0]?.id);
    dir = mkdtempSync(join(tmpdir(), "msal-ts-user-interop-"));
  });
  afterAll(async () => {
    await emulator?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The token requests since the last `clearRequests()`: grant type, client and refresh token sent. */
  const tokenRequests = () =>
    emulator.requests("token").map((r: LoggedRequest) => ({
      grant_type: r.form?.grant_type,
      client_id: r.form?.client_id,
      refresh_token: r.form?.refresh_token,
    }));

  /** msal-ts signs alice in with the public app: auth code flow with PKCE over HTTP. */
  async function signInWithMsalTs(pca: PublicClientApplication): Promise<TokenSuccess> {
    const flow = await pca.initiateAuthCodeFlow(SCOPES, { redirectUri: LOOPBACK });
    const { params } = await signInOverHttp(flow.auth_uri, alice().username, alice().password);
    const result = success(await pca.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(params)));
    expect(result.id_token_claims).toMatchObject({ preferred_username: alice().username, tid: tenantId });
    expect(result.refresh_token).toEqual(expect.any(String));
    return result;
  }

  /**
   * msal-ts, given a peer's cache: alice's cached token with no request, then a forced refresh that
   * sends the peer's refresh token. Returns the cache afterwards.
   */
  async function serveWithMsalTs(
    pca: PublicClientApplication,
    cache: SerializableTokenCache,
    theirs: { accessToken: string; refreshToken: string; homeAccountId: string; environment: string },
  ) {
    const accounts = await pca.getAccounts();
    expect(accounts).toEqual([
      expect.objectContaining({
        home_account_id: theirs.homeAccountId,
        environment: theirs.environment,
        username: alice().username,
      }),
    ]);
    const account = accounts[0] as (typeof accounts)[number];

    emulator.clearRequests();
    const cached = success(await pca.acquireTokenSilent(SCOPES, account));
    expect(cached).toMatchObject({ token_source: "cache", access_token: theirs.accessToken });
    expect(tokenRequests()).toEqual([]);

    const refreshed = success(await pca.acquireTokenSilent(SCOPES, account, { forceRefresh: true }));
    expect(refreshed.token_source).toBe("identity_provider");
    expect(refreshed.access_token).not.toBe(theirs.accessToken);
    expect(tokenRequests()).toEqual([
      { grant_type: "refresh_token", client_id: clientId(), refresh_token: theirs.refreshToken },
    ]);

    // The peer's refresh token entry (under the peer's key and environment) now holds the new secret.
    const after = JSON.parse(cache.serialize()) as CacheJson;
    const rts = entries(after, "RefreshToken");
    expect(rts).toHaveLength(1);
    expect(rts[0]?.[1]).toMatchObject({ environment: theirs.environment, secret: refreshed.refresh_token });
    return { refreshed, after };
  }

  describe.skipIf(!msalPythonVersion)(`MSAL Python ${msalPythonVersion ?? "(missing)"}`, () => {
    const run = async (scenario: string, config: Record<string, unknown>) => {
      const events = await runMsalPython(
        scenario,
        { authority: authority(emulator), client_id: clientId(), scopes: SCOPES, ...config },
        emulator.caFile,
        undefined,
        USER_DRIVER,
      );
      const result = events.find((e: PythonEvent) => e.event === "result");
      if (!result) throw new Error(`no result event in ${JSON.stringify(events)}`);
      return result as Record<string, unknown>;
    };
    type PyAccount = { home_account_id: string; username: string; environment: string };
    type PyToken = { access_token?: string; refresh_token?: string; error?: string } | null;

    it("msal-ts serves alice, signed in by MSAL Python, from the cache and refreshes through MSAL Python's refresh token", async () => {
      const file = join(dir, "signed-in-by-msal-python.json");
      emulator.clearRequests();
      const signedIn = await run("sign_in", {
        username: alice().username,
        password: alice().password,
        cache_file: file,
      });
      expect(tokenRequests().map((r) => r.grant_type)).toEqual(["password"]);
      const pyResult = signedIn.result as PyToken;
      const [pyAccount] = signedIn.accounts as PyAccount[];
      expect(pyAccount).toMatchObject({ username: alice().username, environment: "localhost" });
      const text = readFileSync(file, "utf8");
      const theirs = JSON.parse(text) as CacheJson;
      const [[, pyRt] = []] = entries(theirs, "RefreshToken");
      expect(pyRt).toMatchObject({
        environment: "localhost",
        client_id: clientId(),
        secret: pyResult?.refresh_token,
      });

      const cache = new SerializableTokenCache();
      cache.deserialize(text);
      const options = { authority: authority(emulator), validateAuthority: false, tokenCache: cache };
      // The app's authority is localhost:<port>; MSAL Python wrote "localhost": the same environment.
      const pca = new PublicClientApplication(clientId(), options);
      expect(await pca.getAccounts()).toEqual([
        expect.objectContaining({ username: alice().username, environment: "localhost" }),
      ]);

      const { refreshed, after } = await serveWithMsalTs(pca, cache, {
        accessToken: String(pyResult?.access_token),
        refreshToken: String(pyRt?.secret),
        homeAccountId: pyAccount?.home_account_id as string,
        environment: "localhost",
      });
      // msal-ts writes what it gets under MSAL Python's form of the environment: the new token
      // takes the old one's key, so MSAL Python finds it next.
      expect(entries(after, "AccessToken").map(([, at]) => [at.environment, at.secret])).toEqual([
        ["localhost", refreshed.access_token],
      ]);
    });

    it("MSAL Python serves alice, signed in by msal-ts, from the cache and refreshes through msal-ts's refresh token", async () => {
      const cache = new SerializableTokenCache();
      // The app's own authority, port and all: the cache names its environment as MSAL Python does.
      const pca = new PublicClientApplication(clientId(), {
        authority: authority(emulator),
        validateAuthority: false,
        tokenCache: cache,
      });
      emulator.clearRequests();
      const signedIn = await signInWithMsalTs(pca);
      const text = cache.serialize();
      const ours = JSON.parse(text) as CacheJson;
      for (const section of ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"]) {
        expect(entries(ours, section).map(([, e]) => e.environment)).toEqual(["localhost"]);
      }
      const file = join(dir, "signed-in-by-msal-ts.json");
      writeFileSync(file, text);

      emulator.clearRequests();
      const fromCache = await run("silent", { cache_file: file });
      expect(tokenRequests()).toEqual([]);
      expect(fromCache.accounts).toEqual([
        expect.objectContaining({ username: alice().username, environment: "localhost" }),
      ]);
      expect(fromCache.result).toEqual({ access_token: signedIn.access_token, token_type: "Bearer" });
      expect(fromCache.cache_changed).toBe(false);

      emulator.clearRequests();
      const forced = await run("silent", { cache_file: file, force_refresh: true });
      const result = forced.result as PyToken;
      expect(result?.access_token).toEqual(expect.stringMatching(/^ey/));
      expect(result?.access_token).not.toBe(signedIn.access_token);
      expect(tokenRequests()).toEqual([
        { grant_type: "refresh_token", client_id: clientId(), refresh_token: signedIn.refresh_token },
      ]);
      expect(forced.cache_changed).toBe(true);
    });
  });

  describe("@azure/msal-node", () => {
    const nodePca = () =>
      new NodePublicClientApplication({
        auth: { clientId: clientId(), authority: authority(emulator), knownAuthorities: [host] },
      });

    it("msal-ts serves alice, signed in by msal-node, from the cache and refreshes through msal-node's refresh token", async () => {
      const node = nodePca();
      emulator.clearRequests();
      const signedIn = await node.acquireTokenByUsernamePassword({
        scopes: SCOPES,
        username: alice().username,
        password: alice().password,
      });
      expect(tokenRequests().map((r) => r.grant_type)).toEqual(["password"]);
      const text = node.getTokenCache().serialize();
      const theirs = JSON.parse(text) as CacheJson;
      const [[rtKey, nodeRt] = []] = entries(theirs, "RefreshToken");
      expect(nodeRt).toMatchObject({ environment: host, client_id: clientId() });

      const cache = new SerializableTokenCache();
      cache.deserialize(text);
      const pca = new PublicClientApplication(clientId(), {
        authority: authority(emulator),
        validateAuthority: false,
        tokenCache: cache,
      });
      const { after } = await serveWithMsalTs(pca, cache, {
        accessToken: String(signedIn?.accessToken),
        refreshToken: String(nodeRt?.secret),
        homeAccountId: String(signedIn?.account?.homeAccountId),
        environment: host,
      });
      // Still under msal-node's own key, so msal-node finds the rotated refresh token.
      expect(entries(after, "RefreshToken").map(([key]) => key)).toEqual([rtKey]);
    });

    it("msal-node serves alice, signed in by msal-ts, from the cache and refreshes through msal-ts's refresh token", async () => {
      // msal-node names the environment with the port and finds entries only so.
      const cache = new SerializableTokenCache({ environmentWithPort: true });
      const pca = new PublicClientApplication(clientId(), {
        authority: authority(emulator),
        validateAuthority: false,
        tokenCache: cache,
      });
      const signedIn = await signInWithMsalTs(pca);

      const node = nodePca();
      node.getTokenCache().deserialize(cache.serialize());
      const accounts = await node.getTokenCache().getAllAccounts();
      expect(accounts).toEqual([
        expect.objectContaining({ username: alice().username, environment: host, tenantId }),
      ]);
      const account = accounts[0] as (typeof accounts)[number];

      emulator.clearRequests();
      const fromCache = await node.acquireTokenSilent({ account, scopes: SCOPES });
      expect(fromCache).toMatchObject({ fromCache: true, accessToken: signedIn.access_token });
      expect(tokenRequests()).toEqual([]);

      const forced = await node.acquireTokenSilent({ account, scopes: SCOPES, forceRefresh: true });
      expect(forced.fromCache).toBe(false);
      expect(forced.accessToken).not.toBe(signedIn.access_token);
      expect(forced.account?.homeAccountId).toBe(account.homeAccountId);
      expect(tokenRequests()).toEqual([
        { grant_type: "refresh_token", client_id: clientId(), refresh_token: signedIn.refresh_token },
      ]);
    });
  });
});
