/**
 * The app's discovery memo is bounded: a daemon naming ever-new tenants keeps the endpoints of at
 * most MAX_REMEMBERED_AUTHORITIES authorities; the one discovered longest ago is forgotten and
 * discovered again when asked for, the others are answered without a request.
 */
import { describe, expect, it } from "vitest";
import { parseAuthority } from "../../../src/authority/authority.js";
import { MAX_REMEMBERED_AUTHORITIES, memoisedDiscovery } from "../../../src/authority/discovery.js";
import type { HttpConfig } from "../../../src/http/client.js";
import type { FetchLike } from "../../../src/http/types.js";

/** A fetch that answers every tenant's OpenID configuration and records the URLs asked for. */
function countingFetch() {
  const urls: string[] = [];
  const fetch: FetchLike = async (url) => {
    urls.push(url);
    const tenant = new URL(url).pathname.split("/")[1];
    return new Response(
      JSON.stringify({
        authorization_endpoint: `https://login.example/${tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `https://login.example/${tenant}/oauth2/v2.0/token`,
      }),
    );
  };
  return { fetch, urls };
}

// No HTTP cache between the calls (a store that keeps nothing), so every discovery the memo does
// not answer is a request.
const forgetful = { get: () => undefined, set: () => undefined, delete: () => undefined };

const authority = (tenant: string) =>
  parseAuthority(`https://login.example/${tenant}`, { validateAuthority: false });

describe("discovery memo bound", () => {
  it("keeps 10,000 authorities by default", () => {
    expect(MAX_REMEMBERED_AUTHORITIES).toBe(10_000);
  });

  it("past its limit forgets the authority discovered longest ago, and discovers it again when asked", async () => {
    const { fetch, urls } = countingFetch();
    const http: HttpConfig = { fetch, defaultRetryAfterSeconds: 5, cache: forgetful, log: () => {} };
    const discover = memoisedDiscovery(2);
    for (const tenant of ["t1", "t2", "t3"])
      await discover(authority(tenant), { http, instanceDiscovery: false });
    expect(urls).toHaveLength(3);
    expect([...discover.known.keys()]).toEqual([authority("t2").url, authority("t3").url]);

    // t2 and t3 are remembered: no request.
    expect((await discover(authority("t3"), { http, instanceDiscovery: false })).tokenEndpoint).toBe(
      "https://login.example/t3/oauth2/v2.0/token",
    );
    expect(urls).toHaveLength(3);

    // t1 was forgotten: discovered again, and t2 (now the oldest) makes room.
    expect((await discover(authority("t1"), { http, instanceDiscovery: false })).tokenEndpoint).toBe(
      "https://login.example/t1/oauth2/v2.0/token",
    );
    expect(urls).toHaveLength(4);
    expect(urls[3]).toBe("https://login.example/t1/v2.0/.well-known/openid-configuration");
    expect([...discover.known.keys()]).toEqual([authority("t3").url, authority("t1").url]);
  });
});
