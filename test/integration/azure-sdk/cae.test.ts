/**
 * Continuous Access Evaluation through the Azure SDK's own HTTP pipeline: `@azure/core-rest-pipeline`'s
 * `bearerTokenAuthenticationPolicy`, with an msal-ts public client's `tokenCredential`, calls the
 * emulator's CAE resource. After a revocation event the resource answers 401 with a claims
 * challenge; the policy calls `getToken` with `claims`, msal-ts redeems the refresh token with that
 * claims challenge (plus the app's `cp1`), and the retried request succeeds.
 */
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest,
  type Pipeline,
} from "@azure/core-rest-pipeline";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import {
  AuthenticationRequiredError,
  decodePart,
  type MsalTokenCredential,
  type PublicClientApplication,
  tokenCredential,
} from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import {
  caeEvent,
  form,
  publicApp,
  SCOPES,
  seededUser,
  sleepUntilSecond,
  success,
  tokenRequests,
} from "../users/helpers.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const httpClient = createDefaultHttpClient();

function pipelineWith(credential: MsalTokenCredential): Pipeline {
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: SCOPES }));
  return pipeline;
}

async function callResource(pipeline: Pipeline): Promise<{ status: number; body: Record<string, unknown> }> {
  const request = createPipelineRequest({ url: `${emulator.url}/_emulator/resource`, method: "GET" });
  const response = await pipeline.sendRequest(httpClient, request);
  return { status: response.status, body: JSON.parse(response.bodyAsText ?? "{}") };
}

/** Alice signed in to the public app (cp1), with her token issued in a past second. */
async function aliceSignedIn(): Promise<{
  client: PublicClientApplication;
  firstToken: string;
  oid: string;
}> {
  const client = publicApp(emulator, { clientCapabilities: ["cp1"] });
  const alice = seededUser(emulator, "alice");
  const signed = success(await client.acquireTokenByUsernamePassword(alice.username, alice.password, SCOPES));
  const oid = String(signed.id_token_claims?.oid);
  return { client, firstToken: signed.access_token, oid };
}

const issuedAt = (token: string): number => decodePart(token.split(".")[1] as string).iat as number;

describe("bearerTokenAuthenticationPolicy with tokenCredential and a CAE claims challenge", () => {
  it("a revoked token's claims challenge gets a new token through the refresh token, and the retried call succeeds", async () => {
    const { client, firstToken, oid } = await aliceSignedIn();
    const pipeline = pipelineWith(tokenCredential(client));
    emulator.clearRequests();

    const before = await callResource(pipeline);
    expect(before).toEqual({
      status: 200,
      body: { oid, aud: "https://graph.microsoft.com", scp: "User.Read", xms_cc: ["cp1"] },
    });
    // The token came from msal-ts's cache: the policy's first getToken made no token request.
    expect(tokenRequests(emulator)).toEqual([]);

    await sleepUntilSecond(issuedAt(firstToken) + 1);
    const eventAt = await caeEvent(emulator, seededUser(emulator, "alice").username);
    const after = await callResource(pipeline);

    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ oid, xms_cc: ["cp1"] });
    const resourceCalls = emulator.requests("resource");
    expect(resourceCalls).toHaveLength(3);
    const [refresh, ...others] = tokenRequests(emulator);
    expect(others).toEqual([]);
    const sent = form(refresh);
    expect(sent.grant_type).toBe("refresh_token");
    expect(JSON.parse(sent.claims ?? "")).toEqual({
      access_token: { nbf: { essential: true, value: String(eventAt) }, xms_cc: { values: ["cp1"] } },
    });
  });

  it("when the refresh token is revoked too, the call fails with AuthenticationRequiredError carrying the claims", async () => {
    const { client, firstToken } = await aliceSignedIn();
    const alice = seededUser(emulator, "alice");
    const pipeline = pipelineWith(tokenCredential(client));
    expect((await callResource(pipeline)).status).toBe(200);

    await sleepUntilSecond(issuedAt(firstToken) + 1);
    const eventAt = await caeEvent(emulator, alice.username);
    expect(emulator.revoke({ username: alice.username })).toBe(1);
    emulator.clearRequests();

    const error = await callResource(pipeline).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(AuthenticationRequiredError);
    const required = error as AuthenticationRequiredError;
    expect(required.name).toBe("AuthenticationRequiredError");
    expect(required.code).toBe("authentication_required");
    expect(required.scopes).toEqual(SCOPES);
    expect(JSON.parse(required.claims ?? "")).toEqual({
      access_token: { nbf: { essential: true, value: String(eventAt) } },
    });
    expect(required.result?.error).toBe("invalid_grant");
    expect(tokenRequests(emulator, "refresh_token")).toHaveLength(1);
    expect(emulator.requests("resource")).toHaveLength(1);
  });
});
