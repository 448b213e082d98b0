/**
 * ManagedIdentityClient on a VM: the emulator's IMDS, reached through AZURE_POD_IDENTITY_AUTHORITY_HOST
 * (and MSAL_MANAGED_IDENTITY_ENDPOINT). System- and user-assigned identities by each id kind, the
 * cache, refresh_on at half a long lifetime, claims challenges, error mapping, retries with back-off
 * on 404/410/429/5xx and giving up, throttling, and aborts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { EmulatorWithManagedIdentity } from "../../../emulator/index.js";
import {
  getManagedIdentitySource,
  ManagedIdentityClient,
  SystemAssignedManagedIdentity,
  UserAssignedManagedIdentity,
} from "../../../src/node/index.js";
import {
  ARM,
  claimsFor,
  clientOn,
  failure,
  hostOf,
  nowSeconds,
  requestsTo,
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
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

const fast = { imdsRetry: { firstDelayMs: 10, maxDelayMs: 40 } };

describe("IMDS", () => {
  it("is found through process.env by the Node entry's default platform", async () => {
    for (const [name, value] of Object.entries(emulator.managedIdentity.environment("imds")))
      vi.stubEnv(name, value);
    expect(getManagedIdentitySource()).toBe("Imds");
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity());
    const result = await client.acquireTokenForClient({ resource: ARM });
    claimsFor(result, emulator.managedIdentity.identities.systemAssigned.imds);
    const [request] = requestsTo(emulator, "imds");
    expect(request?.query).toEqual({ "api-version": "2018-02-01", resource: ARM });
    expect(request?.headers.metadata).toBe("true");
  });

  it.each([
    ["clientId", "client_id"],
    ["objectId", "object_id"],
    ["resourceId", "msi_res_id"],
  ] as const)("gets the user-assigned identity's token by %s (%s)", async (kind, parameter) => {
    const identity = emulator.managedIdentity.identities.userAssigned[0];
    if (!identity) throw new Error("the emulator has no user-assigned identity");
    const id = { [kind]: identity[kind] } as { clientId: string };
    const client = clientOn(emulator, "imds", new UserAssignedManagedIdentity(id));
    claimsFor(await client.acquireTokenForClient({ resource: VAULT }), identity);
    expect(requestsTo(emulator, "imds")[0]?.query[parameter]).toBe(identity[kind]);
  });

  it("serves the second call from the cache, and a claims challenge from the endpoint", async () => {
    const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    expect(first.token_source).toBe("identity_provider");
    const second = success(await client.acquireTokenForClient({ resource: ARM }));
    expect(second).toMatchObject({ access_token: first.access_token, token_source: "cache" });
    expect(requestsTo(emulator, "imds")).toHaveLength(1);
    const challenged = success(
      await client.acquireTokenForClient({
        resource: ARM,
        claimsChallenge: '{"access_token":{"xms_cc":{"values":["cp1"]}}}',
      }),
    );
    expect(challenged.token_source).toBe("identity_provider");
    const requests = requestsTo(emulator, "imds");
    expect(requests).toHaveLength(2);
    // IMDS has no token revocation: the hash is for App Service and Service Fabric only.
    expect(requests[1]?.query.token_sha256_to_refresh).toBeUndefined();
  });

  it("shares one request among concurrent identical calls", async () => {
    emulator.injectFault({ endpoint: "imds", delayMs: 200, times: 1 });
    const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity());
    const results = await Promise.all(
      Array.from({ length: 5 }, () => client.acquireTokenForClient({ resource: ARM })),
    );
    expect(new Set(results.map((r) => success(r).access_token)).size).toBe(1);
    expect(requestsTo(emulator, "imds")).toHaveLength(1);
  });

  it("sets refresh_on at half of a 2-hour lifetime, renews after it, and none under 2 hours", async () => {
    emulator.managedIdentity.configure({ lifetimes: { imds: 7200 }, sourceCache: false });
    vi.useFakeTimers({ toFake: ["Date"] });
    const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    expect(first.refresh_on).toBeGreaterThanOrEqual(nowSeconds() + 3599);
    expect(first.refresh_on).toBeLessThanOrEqual(nowSeconds() + 3600);
    vi.setSystemTime(Date.now() + 3500 * 1000);
    expect(success(await client.acquireTokenForClient({ resource: ARM })).token_source).toBe("cache");
    vi.setSystemTime(Date.now() + 200 * 1000);
    const renewed = success(await client.acquireTokenForClient({ resource: ARM }));
    expect(renewed.token_source).toBe("identity_provider");
    expect(renewed.access_token).not.toBe(first.access_token);
    expect(requestsTo(emulator, "imds")).toHaveLength(2);
    emulator.managedIdentity.configure({ lifetimes: { imds: 7199 } });
    expect(success(await client.acquireTokenForClient({ resource: VAULT })).refresh_on).toBeUndefined();
  });

  it("passes IMDS's OAuth error on, with its AADSTS code", async () => {
    const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity());
    const result = failure(await client.acquireTokenForClient({ resource: "https://unknown.example" }));
    expect(result).toMatchObject({ error: "invalid_resource", error_codes: [500011], status: 400 });
    const unknown = clientOn(
      emulator,
      "imds",
      new UserAssignedManagedIdentity({ clientId: "00000000-0000-0000-0000-00000000dead" }),
    );
    expect(failure(await unknown.acquireTokenForClient({ resource: ARM }))).toMatchObject({
      error: "invalid_request",
      error_description: "Identity not found",
      status: 400,
    });
  });

  it.each([404, 410, 429, 500, 503])(
    "retries HTTP %i with back-off and then gets the token",
    async (status) => {
      emulator.injectFault({
        endpoint: "imds",
        status,
        body: { error: "temporarily_unavailable" },
        times: 2,
      });
      const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity(), fast);
      const started = Date.now();
      success(await client.acquireTokenForClient({ resource: ARM }));
      expect(requestsTo(emulator, "imds")).toHaveLength(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(10 + 20 - 2);
    },
  );

  it("gives up after its retries with the last answer, and holds identical requests back", async () => {
    emulator.injectFault({ endpoint: "imds", status: 503, body: { error: "server_error" }, times: "always" });
    const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity(), fast);
    expect(failure(await client.acquireTokenForClient({ resource: ARM }))).toMatchObject({
      error: "server_error",
      status: 503,
    });
    expect(requestsTo(emulator, "imds")).toHaveLength(4);
    const held = failure(await client.acquireTokenForClient({ resource: ARM }));
    expect(held).toMatchObject({ error: "server_error", status: 503 });
    expect(held.retry_after).toBeGreaterThanOrEqual(1);
    expect(requestsTo(emulator, "imds")).toHaveLength(4);
  });

  it("does not retry a 400", async () => {
    emulator.injectFault({ endpoint: "imds", status: 400, body: { error: "invalid_request" }, times: 1 });
    const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity(), fast);
    expect(failure(await client.acquireTokenForClient({ resource: ARM })).status).toBe(400);
    expect(requestsTo(emulator, "imds")).toHaveLength(1);
  });

  it("ends the call when the caller aborts, waiting for a response or between retries", async () => {
    emulator.injectFault({ endpoint: "imds", delayMs: 5000, status: 500, times: 1 });
    const client = clientOn(emulator, "imds", new SystemAssignedManagedIdentity(), {
      imdsRetry: { firstDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    const started = Date.now();
    const reason = new Error("the caller gave up");
    await expect(
      client.acquireTokenForClient({ resource: ARM, signal: AbortSignal.timeout(200) }),
    ).rejects.toMatchObject({
      name: "TimeoutError",
    });
    emulator.injectFault({ endpoint: "imds", status: 500, times: 1 });
    const controller = new AbortController();
    const call = client.acquireTokenForClient({ resource: VAULT, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 300);
    await expect(call).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("uses MSAL_MANAGED_IDENTITY_ENDPOINT as MSAL Python does", async () => {
    const platform = hostOf(
      emulator,
      "imds",
      {},
      {
        env: () => ({ MSAL_MANAGED_IDENTITY_ENDPOINT: emulator.managedIdentity.endpoints.imds }),
      },
    );
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, platform);
    success(await client.acquireTokenForClient({ resource: ARM }));
    expect(requestsTo(emulator, "imds")).toHaveLength(1);
  });
});
