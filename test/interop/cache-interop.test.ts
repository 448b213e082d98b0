/**
 * Cache interop: msal-ts shares the unified MSAL cache with real MSAL Python (1.21, Debian) and
 * real @azure/msal-node. Each peer signs alice and bob in (username and password) and gets an app
 * token (client credentials) from the emulator; msal-ts loads the cache the peer wrote, writes it
 * back unchanged and finds the same accounts and tokens. The other way round, msal-ts caches token
 * responses it got from the emulator, and the peer finds accounts and tokens in that cache without a
 * request to the token endpoint.
 *
 * What the peers write differs: MSAL Python's `environment` is the authority's host without its port
 * (`canonicalize` keeps `urlparse(...).hostname`), msal-node's keeps the port; MSAL Python stores app
 * tokens with `home_account_id: null` and finds them only so, msal-node stores and wants `""`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AccountInfo, ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import {
  type AccessTokenEntity,
  accessTokenKey,
  accountKey,
  appMetadataKey,
  idTokenKey,
  refreshTokenKey,
  SerializableTokenCache,
  type TokenCacheOptions,
} from "../../src/index.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import {
  MSAL_PYTHON_MISSING,
  msalPythonVersion,
  type PythonEvent,
  runMsalPython,
} from "../support/python.js";

if (!msalPythonVersion) console.warn(MSAL_PYTHON_MISSING);

const CACHE_DRIVER = fileURLToPath(new URL("./python/cache_driver.py", import.meta.url));
const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];
const USER_SCOPES = ["User.Read"];
/** What MSAL clients send for a user sign-in: the scopes asked for plus the reserved OIDC ones. */
const SIGN_IN_SCOPES = ["User.Read", "openid", "profile", "offline_access"];

type CacheJson = Record<string, Record<string, Record<string, unknown>>>;
type Tokens = { users: Record<string, string>; app: string };
type Identity = { homeAccountId: string; username: string };

const byUsername = (a: Identity, b: Identity) => a.username.localeCompare(b.username);

describe("the token cache shared with real MSAL clients", () => {
  let emulator: Emulator;
  let host: string;
  let tenantId: string;
  let tokenEndpoint: string;
  let dir: string;
  const bob = () => {
    const found = emulator.directory.users.find((u) => u.username.startsWith("bob@"));
    if (!found) throw new Error("The emulator directory has no bob.");
    return found;
  };
  /** alice (the seeded managed user) and bob, a second managed user. */
  const users = () =>
    [user(emulator, "managed"), bob()].map(({ username, password }) => ({ username, password }));
  /** alice and bob, sorted. */
  const usernames = () => users().map((u) => u.username);
  /** Username, environment and realm of each account, sorted by username. */
  const where = (list: Array<{ username: string; environment: string; realm: string }>) =>
    list
      .map((a) => [a.username, a.environment, a.realm])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  const publicApp = () => app(emulator, "public");
  const daemon = () => app(emulator, "daemon");

  beforeAll(async () => {
    emulator = await startTestEmulator();
    host = new URL(emulator.url).host;
    tenantId = String(emulator.directory.tenants[0]?.id);
    tokenEndpoint = `${emulator.url}/${tenantId}/oauth2/v2.0/token`;
    dir = mkdtempSync(join(tmpdir(), "msal-ts-cache-interop-"));
  });
  afterAll(async () => {
    await emulator?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function token(form: Record<string, string>): Promise<Record<string, unknown>> {
    const res = await fetch(tokenEndpoint, { method: "POST", body: new URLSearchParams(form) });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200)
      throw new Error(`The token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  }

  /** msal-ts caches what a username/password sign-in of alice and bob and a client credentials request return. */
  async function writeWithMsalTs(environment: string, options: TokenCacheOptions = {}) {
    const cache = new SerializableTokenCache(options);
    const tokens: Tokens = { users: {}, app: "" };
    for (const u of users()) {
      const response = await token({
        grant_type: "password",
        client_id: publicApp().clientId,
        username: u.username,
        password: u.password,
        scope: SIGN_IN_SCOPES.join(" "),
        client_info: "1",
      });
      cache.add({
        clientId: publicApp().clientId,
        scopes: SIGN_IN_SCOPES,
        tokenEndpoint,
        environment,
        response,
        grantType: "password",
      });
      tokens.users[u.username] = String(response.access_token);
    }
    const response = await token({
      grant_type: "client_credentials",
      client_id: daemon().clientId,
      client_secret: String(daemon().secret),
      scope: GRAPH_DEFAULT.join(" "),
    });
    cache.add({
      clientId: daemon().clientId,
      scopes: GRAPH_DEFAULT,
      tokenEndpoint,
      environment,
      response,
      grantType: "client_credentials",
    });
    tokens.app = String(response.access_token);
    return { cache, text: cache.serialize(), tokens };
  }

  /** Loads a peer's cache into msal-ts and checks the round trip, the accounts and the tokens. */
  function readWithMsalTs(theirs: string, environment: string, accounts: Identity[], tokens: Tokens) {
    const cache = new SerializableTokenCache();
    cache.deserialize(theirs);
    expect(cache.hasStateChanged).toBe(false);
    expect(JSON.parse(cache.serialize())).toEqual(JSON.parse(theirs));

    const ours = cache
      .findAccounts()
      .map((a) => ({ homeAccountId: a.home_account_id, username: a.username }));
    expect(ours.sort(byUsername)).toEqual([...accounts].sort(byUsername));
    expect(ours.map((a) => a.username)).toEqual(usernames());

    for (const account of accounts) {
      const found = cache.findAccessToken({
        clientId: publicApp().clientId,
        homeAccountId: account.homeAccountId,
        environment,
        realm: tenantId,
        scopes: USER_SCOPES,
      });
      expect(found?.secret).toBe(tokens.users[account.username]);
      expect(found?.secret).toEqual(expect.stringMatching(/^ey/));
    }
    const appToken = cache.findAccessToken({
      clientId: daemon().clientId,
      homeAccountId: null,
      environment,
      realm: tenantId,
      scopes: GRAPH_DEFAULT,
    });
    expect(appToken?.secret).toBe(tokens.app);
    expect(appToken?.secret).toEqual(expect.stringMatching(/^ey/));
    return { cache, json: JSON.parse(theirs) as CacheJson };
  }

  const appTokenOf = (json: CacheJson) =>
    Object.entries(json.AccessToken ?? {}).find(([, at]) => at.client_id === daemon().clientId) as
      | [string, AccessTokenEntity]
      | undefined;

  describe.skipIf(!msalPythonVersion)(`MSAL Python ${msalPythonVersion ?? "(missing)"}`, () => {
    const pythonConfig = (cacheFile: string) => ({
      authority: authority(emulator),
      client_id: publicApp().clientId,
      daemon_client_id: daemon().clientId,
      daemon_secret: daemon().secret,
      scopes: USER_SCOPES,
      app_scopes: GRAPH_DEFAULT,
      cache_file: cacheFile,
    });
    const run = async (scenario: string, config: Record<string, unknown>) => {
      const events = await runMsalPython(scenario, config, emulator.caFile, undefined, CACHE_DRIVER);
      const result = events.find((e: PythonEvent) => e.event === "result");
      if (!result) throw new Error(`no result event in ${JSON.stringify(events)}`);
      return result as Record<string, unknown>;
    };
    type PyAccount = { home_account_id: string; username: string; environment: string; realm: string };
    type PyToken = { access_token?: string | null; error?: string | null } | null;
    const identities = (accounts: PyAccount[]) =>
      accounts.map((a) => ({ homeAccountId: a.home_account_id, username: a.username }));

    it("msal-ts loads MSAL Python's cache, writes it back unchanged, and finds its accounts and tokens", async () => {
      const file = join(dir, "written-by-msal-python.json");
      const written = await run("write", { ...pythonConfig(file), users: users() });
      const accounts = written.accounts as PyAccount[];
      const pyUsers = written.users as Record<string, PyToken>;
      const tokens: Tokens = {
        users: Object.fromEntries(
          Object.entries(pyUsers).map(([name, t]) => [name, String(t?.access_token)]),
        ),
        app: String((written.app as PyToken)?.access_token),
      };
      expect(where(accounts)).toEqual(usernames().map((name) => [name, "localhost", tenantId]));

      // MSAL Python drops the port: its environment is the authority's hostname.
      const { json } = readWithMsalTs(readFileSync(file, "utf8"), "localhost", identities(accounts), tokens);
      expect(Object.keys(json).sort()).toEqual([
        "AccessToken",
        "Account",
        "AppMetadata",
        "IdToken",
        "RefreshToken",
      ]);
      expect(appTokenOf(json)?.[1]).toMatchObject({
        home_account_id: null,
        environment: "localhost",
        realm: tenantId,
      });
      // Every key MSAL Python wrote is the key msal-ts's key makers give its entry.
      const makers = {
        AccessToken: accessTokenKey,
        RefreshToken: refreshTokenKey,
        IdToken: idTokenKey,
        Account: accountKey,
        AppMetadata: appMetadataKey,
      };
      for (const [section, make] of Object.entries(makers)) {
        for (const [key, entry] of Object.entries(json[section] ?? {})) {
          expect(key).toBe((make as (e: Record<string, unknown>) => string)(entry));
          expect(entry.environment).toBe("localhost");
        }
      }
      expect(Object.keys(json.Account ?? {}).sort()).toEqual(
        accounts.map((a) => `${a.home_account_id}-localhost-${tenantId}`).sort(),
      );
    });

    it("MSAL Python reads the cache msal-ts wrote: accounts, user tokens and the app token, without the token endpoint", async () => {
      const { text, tokens } = await writeWithMsalTs("localhost");
      const json = JSON.parse(text) as CacheJson;
      expect(appTokenOf(json)?.[1]).toMatchObject({ home_account_id: null, secret: tokens.app });
      const file = join(dir, "written-by-msal-ts-for-python.json");
      writeFileSync(file, text);

      emulator.clearRequests();
      const read = await run("read", pythonConfig(file));
      expect(emulator.requests("token")).toEqual([]);

      const accounts = read.accounts as PyAccount[];
      expect(where(accounts)).toEqual(usernames().map((name) => [name, "localhost", tenantId]));
      expect(
        identities(accounts)
          .map((a) => a.homeAccountId)
          .sort(),
      ).toEqual(
        Object.values(json.Account ?? {})
          .map((a) => a.home_account_id)
          .sort(),
      );
      const silent = read.silent as Record<string, PyToken>;
      for (const u of users()) {
        expect(silent[u.username]).toEqual({
          access_token: tokens.users[u.username],
          error: null,
          token_type: "Bearer",
        });
      }
      expect(read.app).toEqual({ access_token: tokens.app, error: null, token_type: "Bearer" });
    });

    it('MSAL Python finds no app token stored with msal-node\'s home_account_id "" (appTokenHomeAccountId: "")', async () => {
      const { text, tokens } = await writeWithMsalTs("localhost", { appTokenHomeAccountId: "" });
      expect(appTokenOf(JSON.parse(text))?.[1].home_account_id).toBe("");
      const file = join(dir, "written-by-msal-ts-for-node.json");
      writeFileSync(file, text);
      emulator.clearRequests();
      const read = await run("read", pythonConfig(file));
      expect(read.app).toBeNull();
      // User tokens do not depend on it.
      const silent = read.silent as Record<string, PyToken>;
      expect(usernames().map((name) => silent[name]?.access_token)).toEqual(
        usernames().map((name) => tokens.users[name]),
      );
      expect(emulator.requests("token")).toEqual([]);
    });
  });

  describe("@azure/msal-node", () => {
    const auth = (clientId: string) => ({
      clientId,
      authority: authority(emulator),
      knownAuthorities: [host],
    });
    const nodePca = () => new PublicClientApplication({ auth: auth(publicApp().clientId) });
    const nodeCca = () =>
      new ConfidentialClientApplication({
        auth: { ...auth(daemon().clientId), clientSecret: String(daemon().secret) },
      });
    const identities = (accounts: AccountInfo[]) =>
      accounts.map((a) => ({ homeAccountId: a.homeAccountId, username: a.username }));

    it("msal-ts loads msal-node's cache, writes it back unchanged, and finds its accounts and tokens", async () => {
      const pca = nodePca();
      const tokens: Tokens = { users: {}, app: "" };
      for (const u of users()) {
        const result = await pca.acquireTokenByUsernamePassword({ scopes: USER_SCOPES, ...u });
        tokens.users[u.username] = String(result?.accessToken);
      }
      // One cache file for both apps, as MSAL Python keeps one SerializableTokenCache for both.
      const cca = nodeCca();
      cca.getTokenCache().deserialize(pca.getTokenCache().serialize());
      const appResult = await cca.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
      expect(appResult?.fromCache).toBe(false);
      tokens.app = String(appResult?.accessToken);
      const accounts = await pca.getTokenCache().getAllAccounts();
      expect(where(accounts.map((a) => ({ ...a, realm: a.tenantId })))).toEqual(
        usernames().map((name) => [name, host, tenantId]),
      );

      // msal-node keeps the port: its environment is the authority's host and port.
      const { json } = readWithMsalTs(cca.getTokenCache().serialize(), host, identities(accounts), tokens);
      const [appKey, appToken] = appTokenOf(json) ?? [];
      expect(appToken).toMatchObject({
        home_account_id: "",
        environment: host,
        realm: tenantId,
        secret: tokens.app,
      });
      // msal-node's keys end with an extra segment (the token type / claims hash): not msal-ts's keys.
      expect(appKey).toBe(`-${host}-accesstoken-${daemon().clientId}-${tenantId}-${GRAPH_DEFAULT[0]}-`);
      expect(appKey).not.toBe(accessTokenKey(appToken as AccessTokenEntity));
    });

    it('msal-node reads the cache msal-ts wrote with appTokenHomeAccountId "" and environmentWithPort: accounts, silent user tokens, the app token', async () => {
      const { text, tokens } = await writeWithMsalTs(host, {
        appTokenHomeAccountId: "",
        environmentWithPort: true,
      });
      expect(appTokenOf(JSON.parse(text))?.[1]).toMatchObject({
        home_account_id: "",
        environment: host,
        secret: tokens.app,
      });

      emulator.clearRequests();
      const pca = nodePca();
      pca.getTokenCache().deserialize(text);
      const accounts = await pca.getTokenCache().getAllAccounts();
      expect(where(accounts.map((a) => ({ ...a, realm: a.tenantId })))).toEqual(
        usernames().map((name) => [name, host, tenantId]),
      );
      for (const account of accounts) {
        const result = await pca.acquireTokenSilent({ account, scopes: USER_SCOPES });
        expect(result.fromCache).toBe(true);
        expect(result.accessToken).toBe(tokens.users[account.username]);
        expect(result.account?.homeAccountId).toBe(account.homeAccountId);
        // The IdToken entry msal-ts wrote is the one msal-node reads the account's claims from.
        expect(result.idTokenClaims).toMatchObject({ preferred_username: account.username, tid: tenantId });
      }
      const cca = nodeCca();
      cca.getTokenCache().deserialize(text);
      const appResult = await cca.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
      expect(appResult?.fromCache).toBe(true);
      expect(appResult?.accessToken).toBe(tokens.app);
      expect(emulator.requests("token")).toEqual([]);
    });

    it("msal-node finds no app token stored with MSAL Python's home_account_id null (the default)", async () => {
      const { text, tokens } = await writeWithMsalTs(host);
      expect(appTokenOf(JSON.parse(text))?.[1].home_account_id).toBeNull();
      emulator.clearRequests();
      const cca = nodeCca();
      cca.getTokenCache().deserialize(text);
      const appResult = await cca.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
      expect(appResult?.fromCache).toBe(false);
      expect(appResult?.accessToken).not.toBe(tokens.app);
      expect(emulator.requests("token").map((r) => r.form?.grant_type)).toEqual(["client_credentials"]);
    });
  });
});
