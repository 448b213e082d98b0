/**
 * Re-indexing an entry stored again under its key (a refreshed token, a signed-in-again account):
 * what taking the old entry out of the indexes and adding the new one does, without deleting and
 * adding again what stays.
 */
import {
  type AccessTokenBucket,
  accessTokenBucketKey,
  addTo,
  appMetadataSlot,
  type CacheIndexes,
  env,
  type IndexedAccessToken,
  idTokenSlot,
  indexEntity,
  isPopToken,
  isText,
  lower,
  oboOwner,
  popOwner,
  removeFrom,
  targetWithoutSignInScopes,
  usableAccessToken,
} from "./indexes.js";
import type {
  AccessTokenEntity,
  AccountEntity,
  AppMetadataEntity,
  EntityOf,
  IdTokenEntity,
  Section,
} from "./schema.js";
import { expirySeconds } from "./validation.js";

/**
 * Indexes `entity` in place of `old`, both stored under `key`: what taking `old` out and adding
 * `entity` does, without deleting and adding again what stays. Deleting a key from a large Map or
 * Set and adding it back, again and again, costs time in proportion to its size in V8 (the deleted
 * entries stay in the key's hash chain until the table is rebuilt): 12-20 µs at 10,000 entries,
 * which a refresh of one user in a cache of 10,000 would pay for each index. And an access-token
 * bucket emptied on the way would be dropped, making every lookup's remembered bucket stale.
 */
export function reindexEntity(
  ix: CacheIndexes,
  section: Section,
  key: string,
  old: EntityOf[Section],
  entity: EntityOf[Section],
): void {
  if (section === "AccessToken") {
    const o = old as AccessTokenEntity;
    const e = entity as AccessTokenEntity;
    if (
      usableAccessToken(o) &&
      usableAccessToken(e) &&
      sameAccessTokenPlace(o, e) &&
      replaceAccessToken(ix, key, e)
    )
      return;
  } else if (section === "IdToken" || section === "AppMetadata") {
    const slot = section === "IdToken" ? idTokenSlot : appMetadataSlot;
    const index = section === "IdToken" ? ix.idTokens : ix.appMetadata;
    const k = slot(old as IdTokenEntity & AppMetadataEntity);
    // The same index key pointing at the same storage key: nothing moves.
    if (k !== undefined && k === slot(entity as IdTokenEntity & AppMetadataEntity) && index.get(k) === key)
      return;
  } else if (section === "Account") {
    const o = old as AccountEntity;
    const e = entity as AccountEntity;
    if (
      isText(o.home_account_id) &&
      isText(e.home_account_id) &&
      isText(o.environment) &&
      isText(e.environment) &&
      lower(o.home_account_id) === lower(e.home_account_id) &&
      env(o.environment) === env(e.environment) &&
      ix.lastAccountByEnvironment.get(env(e.environment)) === key
    ) {
      // Already the last of its environment, where taking it out and adding it back would put it.
      removeFrom(ix.accountsByHome, lower(o.home_account_id), key);
      addTo(ix.accountsByHome, lower(e.home_account_id), key);
      return;
    }
  }
  indexEntity(ix, section, key, old, false);
  indexEntity(ix, section, key, entity, true);
}

/** Whether two access tokens go in the same buckets under the same targets. */
function sameAccessTokenPlace(a: AccessTokenEntity, b: AccessTokenEntity): boolean {
  return (
    a.client_id === b.client_id &&
    a.home_account_id === b.home_account_id &&
    a.environment === b.environment &&
    a.realm === b.realm &&
    a.target === b.target &&
    a.userAssertionHash === b.userAssertionHash &&
    isPopToken(a) === isPopToken(b)
  );
}

/**
 * A new record for the token (lookups may still hold the old one) in each of its buckets, in the
 * old record's places (Map.set keeps them); false, changing nothing, if a bucket lacks the old one.
 */
function replaceAccessToken(ix: CacheIndexes, key: string, e: AccessTokenEntity): boolean {
  const owners =
    typeof e.userAssertionHash === "string"
      ? [e.home_account_id, oboOwner(e.userAssertionHash)]
      : [e.home_account_id];
  const buckets: AccessTokenBucket[] = [];
  for (const owner of owners) {
    const bucketKey = accessTokenBucketKey(
      e.client_id,
      isPopToken(e) ? popOwner(owner) : owner,
      e.environment,
      e.realm,
    );
    const bucket = ix.accessTokensByBucket.get(bucketKey);
    if (bucket?.byKey.get(key) === undefined) return false;
    buckets.push(bucket);
  }
  const stale = buckets[0]?.byKey.get(key) as IndexedAccessToken;
  const record: IndexedAccessToken = {
    key,
    entry: e,
    target: stale.target,
    scopes: stale.scopes,
    expiresOn: expirySeconds(e.expires_on),
  };
  // The targets a record is kept under: its own, and maybe the one without the sign-in scopes.
  const short = targetWithoutSignInScopes(stale.target.split(" "));
  for (const bucket of buckets) {
    bucket.byKey.set(key, record);
    if (bucket.get(stale.target)?.key === key) bucket.set(stale.target, record);
    if (short !== undefined && bucket.get(short)?.key === key) bucket.set(short, record);
  }
  return true;
}
