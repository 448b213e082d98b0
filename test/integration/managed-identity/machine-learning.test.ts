/**
 * ManagedIdentityClient on Azure Machine Learning compute: MSI_ENDPOINT and MSI_SECRET, the `secret`
 * header, `clientid` for user-assigned identities and DEFAULT_IDENTITY_CLIENT_ID for the
 * system-assigned one. The cache and refresh_on, claims challenges, and the invalid_scope mapping.
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

const system = () => emulator.managedIdentity.identities.systemAssigned.machineLearning;

describe("Azure Machine Learning", () => {
  it("gets the system-assigned identity's token, naming it by DEFAULT_IDENTITY_CLIENT_ID, and caches it", async () => {
    const client = clientOn(emulator, "machineLearning", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    claimsFor(first, system());
    expect(first.refresh_on).toBeGreaterThanOrEqual(nowSeconds() + 43_199);
    const [request] = requestsTo(emulator, "machineLearning");
    expect(request?.query).toEqual({
      "api-version": "2017-09-01",
      resource: ARM,
      clientid: emulator.managedIdentity.environment("machineLearning").DEFAULT_IDENTITY_CLIENT_ID,
    });
    expect(request?.headers).toHaveProperty("secret");
    expect(success(await client.acquireTokenForClient({ resource: ARM })).token_source).toBe("cache");
    expect(requestsTo(emulator, "machineLearning")).toHaveLength(1);
  });

  it("names a user-assigned identity by client id as clientid", async () => {
    const identity = emulator.managedIdentity.identities.userAssigned[0];
    if (!identity) throw new Error("the emulator has no user-assigned identity");
    const client = clientOn(
      emulator,
      "machineLearning",
      new UserAssignedManagedIdentity({ clientId: identity.clientId }),
    );
    claimsFor(await client.acquireTokenForClient({ resource: VAULT }), identity);
    expect(requestsTo(emulator, "machineLearning")[0]?.query.clientid).toBe(identity.clientId);
  });

  it.each([
    ["objectId", "object_id"],
    ["resourceId", "msi_res_id"],
  ] as const)(
    "sends %s as %s, which the compute refuses: invalid_scope with its body",
    async (kind, parameter) => {
      const identity = emulator.managedIdentity.identities.userAssigned[0];
      if (!identity) throw new Error("the emulator has no user-assigned identity");
      const client = clientOn(
        emulator,
        "machineLearning",
        new UserAssignedManagedIdentity({ [kind]: identity[kind] } as { clientId: string }),
      );
      const result = failure(await client.acquireTokenForClient({ resource: ARM }));
      expect(result).toMatchObject({ error: "invalid_scope", status: 400 });
      expect(JSON.parse(result.error_description ?? "")).toMatchObject({ error: "invalid_request" });
      expect(requestsTo(emulator, "machineLearning")[0]?.query[parameter]).toBe(identity[kind]);
    },
  );

  it("skips the cache for a claims challenge", async () => {
    const client = clientOn(emulator, "machineLearning", new SystemAssignedManagedIdentity());
    success(await client.acquireTokenForClient({ resource: ARM }));
    expect(
      success(await client.acquireTokenForClient({ resource: ARM, claimsChallenge: "{}" })).token_source,
    ).toBe("identity_provider");
    expect(requestsTo(emulator, "machineLearning")).toHaveLength(2);
  });

  it("maps every error to invalid_scope with the body as the description", async () => {
    const wrong = clientOn(
      emulator,
      "machineLearning",
      new SystemAssignedManagedIdentity(),
      {},
      hostOf(emulator, "machineLearning", { MSI_SECRET: "not-the-secret" }),
    );
    expect(failure(await wrong.acquireTokenForClient({ resource: ARM }))).toEqual({
      error: "invalid_scope",
      error_description: JSON.stringify({
        error: "unauthorized_client",
        message: "The secret header does not match MSI_SECRET.",
      }),
      status: 401,
    });
    const client = clientOn(emulator, "machineLearning", new SystemAssignedManagedIdentity());
    expect(
      failure(await client.acquireTokenForClient({ resource: "https://unknown.example" })),
    ).toMatchObject({
      error: "invalid_scope",
      status: 400,
    });
  });
});
