/**
 * ManagedIdentityClient on Service Fabric: IDENTITY_ENDPOINT over HTTPS with the `Secret` header and
 * a self-signed certificate accepted only when its thumbprint is IDENTITY_SERVER_THUMBPRINT. The
 * cluster chooses the identity; the cache, token revocation and capabilities; error mapping.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorWithManagedIdentity } from "../../../emulator/index.js";
import {
  ManagedIdentityError,
  SystemAssignedManagedIdentity,
  UserAssignedManagedIdentity,
} from "../../../src/node/index.js";
import {
  ARM,
  claimsFor,
  clientOn,
  failure,
  hostOf,
  requestsTo,
  sha256Hex,
  startManagedIdentityEmulator,
  success,
} from "./helpers.js";

let emulator: EmulatorWithManagedIdentity;
beforeAll(async () => {
  emulator = await startManagedIdentityEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const system = () => emulator.managedIdentity.identities.systemAssigned.serviceFabric;

describe("Service Fabric", () => {
  it("gets a token over HTTPS from the endpoint whose certificate has the thumbprint, with the Secret header", async () => {
    const client = clientOn(emulator, "serviceFabric", new SystemAssignedManagedIdentity());
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    claimsFor(first, system());
    const [request] = requestsTo(emulator, "serviceFabric");
    expect(request?.query).toEqual({ "api-version": "2019-07-01-preview", resource: ARM });
    expect(request?.headers).toHaveProperty("secret");
    expect(success(await client.acquireTokenForClient({ resource: ARM })).token_source).toBe("cache");
    expect(requestsTo(emulator, "serviceFabric")).toHaveLength(1);
  });

  it("accepts the thumbprint as SHA-256 too, in lower case with colons", async () => {
    const sha256 = new X509Certificate(emulator.managedIdentity.serviceFabric.certificatePem).fingerprint256;
    const platform = hostOf(emulator, "serviceFabric", { IDENTITY_SERVER_THUMBPRINT: sha256.toLowerCase() });
    const client = clientOn(emulator, "serviceFabric", new SystemAssignedManagedIdentity(), {}, platform);
    claimsFor(await client.acquireTokenForClient({ resource: ARM }), system());
  });

  it("refuses a server whose certificate has another thumbprint, before sending anything", async () => {
    const platform = hostOf(emulator, "serviceFabric", { IDENTITY_SERVER_THUMBPRINT: "AB".repeat(20) });
    const client = clientOn(emulator, "serviceFabric", new SystemAssignedManagedIdentity(), {}, platform);
    const error = await client.acquireTokenForClient({ resource: ARM }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManagedIdentityError);
    expect(error).toMatchObject({ code: "service_fabric_certificate_mismatch" });
    expect((error as Error).message).toContain(emulator.managedIdentity.serviceFabric.thumbprint);
    expect(requestsTo(emulator, "serviceFabric")).toHaveLength(0);
  });

  it("refuses a thumbprint that is not one, and an http endpoint, as unverifiable", async () => {
    const bad = hostOf(emulator, "serviceFabric", { IDENTITY_SERVER_THUMBPRINT: "not-a-thumbprint" });
    await expect(
      clientOn(emulator, "serviceFabric", new SystemAssignedManagedIdentity(), {}, bad).acquireTokenForClient(
        { resource: ARM },
      ),
    ).rejects.toMatchObject({ code: "service_fabric_certificate_unverifiable" });
    const plain = hostOf(emulator, "serviceFabric", {
      IDENTITY_ENDPOINT: emulator.managedIdentity.endpoints.serviceFabric.replace("https:", "http:"),
    });
    await expect(
      clientOn(
        emulator,
        "serviceFabric",
        new SystemAssignedManagedIdentity(),
        {},
        plain,
      ).acquireTokenForClient({ resource: ARM }),
    ).rejects.toMatchObject({ code: "service_fabric_certificate_unverifiable" });
    expect(requestsTo(emulator, "serviceFabric")).toHaveLength(0);
  });

  it("sends no identity parameter for a user-assigned identity: the cluster chooses it", async () => {
    const identity = emulator.managedIdentity.identities.userAssigned[0];
    if (!identity) throw new Error("the emulator has no user-assigned identity");
    const warnings: string[] = [];
    const client = clientOn(
      emulator,
      "serviceFabric",
      new UserAssignedManagedIdentity({ clientId: identity.clientId }),
      {
        logger: { level: "warning", log: (_, message) => warnings.push(message) },
      },
    );
    success(await client.acquireTokenForClient({ resource: ARM }));
    expect(Object.keys(requestsTo(emulator, "serviceFabric")[0]?.query ?? {})).toEqual([
      "api-version",
      "resource",
    ]);
    expect(warnings.join("\n")).toContain("application's manifest");
  });

  it("skips the cache for a claims challenge, names the refused token by its SHA-256 and sends xms_cc", async () => {
    const client = clientOn(emulator, "serviceFabric", new SystemAssignedManagedIdentity(), {
      clientCapabilities: ["cp1"],
    });
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    const renewed = success(await client.acquireTokenForClient({ resource: ARM, claimsChallenge: "{}" }));
    expect(renewed.access_token).not.toBe(first.access_token);
    const requests = requestsTo(emulator, "serviceFabric");
    expect(requests[1]?.query).toMatchObject({
      token_sha256_to_refresh: sha256Hex(first.access_token),
      xms_cc: "cp1",
    });
    expect(claimsFor(renewed, system()).xms_cc).toEqual(["cp1"]);
  });

  it("maps Service Fabric's error codes, with the body as the description", async () => {
    const wrongSecret = clientOn(
      emulator,
      "serviceFabric",
      new SystemAssignedManagedIdentity(),
      {},
      hostOf(emulator, "serviceFabric", { IDENTITY_HEADER: "not-the-secret" }),
    );
    const notFound = failure(await wrongSecret.acquireTokenForClient({ resource: ARM }));
    expect(notFound).toMatchObject({ error: "invalid_client", status: 401 });
    expect(JSON.parse(notFound.error_description ?? "")).toMatchObject({
      error: { code: "ManagedIdentityNotFound" },
    });
    const client = clientOn(emulator, "serviceFabric", new SystemAssignedManagedIdentity());
    const unknown = failure(await client.acquireTokenForClient({ resource: "https://unknown.example" }));
    expect(unknown).toMatchObject({ error: "invalid_request", status: 400 });
    for (const [code, error] of [
      ["SecretHeaderNotFound", "unauthorized_client"],
      ["ArgumentNullOrEmpty", "invalid_scope"],
    ]) {
      const body = { error: { correlationId: "c", code, message: "m" } };
      emulator.injectFault({ endpoint: "service-fabric", status: 400, body, times: 1 });
      expect(failure(await client.acquireTokenForClient({ resource: `${ARM}/${code}` }))).toEqual({
        error,
        error_description: JSON.stringify(body),
        status: 400,
      });
    }
  });
});
