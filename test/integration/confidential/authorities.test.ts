/**
 * The kinds of authority the emulator serves, with client credentials: a tenant by GUID and by
 * domain (one realm in the cache), instance discovery through the emulator's endpoint, a generic
 * OIDC authority, ADFS (RS256 + x5t assertions), the B2C path form; and the failures: an unknown
 * tenant and `common`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, type Emulator } from "../../../emulator/index.js";
import {
  ConfidentialClientApplication,
  type ConfidentialClientOptions,
  ConfigurationError,
  SerializableTokenCache,
} from "../../../src/node/index.js";
import { app, startTestEmulator } from "../../support/emulator.js";
import {
  type DirectoryApp,
  daemonCertificate,
  form,
  GRAPH_DEFAULT,
  jwtClaims,
  jwtHeader,
  onlyTokenRequest,
  success,
  thumbprintOf,
  tokenRequests,
} from "./helpers.js";

describe("client credentials on each kind of authority", () => {
  let emulator: Emulator;
  let daemon: DirectoryApp;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    daemon = app(emulator, "daemon");
  });
  afterAll(() => emulator?.stop());
  beforeEach(() => emulator.clearRequests());

  const withSecret = (options: Partial<ConfidentialClientOptions>) =>
    new ConfidentialClientApplication(daemon.clientId, {
      validateAuthority: false,
      clientCredential: daemon.secret as string,
      ...options,
    });

  it("a tenant by GUID and by domain share one realm (the GUID) in the cache", async () => {
    const cache = new SerializableTokenCache();
    const byId = withSecret({ authority: `${emulator.url}/${CONTOSO_TENANT_ID}`, tokenCache: cache });
    const byDomain = withSecret({ authority: `${emulator.url}/contoso.onmicrosoft.com`, tokenCache: cache });

    const first = success(await byId.acquireTokenForClient(GRAPH_DEFAULT));
    expect(jwtClaims(first.access_token).tid).toBe(CONTOSO_TENANT_ID);
    const realms = () =>
      Object.values(JSON.parse(cache.serialize()).AccessToken as Record<string, { realm: string }>).map(
        (at) => at.realm,
      );
    expect(realms()).toEqual([CONTOSO_TENANT_ID]);

    // The domain authority discovers the same tenant, so it finds the token cached under the GUID.
    const second = success(await byDomain.acquireTokenForClient(GRAPH_DEFAULT));
    expect(second).toMatchObject({ token_source: "cache", access_token: first.access_token });
    expect(emulator.requests("discovery").map((r) => r.path)).toEqual([
      `/${CONTOSO_TENANT_ID}/v2.0/.well-known/openid-configuration`,
      "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
    ]);
    expect(tokenRequests(emulator)).toHaveLength(1);

    // A fresh token by domain goes to the GUID's token endpoint and lands in the same realm.
    const forced = success(await byDomain.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
    expect(jwtClaims(forced.access_token).tid).toBe(CONTOSO_TENANT_ID);
    expect(tokenRequests(emulator)[1]?.path).toBe(`/${CONTOSO_TENANT_ID}/oauth2/v2.0/token`);
    expect(realms()).toEqual([CONTOSO_TENANT_ID]);
  });

  it("instance discovery through the emulator's endpoint, then tenant discovery, then the token", async () => {
    const cca = new ConfidentialClientApplication(daemon.clientId, {
      authority: `${emulator.url}/${CONTOSO_TENANT_ID}`,
      instanceDiscovery: `${emulator.url}/common/discovery/instance`,
      clientCredential: daemon.secret as string,
    });
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    const log = emulator.requests();
    expect(log.map((r) => r.endpoint)).toEqual(["instance", "discovery", "token"]);
    expect(log[0]?.query).toMatchObject({
      "api-version": "1.1",
      authorization_endpoint: `${emulator.url}/${CONTOSO_TENANT_ID}/oauth2/v2.0/authorize`,
    });
  });

  it("instance discovery refuses an authority it does not know: ConfigurationError", async () => {
    const cca = new ConfidentialClientApplication(daemon.clientId, {
      authority: `https://login.unknown-cloud.example/${CONTOSO_TENANT_ID}`,
      instanceDiscovery: `${emulator.url}/common/discovery/instance`,
      clientCredential: daemon.secret as string,
    });
    const error = await cca.acquireTokenForClient(GRAPH_DEFAULT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain("invalid_instance");
    expect((error as Error).message).toContain("validateAuthority: false");
    expect(tokenRequests(emulator)).toHaveLength(0);
  });

  it("an oidcAuthority (the tenant's v2.0 issuer) works as a generic OpenID provider", async () => {
    const cca = new ConfidentialClientApplication(daemon.clientId, {
      oidcAuthority: `${emulator.url}/${CONTOSO_TENANT_ID}/v2.0`,
      clientCredential: daemon.secret as string,
    });
    const result = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(jwtClaims(result.access_token).tid).toBe(CONTOSO_TENANT_ID);
    expect(emulator.requests("discovery").map((r) => r.path)).toEqual([
      `/${CONTOSO_TENANT_ID}/v2.0/.well-known/openid-configuration`,
    ]);
    expect(success(await cca.acquireTokenForClient(GRAPH_DEFAULT)).token_source).toBe("cache");
  });

  it("ADFS: the v1 token endpoint under /adfs, and a certificate assertion signed RS256 with x5t", async () => {
    const certificate = daemonCertificate(emulator);
    const cca = new ConfidentialClientApplication(daemon.clientId, {
      authority: `${emulator.url}/adfs`,
      clientCredential: { privateKey: certificate.privateKey, publicCertificate: certificate.certificate },
    });
    const result = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    // The emulator's ADFS is its first tenant's on-premises side.
    expect(jwtClaims(result.access_token).tid).toBe(CONTOSO_TENANT_ID);
    expect(emulator.requests("discovery").map((r) => r.path)).toEqual([
      "/adfs/.well-known/openid-configuration",
    ]);
    const request = onlyTokenRequest(emulator);
    expect(request.path).toBe("/adfs/oauth2/token");
    const header = jwtHeader(form(request).client_assertion as string);
    expect(header.alg).toBe("RS256");
    expect(header.x5t).toBe(thumbprintOf(certificate.certificate, "sha1"));
    expect(header["x5t#S256"]).toBeUndefined();
    expect(jwtClaims(form(request).client_assertion as string).aud).toBe(`${emulator.url}/adfs/oauth2/token`);
  });

  it("B2C path form: /<tenant>/b2c_1_signin keeps the policy in its URLs", async () => {
    const cca = new ConfidentialClientApplication(daemon.clientId, {
      authority: `${emulator.url}/contoso.onmicrosoft.com/b2c_1_signin`,
      clientCredential: daemon.secret as string,
    });
    const result = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(jwtClaims(result.access_token).tid).toBe(CONTOSO_TENANT_ID);
    expect(emulator.requests("discovery").map((r) => r.path)).toEqual([
      "/contoso.onmicrosoft.com/b2c_1_signin/v2.0/.well-known/openid-configuration",
    ]);
    expect(onlyTokenRequest(emulator).path).toBe("/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token");
    expect(success(await cca.acquireTokenForClient(GRAPH_DEFAULT)).token_source).toBe("cache");
  });

  it("an unknown tenant throws a ConfigurationError naming the authority and the fix", async () => {
    const unknown = `${emulator.url}/no-such-tenant.onmicrosoft.com`;
    const cca = withSecret({ authority: unknown });
    const error = await cca.acquireTokenForClient(GRAPH_DEFAULT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe("authority");
    const message = (error as Error).message;
    expect(message).toContain(unknown);
    expect(message).toContain("answered HTTP 400");
    expect(message).toContain("Check the tenant id or domain");
    expect(tokenRequests(emulator)).toHaveLength(0);
  });

  it("common with client credentials: the emulator's invalid_request result (AADSTS900023)", async () => {
    const cca = withSecret({ authority: `${emulator.url}/common` });
    const result = await cca.acquireTokenForClient(GRAPH_DEFAULT);
    expect(result).toMatchObject({ error: "invalid_request", error_codes: [900023], status: 400 });
    expect(onlyTokenRequest(emulator).path).toBe("/common/oauth2/v2.0/token");
  });
});
