/**
 * ManagedIdentityClient on an Azure Arc-enabled server: IDENTITY_ENDPOINT and IMDS_ENDPOINT, the
 * agent's challenge (a key file named by `WWW-Authenticate: Basic realm=<path>`, read and sent back),
 * and its negatives: a challenge that is not Basic realm, a key file outside the key directory or
 * larger than 4096 bytes, an unsupported platform, and user-assigned identities.
 */
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorWithManagedIdentity } from "../../../emulator/index.js";
import {
  ArcPlatformNotSupportedError,
  ManagedIdentityClient,
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

const system = () => emulator.managedIdentity.identities.systemAssigned.azureArc;
const arcClient = () => clientOn(emulator, "azureArc", new SystemAssignedManagedIdentity());

async function refused(call: Promise<unknown>, code: string): Promise<ManagedIdentityError> {
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ManagedIdentityError);
  expect(error).toMatchObject({ code });
  return error as ManagedIdentityError;
}

describe("Azure Arc", () => {
  it("answers the challenge with the key file's contents and caches the token", async () => {
    const client = arcClient();
    const first = success(await client.acquireTokenForClient({ resource: ARM }));
    claimsFor(first, system());
    expect(first.refresh_on).toBeGreaterThanOrEqual(nowSeconds() + 43_199);
    const [challenge, answer] = requestsTo(emulator, "azureArc");
    expect(challenge?.query).toEqual({ "api-version": "2020-06-01", resource: ARM });
    expect(challenge?.headers.metadata).toBe("true");
    expect(challenge?.headers.authorization).toBeUndefined();
    expect(answer?.headers).toHaveProperty("authorization");
    expect(answer?.status).toBe(200);
    expect(success(await client.acquireTokenForClient({ resource: ARM })).token_source).toBe("cache");
    expect(requestsTo(emulator, "azureArc")).toHaveLength(2);
  });

  it("skips the cache for a claims challenge, going through the agent's challenge again", async () => {
    const client = arcClient();
    success(await client.acquireTokenForClient({ resource: ARM }));
    const again = success(await client.acquireTokenForClient({ resource: ARM, claimsChallenge: "{}" }));
    expect(again.token_source).toBe("identity_provider");
    const requests = requestsTo(emulator, "azureArc");
    expect(requests).toHaveLength(4);
    expect(requests[3]?.query.token_sha256_to_refresh).toBeUndefined();
  });

  it("accepts a key file of exactly 4096 bytes", async () => {
    emulator.managedIdentity.configure({ arcKeyLength: 4096 });
    claimsFor(await arcClient().acquireTokenForClient({ resource: ARM }), system());
  });

  it("refuses a key file larger than 4096 bytes without sending it", async () => {
    emulator.managedIdentity.configure({ arcKeyLength: 4097 });
    const error = await refused(
      arcClient().acquireTokenForClient({ resource: ARM }),
      "arc_key_file_too_large",
    );
    expect(error.message).toContain("4097 bytes");
    expect(requestsTo(emulator, "azureArc")).toHaveLength(1);
  });

  it.each([["Bearer realm=/var/opt/azcmagent/tokens/a.key"], ["Basic realm=/tmp/a=b.key"], ["Basic"]])(
    "refuses the challenge %j",
    async (header) => {
      emulator.injectFault({
        endpoint: "azure-arc",
        status: 401,
        headers: { "www-authenticate": header },
        body: {},
        times: 1,
      });
      await refused(arcClient().acquireTokenForClient({ resource: ARM }), "arc_challenge_invalid");
      expect(requestsTo(emulator, "azureArc")).toHaveLength(1);
    },
  );

  it("refuses an answer with neither a challenge nor an error", async () => {
    emulator.injectFault({
      endpoint: "azure-arc",
      status: 200,
      body: { access_token: "x", expires_in: "3600" },
      times: 1,
    });
    await refused(arcClient().acquireTokenForClient({ resource: ARM }), "arc_challenge_invalid");
  });

  it("refuses a key file outside the key directory, or not a .key file, without reading it", async () => {
    const elsewhere = clientOn(emulator, "azureArc", new SystemAssignedManagedIdentity(), {
      arcKeyDirectoryForTests: join(emulator.managedIdentity.arcKeyDirectory, "other"),
    });
    await refused(elsewhere.acquireTokenForClient({ resource: ARM }), "arc_key_file_invalid");
    for (const path of ["/etc/passwd", join(emulator.managedIdentity.arcKeyDirectory, "secret.txt")]) {
      emulator.injectFault({
        endpoint: "azure-arc",
        status: 401,
        headers: { "www-authenticate": `Basic realm=${path}` },
        body: {},
        times: 1,
      });
      await refused(arcClient().acquireTokenForClient({ resource: ARM }), "arc_key_file_invalid");
    }
  });

  it("says when the key file cannot be read", async () => {
    const missing = join(emulator.managedIdentity.arcKeyDirectory, "missing.key");
    emulator.injectFault({
      endpoint: "azure-arc",
      status: 401,
      headers: { "www-authenticate": `Basic realm=${missing}` },
      body: {},
      times: 1,
    });
    const error = await refused(
      arcClient().acquireTokenForClient({ resource: ARM }),
      "arc_key_file_unreadable",
    );
    expect(error.message).toContain("himds");
  });

  it("throws ArcPlatformNotSupportedError on a platform the agent does not run on", async () => {
    const mac = hostOf(emulator, "azureArc", {}, { os: "darwin" });
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, mac);
    const error = await client.acquireTokenForClient({ resource: ARM }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArcPlatformNotSupportedError);
    expect(error).toBeInstanceOf(ManagedIdentityError);
    expect(error).toMatchObject({ code: "arc_platform_not_supported" });
  });

  it("looks for the key in the agent's own directory on Linux, refusing the emulator's", async () => {
    const client = new ManagedIdentityClient(
      new SystemAssignedManagedIdentity(),
      {},
      hostOf(emulator, "azureArc", {}, { os: "linux" }),
    );
    const error = await refused(client.acquireTokenForClient({ resource: ARM }), "arc_key_file_invalid");
    expect(error.message).toContain("/var/opt/azcmagent/tokens");
  });

  it.each([
    { clientId: "00000000-0000-0000-0000-000000000001" },
    { objectId: "00000000-0000-0000-0000-000000000002" },
    {
      resourceId:
        "/subscriptions/x/resourcegroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z",
    },
  ])("refuses user-assigned identity %j before any request", async (id) => {
    const client = clientOn(
      emulator,
      "azureArc",
      new UserAssignedManagedIdentity(id as { clientId: string }),
    );
    await refused(client.acquireTokenForClient({ resource: ARM }), "user_assigned_not_supported");
    expect(requestsTo(emulator, "azureArc")).toHaveLength(0);
  });

  it("maps the agent's errors to invalid_request with the body", async () => {
    const result = failure(await arcClient().acquireTokenForClient({ resource: "https://unknown.example" }));
    expect(result).toMatchObject({ error: "invalid_request", status: 400 });
    expect(JSON.parse(result.error_description ?? "")).toMatchObject({ error: "invalid_resource" });
    emulator.injectFault({ endpoint: "azure-arc", status: 500, body: { error: "server_error" }, times: 1 });
    expect(failure(await arcClient().acquireTokenForClient({ resource: ARM }))).toEqual({
      error: "invalid_request",
      error_description: '{"error":"server_error"}',
      status: 500,
    });
  });
});
