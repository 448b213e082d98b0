/**
 * Environment names: the cache keys entries by host without the port (MSAL Python's form) and
 * treats the host-and-port form (msal-node's) as the same environment.
 */
import { describe, expect, it } from "vitest";
import { canonicalEnvironment, hostWithoutPort } from "../../../src/authority/aliases.js";
import { SerializableTokenCache } from "../../../src/index.js";

describe("hostWithoutPort", () => {
  it.each([
    ["localhost:8443", "localhost"],
    ["login.microsoftonline.com", "login.microsoftonline.com"],
    ["127.0.0.1:4431", "127.0.0.1"],
    ["[::1]:8443", "[::1]"],
    ["[::1]", "[::1]"],
    ["::1", "::1"],
    ["example.com:", "example.com:"],
    ["example.com:https", "example.com:https"],
  ])("%s -> %s", (host, expected) => {
    expect(hostWithoutPort(host)).toBe(expected);
  });
});

describe("canonicalEnvironment", () => {
  it("names a known host on another port by its group's name", () => {
    expect(canonicalEnvironment("LOGIN.WINDOWS.NET:8443")).toBe("login.microsoftonline.com");
    expect(canonicalEnvironment("localhost:8443")).toBe(canonicalEnvironment("localhost"));
  });
});

describe("the environment a cache entry is written under", () => {
  const event = (tokenEndpoint: string) => ({
    clientId: "app",
    scopes: ["https://graph.microsoft.com/.default"],
    tokenEndpoint,
    response: { access_token: "at", token_type: "Bearer", expires_in: 3600 },
    grantType: "client_credentials",
  });
  const environments = (cache: SerializableTokenCache) =>
    [...cache.entries("AccessToken")].map(([key, at]) => [key.split("-")[1], at.environment]);

  it("drops the port by default and keeps it with environmentWithPort", () => {
    const python = new SerializableTokenCache();
    python.add(event("https://localhost:8443/tenant/oauth2/v2.0/token"));
    expect(environments(python)).toEqual([["localhost", "localhost"]]);

    const node = new SerializableTokenCache({ environmentWithPort: true });
    node.add(event("https://localhost:8443/tenant/oauth2/v2.0/token"));
    expect(environments(node)).toEqual([["localhost:8443", "localhost:8443"]]);
  });

  it("finds an entry written in either form from an authority with or without the port", () => {
    const node = new SerializableTokenCache({ environmentWithPort: true });
    node.add(event("https://localhost:8443/tenant/oauth2/v2.0/token"));
    const query = {
      clientId: "app",
      homeAccountId: null,
      realm: "tenant",
      scopes: ["https://graph.microsoft.com/.default"],
    };
    expect(node.findAccessToken({ ...query, environment: "localhost" })?.secret).toBe("at");
    expect(node.findAccessToken({ ...query, environment: "localhost:8443" })?.secret).toBe("at");
  });
});
