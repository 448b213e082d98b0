/**
 * getAccounts lists one account per home account id: the last entry of each, in the order each
 * user first appears, whether or not the cache's indexes are built yet and whether or not a user
 * has several entries (several tenants) at all.
 */
import { describe, expect, it } from "vitest";
import { PublicClientApplication, SerializableTokenCache } from "../../../src/index.js";

const account = (
  home: string,
  realm: string,
  username: string,
  environment = "login.microsoftonline.com",
) => ({
  home_account_id: home,
  environment,
  realm,
  local_account_id: `${home}-${realm}`,
  username,
  authority_type: "MSSTS",
});

const noNetwork = async (): Promise<Response> => {
  throw new Error("getAccounts must not reach the network");
};

async function listed(accounts: Record<string, unknown>, build: boolean) {
  const cache = new SerializableTokenCache();
  cache.deserialize(JSON.stringify({ Account: accounts }));
  // Past the lookups that read partial indexes: the next one builds them.
  if (build) for (let i = 0; i < 5; i++) cache.getAppMetadata("login.microsoftonline.com", "nobody");
  const app = new PublicClientApplication("client-1", {
    authority: "https://login.microsoftonline.com/common",
    tokenCache: cache,
    fetch: noNetwork,
  });
  return (await app.getAccounts()).map((a) => [a.home_account_id, a.realm, a.username]);
}

describe.each([false, true])("getAccounts (indexes built first: %s)", (build) => {
  it("keeps the last entry of a user with several tenants, in the order users first appear", async () => {
    const accounts = {
      a: account("u1.t1", "t1", "one@contoso.example"),
      b: account("u2.t1", "t1", "two@contoso.example"),
      c: account("u1.t1", "t2", "one@fabrikam.example"),
      d: account("u3.t1", "t1", "three@contoso.example", "login.windows.net"),
      e: account("u4.t1", "t1", "four@contoso.example", "login.microsoftonline.de"),
    };
    expect(await listed(accounts, build)).toEqual([
      ["u1.t1", "t2", "one@fabrikam.example"],
      ["u2.t1", "t1", "two@contoso.example"],
      ["u3.t1", "t1", "three@contoso.example"],
    ]);
  });

  it("lists every user once when no user has two entries", async () => {
    const accounts = {
      a: account("u2.t1", "t1", "two@contoso.example"),
      b: account("u1.t1", "t1", "one@contoso.example"),
      c: { ...account("u3.t1", "t1", "adfs@contoso.example"), authority_type: "ADFS" },
      d: { ...account("u4.t1", "t1", "msa@contoso.example"), authority_type: "MSA" },
    };
    expect(await listed(accounts, build)).toEqual([
      ["u2.t1", "t1", "two@contoso.example"],
      ["u1.t1", "t1", "one@contoso.example"],
      ["u3.t1", "t1", "adfs@contoso.example"],
    ]);
  });
});
