/**
 * Each program in samples/ run as a reader runs it: `node samples/<name>.mjs` from the repository
 * root, importing the built package by its own name ("msal-ts"), configured through the
 * environment to the emulator. The test plays the user: it signs in on the emulator's page over
 * HTTP, approves device codes through the control API, and calls the web samples as a browser or
 * a client would. NODE_EXTRA_CA_CERTS (test/global-setup.ts) makes the children trust the emulator.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { decodePart } from "../../src/node/index.js";
import { ensureBuilt, ROOT } from "../support/build.js";
import { startTestEmulator, user } from "../support/emulator.js";
import { signInOverHttp } from "../support/sign-in.js";
import {
  cookieFrom,
  finished,
  get,
  runSample,
  SIGN_IN_TIMEOUT_MS,
  standInBrowser,
  unescapeHtml,
} from "./run-sample.js";

/** A generous ceiling: each sample takes a few seconds, more when the whole suite shares the machine. */
const SAMPLE_TEST_TIMEOUT_MS = 60_000;

let emulator: Emulator;
let authority: string;
/** A seeded user and the display name the emulator gives them. */
interface Person {
  username: string;
  password: string;
  name: string;
}
let alice: Person;
let bob: Person;

beforeAll(async () => {
  ensureBuilt();
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
  // The form the samples' README gives: the emulator's URL and the tenant's domain.
  authority = `${emulator.url}/contoso.onmicrosoft.com`;
  // The display name is the one the identity provider puts in the user's tokens (`name`).
  const person = async (found: { username: string; password: string } | undefined): Promise<Person> => {
    if (!found) throw new Error("The emulator directory lacks a seeded user.");
    const token = await passwordGrantToken(found, "User.Read");
    const { name } = decodePart(token.split(".")[1] ?? "") as { name: string };
    return { username: found.username, password: found.password, name };
  };
  alice = await person(user(emulator, "managed"));
  bob = await person(emulator.directory.users.find((u) => u.username.startsWith("bob@")));
}, 180_000);
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

/** Starts `node samples/<file> ...args` configured for the emulator, plus `env`. */
const startSample = (file: string, env: Record<string, string | undefined> = {}, args: string[] = []) =>
  runSample(file, { MSAL_AUTHORITY: authority, ...env }, args);

/** An access token from the emulator's token endpoint, for a client that calls an API. */
function tokenFor(form: Record<string, string>): Promise<string> {
  return fetch(`${authority}/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams(form) })
    .then((r) => r.json() as Promise<{ access_token: string }>)
    .then((body) => body.access_token);
}

/** A user's token as the seeded desktop app gets it (the password grant: no browser needed). */
function passwordGrantToken(who: { username: string; password: string }, scope: string): Promise<string> {
  const publicApp = emulator.directory.apps.find((a) => a.kind === "public");
  return tokenFor({
    grant_type: "password",
    client_id: publicApp?.clientId ?? "",
    username: who.username,
    password: who.password,
    scope,
  });
}

const oidOf = (accessToken: string) => (decodePart(accessToken.split(".")[1] ?? "") as { oid: string }).oid;

describe("samples", { timeout: SAMPLE_TEST_TIMEOUT_MS }, () => {
  it("type-check as strict TypeScript (checkJs) against the package's published types", () => {
    const samples = readdirSync(join(ROOT, "samples")).filter((f) => f.endsWith(".mjs"));
    expect(samples).toHaveLength(5);
    const tsc = spawnSync(
      join(ROOT, "node_modules/.bin/tsc"),
      [
        ...["--ignoreConfig", "--noEmit", "--allowJs", "--checkJs", "--strict", "--noUncheckedIndexedAccess"],
        ...["--module", "nodenext", "--target", "es2022", "--lib", "es2022,dom", "--types", "node"],
        ...samples.map((f) => join("samples", f)),
        // Express and express-session ship no types; this declares the part the web samples use.
        "test/samples/express.d.ts",
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
    expect(tsc.status).toBe(0);
  });

  it("daemon: an app token from the identity provider, then the same from the cache", async () => {
    // Trusting the emulator through MSAL_CA_FILE (the `ca` option) instead of NODE_EXTRA_CA_CERTS.
    const run = await finished(
      startSample("daemon.mjs", { NODE_EXTRA_CA_CERTS: undefined, MSAL_CA_FILE: emulator.caFile }),
    );
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(
      /^First call: token from identity_provider, expires in \d+ s\nSecond call: token from cache, expires in \d+ s\n$/,
    );
    const requests = emulator.requests("token");
    expect(requests.map((r) => r.form?.grant_type)).toEqual(["client_credentials"]);
  });

  it("web app (Express): auth code sign-in per session, API calls with cached tokens, sign-out", async () => {
    const server = startSample("web-app.mjs", { PORT: "0" });
    const [, origin] = await server.waitFor(/^Listening on (http:\/\/localhost:\d+)$/m);
    const page = (path: string, cookie?: string) => get(`${origin}${path}`, cookie).then((r) => r.text());
    /** The API's answer the /profile page shows, and which token the page used. */
    const profile = async (cookie: string) => {
      const html = await page("/profile", cookie);
      const answer = /<p>The API answered (\d+):<\/p>\n<pre>([^<]*)<\/pre>/.exec(html);
      const source = /; token from (\w+)\.<\/p>/.exec(html);
      if (!answer || !source) throw new Error(`Not a profile page:\n${html}`);
      return {
        signedInAs: /Signed in as ([^;]*);/.exec(html)?.[1],
        tokenSource: source[1],
        api: { status: Number(answer[1]), body: JSON.parse(unescapeHtml(answer[2] ?? "")) as unknown },
      };
    };

    // Alice's object id, to recognize her in the API's answer.
    const aliceOid = await passwordGrantToken(alice, "User.Read").then(oidOf);
    emulator.clearRequests();

    expect(await page("/")).toContain('Not signed in. <a href="/signin">Sign in</a>');

    /** A browser's sign-in: /signin, the emulator's page, the callback; returns the session cookie. */
    async function signIn(who: { username: string; password: string }): Promise<string> {
      const start = await get(`${origin}/signin`);
      expect(start.status).toBe(302);
      const preSignIn = cookieFrom(start);
      const { location } = await signInOverHttp(
        start.headers.get("location") ?? "",
        who.username,
        who.password,
      );
      expect(location.startsWith(`${origin}/auth/callback?`)).toBe(true);
      const callback = await get(location, preSignIn);
      expect([callback.status, callback.headers.get("location")]).toEqual([302, "/"]);
      const session = cookieFrom(callback);
      // The session id changes at sign-in; the one handed out before it is worth nothing.
      expect(session).not.toBe(preSignIn);
      expect(await page("/", preSignIn)).toContain("Not signed in.");
      return session;
    }
    const graphToken = (oid: string) => ({
      status: 200,
      body: { oid, aud: "https://graph.microsoft.com", scp: "User.Read" },
    });

    const aliceSession = await signIn(alice);
    expect(await page("/", aliceSession)).toContain(`Signed in as ${alice.name}.`);
    expect(emulator.requests("token").map((r) => r.form?.grant_type)).toEqual(["authorization_code"]);
    // The sign-in asked for the API's scope, so both API calls use the cached token.
    expect(await profile(aliceSession)).toEqual({
      signedInAs: alice.name,
      tokenSource: "cache",
      api: graphToken(aliceOid),
    });
    expect(await profile(aliceSession)).toMatchObject({ signedInAs: alice.name, tokenSource: "cache" });
    expect(emulator.requests("token")).toHaveLength(1);

    // Bob signs in with a token already inside the 5-minute refresh window: his first API call
    // redeems his refresh token (for a full-lifetime token), the second uses the cache; alice's
    // session still sees alice.
    emulator.configure({ accessTokenLifetime: 120 });
    const bobSession = await signIn(bob);
    emulator.configure({ accessTokenLifetime: 3599 });
    emulator.clearRequests();
    expect(await profile(bobSession)).toMatchObject({
      signedInAs: bob.name,
      tokenSource: "identity_provider",
    });
    expect(await profile(bobSession)).toMatchObject({ signedInAs: bob.name, tokenSource: "cache" });
    expect(emulator.requests("token").map((r) => r.form?.grant_type)).toEqual(["refresh_token"]);
    expect(await profile(aliceSession)).toMatchObject({ signedInAs: alice.name, tokenSource: "cache" });

    // A callback with no sign-in in progress is refused.
    const stray = await get(`${origin}/auth/callback?code=x&state=y`, bobSession);
    expect(stray.status).toBe(400);

    const signOut = await get(`${origin}/signout`, aliceSession);
    expect(signOut.status).toBe(302);
    expect(signOut.headers.get("set-cookie")).toMatch(
      /^sid=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT/,
    );
    const logout = new URL(signOut.headers.get("location") ?? "");
    expect(`${logout.origin}${logout.pathname}`).toBe(`${authority}/oauth2/v2.0/logout`);
    expect(logout.searchParams.get("post_logout_redirect_uri")).toBe(`${origin}/`);
    const back = await get(logout.toString());
    expect([back.status, back.headers.get("location")]).toEqual([302, `${origin}/`]);
    // Alice's session is gone (her old cookie names no session), so /profile sends her to sign in.
    expect(await page("/", aliceSession)).toContain("Not signed in.");
    const afterSignOut = await get(`${origin}/profile`, aliceSession);
    expect([afterSignOut.status, afterSignOut.headers.get("location")]).toEqual([302, "/signin"]);
    expect(await profile(bobSession)).toMatchObject({ signedInAs: bob.name, tokenSource: "cache" });

    server.child.kill("SIGTERM");
    expect(await finished(server)).toEqual({
      code: 0,
      stderr: "",
      stdout:
        `Listening on ${origin}\n` +
        "Sign-in: sending the browser to the identity provider\n" +
        `Signed in: ${alice.username}\n` +
        `API call for ${alice.name}: token from cache, API answered 200\n`.repeat(2) +
        "Sign-in: sending the browser to the identity provider\n" +
        `Signed in: ${bob.username}\n` +
        `API call for ${bob.name}: token from identity_provider, API answered 200\n` +
        `API call for ${bob.name}: token from cache, API answered 200\n` +
        `API call for ${alice.name}: token from cache, API answered 200\n` +
        "Signed out\n" +
        `API call for ${bob.name}: token from cache, API answered 200\n`,
    });
  });

  it("web API (Express): validates the bearer token, then calls downstream on behalf of the user", async () => {
    const server = startSample("web-api-obo.mjs", { PORT: "0" });
    const [, origin] = await server.waitFor(/^Listening on (http:\/\/localhost:\d+)$/m);
    const middleTier = emulator.directory.apps.find((a) => a.kind === "middle-tier");
    const daemon = emulator.directory.apps.find((a) => a.kind === "daemon");
    const apiScope = `api://${middleTier?.clientId}/access_as_user`;
    // What a client of the API sends: alice's token for the API's scope.
    const userToken = (scope: string) => passwordGrantToken(alice, scope);
    const aliceToken = await userToken(apiScope);
    const aliceOid = oidOf(aliceToken);
    const call = async (token?: string) => {
      const response = await get(
        `${origin}/me`,
        undefined,
        token ? { authorization: `Bearer ${token}` } : {},
      );
      return {
        status: response.status,
        challenge: response.headers.get("www-authenticate"),
        body: await response.json(),
      };
    };
    const oboGrants = () =>
      emulator
        .requests("token")
        .filter((r) => r.form?.grant_type === "urn:ietf:params:oauth:grant-type:jwt-bearer").length;

    const downstream = {
      status: 200,
      body: { oid: aliceOid, aud: "https://graph.microsoft.com", scp: "User.Read" },
    };
    expect(await call(aliceToken)).toEqual({
      status: 200,
      challenge: null,
      body: { token_source: "identity_provider", downstream },
    });
    expect(await call(aliceToken)).toEqual({
      status: 200,
      challenge: null,
      body: { token_source: "cache", downstream },
    });
    expect(oboGrants()).toBe(1);

    const invalidToken = (description: string) => ({
      status: 401,
      challenge: `Bearer error="invalid_token", error_description="${description}"`,
      body: { error: "invalid_token", error_description: description },
    });
    // A valid token of the same tenant, but for Microsoft Graph, not this API.
    expect(await call(await userToken("User.Read"))).toEqual(
      invalidToken("The token's aud claim is not accepted here."),
    );
    expect(await call()).toEqual({
      status: 401,
      challenge: "Bearer",
      body: {
        error: "unauthorized",
        error_description: "Send an access token: Authorization: Bearer <token>.",
      },
    });
    expect(await call("not.a-token.at-all")).toEqual(invalidToken("The token is not a valid JWT."));
    const [header, payload, signature = ""] = aliceToken.split(".");
    const forged = `${header}.${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    expect(await call(forged)).toEqual(invalidToken("The token is not signed by the authority's keys."));
    emulator.configure({ accessTokenLifetime: 0 });
    expect(await call(await userToken(apiScope))).toEqual(invalidToken("The token has expired."));
    emulator.configure({ accessTokenLifetime: 3599 });
    // An app-only token for this API names no user to act for: no access_as_user scope.
    const appToken = await tokenFor({
      grant_type: "client_credentials",
      client_id: daemon?.clientId ?? "",
      client_secret: daemon?.secret ?? "",
      scope: `api://${middleTier?.clientId}/.default`,
    });
    expect(await call(appToken)).toEqual({
      status: 403,
      challenge: 'Bearer error="insufficient_scope", scope="access_as_user"',
      body: { error: "insufficient_scope", error_description: "The token lacks the access_as_user scope." },
    });
    // None of the refused tokens reached the on-behalf-of exchange.
    expect(oboGrants()).toBe(1);

    server.child.kill("SIGTERM");
    const contoso = emulator.directory.tenants.find((t) => t.domain === "contoso.onmicrosoft.com");
    const called = (source: string) =>
      `Called the downstream API for ${aliceOid}: token from ${source}, answered 200\n`;
    expect(await finished(server)).toEqual({
      code: 0,
      stderr: "",
      stdout:
        `Accepting tokens from ${emulator.url}/${contoso?.id}/v2.0 for ${middleTier?.clientId}\n` +
        `Listening on ${origin}\n` +
        called("identity_provider") +
        called("cache") +
        "Refused a token: The token's aud claim is not accepted here.\n" +
        "Refused a request without a token\n" +
        "Refused a token: The token is not a valid JWT.\n" +
        "Refused a token: The token is not signed by the authority's keys.\n" +
        "Refused a token: The token has expired.\n" +
        "Refused a token without the access_as_user scope\n",
    });
  });

  it("device-code CLI: prints the server's message, gets tokens once the user approves, then the cache", async () => {
    const cli = startSample("device-code.mjs");
    const [, userCode] = await cli.waitFor(/enter the code (\S+) to authenticate\./);
    const approval = await fetch(`${emulator.url}/_emulator/device/approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_code: userCode, username: alice.username }),
    });
    expect(approval.status).toBe(200);
    const run = await finished(cli);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `To sign in, use a web browser to open the page ${emulator.url}/devicelogin and enter the code ${userCode} to authenticate.\n` +
        `Signed in as ${alice.username}; token from identity_provider\n` +
        "Silent call: token from cache\n",
    );
  });

  it("interactive sign-in with --no-browser: the printed URL, the loopback response, then the cache", async () => {
    const desktop = startSample("interactive.mjs", {}, ["--no-browser"]);
    const [, url] = await desktop.waitFor(/^Open this URL to sign in: (\S+)$/m);
    const { location } = await signInOverHttp(url ?? "", bob.username, bob.password);
    expect(location).toMatch(/^http:\/\/localhost:\d+\/\?code=/);
    // The browser follows the redirect to the app's loopback listener.
    expect((await fetch(location)).status).toBe(200);
    const run = await finished(desktop);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `Open this URL to sign in: ${url}\nSigned in as ${bob.username}; token from identity_provider\nSilent call: token from cache\n`,
    );
  });

  // $BROWSER is how the launcher opens a browser on a Linux desktop (macOS and Windows have their own).
  it.runIf(process.platform === "linux")(
    "interactive sign-in through the system browser ($BROWSER)",
    async () => {
      const browser = standInBrowser();
      try {
        const desktop = startSample("interactive.mjs", {
          DISPLAY: ":0",
          WAYLAND_DISPLAY: undefined,
          BROWSER: browser.path,
        });
        await expect.poll(browser.openedUrl, { timeout: SIGN_IN_TIMEOUT_MS }).not.toBeUndefined();
        const { location } = await signInOverHttp(browser.openedUrl() ?? "", alice.username, alice.password);
        expect((await fetch(location)).status).toBe(200);
        const run = await finished(desktop);
        expect(run).toMatchObject({ code: 0, stderr: "" });
        expect(run.stdout).toBe(
          `Signed in as ${alice.username}; token from identity_provider\nSilent call: token from cache\n`,
        );
      } finally {
        browser.remove();
      }
    },
  );
});
