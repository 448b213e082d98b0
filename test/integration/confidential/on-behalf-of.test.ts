/**
 * On-behalf-of: the middle-tier API trades the access token it was called with for a Graph token,
 * caches the result under a hash of that assertion (so the same assertion hits the cache and
 * another user's goes to the network), and never stores the assertion itself.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { SerializableTokenCache } from "../../../src/node/index.js";
import { app, startTestEmulator } from "../../support/emulator.js";
import {
  confidentialApp,
  directoryUser,
  form,
  jwtClaims,
  middleTierAssertion,
  success,
  tokenForm,
  tokenRequests,
} from "./helpers.js";

const USER_READ = ["https://graph.microsoft.com/User.Read"];

describe("acquireTokenOnBehalfOf against the emulator", () => {
  let emulator: Emulator;
  let middleTier: ReturnType<typeof app>;
  const alice = () => directoryUser(emulator, "alice@contoso.onmicrosoft.com");
  const bob = () => directoryUser(emulator, "bob@contoso.onmicrosoft.com");

  beforeAll(async () => {
    emulator = await startTestEmulator();
    middleTier = app(emulator, "middle-tier");
  });
  afterAll(() => emulator?.stop());
  beforeEach(() => emulator.clearRequests());

  it("the same assertion is served from the cache; another user's assertion goes to the network", async () => {
    const aliceAssertion = await middleTierAssertion(emulator, alice());
    const bobAssertion = await middleTierAssertion(emulator, bob());
    expect(jwtClaims(aliceAssertion).aud).toBe(middleTier.clientId);
    emulator.clearRequests();

    const cache = new SerializableTokenCache();
    const cca = confidentialApp(emulator, middleTier, middleTier.secret as string, { tokenCache: cache });

    const first = success(await cca.acquireTokenOnBehalfOf(aliceAssertion, USER_READ));
    expect(first.token_source).toBe("identity_provider");
    expect(jwtClaims(first.access_token)).toMatchObject({
      aud: "https://graph.microsoft.com",
      azp: middleTier.clientId,
      preferred_username: alice().username,
      oid: jwtClaims(aliceAssertion).oid,
    });
    expect(tokenForm(emulator, 0)).toMatchObject({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      requested_token_use: "on_behalf_of",
      assertion: aliceAssertion,
      client_id: middleTier.clientId,
      client_secret: "[redacted]",
    });
    expect(tokenForm(emulator, 0).scope?.split(" ")).toContain("https://graph.microsoft.com/User.Read");

    const second = success(await cca.acquireTokenOnBehalfOf(aliceAssertion, USER_READ));
    expect(second).toMatchObject({ token_source: "cache", access_token: first.access_token });
    expect(tokenRequests(emulator)).toHaveLength(1);

    const forBob = success(await cca.acquireTokenOnBehalfOf(bobAssertion, USER_READ));
    expect(forBob.token_source).toBe("identity_provider");
    expect(jwtClaims(forBob.access_token).preferred_username).toBe(bob().username);
    expect(forBob.access_token).not.toBe(first.access_token);
    expect(tokenRequests(emulator)).toHaveLength(2);
    expect(tokenForm(emulator, 1).assertion).toBe(bobAssertion);

    // Each user's token stays where it was: both are cache hits now.
    expect(await cca.acquireTokenOnBehalfOf(aliceAssertion, USER_READ)).toMatchObject({
      token_source: "cache",
      access_token: first.access_token,
    });
    expect(await cca.acquireTokenOnBehalfOf(bobAssertion, USER_READ)).toMatchObject({
      token_source: "cache",
      access_token: forBob.access_token,
    });
    expect(tokenRequests(emulator)).toHaveLength(2);

    const text = cache.serialize();
    expect(text).toContain(first.access_token);
    for (const assertion of [aliceAssertion, bobAssertion]) {
      expect(text).not.toContain(assertion);
      // Not even its signature (the part no one can recompute).
      expect(text).not.toContain(assertion.split(".")[2]);
    }
  });

  it("forceRefresh sends the same assertion again", async () => {
    const assertion = await middleTierAssertion(emulator, alice());
    emulator.clearRequests();
    const cca = confidentialApp(emulator, middleTier, middleTier.secret as string);
    const first = success(await cca.acquireTokenOnBehalfOf(assertion, USER_READ));
    const forced = success(await cca.acquireTokenOnBehalfOf(assertion, USER_READ, { forceRefresh: true }));
    expect(forced.token_source).toBe("identity_provider");
    expect(forced.access_token).not.toBe(first.access_token);
    expect(tokenRequests(emulator).map((r) => form(r).assertion)).toEqual([assertion, assertion]);
  });
});
