/**
 * The emulator's OpenID Connect discovery, JWKS and instance discovery endpoints, over HTTPS.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUMERS_TENANT_ID, type Emulator } from "../../emulator/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";
import { CONTOSO, expectEntraError, getJson, postToken } from "./helpers.js";

describe("emulator discovery endpoints", () => {
  let emulator: Emulator;
  let url: string;
  beforeAll(async () => {
    emulator = await startTestEmulator();
    url = emulator.url;
  });
  afterAll(() => emulator?.stop());

  const v2Config = (tenant: string) => getJson(`${url}/${tenant}/v2.0/.well-known/openid-configuration`);

  describe("v2.0 OpenID configuration", () => {
    it("by tenant GUID: issuer and every endpoint carry the GUID", async () => {
      const { status, body } = await v2Config(CONTOSO);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        issuer: `${url}/${CONTOSO}/v2.0`,
        authorization_endpoint: `${url}/${CONTOSO}/oauth2/v2.0/authorize`,
        token_endpoint: `${url}/${CONTOSO}/oauth2/v2.0/token`,
        device_authorization_endpoint: `${url}/${CONTOSO}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${url}/${CONTOSO}/oauth2/v2.0/logout`,
        jwks_uri: `${url}/${CONTOSO}/discovery/v2.0/keys`,
        response_modes_supported: ["query", "fragment", "form_post"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    });

    it.each(["contoso.onmicrosoft.com", "CONTOSO.onmicrosoft.com", "contoso.test"])(
      "by domain %s: answers with the tenant GUID, not the domain",
      async (domain) => {
        const byDomain = await v2Config(domain);
        const byId = await v2Config(CONTOSO);
        expect(byDomain.status).toBe(200);
        expect(byDomain.body).toEqual(byId.body);
        expect(JSON.stringify(byDomain.body)).not.toContain(domain);
      },
    );

    it.each(["common", "organizations"])(
      "%s: the {tenantid} issuer template and %s endpoints",
      async (name) => {
        const { status, body } = await v2Config(name);
        expect(status).toBe(200);
        expect(body).toMatchObject({
          issuer: `${url}/{tenantid}/v2.0`,
          authorization_endpoint: `${url}/${name}/oauth2/v2.0/authorize`,
          token_endpoint: `${url}/${name}/oauth2/v2.0/token`,
          jwks_uri: `${url}/${name}/discovery/v2.0/keys`,
        });
      },
    );

    it("consumers: the personal-account tenant 9188040d-6c67-4c5b-b112-36a304b66dad as issuer", async () => {
      const { status, body } = await v2Config("consumers");
      expect(status).toBe(200);
      expect(CONSUMERS_TENANT_ID).toBe("9188040d-6c67-4c5b-b112-36a304b66dad");
      expect(body).toMatchObject({
        issuer: `${url}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0`,
        token_endpoint: `${url}/consumers/oauth2/v2.0/token`,
      });
    });

    it("unknown tenant: 400 invalid_tenant AADSTS90002", async () => {
      expectEntraError(await v2Config("nosuchtenant.onmicrosoft.com"), 400, "invalid_tenant", 90002);
      expectEntraError(await v2Config("00000000-0000-0000-0000-000000000000"), 400, "invalid_tenant", 90002);
    });
  });

  describe("v1 OpenID configuration", () => {
    it("has an issuer and endpoints without /v2.0, and a device authorization endpoint", async () => {
      const { status, body } = await getJson(
        `${url}/contoso.onmicrosoft.com/.well-known/openid-configuration`,
      );
      expect(status).toBe(200);
      expect(body).toMatchObject({
        issuer: `${url}/${CONTOSO}/`,
        authorization_endpoint: `${url}/${CONTOSO}/oauth2/authorize`,
        token_endpoint: `${url}/${CONTOSO}/oauth2/token`,
        device_authorization_endpoint: `${url}/${CONTOSO}/oauth2/devicecode`,
        jwks_uri: `${url}/${CONTOSO}/discovery/keys`,
      });
      expect(JSON.stringify(body)).not.toContain("/v2.0");
    });

    it("serves the same signing keys at the v1 jwks_uri", async () => {
      const v1 = await getJson(`${url}/${CONTOSO}/discovery/keys`);
      const v2 = await getJson(`${url}/${CONTOSO}/discovery/v2.0/keys`);
      expect(v1.status).toBe(200);
      expect(v1.body).toEqual(v2.body);
    });

    it("unknown tenant: 400 invalid_tenant AADSTS90002", async () => {
      expectEntraError(
        await getJson(`${url}/nosuchtenant.test/.well-known/openid-configuration`),
        400,
        "invalid_tenant",
        90002,
      );
    });
  });

  describe("JWKS", () => {
    it("publishes an RSA signing key whose kid matches issued tokens", async () => {
      const { status, body } = await getJson(`${url}/${CONTOSO}/discovery/v2.0/keys`);
      expect(status).toBe(200);
      const keys = body.keys as Array<Record<string, unknown>>;
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ kty: "RSA", use: "sig", e: "AQAB", kid: expect.any(String) });
      const tokens = await signInWithPassword();
      expect(decodeProtectedHeader(tokens.id_token as string)).toMatchObject({
        alg: "RS256",
        kid: keys[0]?.kid,
      });
    });

    it("verifies an id_token's RS256 signature, issuer and audience with the published keys (jose)", async () => {
      const config = (await v2Config(CONTOSO)).body;
      const keys = createRemoteJWKSet(new URL(config.jwks_uri as string));
      const tokens = await signInWithPassword();
      const publicApp = app(emulator, "public");
      const alice = user(emulator, "managed");
      const { payload, protectedHeader } = await jwtVerify(tokens.id_token as string, keys, {
        issuer: config.issuer as string,
        audience: publicApp.clientId,
        algorithms: ["RS256"],
      });
      expect(protectedHeader.alg).toBe("RS256");
      expect(payload).toMatchObject({ tid: CONTOSO, preferred_username: alice.username, ver: "2.0" });
      // The access token (for Microsoft Graph) verifies with the same key.
      const access = await jwtVerify(tokens.access_token as string, keys, {
        issuer: config.issuer as string,
        audience: "https://graph.microsoft.com",
      });
      expect(access.payload.azp).toBe(publicApp.clientId);
    });

    it("rejects an id_token checked against another tenant's issuer or another audience", async () => {
      const keys = createRemoteJWKSet(new URL(`${url}/${CONTOSO}/discovery/v2.0/keys`));
      const tokens = await signInWithPassword();
      await expect(
        jwtVerify(tokens.id_token as string, keys, { issuer: `${url}/organizations/v2.0` }),
      ).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "iss" });
      await expect(
        jwtVerify(tokens.id_token as string, keys, { audience: app(emulator, "daemon").clientId }),
      ).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" });
    });

    it("unknown tenant: 400 invalid_tenant AADSTS90002", async () => {
      expectEntraError(
        await getJson(`${url}/nosuchtenant.test/discovery/v2.0/keys`),
        400,
        "invalid_tenant",
        90002,
      );
    });
  });

  describe("instance discovery", () => {
    const instance = (apiVersion: string, authorizationEndpoint: string) =>
      getJson(
        `${url}/common/discovery/instance?${new URLSearchParams({
          "api-version": apiVersion,
          authorization_endpoint: authorizationEndpoint,
        })}`,
      );

    it("api-version 1.0 answers only tenant_discovery_endpoint", async () => {
      const { status, body } = await instance("1.0", `${url}/${CONTOSO}/oauth2/v2.0/authorize`);
      expect(status).toBe(200);
      expect(body).toEqual({
        tenant_discovery_endpoint: `${url}/${CONTOSO}/v2.0/.well-known/openid-configuration`,
      });
      const config = await getJson(body.tenant_discovery_endpoint as string);
      expect(config.body.issuer).toBe(`${url}/${CONTOSO}/v2.0`);
    });

    it("api-version 1.1 adds metadata with the emulator's localhost/127.0.0.1 alias group and Microsoft's", async () => {
      const port = new URL(url).port;
      const { status, body } = await instance("1.1", `${url}/organizations/oauth2/v2.0/authorize`);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        tenant_discovery_endpoint: `${url}/organizations/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
      });
      const metadata = body.metadata as Array<Record<string, unknown>>;
      expect(metadata).toContainEqual({
        preferred_network: `localhost:${port}`,
        preferred_cache: `localhost:${port}`,
        aliases: [`localhost:${port}`, `127.0.0.1:${port}`],
      });
      expect(metadata).toContainEqual(
        expect.objectContaining({
          preferred_network: "login.microsoftonline.com",
          aliases: expect.arrayContaining(["login.microsoftonline.com", "login.windows.net"]),
        }),
      );
    });

    it("an authority at 127.0.0.1:<port> is the emulator too", async () => {
      const port = new URL(url).port;
      const { status, body } = await instance(
        "1.1",
        `https://127.0.0.1:${port}/${CONTOSO}/oauth2/v2.0/authorize`,
      );
      expect(status).toBe(200);
      expect(body.tenant_discovery_endpoint).toBe(`${url}/${CONTOSO}/v2.0/.well-known/openid-configuration`);
    });

    it("unknown host: 400 invalid_instance AADSTS50049", async () => {
      expectEntraError(
        await instance("1.1", "https://login.example.com/common/oauth2/v2.0/authorize"),
        400,
        "invalid_instance",
        50049,
      );
      expectEntraError(
        await instance("1.0", "https://login.example.com/common/oauth2/v2.0/authorize"),
        400,
        "invalid_instance",
        50049,
      );
    });

    it("no authorization_endpoint: 400 invalid_request AADSTS900144", async () => {
      expectEntraError(
        await getJson(`${url}/common/discovery/instance?api-version=1.1`),
        400,
        "invalid_request",
        900144,
      );
    });
  });

  async function signInWithPassword(): Promise<Record<string, unknown>> {
    const alice = user(emulator, "managed");
    const answer = await postToken(emulator, {
      grant_type: "password",
      client_id: app(emulator, "public").clientId,
      username: alice.username,
      password: alice.password,
      scope: "openid profile User.Read",
    });
    expect(answer.status).toBe(200);
    return answer.body;
  }
});
