/**
 * `enablePiiLog` did nothing: with it off, the user's UPN reached the log (user realm discovery
 * names the user in its URL's path, and the HTTP layer logs the URLs it requests). Here every flow
 * runs against the emulator with a `verbose` logger: client credentials (secret and certificate),
 * on-behalf-of, the auth code flow with the sign-in form driven over HTTP, silent (cache hit,
 * refresh, no refresh token), a refresh token brought in, device code, username/password (managed,
 * federated through WS-Trust, a wrong password, an MFA user), interactive over HTTP, getAccounts
 * and removeAccount, with a passing server fault on the way. Every line is scanned for every piece
 * of personal data the run touched (user names, display names, object ids, home and local account
 * ids, as they are and URL-encoded) and every secret (client secrets, passwords, tokens, codes,
 * verifiers, assertions): with PII logging off none may appear; with it on the user names do (the
 * switch works) and secrets still never do.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import {
  ConfidentialClientApplication,
  type DeviceFlow,
  type LogLevel,
  PublicClientApplication,
  type TokenResult,
} from "../../src/node/index.js";
import { daemonCertificate, middleTierAssertion } from "../integration/confidential/helpers.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import { signInOverHttp } from "../support/sign-in.js";

const SCOPES = ["User.Read"];
const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];
const WEB_REDIRECT = "https://app.contoso.test/auth/callback";
const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** Form fields of the emulator's request log that hold secrets. */
const SECRET_FIELDS = [
  "client_secret",
  "client_assertion",
  "assertion",
  "code",
  "code_verifier",
  "refresh_token",
  "device_code",
  "password",
];

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
});
afterAll(() => emulator?.stop());

interface Run {
  lines: string[];
  /** Personal data the run touched: user names, display names, object ids, account ids. */
  pii: Set<string>;
  secrets: Set<string>;
  usernames: string[];
}

function fail(what: string, result: unknown): never {
  throw new Error(`${what} failed: ${JSON.stringify(result)}`);
}

/** Runs every flow once with a verbose logger; returns what it logged and what it must not have. */
async function runEveryFlow(enablePiiLog: boolean): Promise<Run> {
  emulator.reset();
  const lines: string[] = [];
  const logger = {
    level: "verbose" as LogLevel,
    log: (level: LogLevel, message: string) => lines.push(`[${level}] ${message}`),
  };
  const options = {
    authority: authority(emulator),
    validateAuthority: false,
    logger,
    enablePiiLog,
  };
  const run: Run = { lines, pii: new Set(), secrets: new Set(), usernames: [] };
  const results: TokenResult[] = [];
  const alice = user(emulator, "managed");
  const bob = emulator.directory.users.find((u) => u.username.startsWith("bob@")) ?? fail("bob", "");
  const carol = user(emulator, "federated");
  const mfa = user(emulator, "mfa");
  const web = app(emulator, "confidential");
  const daemon = app(emulator, "daemon");
  const middleTier = app(emulator, "middle-tier");
  const publicId = app(emulator, "public").clientId;

  // Client credentials: a secret (network, cache hit, a 500 retried), then a certificate.
  const bySecret = new ConfidentialClientApplication(daemon.clientId, {
    ...options,
    clientCredential: daemon.secret as string,
  });
  results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT));
  results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT));
  emulator.injectFault({ endpoint: "token", status: 500, body: { error: "server_error" } });
  results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
  const certificate = daemonCertificate(emulator);
  const byCertificate = new ConfidentialClientApplication(daemon.clientId, {
    ...options,
    clientCredential: { privateKey: certificate.privateKey, publicCertificate: certificate.certificate },
  });
  results.push(await byCertificate.acquireTokenForClient(GRAPH_DEFAULT));

  // On-behalf-of, for alice.
  const assertion = await middleTierAssertion(emulator, alice);
  run.secrets.add(assertion);
  const obo = new ConfidentialClientApplication(middleTier.clientId, {
    ...options,
    clientCredential: middleTier.secret as string,
  });
  results.push(await obo.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]));
  results.push(await obo.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]));

  // The auth code flow for alice (with a login hint), then silent, refresh tokens and accounts.
  const webApp = new ConfidentialClientApplication(web.clientId, {
    ...options,
    clientCredential: web.secret as string,
  });
  const flow = await webApp.initiateAuthCodeFlow(SCOPES, {
    redirectUri: WEB_REDIRECT,
    loginHint: alice.username,
  });
  run.secrets.add(flow.code_verifier);
  const { params } = await signInOverHttp(flow.auth_uri, alice.username, alice.password);
  run.secrets.add(params.get("code") ?? fail("the authorize endpoint", params.toString()));
  const signedIn = await webApp.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(params));
  if ("error" in signedIn) fail("acquireTokenByAuthCodeFlow", signedIn);
  results.push(signedIn);
  const [webAccount] = await webApp.getAccounts({ username: alice.username });
  if (!webAccount) fail("getAccounts", await webApp.getAccounts());
  results.push((await webApp.acquireTokenSilent(SCOPES, webAccount)) ?? fail("silent (cache)", null));
  results.push(
    (await webApp.acquireTokenSilent(SCOPES, webAccount, { forceRefresh: true })) ?? fail("silent", null),
  );
  const refreshToken = signedIn.refresh_token;
  if (typeof refreshToken !== "string") fail("the auth code flow's refresh token", signedIn);
  results.push(await webApp.acquireTokenByRefreshToken(refreshToken, SCOPES));
  await webApp.removeAccount(webAccount);
  expect(await webApp.acquireTokenSilent(SCOPES, webAccount)).toBeNull();

  // Device code, approved by bob.
  const devicePca = new PublicClientApplication(publicId, options);
  const device = await devicePca.initiateDeviceFlow(SCOPES);
  if ("error" in device) fail("initiateDeviceFlow", device);
  const deviceFlow = device as DeviceFlow;
  const byDevice = devicePca.acquireTokenByDeviceFlow(deviceFlow);
  await expect
    .poll(() => emulator.requests("token").filter((r) => r.form?.grant_type === DEVICE_CODE_GRANT).length, {
      timeout: 10_000,
    })
    .toBeGreaterThanOrEqual(1);
  expect(emulator.approveDeviceCode(deviceFlow.user_code, bob.username)).toEqual({ ok: true });
  results.push(await byDevice);

  // Username/password on one app: alice twice (the second user realm answer comes from the HTTP
  // cache, after a server fault the first time), carol through WS-Trust, a wrong password, MFA.
  const ropc = new PublicClientApplication(publicId, options);
  emulator.injectFault({ endpoint: "userrealm", status: 503, body: { error: "temporarily_unavailable" } });
  results.push(await ropc.acquireTokenByUsernamePassword(alice.username, alice.password, SCOPES));
  results.push(await ropc.acquireTokenByUsernamePassword(alice.username, alice.password, SCOPES));
  results.push(await ropc.acquireTokenByUsernamePassword(carol.username, carol.password, SCOPES));
  const wrong = await ropc.acquireTokenByUsernamePassword(bob.username, "not-bob-P@ss-9", SCOPES);
  expect(wrong).toMatchObject({ error: "invalid_grant" });
  run.secrets.add("not-bob-P@ss-9");
  const needsMfa = await ropc.acquireTokenByUsernamePassword(mfa.username, mfa.password, SCOPES);
  expect(needsMfa).toMatchObject({ error: "interaction_required" });

  // Interactive, the browser played over HTTP by bob.
  const interactive = new PublicClientApplication(publicId, options);
  results.push(
    await interactive.acquireTokenInteractive(SCOPES, {
      loginHint: bob.username,
      timeout: 20_000,
      openBrowser: async (url) => {
        const { location } = await signInOverHttp(url, bob.username, bob.password);
        await (await fetch(location)).text();
      },
    }),
  );

  // Accounts of the public apps, and their removal.
  for (const pca of [devicePca, ropc, interactive]) {
    for (const account of await pca.getAccounts()) {
      for (const value of [account.home_account_id, account.local_account_id, account.username])
        if (value) run.pii.add(value);
      await pca.removeAccount(account);
    }
  }

  const used = [alice, bob, carol, mfa];
  for (const who of used) {
    run.usernames.push(who.username);
    run.pii.add(who.username);
    run.secrets.add(who.password);
    const seeded = who as { name?: string; oid?: string; tenant?: string };
    if (seeded.name) run.pii.add(seeded.name);
    if (seeded.oid) run.pii.add(seeded.oid);
  }
  for (const secret of [web.secret, daemon.secret, middleTier.secret]) if (secret) run.secrets.add(secret);
  for (const result of results) {
    if ("error" in result) fail("a flow", result);
    for (const field of ["access_token", "refresh_token", "id_token"] as const) {
      const value = result[field];
      if (typeof value === "string") run.secrets.add(value);
    }
    const claims = result.id_token_claims;
    if (claims) {
      for (const value of [claims.preferred_username, claims.name, claims.oid, claims.sub, claims.email])
        if (typeof value === "string") run.pii.add(value);
      if (claims.oid && claims.tid) run.pii.add(`${claims.oid}.${claims.tid}`);
    }
  }
  for (const request of emulator.requests()) {
    for (const field of SECRET_FIELDS) {
      const value = request.form?.[field];
      if (value) run.secrets.add(value);
    }
  }
  return run;
}

/** A value as it may appear in a line: as it is, URL-encoded, form-encoded. */
function spellings(value: string): string[] {
  return [
    ...new Set([value, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)]),
  ];
}

/** The lines holding any of `values` (case-insensitive), with what they hold. */
function linesHolding(lines: string[], values: Iterable<string>): string[] {
  const wanted = [...values].filter((v) => v.length >= 6).flatMap(spellings);
  // A JWT's signature alone is a secret too.
  for (const value of [...wanted]) {
    const signature = value.split(".")[2];
    if (signature && signature.length >= 16) wanted.push(signature);
  }
  const found: string[] = [];
  for (const line of lines) {
    const lower = line.toLowerCase();
    for (const value of wanted)
      if (lower.includes(value.toLowerCase())) found.push(`${JSON.stringify(value)} in: ${line}`);
  }
  return found;
}

describe("personal data and secrets in logs", () => {
  it("enablePiiLog did nothing (the UPN was logged with it off): with it off, no line holds PII or a secret", async () => {
    const run = await runEveryFlow(false);
    expect(run.pii.size).toBeGreaterThanOrEqual(12);
    expect(run.secrets.size).toBeGreaterThanOrEqual(30);
    expect(linesHolding(run.lines, run.pii)).toEqual([]);
    expect(linesHolding(run.lines, run.secrets)).toEqual([]);
    // The run went through the lines that name a user (user realm discovery's URL among them).
    expect(run.lines.some((l) => l.startsWith("[verbose]"))).toBe(true);
    expect(run.lines.filter((l) => l.includes("/userrealm/"))).toHaveLength(2);
    expect(run.lines.filter((l) => l.includes("[PII hidden]")).length).toBeGreaterThanOrEqual(10);
  });

  it("with enablePiiLog on, the user names are logged, and still no secret", async () => {
    const run = await runEveryFlow(true);
    for (const username of run.usernames.slice(0, 3))
      expect(
        run.lines.some((l) => l.includes(username)),
        username,
      ).toBe(true);
    expect(run.lines.some((l) => l.includes("[PII hidden]"))).toBe(false);
    expect(linesHolding(run.lines, run.secrets)).toEqual([]);
  });
});
