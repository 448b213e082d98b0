/**
 * Signing a user in at each form of authority the emulator serves: a tenant by id and by domain,
 * `organizations`, `common`, a B2C policy path and ADFS (the emulator's `/adfs` is its first
 * tenant). Each time the flow goes to that authority's endpoints, the id_token passes validation
 * (issuer included, but for ADFS), and the account is cached under the token endpoint's realm.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import {
  accountOf,
  clientIdOf,
  form,
  homeAccountIdOf,
  LOOPBACK_REDIRECT,
  publicApp,
  SCOPES,
  seededUser,
  signIn,
  success,
  tokenRequests,
} from "./helpers.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

interface AuthorityCase {
  name: string;
  /** The authority's path after the emulator's URL. */
  path: (tenantId: string, domain: string) => string;
  /** Where its endpoints are: the path before `/authorize` and `/token`. */
  oauth: (tenantId: string, domain: string) => string;
  realm: (tenantId: string, domain: string) => string;
  authorityType: "MSSTS" | "ADFS";
}

const CASES: AuthorityCase[] = [
  {
    name: "a tenant by id",
    path: (id) => id,
    oauth: (id) => `${id}/oauth2/v2.0`,
    realm: (id) => id,
    authorityType: "MSSTS",
  },
  {
    // Entra publishes the tenant's id in the endpoints of a tenant named by domain.
    name: "a tenant by domain",
    path: (_id, domain) => domain,
    oauth: (id) => `${id}/oauth2/v2.0`,
    realm: (id) => id,
    authorityType: "MSSTS",
  },
  {
    name: "organizations",
    path: () => "organizations",
    oauth: () => "organizations/oauth2/v2.0",
    realm: () => "organizations",
    authorityType: "MSSTS",
  },
  {
    name: "common",
    path: () => "common",
    oauth: () => "common/oauth2/v2.0",
    realm: () => "common",
    authorityType: "MSSTS",
  },
  {
    name: "a B2C policy path",
    path: (_id, domain) => `${domain}/b2c_1_signin`,
    oauth: (_id, domain) => `${domain}/b2c_1_signin/oauth2/v2.0`,
    realm: (_id, domain) => domain,
    authorityType: "MSSTS",
  },
  {
    name: "ADFS",
    path: () => "adfs",
    oauth: () => "adfs/oauth2",
    realm: () => "adfs",
    authorityType: "ADFS",
  },
];

describe("signing a user in at each kind of authority", () => {
  it.each(CASES)("$name: the auth code flow, the account and silent acquisition", async (c) => {
    const [tenant] = emulator.directory.tenants;
    if (!tenant) throw new Error("The emulator directory has no tenant.");
    const alice = seededUser(emulator, "alice");
    const authority = `${emulator.url}/${c.path(tenant.id, tenant.domain)}`;
    const oauth = `/${c.oauth(tenant.id, tenant.domain)}`;
    const client = publicApp(emulator, { authority });

    const signed = await signIn(client, alice, { redirectUri: LOOPBACK_REDIRECT });

    expect(signed.flow.authority).toBe(authority);
    expect(new URL(signed.flow.auth_uri).pathname).toBe(`${oauth}/authorize`);
    expect(emulator.requests("authorize").map((r) => r.path)).toEqual([
      `${oauth}/authorize`,
      `${oauth}/authorize`,
    ]);
    expect(tokenRequests(emulator).map((r) => r.path)).toEqual([`${oauth}/token`]);
    expect(signed.result.id_token_claims).toMatchObject({
      aud: clientIdOf(emulator, "public"),
      tid: tenant.id,
      preferred_username: alice.username,
    });
    expect(await client.getAccounts()).toEqual([
      {
        home_account_id: homeAccountIdOf(signed.result),
        environment: new URL(emulator.url).hostname,
        username: alice.username,
        authority_type: c.authorityType,
        local_account_id: signed.result.id_token_claims?.oid,
        realm: c.realm(tenant.id, tenant.domain),
        account_source: "authorization_code",
      },
    ]);

    const account = await accountOf(client, alice);
    emulator.clearRequests();
    const cached = success(await client.acquireTokenSilent(SCOPES, account));
    expect(cached).toMatchObject({ token_source: "cache", access_token: signed.result.access_token });
    expect(tokenRequests(emulator)).toEqual([]);

    const refreshed = success(await client.acquireTokenSilent(SCOPES, account, { forceRefresh: true }));
    expect(refreshed.token_source).toBe("identity_provider");
    const [refresh, ...others] = tokenRequests(emulator);
    expect(others).toEqual([]);
    expect(refresh?.path).toBe(`${oauth}/token`);
    expect(form(refresh)).toMatchObject({
      grant_type: "refresh_token",
      refresh_token: signed.result.refresh_token,
    });
  });
});
