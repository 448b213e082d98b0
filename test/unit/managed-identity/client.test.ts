/**
 * ManagedIdentityClient over a fetch of the test's own (the HTTP injection point): the cache and
 * its keys, refresh_on at half of a long lifetime, claims challenges with token revocation, client
 * capabilities, single-flight, throttling (spec section 8.3), IMDS retries and aborts.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { SerializableTokenCache } from "../../../src/cache/serializable-token-cache.js";
import { ManagedIdentityClient } from "../../../src/managed-identity/client.js";
import { ManagedIdentityError } from "../../../src/managed-identity/errors.js";
import {
  SystemAssignedManagedIdentity,
  UserAssignedManagedIdentity,
} from "../../../src/managed-identity/identity.js";
import type { ManagedIdentityPlatform } from "../../../src/managed-identity/platform.js";
import {
  isTokenError,
  type TokenFailure,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/protocol/token-result.js";

interface Seen {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string;
}

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

function host(env: Record<string, string>, answer: (seen: Seen, index: number) => Answer | Promise<Answer>) {
  const seen: Seen[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    const request: Seen = {
      url: new URL(url),
      method: init.method ?? "GET",
      headers: Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>)),
      body: typeof init.body === "string" ? init.body : "",
    };
    seen.push(request);
    const { status, body, headers } = await answer(request, seen.length - 1);
    return new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status,
      ...(headers ? { headers } : {}),
    });
  };
  const platform: ManagedIdentityPlatform = {
    env: () => env,
    os: "linux",
    fileExists: () => false,
    readKeyFile: () => Promise.reject(new Error("unused")),
    hostname: () => "VM-1.contoso.com",
    createFetch: () => fetch,
  };
  return { seen, platform };
}

const IMDS = { MSAL_MANAGED_IDENTITY_ENDPOINT: "http://imds.test/token" };
const APP_SERVICE = { IDENTITY_ENDPOINT: "http://app.test/msi/token", IDENTITY_HEADER: "secret-header" };
function success(result: TokenResult): TokenSuccess {
  if (isTokenError(result)) throw new Error(`expected a token, got ${result.error}`);
  return result;
}
function failure(result: TokenResult): TokenFailure {
  if (!isTokenError(result)) throw new Error("expected a failure");
  return result;
}
const nowSeconds = () => Math.floor(Date.now() / 1000);
const token = (n: number, lifetime = 3600) => ({
  status: 200,
  body: { access_token: `t${n}`, expires_in: String(lifetime), token_type: "Bearer" },
});
const appServiceToken = (n: number) => ({
  status: 200,
  body: {
    access_token: `t${n}`,
    expires_on: String(nowSeconds() + 3600),
    resource: "r",
    token_type: "Bearer",
  },
});

afterEach(() => {
  vi.useRealTimers();
});

describe("ManagedIdentityClient", () => {
  it("sends IMDS's request and serves the second call from the cache, under MSAL's MI cache keys", async () => {
    const { seen, platform } = host(IMDS, (_, i) => token(i, 7890));
    const cache = new SerializableTokenCache();
    const client = new ManagedIdentityClient(
      new UserAssignedManagedIdentity({ resourceId: "1234" }),
      { tokenCache: cache },
      platform,
    );
    const first = success(await client.acquireTokenForClient({ resource: "https://vault.azure.net" }));
    expect(first).toMatchObject({ access_token: "t0", expires_in: 7890, token_source: "identity_provider" });
    expect(first.refresh_on).toBeGreaterThanOrEqual(nowSeconds() + 3944);
    expect(first.refresh_on).toBeLessThanOrEqual(nowSeconds() + 3945);
    expect(seen[0]?.url.toString()).toBe(
      "http://imds.test/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&msi_res_id=1234",
    );
    expect(seen[0]?.headers).toEqual({ Metadata: "true" });
    const second = await client.acquireTokenForClient({ resource: "https://vault.azure.net" });
    expect(second).toMatchObject({ access_token: "t0", token_source: "cache", refresh_on: first.refresh_on });
    expect(seen).toHaveLength(1);
    const entry = Object.values(JSON.parse(cache.serialize()).AccessToken)[0];
    expect(entry).toMatchObject({
      client_id: "1234",
      environment: "vm-1.contoso.com",
      realm: "managed_identity",
      target: "https://vault.azure.net",
      home_account_id: null,
    });
    expect(Object.keys(JSON.parse(cache.serialize()).AccessToken)).toEqual([
      "-vm-1.contoso.com-accesstoken-1234-managed_identity-https://vault.azure.net",
    ]);
  });

  it("keys the system-assigned identity's tokens by SYSTEM_ASSIGNED_MANAGED_IDENTITY; no refresh_on under 2 hours", async () => {
    const { platform } = host(IMDS, () => token(0, 3599));
    const cache = new SerializableTokenCache();
    const client = new ManagedIdentityClient(
      new SystemAssignedManagedIdentity(),
      { tokenCache: cache },
      platform,
    );
    const result = success(await client.acquireTokenForClient({ resource: "r" }));
    expect(result.refresh_on).toBeUndefined();
    expect(Object.values(JSON.parse(cache.serialize()).AccessToken)[0]).toMatchObject({
      client_id: "SYSTEM_ASSIGNED_MANAGED_IDENTITY",
    });
  });

  it("renews a token past its refresh_on, and serves the cached one when renewal fails", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { seen, platform } = host(IMDS, (_, i) =>
      i === 0
        ? token(0, 7200)
        : i === 1
          ? token(1, 7200)
          : { status: 400, body: { error: "invalid_request" } },
    );
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, platform);
    await client.acquireTokenForClient({ resource: "r" });
    vi.setSystemTime(Date.now() + 3601 * 1000);
    expect(await client.acquireTokenForClient({ resource: "r" })).toMatchObject({
      access_token: "t1",
      token_source: "identity_provider",
    });
    vi.setSystemTime(Date.now() + 3601 * 1000);
    expect(await client.acquireTokenForClient({ resource: "r" })).toMatchObject({
      access_token: "t1",
      token_source: "cache",
    });
    expect(seen).toHaveLength(3);
  });

  it("skips the cache for a claims challenge and sends App Service the revoked token's SHA-256 and xms_cc", async () => {
    const { seen, platform } = host(APP_SERVICE, (_, i) => appServiceToken(i));
    const client = new ManagedIdentityClient(
      new UserAssignedManagedIdentity({ clientId: "cid" }),
      { clientCapabilities: ["cp1"] },
      platform,
    );
    await client.acquireTokenForClient({ resource: "r" });
    const renewed = await client.acquireTokenForClient({
      resource: "r",
      claimsChallenge: '{"access_token":{"nbf":{"essential":true}}}',
    });
    expect(renewed).toMatchObject({ access_token: "t1", token_source: "identity_provider" });
    expect(seen[0]?.headers).toEqual({ "X-IDENTITY-HEADER": "secret-header", Metadata: "true" });
    expect(Object.fromEntries(seen[0]?.url.searchParams ?? [])).toEqual({
      "api-version": "2019-08-01",
      resource: "r",
      client_id: "cid",
      xms_cc: "cp1",
    });
    const { createHash } = await import("node:crypto");
    expect(seen[1]?.url.searchParams.get("token_sha256_to_refresh")).toBe(
      createHash("sha256").update("t0").digest("hex"),
    );
    expect(await client.acquireTokenForClient({ resource: "r" })).toMatchObject({
      access_token: "t1",
      token_source: "cache",
    });
  });

  it("never sends token_sha256_to_refresh to IMDS", async () => {
    const { seen, platform } = host(IMDS, (_, i) => token(i));
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, platform);
    await client.acquireTokenForClient({ resource: "r" });
    await client.acquireTokenForClient({ resource: "r", claimsChallenge: "{}" });
    expect(seen).toHaveLength(2);
    expect(seen[1]?.url.searchParams.has("token_sha256_to_refresh")).toBe(false);
  });

  it("shares one request among concurrent identical calls", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { seen, platform } = host(IMDS, async (_, i) => {
      await gate;
      return token(i);
    });
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, platform);
    const calls = Array.from({ length: 5 }, () => client.acquireTokenForClient({ resource: "r" }));
    release();
    const results = await Promise.all(calls);
    expect(seen).toHaveLength(1);
    expect(results.map((r) => success(r).access_token)).toEqual(["t0", "t0", "t0", "t0", "t0"]);
  });

  it("retries IMDS on 404, 410, 429 and 5xx with growing waits, then gives up with the last answer", async () => {
    const { seen, platform } = host(IMDS, (_, i) => ({
      status: [404, 410, 429, 503][i] ?? 500,
      body: { error: "temporarily_unavailable" },
    }));
    const client = new ManagedIdentityClient(
      new SystemAssignedManagedIdentity(),
      { imdsRetry: { maxRetries: 3, firstDelayMs: 20 } },
      platform,
    );
    const started = Date.now();
    const result = await client.acquireTokenForClient({ resource: "r" });
    expect(result).toMatchObject({ error: "temporarily_unavailable", status: 503 });
    expect(seen).toHaveLength(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20 + 40 + 80 - 5);
    // The 503 holds identical requests back (spec 8.3): the next call is answered without a request.
    const held = failure(await client.acquireTokenForClient({ resource: "r" }));
    expect(held).toMatchObject({ error: "temporarily_unavailable", status: 503 });
    expect(held.retry_after).toBeGreaterThan(0);
    expect(seen).toHaveLength(4);
  });

  it("does not retry IMDS on 400, nor other sources at all", async () => {
    const imds = host(IMDS, () => ({ status: 400, body: { error: "invalid_request" } }));
    await new ManagedIdentityClient(
      new SystemAssignedManagedIdentity(),
      { imdsRetry: { firstDelayMs: 1 } },
      imds.platform,
    ).acquireTokenForClient({ resource: "r" });
    expect(imds.seen).toHaveLength(1);
    const app = host(APP_SERVICE, () => ({ status: 500, body: { statusCode: 500, message: "down" } }));
    const result = await new ManagedIdentityClient(
      new SystemAssignedManagedIdentity(),
      {},
      app.platform,
    ).acquireTokenForClient({ resource: "r" });
    expect(result).toEqual({ error: "invalid_scope", error_description: "500, down", status: 500 });
    expect(app.seen).toHaveLength(1);
  });

  it("ends a call, and the wait between IMDS retries, when the caller's signal aborts", async () => {
    const { seen, platform } = host(IMDS, () => ({ status: 500, body: { error: "server_error" } }));
    const client = new ManagedIdentityClient(
      new SystemAssignedManagedIdentity(),
      { imdsRetry: { firstDelayMs: 60_000 } },
      platform,
    );
    const controller = new AbortController();
    const call = client.acquireTokenForClient({ resource: "r", signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 50);
    const started = Date.now();
    await expect(call).rejects.toThrow("stop");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(seen).toHaveLength(1);
    await expect(
      client.acquireTokenForClient({ resource: "r", signal: AbortSignal.abort(new Error("early")) }),
    ).rejects.toThrow("early");
  });

  it("refuses user-assigned identities on Cloud Shell before any request", async () => {
    const { seen, platform } = host({ MSI_ENDPOINT: "http://shell.test/oauth2/token" }, () => token(0));
    const client = new ManagedIdentityClient(
      new UserAssignedManagedIdentity({ clientId: "c" }),
      {},
      platform,
    );
    await expect(client.acquireTokenForClient({ resource: "r" })).rejects.toMatchObject({
      constructor: ManagedIdentityError,
      code: "user_assigned_not_supported",
    });
    expect(seen).toHaveLength(0);
  });

  it("posts Cloud Shell's resource in a form", async () => {
    const { seen, platform } = host({ MSI_ENDPOINT: "http://shell.test/oauth2/token" }, () =>
      appServiceToken(0),
    );
    const result = await new ManagedIdentityClient(
      new SystemAssignedManagedIdentity(),
      {},
      platform,
    ).acquireTokenForClient({ resource: "https://management.azure.com/" });
    expect(result).toMatchObject({ access_token: "t0" });
    expect(seen[0]).toMatchObject({ method: "POST", body: "resource=https%3A%2F%2Fmanagement.azure.com%2F" });
    expect(seen[0]?.headers).toMatchObject({ Metadata: "true" });
  });

  it("says there is no managed identity when nothing names a source and IMDS cannot be reached", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 169.254.169.254:80"), {
      code: "ECONNREFUSED",
    });
    const platform: ManagedIdentityPlatform = {
      ...host({}, () => token(0)).platform,
      createFetch: () => () => Promise.reject(new TypeError("fetch failed", { cause: refused })),
    };
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, platform);
    const error = await client.acquireTokenForClient({ resource: "r" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManagedIdentityError);
    expect(error).toMatchObject({ code: "managed_identity_unavailable", cause: { name: "NetworkError" } });
    expect((error as Error).message).toContain("169.254.169.254");
  });

  it("refuses a missing resource and a claims challenge that is not JSON", async () => {
    const { platform } = host(IMDS, () => token(0));
    const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, platform);
    await expect(client.acquireTokenForClient({ resource: "" })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    await expect(client.acquireTokenForClient("r" as never)).rejects.toThrow(
      'acquireTokenForClient({ resource: "r" })',
    );
    await expect(
      client.acquireTokenForClient({ resource: "r", claimsChallenge: "nope" }),
    ).rejects.toMatchObject({ code: "invalid_argument" });
  });
});
