/**
 * What `acquireTokenByAuthCodeFlow` refuses: responses that do not belong to the flow (state,
 * replay, scopes) and id_tokens that fail validation (nonce, audience, lifetime, `max_age`). Each
 * refusal is an exception with a stable `code`, and nothing of a refused response is cached.
 * Where the emulator cannot be made to misbehave, a `fetch` at the boundary rewrites what it sends.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import {
  type ClientApplication,
  decodePart,
  type FetchLike,
  IdTokenError,
  MsalError,
} from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import { signInOverHttp } from "../../support/sign-in.js";
import {
  authorize,
  clientIdOf,
  LOOPBACK_REDIRECT,
  publicApp,
  SCOPES,
  seededUser,
  signIn,
  tokenRequests,
  WEB_REDIRECT,
  webApp,
} from "./helpers.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

/** The error a promise rejects with; fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<MsalError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`Expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(MsalError);
  return outcome.error as MsalError;
}

/** `AuthFlowError` is not among the library's exports (see the report): checked by name. */
function expectAuthFlowError(error: MsalError, code: string): void {
  expect({ name: error.name, code: error.code }).toEqual({ name: "AuthFlowError", code });
}

function expectIdTokenError(error: MsalError, code: string): void {
  expect(error).toBeInstanceOf(IdTokenError);
  expect(error.code).toBe(code);
}

/** Every section of the app's cache is empty. */
async function expectNothingCached(client: ClientApplication): Promise<void> {
  expect(await client.getAccounts()).toEqual([]);
  expect(Object.values(client.tokenCache.counts()).every((n) => n === 0)).toBe(true);
}

const isTokenEndpoint = (url: string) => /\/oauth2\/(v2\.0\/)?token$/.test(new URL(url).pathname);

/**
 * A transport over the global fetch that lets a test change token requests' forms before they are
 * sent and token responses' JSON before msal-ts reads it.
 */
function rewritingFetch(rewrite: {
  form?: (form: URLSearchParams) => void;
  response?: (json: Record<string, unknown>) => void;
}): FetchLike {
  return async (url, init) => {
    if (!isTokenEndpoint(url)) return fetch(url, init);
    const form = new URLSearchParams(String(init.body ?? ""));
    rewrite.form?.(form);
    const answer = await fetch(url, { ...init, body: form.toString() });
    if (!rewrite.response) return answer;
    const json = (await answer.json()) as Record<string, unknown>;
    rewrite.response(json);
    return new Response(JSON.stringify(json), { status: answer.status, headers: answer.headers });
  };
}

/** An id_token with some claims changed (the signature is kept: msal-ts does not check it). */
function withIdTokenClaims(json: Record<string, unknown>, change: (claims: Record<string, unknown>) => void) {
  const [header, payload, signature] = String(json.id_token).split(".");
  const claims = decodePart(payload as string);
  change(claims);
  json.id_token = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("responses that do not belong to the flow", () => {
  it("a response with another state is refused before the code is redeemed (state_mismatch)", async () => {
    const client = webApp(emulator);
    const { flow, response } = await authorize(client, seededUser(emulator, "alice"), {
      redirectUri: WEB_REDIRECT,
    });

    const error = await rejection(
      client.acquireTokenByAuthCodeFlow(flow, { ...response, state: "tampered" }),
    );

    expectAuthFlowError(error, "state_mismatch");
    expect(tokenRequests(emulator)).toEqual([]);
    await expectNothingCached(client);
  });

  it("a response redeemed a second time is refused without a second request (auth_response_replayed)", async () => {
    const client = webApp(emulator);
    const { flow, response } = await signIn(client, seededUser(emulator, "alice"), {
      redirectUri: WEB_REDIRECT,
    });

    const error = await rejection(client.acquireTokenByAuthCodeFlow(flow, response));

    expectAuthFlowError(error, "auth_response_replayed");
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("a redemption for scopes the flow did not ask for is refused (scope_mismatch)", async () => {
    const client = webApp(emulator);
    const { flow, response } = await authorize(client, seededUser(emulator, "alice"), {
      redirectUri: WEB_REDIRECT,
    });

    const error = await rejection(
      client.acquireTokenByAuthCodeFlow(flow, response, { scopes: ["Mail.Read"] }),
    );

    expectAuthFlowError(error, "scope_mismatch");
    expect(tokenRequests(emulator)).toEqual([]);
    await expectNothingCached(client);
  });

  it("an error response comes back with only its OAuth error fields, nothing injected", async () => {
    const client = webApp(emulator);
    const flow = await client.initiateAuthCodeFlow(SCOPES, { redirectUri: WEB_REDIRECT });

    const result = await client.acquireTokenByAuthCodeFlow(flow, {
      state: flow.state,
      error: "access_denied",
      error_description: "AADSTS65004: User declined to consent to access the app.",
      injected_access_token: "x",
    });

    expect(result).toEqual({
      error: "access_denied",
      error_description: "AADSTS65004: User declined to consent to access the app.",
    });
    expect(tokenRequests(emulator)).toEqual([]);
    await expectNothingCached(client);
  });
});

describe("id_tokens that fail validation", () => {
  it("an id_token with another nonce is refused and nothing is cached (id_token_nonce_mismatch)", async () => {
    const client = webApp(emulator);
    const { flow, response } = await authorize(client, seededUser(emulator, "alice"), {
      redirectUri: WEB_REDIRECT,
    });

    const error = await rejection(
      client.acquireTokenByAuthCodeFlow({ ...flow, nonce: "not-the-nonce-sent" }, response),
    );

    expectIdTokenError(error, "id_token_nonce_mismatch");
    // The emulator did issue tokens: msal-ts refused them.
    expect(tokenRequests(emulator).map((r) => r.status)).toEqual([200]);
    await expectNothingCached(client);
  });

  it("an id_token for another client is refused (id_token_audience_mismatch)", async () => {
    // The app under test has a client id the emulator does not know; its transport redeems the code
    // as the registered public app, so the emulator issues an id_token whose aud is that app.
    const registered = clientIdOf(emulator, "public");
    const stranger = "99999999-9999-4999-8999-999999999999";
    const client = publicApp(
      emulator,
      { fetch: rewritingFetch({ form: (f) => f.set("client_id", registered) }) },
      stranger,
    );
    const flow = await client.initiateAuthCodeFlow(SCOPES, { redirectUri: LOOPBACK_REDIRECT });
    const authorizeUrl = new URL(flow.auth_uri);
    authorizeUrl.searchParams.set("client_id", registered);
    const alice = seededUser(emulator, "alice");
    const { params } = await signInOverHttp(authorizeUrl.toString(), alice.username, alice.password);

    const error = await rejection(client.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(params)));

    expectIdTokenError(error, "id_token_audience_mismatch");
    expect(tokenRequests(emulator).map((r) => [r.form?.client_id, r.status])).toEqual([[registered, 200]]);
    await expectNothingCached(client);
  });

  it("an expired id_token is refused (id_token_expired)", async () => {
    // Expired an hour ago: well past the 300 s allowed for clock skew.
    emulator.configure({ idTokenLifetime: -3600 });
    const client = webApp(emulator);
    const { flow, response } = await authorize(client, seededUser(emulator, "alice"), {
      redirectUri: WEB_REDIRECT,
    });

    const error = await rejection(client.acquireTokenByAuthCodeFlow(flow, response));

    expectIdTokenError(error, "id_token_expired");
    await expectNothingCached(client);
  });

  it("a sign-in older than max_age is refused (id_token_max_age_exceeded)", async () => {
    const alice = seededUser(emulator, "alice");
    // The same sign-in as the emulator reports it passes: max_age reached the authorize request.
    const honest = webApp(emulator);
    const fresh = await signIn(honest, alice, { redirectUri: WEB_REDIRECT, maxAge: 1 });
    expect(new URL(fresh.flow.auth_uri).searchParams.get("max_age")).toBe("1");
    expect(typeof fresh.result.id_token_claims?.auth_time).toBe("number");
    // An hour-old auth_time is older than max_age plus the 300 s allowed for clock skew.
    const client = webApp(emulator, {
      fetch: rewritingFetch({
        response: (json) =>
          withIdTokenClaims(json, (c) => Object.assign(c, { auth_time: nowSeconds() - 3600 })),
      }),
    });
    const { flow, response } = await authorize(client, alice, { redirectUri: WEB_REDIRECT, maxAge: 1 });

    const error = await rejection(client.acquireTokenByAuthCodeFlow(flow, response));

    expectIdTokenError(error, "id_token_max_age_exceeded");
    await expectNothingCached(client);
  });

  it("an id_token without auth_time is refused when the flow asked for max_age (id_token_auth_time_missing)", async () => {
    const client = webApp(emulator, {
      fetch: rewritingFetch({
        response: (json) =>
          withIdTokenClaims(json, (c) => {
            delete c.auth_time;
          }),
      }),
    });
    const { flow, response } = await authorize(client, seededUser(emulator, "alice"), {
      redirectUri: WEB_REDIRECT,
      maxAge: 600,
    });

    const error = await rejection(client.acquireTokenByAuthCodeFlow(flow, response));

    expectIdTokenError(error, "id_token_auth_time_missing");
    await expectNothingCached(client);
  });
});
