/** Listing the account entries of a cache, by environment group, home account or username. */
import { canonicalEnvironment } from "../authority/aliases.js";
import type { IndexState } from "./index-state.js";
import { ofAccount } from "./lazy-indexes.js";
import type { AccountEntity } from "./schema.js";

const TYPES_OF_ACCOUNTS = new Set(["MSSTS", "ADFS"]);

/** What {@link findAccountEntries} filters by; each is optional. */
export interface AccountQuery {
  /** The authority's host: accounts of its alias group. */
  environment?: string;
  /** One user's `home_account_id` (any case). */
  homeAccountId?: string;
  /** One username (any case). */
  username?: string;
}

/**
 * Account entries (one per tenant) of Entra (`MSSTS`) and ADFS types that match `query`, in the
 * order of the indexes (before they are built: the order of the section, which the build keeps).
 */
export function findAccountEntries(
  accounts: ReadonlyMap<string, AccountEntity>,
  ix: IndexState,
  query: AccountQuery,
): AccountEntity[] {
  const byHome = query.homeAccountId !== undefined;
  // Before the indexes are built, a listing reads the section, in the order the build would index it.
  const unindexed = !byHome && query.environment !== undefined && ix.stale;
  const keys = byHome
    ? ix
        .for("Account", ofAccount(query.homeAccountId))
        .accountsByHome.get((query.homeAccountId as string).toLowerCase())
    : query.environment !== undefined && !unindexed
      ? ix.full().accountsByEnvironment.get(canonicalEnvironment(query.environment))
      : accounts.keys();
  if (!keys) return [];
  // The environment bucket already holds only that group; other lookups check it per account.
  const group =
    query.environment !== undefined && (byHome || unindexed)
      ? canonicalEnvironment(query.environment)
      : undefined;
  // Entries of a cache mostly share one environment: its text is compared, not canonicalised again.
  let seen: string | undefined;
  let seenInGroup = false;
  const inGroup = (environment: string): boolean => {
    if (environment !== seen) {
      seen = environment;
      seenInGroup = canonicalEnvironment(environment) === group;
    }
    return seenInGroup;
  };
  const username = query.username?.toLowerCase();
  const found: AccountEntity[] = [];
  for (const key of keys) {
    const account = accounts.get(key) as AccountEntity;
    if (typeof account !== "object" || account === null) continue; // kept only for round trips
    // What the index by environment leaves out (entries restored from a store are not checked).
    if (unindexed && (typeof account.environment !== "string" || typeof account.home_account_id !== "string"))
      continue;
    if (!TYPES_OF_ACCOUNTS.has(account.authority_type)) continue;
    if (group !== undefined && !inGroup(account.environment)) continue;
    if (username !== undefined && String(account.username).toLowerCase() !== username) continue;
    found.push(account);
  }
  return found;
}
