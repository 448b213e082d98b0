/**
 * Accounts in the cache (spec sections 4.6 and 4.7): listed once per home account across tenants
 * and environment aliases, and removed with every token of theirs this app may use.
 */
import type { AppContext } from "../app/context.js";
import { userPartition, withCacheAccess } from "../cache/plugin.js";
import type { AccountEntity } from "../cache/schema.js";
import type { AccountRef } from "./silent.js";

/** An account as apps see it: one per user, whatever tenants they signed in to. */
export interface Account {
  home_account_id: string;
  environment: string;
  username: string;
  authority_type: string;
  local_account_id: string | null;
  realm: string;
  account_source?: string;
}

function publicAccount(entry: AccountEntity): Account {
  const account: Account = {
    home_account_id: entry.home_account_id,
    environment: entry.environment,
    username: entry.username,
    authority_type: entry.authority_type,
    local_account_id: entry.local_account_id ?? null,
    realm: entry.realm,
  };
  if (entry.account_source !== undefined) account.account_source = entry.account_source;
  return account;
}

export async function getAccounts(ctx: AppContext, options: { username?: string } = {}): Promise<Account[]> {
  const query: { environment: string; username?: string } = { environment: ctx.authority.host };
  if (options.username !== undefined) query.username = options.username;
  const grouped = new Map<string, Account>();
  const entries = await withCacheAccess(ctx.cache, undefined, () => ctx.cache.findAccounts(query));
  for (const entry of entries) grouped.set(entry.home_account_id, publicAccount(entry));
  return [...grouped.values()];
}

/**
 * Signs an account out of this app: its refresh tokens of this app (or its family), every access
 * token, id_token and account entry of it in this environment.
 */
export async function removeAccount(ctx: AppContext, account: AccountRef): Promise<void> {
  await withCacheAccess(ctx.cache, userPartition(account.home_account_id), () => forget(ctx, account));
}

function forget(ctx: AppContext, account: AccountRef): void {
  const environment = account.environment ?? ctx.authority.host;
  const home = account.home_account_id;
  const family = ctx.cache.getAppMetadata(environment, ctx.clientId)?.family_id;
  for (const rt of ctx.cache.findRefreshTokens({ homeAccountId: home, environment })) {
    if (
      rt.client_id.toLowerCase() === ctx.clientId.toLowerCase() ||
      (family !== undefined && rt.family_id === family)
    ) {
      ctx.cache.removeEntity("RefreshToken", rt);
    }
  }
  for (const at of ctx.cache.findAccessTokensOfAccount(home, environment))
    ctx.cache.removeEntity("AccessToken", at);
  for (const entry of ctx.cache.findAccounts({ homeAccountId: home, environment }))
    ctx.cache.removeEntity("Account", entry);
  for (const [key, idt] of [...ctx.cache.entries("IdToken")]) {
    if (idt?.home_account_id === home && ctx.cache.sameEnvironmentGroup(idt.environment, environment))
      ctx.cache.remove("IdToken", key);
  }
}
