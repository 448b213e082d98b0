/**
 * The emulator's proof-of-possession side over raw HTTP: PoP-bound access tokens from the token
 * endpoint (`token_type=pop`, `req_cnf`), and the protected resource's checks of signed HTTP requests
 * (SHR) built here with jose, independently of msal-ts's own PoP code.
 */

import { request } from "node:https";
import {
  CompactSign,
  calculateJwkThumbprint,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  type JWK,
  type KeyObject,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";

const GRAPH_DEFAULT = "https://graph.microsoft.com/.default";

interface PopKey {
  privateKey: KeyObject | CryptoKey;
  jwk: JWK;
  kid: string;
}

async function popKey(): Promise<PopKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const { kty, n, e } = await exportJWK(publicKey);
  const jwk = { kty, n, e } as JWK;
  return { privateKey, jwk, kid: await calculateJwkThumbprint(jwk, "sha256") };
}

function reqCnf(kid: string): string {
  return Buffer.from(JSON.stringify({ kid })).toString("base64url");
}

interface ShrClaims {
  at: string;
  m: string;
  u: string;
  p: string;
  ts?: number;
  nonce?: string;
}

/** An SHR as the agreed wire format has it, signed by `signer` with `key`'s public JWK in cnf. */
async function shr(key: PopKey, claims: ShrClaims, signer: PopKey = key): Promise<string> {
  const payload = {
    ts: Math.floor(Date.now() / 1000),
    ...claims,
    cnf: { jwk: key.jwk },
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "RS256", typ: "pop", kid: key.kid })
    .sign(signer.privateKey);
}

/** `PoP nonce="<fresh nonce>", error="...", error_description="..."`, nonce in group 1. */
function challengePattern(error: string, description: string): RegExp {
  const quoted = description.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^PoP nonce="([A-Za-z0-9_-]{43})", error="${error}", error_description="${quoted}"$`);
}

describe("emulator proof-of-possession tokens and signed HTTP requests", () => {
  let emulator: Emulator;
  let resource: URL;
  let key: PopKey;
  let popToken: string;

  const tokenRequest = (fields: Record<string, string>) =>
    fetch(`${authority(emulator)}/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams(fields) });

  const daemonFields = (extra: Record<string, string>) => {
    const daemon = app(emulator, "daemon");
    return {
      grant_type: "client_credentials",
      client_id: daemon.clientId,
      client_secret: daemon.secret as string,
      scope: GRAPH_DEFAULT,
      ...extra,
    };
  };

  const call = (authorization: string | undefined, init: { method?: string; url?: string } = {}) =>
    fetch(init.url ?? resource, {
      method: init.method ?? "GET",
      headers: authorization ? { authorization } : {},
    });

  const goodClaims = (overrides: Partial<ShrClaims> = {}): ShrClaims => ({
    at: popToken,
    m: "GET",
    u: resource.host,
    p: resource.pathname,
    ...overrides,
  });

  async function expectRefused(res: Response, description: string): Promise<string> {
    expect(res.status).toBe(401);
    const header = res.headers.get("www-authenticate") ?? "";
    expect(header).toMatch(challengePattern("invalid_token", description));
    expect(await res.json()).toEqual({ error: "invalid_token", error_description: description });
    return challengePattern("invalid_token", description).exec(header)?.[1] as string;
  }

  beforeAll(async () => {
    emulator = await startTestEmulator();
    resource = new URL(`${emulator.url}/_emulator/resource`);
    key = await popKey();
    const res = await tokenRequest(daemonFields({ token_type: "pop", req_cnf: reqCnf(key.kid) }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe("pop");
    popToken = String(body.access_token);
  });
  afterAll(() => emulator?.stop());

  it("binds the access token to the key named in req_cnf (cnf.kid) and logs the fields", async () => {
    expect(decodeJwt(popToken).cnf).toEqual({ kid: key.kid });
    emulator.clearRequests();
    const other = await popKey();
    const res = await tokenRequest(daemonFields({ token_type: "pop", req_cnf: reqCnf(other.kid) }));
    expect(decodeJwt(String(((await res.json()) as Record<string, unknown>).access_token)).cnf).toEqual({
      kid: other.kid,
    });
    const [logged] = emulator.requests("token");
    expect(logged?.form).toMatchObject({ token_type: "pop", req_cnf: reqCnf(other.kid) });
  });

  it("binds a user's token from the password grant too", async () => {
    const alice = user(emulator, "managed");
    const res = await tokenRequest({
      grant_type: "password",
      client_id: app(emulator, "public").clientId,
      username: alice.username,
      password: alice.password as string,
      scope: "User.Read openid profile offline_access",
      token_type: "pop",
      req_cnf: reqCnf(key.kid),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe("pop");
    const claims = decodeJwt(String(body.access_token));
    expect(claims.cnf).toEqual({ kid: key.kid });
    expect(claims.preferred_username).toBe(alice.username);
    expect(body.refresh_token).toEqual(expect.any(String));
    const ok = await call(`PoP ${await shr(key, goodClaims({ at: String(body.access_token) }))}`);
    expect(ok.status).toBe(200);
  });

  it("refuses a PoP request without req_cnf, or with one that has no kid (AADSTS900144, AADSTS90100)", async () => {
    const missing = await tokenRequest(daemonFields({ token_type: "pop" }));
    expect(missing.status).toBe(400);
    const missingBody = (await missing.json()) as Record<string, unknown>;
    expect(missingBody.error).toBe("invalid_request");
    expect(missingBody.error_codes).toEqual([900144]);
    expect(String(missingBody.error_description)).toMatch(
      /^AADSTS900144: The request body must contain the following parameter: 'req_cnf'\. Trace ID/,
    );
    for (const bad of ["not base64 json!", reqCnf(""), Buffer.from('{"kty":"RSA"}').toString("base64url")]) {
      const res = await tokenRequest(daemonFields({ token_type: "pop", req_cnf: bad }));
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.error).toBe("invalid_request");
      expect(body.error_codes).toEqual([90100]);
      expect(String(body.error_description)).toMatch(
        /^AADSTS90100: The 'req_cnf' parameter is empty or not valid/,
      );
    }
    const unknown = await tokenRequest(daemonFields({ token_type: "mac" }));
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Record<string, unknown>).error_codes).toEqual([90100]);
  });

  it("accepts a good signed request and says which key the token is bound to", async () => {
    const res = await call(`PoP ${await shr(key, goodClaims())}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ aud: "https://graph.microsoft.com", cnf: { kid: key.kid } });
  });

  it("refuses the same SHR replayed with another method", async () => {
    const signed = await shr(key, goodClaims());
    await expectRefused(
      await call(`PoP ${signed}`, { method: "POST" }),
      "The signed HTTP request is for another method than POST.",
    );
  });

  it("refuses an SHR made for another URL (host or path)", async () => {
    await expectRefused(
      await call(`PoP ${await shr(key, goodClaims({ u: "graph.microsoft.com" }))}`),
      `The signed HTTP request is for another host than ${resource.host}.`,
    );
    await expectRefused(
      await call(`PoP ${await shr(key, goodClaims({ p: "/v1.0/me" }))}`),
      "The signed HTTP request is for another path than /_emulator/resource.",
    );
  });

  it("refuses an SHR whose ts is more than five minutes old or ahead", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const ts of [now - 301, now + 301]) {
      await expectRefused(
        await call(`PoP ${await shr(key, goodClaims({ ts }))}`),
        "The signed HTTP request's ts is more than 300 seconds from now.",
      );
    }
  });

  it("refuses an SHR signed with a key other than the bound one", async () => {
    const thief = await popKey();
    await expectRefused(
      await call(`PoP ${await shr(thief, goodClaims())}`),
      "The signed HTTP request is signed by a key other than the one the access token is bound to.",
    );
    await expectRefused(
      await call(`PoP ${await shr(key, goodClaims(), thief)}`),
      "The signed HTTP request's signature does not verify with the key in cnf.jwk.",
    );
  });

  it("refuses a Bearer token presented as PoP, and a PoP token presented as Bearer", async () => {
    const bearer = await tokenRequest(daemonFields({}));
    const bearerBody = (await bearer.json()) as Record<string, unknown>;
    expect(bearerBody.token_type).toBe("Bearer");
    await expectRefused(
      await call(`PoP ${await shr(key, goodClaims({ at: String(bearerBody.access_token) }))}`),
      "The access token is a Bearer token, not bound to a key: use it as Authorization: Bearer.",
    );
    await expectRefused(
      await call(`Bearer ${popToken}`),
      "This access token is bound to a key: send it in a signed HTTP request, Authorization: PoP <SHR>.",
    );
    expect((await call(`Bearer ${String(bearerBody.access_token)}`)).status).toBe(200);
  });

  it("keeps the challenge's quoted string whole when the Host header the description echoes has a quote", async () => {
    const signed = await shr(key, goodClaims());
    const header = await new Promise<string>((resolve, reject) => {
      const req = request(resource, {
        headers: { host: `${resource.host}"evil`, authorization: `PoP ${signed}` },
        servername: "localhost",
      });
      req.on("response", (res) => {
        res.resume();
        resolve(String(res.headers["www-authenticate"]));
      });
      req.on("error", reject);
      req.end();
    });
    expect(header).toMatch(
      challengePattern(
        "invalid_token",
        `The signed HTTP request is for another host than ${resource.host}'evil.`,
      ),
    );
  });

  it("asks for a nonce when the resource requires one, and accepts the SHR that carries it", async () => {
    const url = `${resource}?nonce=required`;
    const first = await call(undefined, { url });
    const nonce = await expectRefused(
      first,
      "This resource takes proof-of-possession tokens only: send Authorization: PoP <SHR> with the nonce of this challenge.",
    );
    const again = await expectRefused(
      await call(`PoP ${await shr(key, goodClaims())}`, { url }),
      "The signed HTTP request must carry the nonce of this challenge.",
    );
    expect(again).not.toBe(nonce);
    await expectRefused(
      await call(`PoP ${await shr(key, goodClaims({ nonce: `${nonce.slice(0, -2)}AA` }))}`, { url }),
      "The signed HTTP request must carry the nonce of this challenge.",
    );
    const ok = await call(`PoP ${await shr(key, goodClaims({ nonce }))}`, { url });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Record<string, unknown>).cnf).toEqual({ kid: key.kid });
  });
});
