/**
 * Secondary indexes over the cache sections, so that every lookup touches only its own bucket.
 * Keys are lower-cased (the cache's keyspace is case-insensitive) and use the canonical name of the
 * environment's alias group, so `login.windows.net` entries serve `login.microsoftonline.com`.
 * An entry missing a field a lookup needs, or with a field of the wrong type (entries restored from a
 * plugin or a partition store are not checked the way `deserialize` checks them), is not indexed: it
 * stays in the cache (and in its serialized form) but no lookup returns it.
 */
import { canonicalEnvironment } from "../authority/aliases.js";
import type {
  AccessTokenEntity,
  AccountEntity,
  AppMetadataEntity,
  EntityOf,
  IdTokenEntity,
  RefreshTokenEntity,
  Section,
} from "./schema.js";
import { expirySeconds } from "./validation.js";

/**
 * An indexed access token with what a lookup needs already worked out, so a hit reads no other map
 * and parses nothing.
 */
export interface IndexedAccessToken {
  key: string;
  entry: AccessTokenEntity;
  /** The normalised target (see {@link normalisedTarget}). */
  target: string;
  /** The cached scopes, lower-cased. */
  scopes: ReadonlySet<string>;
  /** Epoch seconds; `-Infinity` (expired) when `expires_on` is not a finite number. */
  expiresOn: number;
}

/**
 * The access tokens of one client, account, environment group and realm, by normalised target,
 * and also by the target without the scopes every sign-in adds (see {@link SIGN_IN_SCOPES}), so
 * that asking for what was asked at sign-in is an exact hit. The bucket is itself that map: a
 * cache hit then reads one object fewer, which counts when hits are bound by memory reads.
 */
export class AccessTokenBucket extends Map<string, IndexedAccessToken> {
  /** Every token of the bucket by storage key: what a scope-superset search scans. */
  readonly byKey = new Map<string, IndexedAccessToken>();
}

export interface CacheIndexes {
  /** Keyed by {@link accessTokenBucketKey}: client + account + environment group + realm. */
  accessTokensByBucket: Map<string, AccessTokenBucket>;
  /** Grows when an emptied bucket is dropped, so that whoever keeps buckets knows to let go of them. */
  droppedBuckets: number;
  /** account + environment group: every access token of an account, for sign-out. */
  accessTokensByAccount: Map<string, Set<string>>;
  refreshTokensByAccount: Map<string, Set<string>>;
  idTokens: Map<string, string>;
  accountsByHome: Map<string, Set<string>>;
  accountsByEnvironment: Map<string, Set<string>>;
  /** The account key each set of {@link CacheIndexes.accountsByEnvironment} had added last. */
  lastAccountByEnvironment: Map<string, string>;
  appMetadata: Map<string, string>;
}

export function emptyIndexes(): CacheIndexes {
  return {
    accessTokensByBucket: new Map(),
    droppedBuckets: 0,
    accessTokensByAccount: new Map(),
    refreshTokensByAccount: new Map(),
    idTokens: new Map(),
    accountsByHome: new Map(),
    accountsByEnvironment: new Map(),
    lastAccountByEnvironment: new Map(),
    appMetadata: new Map(),
  };
}

export const isText = (v: unknown): v is string => typeof v === "string";
/** A credential's `home_account_id`: text, or `null`/absent for app tokens (MSAL Python, msal-node). */
const isOwner = (v: unknown): v is string | null | undefined => v == null || typeof v === "string";
export const lower = (v: string | null | undefined) => (v ?? "").toLowerCase();
export const env = (environment: string) => canonicalEnvironment(environment);

export function normalisedTarget(scopes: readonly string[]): string {
  if (scopes.length === 1) return (scopes[0] as string).toLowerCase();
  return [...new Set(scopes.filter(Boolean).map((s) => s.toLowerCase()))].sort().join(" ");
}

/**
 * Scopes Entra adds to a sign-in's answer: a sign-in asking for `User.Read` is answered, and cached,
 * with the target "User.Read profile openid email".
 */
export const SIGN_IN_SCOPES: ReadonlySet<string> = new Set(["openid", "profile", "offline_access", "email"]);

/** The normalised target without the sign-in scopes, when that is another non-empty target. */
export function targetWithoutSignInScopes(sortedLowerScopes: readonly string[]): string | undefined {
  let rest: string[] | undefined;
  for (const scope of sortedLowerScopes) {
    if (!SIGN_IN_SCOPES.has(scope)) continue;
    rest ??= sortedLowerScopes.filter((s) => !SIGN_IN_SCOPES.has(s));
    break;
  }
  return rest === undefined || rest.length === 0 ? undefined : rest.join(" ");
}

export function accessTokenBucketKey(
  clientId: string,
  home: string | null,
  environment: string,
  realm: string,
): string {
  return `${lower(clientId)}|${lower(home)}|${env(environment)}|${lower(realm)}`;
}

export function accountBucketKey(home: string | null, environment: string): string {
  return `${lower(home)}|${env(environment)}`;
}

export function idTokenIndexKey(
  home: string | null,
  environment: string,
  clientId: string,
  realm: string,
): string {
  return `${lower(home)}|${env(environment)}|${lower(clientId)}|${lower(realm)}`;
}

export function appMetadataIndexKey(environment: string, clientId: string): string {
  return `${env(environment)}|${lower(clientId)}`;
}

export function addTo(map: Map<string, Set<string>>, bucket: string, key: string): void {
  const set = map.get(bucket);
  if (set) set.add(key);
  else map.set(bucket, new Set([key]));
}

export function removeFrom(map: Map<string, Set<string>>, bucket: string, key: string): void {
  const set = map.get(bucket);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) map.delete(bucket);
}

/** Whether an access token has what lookups need; others are kept but never returned. */
export function usableAccessToken(e: AccessTokenEntity): boolean {
  return (
    isText(e.secret) &&
    isText(e.client_id) &&
    isText(e.environment) &&
    isText(e.realm) &&
    isText(e.target) &&
    isOwner(e.home_account_id) &&
    (isText(e.expires_on) || typeof e.expires_on === "number")
  );
}

export function indexAccessToken(ix: CacheIndexes, key: string, e: AccessTokenEntity, add: boolean): void {
  if (!usableAccessToken(e)) return;
  const lowerScopes = new Set<string>();
  for (const scope of e.target.split(" ")) if (scope) lowerScopes.add(scope.toLowerCase());
  // The same text as normalisedTarget gives, from one pass over the target.
  const sorted = lowerScopes.size === 1 ? [...lowerScopes] : [...lowerScopes].sort();
  const target = sorted.join(" ");
  // On-behalf-of tokens are also found by the hash of the user assertion they were obtained with.
  const plainOwners =
    typeof e.userAssertionHash === "string"
      ? [e.home_account_id, oboOwner(e.userAssertionHash)]
      : [e.home_account_id];
  const owners = isPopToken(e) ? plainOwners.map(popOwner) : plainOwners;
  const bucketKeys = owners.map((owner) => accessTokenBucketKey(e.client_id, owner, e.environment, e.realm));
  const account = accountBucketKey(e.home_account_id, e.environment);
  const shortTarget = targetWithoutSignInScopes(sorted);
  if (add) {
    const record: IndexedAccessToken = {
      key,
      entry: e,
      target,
      scopes: lowerScopes,
      expiresOn: expirySeconds(e.expires_on),
    };
    for (const bucketKey of bucketKeys) {
      let bucket = ix.accessTokensByBucket.get(bucketKey);
      if (!bucket) {
        bucket = new AccessTokenBucket();
        ix.accessTokensByBucket.set(bucketKey, bucket);
      }
      bucket.set(target, record);
      // A token whose full target is the short one keeps its place.
      if (shortTarget !== undefined && bucket.get(shortTarget)?.target !== shortTarget)
        bucket.set(shortTarget, record);
      bucket.byKey.set(key, record);
    }
    addTo(ix.accessTokensByAccount, account, key);
  } else {
    for (const bucketKey of bucketKeys) {
      const bucket = ix.accessTokensByBucket.get(bucketKey);
      if (!bucket) continue;
      bucket.byKey.delete(key);
      if (bucket.byKey.size === 0) {
        ix.accessTokensByBucket.delete(bucketKey);
        ix.droppedBuckets++;
        continue;
      }
      // A short target may have pointed at this token while another has it too: lookups then scan byKey.
      for (const t of [target, shortTarget])
        if (t !== undefined && bucket.get(t)?.key === key) bucket.delete(t);
    }
    removeFrom(ix.accessTokensByAccount, account, key);
  }
}

/** The bucket owner of on-behalf-of tokens: never a real home account id, which has no colon. */
export function oboOwner(userAssertionHash: string): string {
  return `obo:${userAssertionHash}`;
}

/**
 * The bucket owner of proof-of-possession tokens: their own buckets, so that a Bearer token and a
 * PoP token for the same scopes are both exact hits and neither replaces the other.
 */
export function popOwner(owner: string | null): string {
  return `pop:${owner ?? ""}`;
}

/** Whether an entry is a proof-of-possession token (`token_type` `pop`, any case). */
export function isPopToken(e: { token_type?: unknown }): boolean {
  return typeof e.token_type === "string" && e.token_type.toLowerCase() === "pop";
}

export function indexRefreshToken(ix: CacheIndexes, key: string, e: RefreshTokenEntity, add: boolean): void {
  if (!isText(e.secret) || !isText(e.environment) || !isText(e.client_id) || !isOwner(e.home_account_id))
    return;
  (add ? addTo : removeFrom)(
    ix.refreshTokensByAccount,
    accountBucketKey(e.home_account_id, e.environment),
    key,
  );
}

/** The key an ID token is indexed under, if it has what lookups need. */
export function idTokenSlot(e: IdTokenEntity): string | undefined {
  if (!isText(e.secret) || !isText(e.environment) || !isText(e.client_id) || !isOwner(e.home_account_id))
    return undefined;
  if (e.realm !== undefined && !isText(e.realm)) return undefined;
  return idTokenIndexKey(e.home_account_id, e.environment, e.client_id, e.realm ?? "");
}

export function indexIdToken(ix: CacheIndexes, key: string, e: IdTokenEntity, add: boolean): void {
  const k = idTokenSlot(e);
  if (k === undefined) return;
  if (add) ix.idTokens.set(k, key);
  else if (ix.idTokens.get(k) === key) ix.idTokens.delete(k);
}

export function indexAccount(ix: CacheIndexes, key: string, e: AccountEntity, add: boolean): void {
  if (!isText(e.home_account_id) || !isText(e.environment)) return;
  const group = env(e.environment);
  (add ? addTo : removeFrom)(ix.accountsByHome, lower(e.home_account_id), key);
  (add ? addTo : removeFrom)(ix.accountsByEnvironment, group, key);
  if (add) ix.lastAccountByEnvironment.set(group, key);
  else if (ix.lastAccountByEnvironment.get(group) === key) ix.lastAccountByEnvironment.delete(group);
}

/** The key app metadata is indexed under, if it has what lookups need. */
export function appMetadataSlot(e: AppMetadataEntity): string | undefined {
  return isText(e.environment) && isText(e.client_id)
    ? appMetadataIndexKey(e.environment, e.client_id)
    : undefined;
}

export function indexAppMetadata(ix: CacheIndexes, key: string, e: AppMetadataEntity, add: boolean): void {
  const k = appMetadataSlot(e);
  if (k === undefined) return;
  if (add) ix.appMetadata.set(k, key);
  else if (ix.appMetadata.get(k) === key) ix.appMetadata.delete(k);
}

/** Whether every wanted scope (any case) is among the cached ones (lower-cased). */
export function containsAll(cached: ReadonlySet<string>, wanted: readonly string[]): boolean {
  for (const scope of wanted) if (!cached.has(scope.toLowerCase())) return false;
  return true;
}

const INDEXERS: { [S in Section]: (ix: CacheIndexes, key: string, e: EntityOf[S], add: boolean) => void } = {
  AccessToken: indexAccessToken,
  RefreshToken: indexRefreshToken,
  IdToken: indexIdToken,
  Account: indexAccount,
  AppMetadata: indexAppMetadata,
};

/** Adds an entry of any section to the indexes, or (`add: false`) takes it out. */
export function indexEntity(
  ix: CacheIndexes,
  section: Section,
  key: string,
  entity: EntityOf[Section],
  add: boolean,
): void {
  (INDEXERS[section] as (ix: CacheIndexes, key: string, e: EntityOf[Section], add: boolean) => void)(
    ix,
    key,
    entity,
    add,
  );
}
