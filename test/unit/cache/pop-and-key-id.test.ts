/**
 * Bound access tokens in the cache: a PoP token (`AccessToken_With_AuthScheme`) lives beside the
 * Bearer token for the same scopes and neither serves the other's lookups; an SSH certificate's
 * `key_id` must match, and a new certificate for the same scopes replaces the old one (MSAL Python's
 * rule: the key has no key_id).
 */
import { describe, expect, it } from "vitest";
import { SerializableTokenCache, type TokenCacheEvent } from "../../../src/index.js";

const NOW = 1_000_000;
const base = {
  clientId: "client-1",
  homeAccountId: null,
  environment: "login.example.com",
  realm: "contoso",
  scopes: ["api://x/.default"],
};

function event(secret: string, tokenType: string, extra: Partial<TokenCacheEvent> = {}): TokenCacheEvent {
  return {
    clientId: "client-1",
    scopes: ["api://x/.default"],
    tokenEndpoint: "https://login.example.com/contoso/oauth2/v2.0/token",
    response: { access_token: secret, token_type: tokenType, expires_in: 3600 },
    ...extra,
  };
}

describe("PoP and Bearer tokens for the same scopes", () => {
  it("are both kept, under msal-node's key for the PoP one, and each lookup finds its own", () => {
    const cache = new SerializableTokenCache();
    cache.add(event("bearer-at", "Bearer"), NOW);
    cache.add(event("pop-at", "pop", { authScheme: "pop", data: { key_id: "kid-1" } }), NOW);
    const keys = Object.keys(JSON.parse(cache.serialize()).AccessToken).sort();
    expect(keys).toEqual([
      "-login.example.com-accesstoken-client-1-contoso-api://x/.default",
      "-login.example.com-accesstoken_with_authscheme-client-1-contoso-api://x/.default-pop",
    ]);
    expect(cache.findAccessToken(base, NOW)?.secret).toBe("bearer-at");
    const pop = cache.findAccessToken({ ...base, tokenType: "pop", keyId: "kid-1" }, NOW);
    expect(pop).toMatchObject({
      secret: "pop-at",
      credential_type: "AccessToken_With_AuthScheme",
      token_type: "pop",
      key_id: "kid-1",
    });
  });

  it("a PoP lookup with another key misses; without the PoP flag it misses too", () => {
    const cache = new SerializableTokenCache();
    cache.add(event("pop-at", "pop", { authScheme: "pop", data: { key_id: "kid-1" } }), NOW);
    expect(cache.findAccessToken({ ...base, tokenType: "pop", keyId: "kid-2" }, NOW)).toBeUndefined();
    expect(cache.findAccessToken({ ...base, keyId: "kid-1" }, NOW)).toBeUndefined();
    expect(cache.findAccessToken(base, NOW)).toBeUndefined();
  });

  it("survive a serialize/deserialize round trip apart", () => {
    const cache = new SerializableTokenCache();
    cache.add(event("bearer-at", "Bearer"), NOW);
    cache.add(event("pop-at", "pop", { authScheme: "pop", data: { key_id: "kid-1" } }), NOW);
    const copy = new SerializableTokenCache();
    copy.deserialize(cache.serialize());
    expect(copy.findAccessToken(base, NOW)?.secret).toBe("bearer-at");
    expect(copy.findAccessToken({ ...base, tokenType: "pop", keyId: "kid-1" }, NOW)?.secret).toBe("pop-at");
  });
});

describe("SSH certificates by key_id", () => {
  const ssh = ["https://pas.windows.net/CheckMyAccess/Linux/.default"];
  const sshQuery = { ...base, scopes: ssh };
  const cert = (secret: string, keyId: string) =>
    event(secret, "ssh-cert", {
      scopes: ssh,
      data: { key_id: keyId, token_type: "ssh-cert", req_cnf: "{}" },
    });

  it("stores only key_id from the data; a lookup with another key_id misses; a Bearer lookup never sees it", () => {
    const cache = new SerializableTokenCache();
    cache.add(cert("cert-1", "key-1"), NOW);
    const stored = Object.values(JSON.parse(cache.serialize()).AccessToken)[0] as Record<string, unknown>;
    expect(stored).toMatchObject({ key_id: "key-1", token_type: "ssh-cert", credential_type: "AccessToken" });
    expect(stored.req_cnf).toBeUndefined();
    expect(cache.findAccessToken({ ...sshQuery, keyId: "key-1" }, NOW)?.secret).toBe("cert-1");
    expect(cache.findAccessToken({ ...sshQuery, keyId: "key-2" }, NOW)).toBeUndefined();
    expect(cache.findAccessToken(sshQuery, NOW)).toBeUndefined();
  });

  it("a certificate for another key replaces the old one: one entry per scopes", () => {
    const cache = new SerializableTokenCache();
    cache.add(cert("cert-1", "key-1"), NOW);
    cache.add(cert("cert-2", "key-2"), NOW);
    expect(Object.keys(JSON.parse(cache.serialize()).AccessToken)).toHaveLength(1);
    expect(cache.findAccessToken({ ...sshQuery, keyId: "key-1" }, NOW)).toBeUndefined();
    expect(cache.findAccessToken({ ...sshQuery, keyId: "key-2" }, NOW)?.secret).toBe("cert-2");
  });
});
