/**
 * Logs did not help anyone debug: two client-credential calls at `verbose` printed one line, and
 * nothing was said about discovery, cache hits and misses or the HTTP requests, while every normal
 * device-code poll logged a warning. Here each flow runs against the emulator with a `verbose`
 * logger and PII logging off, and the lines a person needs are asserted by their content:
 * discovery fetched or remembered, each cache lookup's hit or miss and why, each token request's
 * grant, endpoint, HTTP status, correlation id and duration, throttling and retries, and lock
 * waits; no warning from a device code poll that is pending or asked to slow down; and, with PII
 * off, no user name in any line (test/fault/pii-logs.test.ts scans every flow for every value).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { SerializableTokenCache } from "../../src/index.js";
import {
  ConfidentialClientApplication,
  type DeviceFlow,
  FilePersistence,
  type LogLevel,
  PublicClientApplication,
} from "../../src/node/index.js";
import { middleTierAssertion } from "../integration/confidential/helpers.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import { signInOverHttp } from "../support/sign-in.js";

const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];
const SCOPES = ["User.Read"];
const WEB_REDIRECT = "https://app.contoso.test/auth/callback";
const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const DEFAULT_LIFETIME = 3599;

let emulator: Emulator;
let lines: string[];

beforeAll(async () => {
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
});
afterAll(() => emulator?.stop());
beforeEach(() => {
  emulator.reset();
  emulator.clearFaults();
  emulator.configure({ accessTokenLifetime: DEFAULT_LIFETIME, refreshIn: 0 });
  lines = [];
});

const logger = {
  level: "verbose" as LogLevel,
  log: (level: LogLevel, message: string) => lines.push(`[${level}] ${message}`),
};

function options(extra: Record<string, unknown> = {}) {
  return { authority: authority(emulator), validateAuthority: false, logger, enablePiiLog: false, ...extra };
}

function daemonApp(extra: Record<string, unknown> = {}) {
  const daemon = app(emulator, "daemon");
  return new ConfidentialClientApplication(daemon.clientId, {
    ...options(extra),
    clientCredential: daemon.secret as string,
  });
}

/** The lines logged while `work` ran. */
async function linesOf(work: () => Promise<unknown>): Promise<string[]> {
  const from = lines.length;
  await work();
  return lines.slice(from);
}

/** Asserts that one of `found` matches each pattern; the message lists the lines. */
function expectLines(found: string[], ...patterns: RegExp[]): void {
  for (const pattern of patterns)
    expect(
      found.some((l) => pattern.test(l)),
      `no line matches ${pattern}:\n${found.join("\n")}`,
    ).toBe(true);
}

/** The line of a token request: grant, endpoint without query, correlation id, duration. */
const tokenObtained = (grant: string) =>
  new RegExp(
    `^\\[info\\] Token obtained from the identity provider.*\\(grant ${grant.replace(/[.:]/g, "\\$&")}, POST https?://[^ ?]+/oauth2/v2\\.0/token, correlation id ${UUID}, \\d+ ms\\)\\.$`,
  );
/** The HTTP line of a token request: status 200, grant and correlation id, duration. */
const tokenPost = (grant: string, status = 200) =>
  new RegExp(
    `^\\[verbose\\] POST https?://[^ ?]+/oauth2/v2\\.0/token \\(grant ${grant.replace(/[.:]/g, "\\$&")}, correlation id ${UUID}\\): HTTP ${status} in \\d+ ms\\.$`,
  );

describe("log lines a person can debug with", () => {
  it("discovery was not logged: fetched (URL, status, ms) once, then remembered from this app or the HTTP cache", async () => {
    const httpCache = new Map();
    const first = await linesOf(() => daemonApp({ httpCache }).acquireTokenForClient(GRAPH_DEFAULT));
    expectLines(
      first,
      /^\[info\] Discovery: fetched https?:\/\/\S+\/v2\.0\/\.well-known\/openid-configuration: HTTP 200 in \d+ ms\.$/,
    );
    const second = await linesOf(() => daemonApp({ httpCache }).acquireTokenForClient(GRAPH_DEFAULT));
    expectLines(
      second,
      /^\[verbose\] Discovery: https?:\/\/\S+\/\.well-known\/openid-configuration remembered from the HTTP cache \(HTTP 200\)\.$/,
    );
    expect(second.filter((l) => l.includes("Discovery: fetched"))).toEqual([]);
    // An app that asks again (on-behalf-of discovers on each call) says it sent nothing.
    const alice = user(emulator, "managed");
    const middleTier = app(emulator, "middle-tier");
    const obo = new ConfidentialClientApplication(middleTier.clientId, {
      ...options(),
      clientCredential: middleTier.secret as string,
    });
    const assertion = await middleTierAssertion(emulator, alice);
    await obo.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]);
    const again = await linesOf(() =>
      obo.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]),
    );
    expectLines(again, /^\[verbose\] Discovery: the endpoints of \S+ come from this app's earlier discovery/);
  });

  it("client credentials logged one line for two calls: the miss, the request (grant, status, correlation id, ms), the hit, a forced and a claims call", async () => {
    const cca = daemonApp();
    const miss = await linesOf(() => cca.acquireTokenForClient(GRAPH_DEFAULT));
    expectLines(
      miss,
      /^\[verbose\] Client credentials: cache miss for https:\/\/graph\.microsoft\.com\/\.default: no access token for these scopes\.$/,
      tokenPost("client_credentials"),
      tokenObtained("client_credentials"),
    );
    const hit = await linesOf(() => cca.acquireTokenForClient(GRAPH_DEFAULT));
    expectLines(
      hit,
      /^\[verbose\] Client credentials: cache hit for https:\/\/graph\.microsoft\.com\/\.default: the access token expires in \d+ s\.$/,
    );
    expect(hit.filter((l) => l.includes("POST"))).toEqual([]);
    const forced = await linesOf(() => cca.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
    expectLines(
      forced,
      /^\[verbose\] Client credentials: forceRefresh skips the cache/,
      tokenPost("client_credentials"),
    );
    const claims = JSON.stringify({ access_token: { nbf: { essential: true, value: "1" } } });
    const challenged = await linesOf(() =>
      cca.acquireTokenForClient(GRAPH_DEFAULT, { claimsChallenge: claims }),
    );
    expectLines(challenged, /^\[verbose\] Client credentials: a claims challenge skips the cache/);
  });

  it("a miss did not say why: a token within 5 minutes of expiry, and one past its refresh_on renewed in the background", async () => {
    emulator.configure({ accessTokenLifetime: 120 });
    const cca = daemonApp();
    await cca.acquireTokenForClient(GRAPH_DEFAULT);
    const nearExpiry = await linesOf(() => cca.acquireTokenForClient(GRAPH_DEFAULT));
    expectLines(
      nearExpiry,
      /^\[verbose\] Client credentials: cache miss for \S+: the access token expires in 1[12]\d s, within the 300 s before expiry when it is no longer served\.$/,
    );
    emulator.configure({ accessTokenLifetime: DEFAULT_LIFETIME, refreshIn: 1 });
    const aging = daemonApp();
    await aging.acquireTokenForClient(GRAPH_DEFAULT);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const renewed = await linesOf(async () => {
      const from = lines.length;
      await aging.acquireTokenForClient(GRAPH_DEFAULT);
      // The renewal runs after the call has returned the cached token.
      await expect
        .poll(() => lines.slice(from).some((l) => tokenObtained("client_credentials").test(l)))
        .toBe(true);
    });
    expectLines(
      renewed,
      /^\[verbose\] Client credentials: cache hit for /,
      /^\[verbose\] Client credentials: the cached access token is past its refresh_on; renewing it in the background\.$/,
      tokenPost("client_credentials"),
    );
  });

  it("throttling and retries were hardly logged: a 500 retried, a 429 with Retry-After held back, the next call not sent", async () => {
    const cca = daemonApp();
    emulator.injectFault({ endpoint: "token", status: 500, body: { error: "server_error" } });
    const retried = await linesOf(() => cca.acquireTokenForClient(GRAPH_DEFAULT));
    expectLines(
      retried,
      /^\[warning\] POST \S+\/oauth2\/v2\.0\/token: HTTP 500; retrying once\.$/,
      tokenPost("client_credentials"),
    );
    emulator.injectFault({
      endpoint: "token",
      status: 429,
      headers: { "Retry-After": "30" },
      body: { error: "temporarily_unavailable" },
    });
    const throttled = await linesOf(async () => {
      await cca.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true });
      await cca.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true });
    });
    expectLines(
      throttled,
      tokenPost("client_credentials", 429),
      /^\[warning\] POST \S+\/oauth2\/v2\.0\/token: HTTP 429 with Retry-After 30; identical requests get this answer without being sent for (29|30) s\.$/,
      new RegExp(
        `^\\[warning\\] POST \\S+/oauth2/v2\\.0/token \\(grant client_credentials, correlation id ${UUID}\\): throttled, not sent; answered with the HTTP 429 an identical request got, for (29|30) s more\\.$`,
      ),
      new RegExp(
        `^\\[warning\\] Token request failed: temporarily_unavailable, HTTP 429 \\(grant client_credentials, POST \\S+/oauth2/v2\\.0/token, correlation id ${UUID}, \\d+ ms\\)\\.$`,
      ),
    );
    expect(emulator.requests("token")).toHaveLength(3);
  });

  it("auth code flow and silent (hit, miss with its reason, forced) logged no request, status or duration", async () => {
    const alice = user(emulator, "managed");
    const web = app(emulator, "confidential");
    const webApp = new ConfidentialClientApplication(web.clientId, {
      ...options(),
      clientCredential: web.secret as string,
    });
    const flow = await webApp.initiateAuthCodeFlow(SCOPES, { redirectUri: WEB_REDIRECT });
    const { params } = await signInOverHttp(flow.auth_uri, alice.username, alice.password);
    const redeemed = await linesOf(() => webApp.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(params)));
    expectLines(redeemed, tokenPost("authorization_code"), tokenObtained("authorization_code"));
    // The line names the user only through piiText.
    expectLines(
      redeemed,
      /^\[info\] Token obtained from the identity provider for \[PII hidden\] \(grant authorization_code/,
    );
    const [account] = await webApp.getAccounts();
    if (!account) throw new Error("no account after the auth code flow");

    const hit = await linesOf(() => webApp.acquireTokenSilent(SCOPES, account));
    expectLines(
      hit,
      /^\[verbose\] Silent: cache hit for \S*User\.Read\S*: the access token expires in \d+ s\.$/,
    );
    const forced = await linesOf(() => webApp.acquireTokenSilent(SCOPES, account, { forceRefresh: true }));
    expectLines(
      forced,
      /^\[verbose\] Silent: forceRefresh skips the cache for account \[PII hidden\]; redeeming a refresh token\.$/,
      tokenPost("refresh_token"),
      tokenObtained("refresh_token"),
    );
    emulator.configure({ accessTokenLifetime: 120 });
    await webApp.acquireTokenSilent(SCOPES, account, { forceRefresh: true });
    const miss = await linesOf(() => webApp.acquireTokenSilent(SCOPES, account));
    expectLines(
      miss,
      /^\[verbose\] Silent: cache miss for \S*User\.Read\S*: the access token expires in 1[12]\d s, within the 300 s before expiry/,
      tokenPost("refresh_token"),
    );

    // PII off: neither the user name nor the account id is in any line.
    expect(lines.filter((l) => l.toLowerCase().includes(alice.username.toLowerCase()))).toEqual([]);
    expect(lines.filter((l) => l.includes(account.home_account_id))).toEqual([]);
  });

  it("on-behalf-of logged nothing of its cache: a miss, the request, then a hit", async () => {
    const alice = user(emulator, "managed");
    const middleTier = app(emulator, "middle-tier");
    const obo = new ConfidentialClientApplication(middleTier.clientId, {
      ...options(),
      clientCredential: middleTier.secret as string,
    });
    const assertion = await middleTierAssertion(emulator, alice);
    const scopes = ["https://graph.microsoft.com/User.Read"];
    const miss = await linesOf(() => obo.acquireTokenOnBehalfOf(assertion, scopes));
    const grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    expectLines(
      miss,
      /^\[verbose\] On-behalf-of: cache miss for https:\/\/graph\.microsoft\.com\/User\.Read: no access token for these scopes\.$/,
      tokenPost(grant),
      tokenObtained(grant),
    );
    const hit = await linesOf(() => obo.acquireTokenOnBehalfOf(assertion, scopes));
    expectLines(
      hit,
      /^\[verbose\] On-behalf-of: cache hit for https:\/\/graph\.microsoft\.com\/User\.Read: /,
    );
    expect(lines.filter((l) => l.includes(assertion) || l.includes(alice.username))).toEqual([]);
  });

  it("every device code poll logged a warning: pending and slow_down polls are verbose, the success is logged in full", async () => {
    const bob = emulator.directory.users.find((u) => u.username.startsWith("bob@"));
    if (!bob) throw new Error("no bob in the emulator directory");
    const pca = new PublicClientApplication(app(emulator, "public").clientId, options());
    const flow = (await pca.initiateDeviceFlow(SCOPES)) as DeviceFlow;
    expect(flow.user_code).toEqual(expect.any(String));
    const polls = () =>
      emulator.requests("token").filter((r) => r.form?.grant_type === DEVICE_CODE_GRANT).length;
    const result = pca.acquireTokenByDeviceFlow(flow);
    await expect.poll(polls, { timeout: 10_000 }).toBe(1);
    emulator.injectFault({ endpoint: "token", status: 400, body: { error: "slow_down" } });
    await expect.poll(polls, { timeout: 10_000 }).toBe(2);
    expect(emulator.approveDeviceCode(flow.user_code, bob.username)).toEqual({ ok: true });
    expect(await result).toMatchObject({ token_type: "Bearer" });
    expect(lines.filter((l) => l.startsWith("[warning]") || l.startsWith("[error]"))).toEqual([]);
    expectLines(
      lines,
      /^\[verbose\] Token request failed: slow_down, HTTP 400 \(grant urn:ietf:params:oauth:grant-type:device_code/,
      /^\[verbose\] Token request failed: authorization_pending, HTTP 400 \(grant urn:ietf:params:oauth:grant-type:device_code/,
      tokenPost(DEVICE_CODE_GRANT),
      tokenObtained(DEVICE_CODE_GRANT),
    );
    expect(lines.filter((l) => l.toLowerCase().includes(bob.username.toLowerCase()))).toEqual([]);
  }, 30_000);

  it("lock waits were not logged: how long, for which lock file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "msal-ts-lock-log-"));
    try {
      const path = join(dir, "cache.json");
      const first = new FilePersistence(path, { logger });
      const second = new FilePersistence(path, { logger });
      const cacheA = new SerializableTokenCache();
      const cacheB = new SerializableTokenCache();
      const access = (cache: SerializableTokenCache) => ({
        cache,
        hasChanged: false,
        partitionKey: undefined,
      });
      await first.beforeCacheAccess(access(cacheA));
      const waiting = second.beforeCacheAccess(access(cacheB));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await first.afterCacheAccess(access(cacheA));
      await waiting;
      await second.afterCacheAccess(access(cacheB));
      const lockFile = `${path}.lockfile`.replace(/[.\\/]/g, "\\$&");
      expectLines(
        lines,
        new RegExp(`^\\[verbose\\] Took the token cache lock file ${lockFile} in \\d+ ms\\.$`),
        new RegExp(
          `^\\[info\\] Waited (\\d{3,}) ms for the token cache lock file ${lockFile}: another process or cache held it\\.$`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
