/**
 * Continuous Access Evaluation: a CAE-capable app (`clientCapabilities: ["cp1"]`) whose token a
 * resource refuses after a revocation event decodes the resource's claims challenge and passes it
 * to `acquireTokenSilent`, which then (and only then) bypasses the cache.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { decodePart } from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import {
  accountOf,
  caeEvent,
  callResource,
  form,
  homeAccountIdOf,
  SCOPES,
  seededUser,
  signIn,
  sleepUntilSecond,
  success,
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

const issuedAt = (accessToken: string): number =>
  decodePart(accessToken.split(".")[1] as string).iat as number;

describe("claims challenges (CAE)", () => {
  it("a refused token's claims challenge bypasses the cache once, and the new token is accepted", async () => {
    const client = webApp(emulator, { clientCapabilities: ["cp1"] });
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const account = await accountOf(client, alice);
    const first = signed.result.access_token;

    const accepted = await callResource(emulator, first);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ oid: signed.result.id_token_claims?.oid, xms_cc: ["cp1"] });

    // iat has one-second resolution: the event must come in a later second than the token's issue.
    await sleepUntilSecond(issuedAt(first) + 1);
    const eventAt = await caeEvent(emulator, alice.username);

    const refused = await callResource(emulator, first);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toMatchObject({ realm: "", error: "insufficient_claims" });
    const claimsChallenge = Buffer.from(refused.challenge?.claims ?? "", "base64").toString("utf8");
    expect(JSON.parse(claimsChallenge)).toEqual({
      access_token: { nbf: { essential: true, value: String(eventAt) } },
    });

    // Without the challenge the cache still answers: it knows nothing of the event.
    emulator.clearRequests();
    const stale = success(await client.acquireTokenSilent(SCOPES, account));
    expect(stale).toMatchObject({ token_source: "cache", access_token: first });
    expect(tokenRequests(emulator)).toEqual([]);

    const renewed = success(await client.acquireTokenSilent(SCOPES, account, { claimsChallenge }));

    expect(renewed.token_source).toBe("identity_provider");
    expect(renewed.access_token).not.toBe(first);
    const [refresh, ...others] = tokenRequests(emulator);
    expect(others).toEqual([]);
    const sent = form(refresh);
    expect(sent).toMatchObject({ grant_type: "refresh_token", refresh_token: signed.result.refresh_token });
    expect(JSON.parse(sent.claims ?? "")).toEqual({
      access_token: { nbf: { essential: true, value: String(eventAt) }, xms_cc: { values: ["cp1"] } },
    });
    expect(refresh?.headers["x-anchormailbox"]).toBe(
      `Oid:${homeAccountIdOf(signed.result).replace(".", "@")}`,
    );
    expect((await callResource(emulator, renewed.access_token)).status).toBe(200);

    // The challenge was met: without one, the new token comes from the cache.
    const after = success(await client.acquireTokenSilent(SCOPES, account));
    expect(after).toMatchObject({ token_source: "cache", access_token: renewed.access_token });
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("the sign-in itself declares the app's capabilities in the claims parameter", async () => {
    const client = webApp(emulator, { clientCapabilities: ["cp1"] });
    const signed = await signIn(client, seededUser(emulator, "alice"), { redirectUri: WEB_REDIRECT });

    const expected = { access_token: { xms_cc: { values: ["cp1"] } } };
    expect(JSON.parse(new URL(signed.flow.auth_uri).searchParams.get("claims") ?? "")).toEqual(expected);
    const [redemption] = tokenRequests(emulator, "authorization_code");
    expect(JSON.parse(form(redemption).claims ?? "")).toEqual(expected);
  });
});

describe("the emulator's CAE resource", () => {
  it("refuses tokens it did not sign and applies a revocation event only to its user", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const bob = seededUser(emulator, "bob");
    const a = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const b = await signIn(client, bob, { redirectUri: WEB_REDIRECT });
    const [header, payload, signature] = a.result.access_token.split(".");
    const claims = decodePart(payload as string);
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, oid: "someone-else" })).toString("base64url")}.${signature}`;

    const refused = await callResource(emulator, forged);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toMatchObject({ realm: "", error: "invalid_token" });
    expect(refused.challenge?.claims).toBeUndefined();
    const missing = await fetch(`${emulator.url}/_emulator/resource`);
    expect(missing.status).toBe(401);

    await sleepUntilSecond(Math.max(issuedAt(a.result.access_token), issuedAt(b.result.access_token)) + 1);
    await caeEvent(emulator, alice.username);

    expect((await callResource(emulator, a.result.access_token)).status).toBe(401);
    expect((await callResource(emulator, b.result.access_token)).status).toBe(200);
    expect(emulator.requests("resource").map((r) => r.status)).toEqual([401, 401, 401, 200]);
  });
});
