/**
 * The emulator's on-behalf-of grant over HTTPS: a middle-tier API trades the user's access token
 * for a Microsoft Graph token, and refuses assertions meant for someone else or made for an app.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";
import { claims, expectEntraError, passwordGrant, postToken } from "./helpers.js";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

describe("emulator on-behalf-of grant", () => {
  let emulator: Emulator;
  let middleTier: ReturnType<typeof app>;
  let alice: { username: string; password: string };
  beforeAll(async () => {
    emulator = await startTestEmulator();
    middleTier = app(emulator, "middle-tier");
    alice = user(emulator, "managed");
  });
  afterAll(() => emulator?.stop());

  const userTokenFor = async (scope: string) => {
    const answer = await passwordGrant(emulator, app(emulator, "public").clientId, alice, scope);
    expect(answer.status).toBe(200);
    return answer.body.access_token as string;
  };

  const onBehalfOf = (assertion: string, extra: Record<string, string> = {}) =>
    postToken(emulator, {
      grant_type: JWT_BEARER,
      client_id: middleTier.clientId,
      client_secret: middleTier.secret as string,
      assertion,
      scope: "https://graph.microsoft.com/User.Read",
      requested_token_use: "on_behalf_of",
      ...extra,
    });

  it("trades the user's token for the middle tier for a Graph token for the same user", async () => {
    const incoming = await userTokenFor(`api://${middleTier.clientId}/access_as_user`);
    expect(claims(incoming).aud).toBe(middleTier.clientId);
    const answer = await onBehalfOf(incoming);
    expect(answer.status).toBe(200);
    expect(claims(answer.body.access_token)).toMatchObject({
      aud: "https://graph.microsoft.com",
      azp: middleTier.clientId,
      preferred_username: alice.username,
      oid: claims(incoming).oid,
      scp: "User.Read",
    });
  });

  it("an assertion for another audience (a Graph token): invalid_grant AADSTS500131", async () => {
    const graphToken = await userTokenFor("User.Read");
    expectEntraError(await onBehalfOf(graphToken), 400, "invalid_grant", 500131);
  });

  it("an app-only token as the assertion: invalid_grant AADSTS50013", async () => {
    const daemon = app(emulator, "daemon");
    const appOnly = await postToken(emulator, {
      grant_type: "client_credentials",
      client_id: daemon.clientId,
      client_secret: daemon.secret as string,
      scope: `api://${middleTier.clientId}/.default`,
    });
    expect(claims(appOnly.body.access_token)).toMatchObject({ aud: middleTier.clientId, idtyp: "app" });
    expectEntraError(await onBehalfOf(appOnly.body.access_token as string), 400, "invalid_grant", 50013);
  });

  it("an assertion that is not a token from this emulator: invalid_grant AADSTS50013", async () => {
    const incoming = await userTokenFor(`api://${middleTier.clientId}/access_as_user`);
    const [header, payload] = incoming.split(".");
    const forged = `${header}.${payload}.${Buffer.from("not the signature").toString("base64url")}`;
    expectEntraError(await onBehalfOf(forged), 400, "invalid_grant", 50013);
  });

  it("without requested_token_use=on_behalf_of: invalid_request AADSTS900144", async () => {
    const incoming = await userTokenFor(`api://${middleTier.clientId}/access_as_user`);
    expectEntraError(
      await onBehalfOf(incoming, { requested_token_use: "something_else" }),
      400,
      "invalid_request",
      900144,
    );
  });

  it("a public client cannot use on-behalf-of: 401 invalid_client AADSTS7000218", async () => {
    const incoming = await userTokenFor(`api://${middleTier.clientId}/access_as_user`);
    const answer = await postToken(emulator, {
      grant_type: JWT_BEARER,
      client_id: app(emulator, "public").clientId,
      assertion: incoming,
      scope: "https://graph.microsoft.com/User.Read",
      requested_token_use: "on_behalf_of",
    });
    expectEntraError(answer, 401, "invalid_client", 7000218);
  });
});
