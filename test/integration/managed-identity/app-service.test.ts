/**
 * ManagedIdentityClient on App Service (and Functions): IDENTITY_ENDPOINT with X-IDENTITY-HEADER.
 * System- and user-assigned identities by each id kind, the cache and refresh_on, a claims
 * challenge that names the refused token by its SHA-256 (token revocation), client capabilities,
 * and the "<statusCode>, <message>" error mapping.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorWithManagedIdentity } from "../../../emulator/index.js";
import { SystemAssignedManagedIdentity, UserAssignedManagedIdentity } from "../../../src/node/index.js";
import {
  ARM,
  claimsFor,
  clientOn,
  failure,
  hostOf,
  nowSeconds,
  requestsTo,
  sha256Hex,
  startManagedIdentityEmulator,
  success,
  VAULT,
} from "./helpers.js";

let emulator: EmulatorWithManagedIdentity;
beforeAll(async () => {
  emulator = await startManagedIdentityEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';

describe("App Service", () => {
  it("gets the system-assigned identity's token with the identity header, and caches it with refresh_on at half life", async () => {
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    claimsFor(first, emulator.managedIdentity.identities.systemAssigned.appService);
    // 24-hour tokens: renewed after 12 hours.
    expect(first.refresh_on).toBeGreaterThanOrEqual(nowSeconds() + 43_199);
    expect(first.refresh_on).toBeLessThanOrEqual(nowSeconds() + 43_200);
    const [request] = requestsTo(emulator, "appService");
    expect(request?.query).toEqual({ "api-version": "2019-08-01", resource: ARM });
    // The log redacts the secret header; the token proves it matched.
    expect(request?.headers).toHaveProperty("x-identity-header");
    expect(request?.headers.metadata).toBe("true");
    const second = success(await client.acquireTokenForClient({ resource: ARM }));
    expect(second).toMatchObject({
      access_token: first.access_token,
      token_source: "cache",
      refresh_on: first.refresh_on,
    });
    expect(requestsTo(emulator, "appService")).toHaveLength(1);
  });

  it.each([
    ["clientId", "client_id"],
    ["objectId", "object_id"],
    ["resourceId", "mi_res_id"],
  ] as const)("gets the user-assigned identity's token by %s (%s)", async (kind, parameter) => {
    const identity = emulator.managedIdentity.identities.userAssigned[0];
    if (!identity) throw new Error("the emulator has no user-assigned identity");
    const client = clientOn(
      emulator,
      "appService",
      new UserAssignedManagedIdentity({ [kind]: identity[kind] } as { clientId: string }),
    );
    claimsFor(await client.acquireTokenForClient({ resource: VAULT }), identity);
    expect(requestsTo(emulator, "appService")[0]?.query[parameter]).toBe(identity[kind]);
  });

  it("skips the cache for a claims challenge and names the refused token by its SHA-256, getting a new one", async () => {
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    const renewed = success(await client.acquireTokenForClient({ resource: ARM, claimsChallenge: CLAIMS }));
    expect(renewed.token_source).toBe("identity_provider");
    expect(renewed.access_token).not.toBe(first.access_token);
    const requests = requestsTo(emulator, "appService");
    expect(requests).toHaveLength(2);
    expect(requests[1]?.query.token_sha256_to_refresh).toBe(sha256Hex(first.access_token));
    // The new token replaced the refused one in the cache.
    expect(success(await client.acquireTokenForClient({ resource: ARM })).access_token).toBe(
      renewed.access_token,
    );
  });

  it("without the hash, the host hands out the token it kept: revocation needs it", async () => {
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    const other = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());
    // A new client has no cached token to name, so it sends no hash and gets the kept token.
    const again = success(await other.acquireTokenForClient({ resource: ARM, claimsChallenge: CLAIMS }));
    expect(again.access_token).toBe(first.access_token);
    expect(requestsTo(emulator, "appService")[1]?.query.token_sha256_to_refresh).toBeUndefined();
  });

  it("sends client capabilities as xms_cc, which the token carries", async () => {
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity(), {
      clientCapabilities: ["cp1"],
    });
    const claims = claimsFor(
      await client.acquireTokenForClient({ resource: ARM }),
      emulator.managedIdentity.identities.systemAssigned.appService,
    );
    expect(claims.xms_cc).toEqual(["cp1"]);
    expect(requestsTo(emulator, "appService")[0]?.query.xms_cc).toBe("cp1");
  });

  it("maps App Service's errors to invalid_scope with '<statusCode>, <message>'", async () => {
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());
    const unknown = failure(await client.acquireTokenForClient({ resource: "https://unknown.example" }));
    expect(unknown).toMatchObject({ error: "invalid_scope", status: 400 });
    expect(unknown.error_description).toMatch(/^400, /);
    const wrongHeader = clientOn(
      emulator,
      "appService",
      new SystemAssignedManagedIdentity(),
      {},
      hostOf(emulator, "appService", { IDENTITY_HEADER: "not-the-header" }),
    );
    expect(failure(await wrongHeader.acquireTokenForClient({ resource: ARM }))).toEqual({
      error: "invalid_scope",
      error_description: "401, The X-IDENTITY-HEADER header does not match IDENTITY_HEADER.",
      status: 401,
    });
    const noIdentity = clientOn(
      emulator,
      "appService",
      new UserAssignedManagedIdentity({ clientId: "00000000-0000-0000-0000-00000000dead" }),
    );
    expect(failure(await noIdentity.acquireTokenForClient({ resource: ARM })).error_description).toBe(
      "400, Unable to load the requested managed identity.",
    );
    // Errors are not cached: nothing went into the token cache.
    expect(noIdentity.tokenCache.counts().AccessToken).toBe(0);
  });

  it("does not retry App Service: one request per 500, then held back for 5 s", async () => {
    emulator.injectFault({
      endpoint: "app-service",
      status: 500,
      body: { statusCode: 500, message: "error content is undefined" },
      times: "always",
    });
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());
    expect(failure(await client.acquireTokenForClient({ resource: ARM }))).toMatchObject({
      error: "invalid_scope",
      error_description: "500, error content is undefined",
    });
    expect(failure(await client.acquireTokenForClient({ resource: ARM })).retry_after).toBeLessThanOrEqual(5);
    expect(requestsTo(emulator, "appService")).toHaveLength(1);
  });
});
