/**
 * Finding the entry a new entity supersedes, wherever it is stored: other libraries key the same
 * identity differently (msal-node adds segments to its keys), so identity is matched by fields
 * through the indexes, never by key text.
 */
import {
  accessTokenBucketKey,
  accountBucketKey,
  appMetadataIndexKey,
  type CacheIndexes,
  idTokenIndexKey,
  isPopToken,
  normalisedTarget,
  popOwner,
} from "./indexes.js";
import {
  type AccessTokenEntity,
  type AccountEntity,
  type CacheSections,
  type EntityOf,
  type IdTokenEntity,
  KEY_MAKERS,
  type RefreshTokenEntity,
  type Section,
} from "./schema.js";

/** Storage keys of entries with the same identity as `entity` (same environment, not just alias group). */
export function storedTwins<S extends Section>(
  ix: CacheIndexes,
  sections: CacheSections,
  section: S,
  entity: EntityOf[S],
): string[] {
  const sameEnv = (e: { environment?: unknown }) =>
    String(e.environment).toLowerCase() === String(entity.environment).toLowerCase();
  const candidates: (string | undefined)[] = [];
  switch (section) {
    case "AccessToken": {
      const at = entity as AccessTokenEntity;
      const owner = isPopToken(at) ? popOwner(at.home_account_id) : at.home_account_id;
      const bucket = ix.accessTokensByBucket.get(
        accessTokenBucketKey(at.client_id, owner, at.environment, at.realm),
      );
      const target = normalisedTarget(at.target.split(" "));
      // A bucket also holds short targets (without the sign-in scopes): only the same full target is a twin.
      const same = bucket?.get(target);
      candidates.push(same?.target === target ? same.key : undefined);
      break;
    }
    case "IdToken": {
      const idt = entity as IdTokenEntity;
      candidates.push(
        ix.idTokens.get(idTokenIndexKey(idt.home_account_id, idt.environment, idt.client_id, idt.realm)),
      );
      break;
    }
    case "AppMetadata":
      candidates.push(
        ix.appMetadata.get(appMetadataIndexKey(entity.environment as string, entity.client_id as string)),
      );
      break;
    case "Account": {
      const account = entity as AccountEntity;
      for (const key of ix.accountsByHome.get(account.home_account_id.toLowerCase()) ?? []) {
        const stored = sections.Account.get(key) as AccountEntity;
        if (String(stored.realm).toLowerCase() === account.realm.toLowerCase()) candidates.push(key);
      }
      break;
    }
    case "RefreshToken": {
      const rt = entity as RefreshTokenEntity;
      const target = normalisedTarget((rt.target ?? "").split(" "));
      for (const key of ix.refreshTokensByAccount.get(accountBucketKey(rt.home_account_id, rt.environment)) ??
        []) {
        const stored = sections.RefreshToken.get(key) as RefreshTokenEntity;
        const storedTarget =
          typeof stored.target === "string" ? normalisedTarget(stored.target.split(" ")) : undefined;
        if (
          stored.client_id.toLowerCase() === rt.client_id.toLowerCase() &&
          (storedTarget === undefined || storedTarget === target)
        ) {
          candidates.push(key);
        }
      }
      break;
    }
  }
  const map = sections[section] as Map<string, EntityOf[Section]>;
  return candidates.filter(
    (key): key is string => key !== undefined && sameEnv(map.get(key) as { environment?: unknown }),
  );
}

/**
 * Where an entity is stored: under the key its fields make, or (for entries another library keyed
 * its own way) wherever that very object is.
 */
export function* storedByIdentity<S extends Section>(
  sections: CacheSections,
  section: S,
  entity: EntityOf[S],
): Generator<[string, EntityOf[S]]> {
  const map = sections[section] as Map<string, EntityOf[S]>;
  const make = KEY_MAKERS[section] as (e: EntityOf[S]) => string;
  const computed = make(entity);
  const direct = map.get(computed);
  if (typeof direct === "object" && direct !== null && (direct === entity || make(direct) === computed)) {
    yield [computed, direct];
    return;
  }
  for (const [key, stored] of map) if (stored === entity) yield [key, stored];
}
