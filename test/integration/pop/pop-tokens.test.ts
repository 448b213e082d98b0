/**
 * Proof-of-possession tokens from msal-ts against the emulator: the token request names the app's
 * key (`token_type=pop`, `req_cnf`), the result is a signed HTTP request the emulator's protected
 * resource accepts for exactly its method and URL, a nonce challenge is answered by parsing the
 * 401's WWW-Authenticate, PoP and Bearer tokens for the same scopes live side by side, and a cached
 * PoP token is signed afresh for a new URL without a token request.
 */
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import {
  inMemoryPopKeyStore,
  PopAuthScheme,
  PublicClientApplication,
  parseWwwAuthenticate,
  SerializableTokenCache,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, startTestEmulator } from "../../support/emulator.js";
import { signInOverHttp } from "../../support/sign-in.js";
import { daemonWithSecret, tokenRequests } from "../confidential/helpers.js";
import { authorize, seededUser, signIn, WEB_REDIRECT, webApp } from "../users/helpers.js";

const GRAPH = ["https://graph.microsoft.com/.default"];

let emulator: Emulator;
let resource: string;

beforeAll(async () => {
  emulator = await startTestEmulator();
  resource = `${emulator.url}/_emulator/resource`;
});
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

function success(result: TokenResult | null): TokenSuccess {
  if (result === null || "error" in result)
    throw new Error(`Expected a token, got ${JSON.stringify(result)}`);
  return result;
}

const shrPayload = (shr: string) => decodeJwt(shr) as Record<string, unknown> & { at: string };

async function call(url: string, authorization?: string, method = "GET") {
  const res = await fetch(url, { method, headers: authorization ? { authorization } : {} });
  return {
    status: res.status,
    challenge: res.headers.get("www-authenticate") ?? undefined,
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe("PoP tokens", () => {
  it("client credentials: the request names the key, the SHR carries the bound token and the resource accepts it", async () => {
    const store = inMemoryPopKeyStore();
    const key = await store.getKey();
    const scheme = new PopAuthScheme(PopAuthScheme.HTTP_GET, resource, "n-1");
    const result = success(
      await daemonWithSecret(emulator).acquireTokenForClient(GRAPH, {
        authScheme: scheme,
        popKeyStore: store,
      }),
    );
    expect(result.token_type).toBe("pop");
    expect(decodeProtectedHeader(result.access_token)).toEqual({ alg: "RS256", typ: "pop", kid: key.kid });
    const payload = shrPayload(result.access_token);
    expect(payload).toMatchObject({
      m: "GET",
      u: new URL(resource).host,
      p: "/_emulator/resource",
      nonce: "n-1",
      cnf: { jwk: key.publicJwk },
    });
    expect(decodeJwt(payload.at).cnf).toEqual({ kid: key.kid });

    const requests = tokenRequests(emulator);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.form).toMatchObject({ grant_type: "client_credentials", token_type: "pop" });
    expect(JSON.parse(Buffer.from(requests[0]?.form?.req_cnf ?? "", "base64url").toString())).toEqual({
      kid: key.kid,
    });

    const answer = await call(resource, `PoP ${result.access_token}`);
    expect(answer.status).toBe(200);
    expect(answer.body.cnf).toEqual({ kid: key.kid });
  });

  it("the same SHR replayed with another method or at another URL is refused", async () => {
    const result = success(
      await daemonWithSecret(emulator).acquireTokenForClient(GRAPH, {
        authScheme: new PopAuthScheme("GET", resource, "n"),
      }),
    );
    const post = await call(resource, `PoP ${result.access_token}`, "POST");
    expect(post.status).toBe(401);
    expect(post.body.error_description).toBe("The signed HTTP request is for another method than POST.");
    expect(parseWwwAuthenticate(post.challenge ?? "")[0]).toMatchObject({
      scheme: "PoP",
      error: "invalid_token",
    });

    // An SHR made for another URL (path) is refused at this one.
    const elsewhere = success(
      await daemonWithSecret(emulator).acquireTokenForClient(GRAPH, {
        authScheme: new PopAuthScheme("GET", `${emulator.url}/orders/7`, "n"),
      }),
    );
    const moved = await call(resource, `PoP ${elsewhere.access_token}`);
    expect(moved.status).toBe(401);
    expect(moved.body.error_description).toBe(
      "The signed HTTP request is for another path than /_emulator/resource.",
    );

    // The bound token taken out of the SHR and sent as Bearer is refused too.
    const stolen = await call(resource, `Bearer ${shrPayload(result.access_token).at}`);
    expect(stolen.status).toBe(401);
  });

  it("a nonce challenge is answered: parse the 401's WWW-Authenticate, sign again with its nonce", async () => {
    const guarded = `${resource}?nonce=required`;
    const first = await call(guarded);
    expect(first.status).toBe(401);
    const [challenge] = parseWwwAuthenticate(first.challenge ?? "");
    expect(challenge?.scheme).toBe("PoP");
    expect(challenge?.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const cca = daemonWithSecret(emulator);
    const stale = success(
      await cca.acquireTokenForClient(GRAPH, {
        authScheme: new PopAuthScheme("GET", guarded, "not-the-nonce"),
      }),
    );
    const refused = await call(guarded, `PoP ${stale.access_token}`);
    expect(refused.status).toBe(401);
    expect(refused.body.error_description).toBe(
      "The signed HTTP request must carry the nonce of this challenge.",
    );

    const nonce = parseWwwAuthenticate(refused.challenge ?? "")[0]?.nonce as string;
    const answered = success(
      await cca.acquireTokenForClient(GRAPH, { authScheme: new PopAuthScheme("GET", guarded, nonce) }),
    );
    expect(answered.token_source).toBe("cache");
    expect((await call(guarded, `PoP ${answered.access_token}`)).status).toBe(200);
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("PoP and Bearer tokens for the same scopes coexist in the cache and each serves its own kind of request", async () => {
    const cache = new SerializableTokenCache();
    const cca = daemonWithSecret(emulator, { tokenCache: cache });
    const scheme = new PopAuthScheme("GET", resource, "n");
    const bearer = success(await cca.acquireTokenForClient(GRAPH));
    const pop = success(await cca.acquireTokenForClient(GRAPH, { authScheme: scheme }));
    expect(tokenRequests(emulator)).toHaveLength(2);
    expect(tokenRequests(emulator)[0]?.form?.token_type).toBeUndefined();
    expect(tokenRequests(emulator)[1]?.form?.token_type).toBe("pop");
    expect(Object.keys(JSON.parse(cache.serialize()).AccessToken)).toHaveLength(2);

    const bearerAgain = success(await cca.acquireTokenForClient(GRAPH));
    const popAgain = success(await cca.acquireTokenForClient(GRAPH, { authScheme: scheme }));
    expect(tokenRequests(emulator)).toHaveLength(2);
    expect(bearerAgain).toMatchObject({
      token_type: "Bearer",
      token_source: "cache",
      access_token: bearer.access_token,
    });
    expect(decodeJwt(bearerAgain.access_token).cnf).toBeUndefined();
    expect(popAgain).toMatchObject({ token_type: "pop", token_source: "cache" });
    expect(shrPayload(popAgain.access_token).at).toBe(shrPayload(pop.access_token).at);

    expect((await call(resource, `Bearer ${bearerAgain.access_token}`)).status).toBe(200);
    expect((await call(resource, `PoP ${popAgain.access_token}`)).status).toBe(200);
  });

  it("a second PoP call for a new URL makes no token request and signs a new SHR for that URL", async () => {
    const cca = daemonWithSecret(emulator);
    const first = success(
      await cca.acquireTokenForClient(GRAPH, {
        authScheme: new PopAuthScheme("GET", `${emulator.url}/a`, "n"),
      }),
    );
    const second = success(
      await cca.acquireTokenForClient(GRAPH, { authScheme: new PopAuthScheme("PUT", resource, "n2") }),
    );
    expect(tokenRequests(emulator)).toHaveLength(1);
    expect(second.token_source).toBe("cache");
    expect(shrPayload(second.access_token)).toMatchObject({
      m: "PUT",
      p: "/_emulator/resource",
      nonce: "n2",
    });
    expect(shrPayload(second.access_token).at).toBe(shrPayload(first.access_token).at);
    expect(second.access_token).not.toBe(first.access_token);
    expect((await call(resource, `PoP ${second.access_token}`, "PUT")).status).toBe(200);
  });

  it("concurrent PoP calls for different URLs share one token request; each gets an SHR for its own URL", async () => {
    const cca = daemonWithSecret(emulator);
    const paths = ["/a", "/b", "/c", "/d", "/e"];
    const results = await Promise.all(
      paths.map((path) =>
        cca.acquireTokenForClient(GRAPH, {
          authScheme: new PopAuthScheme("GET", `${emulator.url}${path}`, "n"),
        }),
      ),
    );
    expect(tokenRequests(emulator)).toHaveLength(1);
    expect(results.map((r) => shrPayload(success(r).access_token).p)).toEqual(paths);
    expect(new Set(results.map((r) => shrPayload(success(r).access_token).at)).size).toBe(1);
  });

  it("another key (another store) misses the cache and gets a token bound to it", async () => {
    const cca = daemonWithSecret(emulator);
    const scheme = new PopAuthScheme("GET", resource, "n");
    const one = success(await cca.acquireTokenForClient(GRAPH, { authScheme: scheme }));
    const other = inMemoryPopKeyStore();
    const two = success(await cca.acquireTokenForClient(GRAPH, { authScheme: scheme, popKeyStore: other }));
    expect(tokenRequests(emulator)).toHaveLength(2);
    expect(decodeJwt(shrPayload(two.access_token).at).cnf).toEqual({ kid: (await other.getKey()).kid });
    expect(decodeProtectedHeader(one.access_token).kid).not.toBe(decodeProtectedHeader(two.access_token).kid);
    expect((await call(resource, `PoP ${two.access_token}`)).status).toBe(200);
  });

  it("a signed-in user's PoP token: silent refresh with token_type=pop, then the cache, each accepted", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(client, alice, { redirectUri: "https://app.contoso.test/auth/callback" });
    const account = signed.result.account;
    if (!account) throw new Error("the sign-in result has no account");
    emulator.clearRequests();
    const scheme = new PopAuthScheme("GET", resource, "n");
    const refreshed = success(
      await client.acquireTokenSilent(["User.Read"], account, { authScheme: scheme }),
    );
    expect(refreshed.token_type).toBe("pop");
    expect(tokenRequests(emulator).map((r) => [r.form?.grant_type, r.form?.token_type])).toEqual([
      ["refresh_token", "pop"],
    ]);
    expect((await call(resource, `PoP ${refreshed.access_token}`)).status).toBe(200);
    const cached = success(await client.acquireTokenSilent(["User.Read"], account, { authScheme: scheme }));
    expect(cached.token_source).toBe("cache");
    expect((await call(resource, `PoP ${cached.access_token}`)).status).toBe(200);
    // The Bearer token of the sign-in is still what a Bearer request gets.
    const bearer = success(await client.acquireTokenSilent(["User.Read"], account));
    expect(bearer).toMatchObject({ token_type: "Bearer", access_token: signed.result.access_token });
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("external-key PoP through data (the Azure CLI's pattern): the raw bound token, cached by key_id, never served as Bearer", async () => {
    const kid = "external-key-thumbprint";
    const reqCnf = Buffer.from(JSON.stringify({ kid, xms_ksl: "sw" })).toString("base64url");
    const data = { token_type: "pop", key_id: kid, req_cnf: reqCnf };
    const cca = daemonWithSecret(emulator);
    const bound = success(await cca.acquireTokenForClient(GRAPH, { data }));
    expect(bound.token_type).toBe("pop");
    expect(decodeJwt(bound.access_token).cnf).toEqual({ kid });
    const again = success(await cca.acquireTokenForClient(GRAPH, { data }));
    expect(again).toMatchObject({ token_source: "cache", access_token: bound.access_token });
    const bearer = success(await cca.acquireTokenForClient(GRAPH));
    expect(bearer.token_type).toBe("Bearer");
    expect(decodeJwt(bearer.access_token).cnf).toBeUndefined();
    expect(tokenRequests(emulator).map((r) => r.form?.token_type)).toEqual(["pop", undefined]);
  });

  it("username/password, auth code flow, authorization code and interactive: PoP tokens the resource accepts", async () => {
    const alice = seededUser(emulator, "alice");
    const scheme = new PopAuthScheme("GET", resource, "n");
    const pca = new PublicClientApplication(app(emulator, "public").clientId, {
      authority: `${emulator.url}/organizations`,
      validateAuthority: false,
    });
    const results = [
      await pca.acquireTokenByUsernamePassword(alice.username, alice.password, ["User.Read"], {
        authScheme: scheme,
      }),
      await pca.acquireTokenInteractive(["User.Read"], {
        authScheme: scheme,
        timeout: 10_000,
        openBrowser: async (url) => {
          await fetch((await signInOverHttp(url, alice.username, alice.password)).location);
        },
      }),
    ];
    const web = webApp(emulator);
    const { flow, response } = await authorize(web, alice, { redirectUri: WEB_REDIRECT });
    results.push(await web.acquireTokenByAuthCodeFlow(flow, response, { authScheme: scheme }));
    const url = await web.getAuthorizationRequestUrl(["User.Read"], { redirectUri: WEB_REDIRECT });
    const { params } = await signInOverHttp(url, alice.username, alice.password);
    results.push(
      await web.acquireTokenByAuthorizationCode(params.get("code") as string, ["User.Read"], {
        redirectUri: WEB_REDIRECT,
        authScheme: scheme,
      }),
    );
    expect(tokenRequests(emulator).map((r) => [r.form?.grant_type, r.form?.token_type])).toEqual([
      ["password", "pop"],
      ["authorization_code", "pop"],
      ["authorization_code", "pop"],
      ["authorization_code", "pop"],
    ]);
    for (const result of results) {
      expect(success(result).token_type).toBe("pop");
      expect((await call(resource, `PoP ${success(result).access_token}`)).status).toBe(200);
    }
  });

  it("on-behalf-of: a PoP token for the downstream API", async () => {
    const middleTier = app(emulator, "middle-tier");
    const { middleTierAssertion, confidentialApp, directoryUser } = await import(
      "../confidential/helpers.js"
    );
    const assertion = await middleTierAssertion(
      emulator,
      directoryUser(emulator, "alice@contoso.onmicrosoft.com"),
    );
    emulator.clearRequests();
    const cca = confidentialApp(emulator, middleTier, middleTier.secret as string);
    const result = success(
      await cca.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"], {
        authScheme: new PopAuthScheme("GET", resource, "n"),
      }),
    );
    expect(result.token_type).toBe("pop");
    expect(tokenRequests(emulator)[0]?.form).toMatchObject({
      requested_token_use: "on_behalf_of",
      token_type: "pop",
    });
    expect((await call(resource, `PoP ${result.access_token}`)).status).toBe(200);
  });
});
