/**
 * ManagedIdentityClient in Azure Cloud Shell: MSI_ENDPOINT without MSI_SECRET, a POST with the
 * resource in a form, the signed-in user's token. The cache, claims challenges, user-assigned
 * identities refused, and Cloud Shell's `{"error":{"code","message"}}` errors.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorWithManagedIdentity } from "../../../emulator/index.js";
import {
  getManagedIdentitySource,
  ManagedIdentityError,
  SystemAssignedManagedIdentity,
  UserAssignedManagedIdentity,
} from "../../../src/node/index.js";
import {
  ARM,
  clientOn,
  failure,
  hostOf,
  nowSeconds,
  requestsTo,
  startManagedIdentityEmulator,
  success,
} from "./helpers.js";

let emulator: EmulatorWithManagedIdentity;
beforeAll(async () => {
  emulator = await startManagedIdentityEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

describe("Cloud Shell", () => {
  it("is detected from the environment Cloud Shell sets", () => {
    expect(getManagedIdentitySource(hostOf(emulator, "cloudShell"))).toBe("CloudShell");
  });

  it("posts the resource and gets the signed-in user's token, then serves it from the cache", async () => {
    const client = clientOn(emulator, "cloudShell", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    expect(decodeJwt(first.access_token)).toMatchObject({ idtyp: "user" });
    // One-hour tokens get no refresh_on.
    expect(first.refresh_on).toBeUndefined();
    expect(first.expires_in).toBeGreaterThan(3500);
    const [request] = requestsTo(emulator, "cloudShell");
    expect(request).toMatchObject({ method: "POST", form: { resource: ARM } });
    expect(request?.headers.metadata).toBe("true");
    expect(success(await client.acquireTokenForClient({ resource: ARM })).token_source).toBe("cache");
    expect(requestsTo(emulator, "cloudShell")).toHaveLength(1);
  });

  it("skips the cache for a claims challenge", async () => {
    const client = clientOn(emulator, "cloudShell", new SystemAssignedManagedIdentity());
    success(await client.acquireTokenForClient({ resource: ARM }));
    const again = success(await client.acquireTokenForClient({ resource: ARM, claimsChallenge: "{}" }));
    expect(again.token_source).toBe("identity_provider");
    expect(requestsTo(emulator, "cloudShell")).toHaveLength(2);
  });

  it("sets refresh_on at half life for a token of 2 hours", async () => {
    emulator.managedIdentity.configure({ lifetimes: { cloudShell: 7200 } });
    const result = success(
      await clientOn(emulator, "cloudShell", new SystemAssignedManagedIdentity()).acquireTokenForClient({
        resource: ARM,
      }),
    );
    expect(result.refresh_on).toBeGreaterThanOrEqual(nowSeconds() + 3599);
    expect(result.refresh_on).toBeLessThanOrEqual(nowSeconds() + 3600);
  });

  it("refuses a user-assigned identity before any request", async () => {
    const client = clientOn(
      emulator,
      "cloudShell",
      new UserAssignedManagedIdentity({ clientId: "00000000-0000-0000-0000-000000000001" }),
    );
    const error = await client.acquireTokenForClient({ resource: ARM }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManagedIdentityError);
    expect(error).toMatchObject({ code: "user_assigned_not_supported" });
    expect(requestsTo(emulator, "cloudShell")).toHaveLength(0);
  });

  it("maps Cloud Shell's error code and message", async () => {
    const client = clientOn(emulator, "cloudShell", new SystemAssignedManagedIdentity());
    const result = failure(await client.acquireTokenForClient({ resource: "https://unknown.example" }));
    expect(result).toMatchObject({ error: "invalid_resource", status: 400 });
    expect(result.error_description).toContain("unknown.example");
    emulator.injectFault({
      endpoint: "cloud-shell",
      status: 500,
      body: { error: { code: "InternalError", message: "try later" } },
      times: 1,
    });
    expect(failure(await client.acquireTokenForClient({ resource: ARM }))).toEqual({
      error: "InternalError",
      error_description: "try later",
      status: 500,
    });
    // A POST is never throttled (spec section 8.3): the next call goes out.
    success(await client.acquireTokenForClient({ resource: ARM }));
  });
});
