/**
 * How a lookup gets to its access-token bucket without building a key: through a slot the caller
 * keeps (see AccessTokenQuery.slot), else through a memo by the lookup's strings.
 */
import { type AccessTokenBucket, accessTokenBucketKey, type CacheIndexes } from "./indexes.js";
import type { AccessTokenQuery } from "./queries.js";

/**
 * Values found by four strings, kept so that asking again with the same strings builds and hashes
 * no new key: the cache uses it to go from a lookup's client id, account, environment and realm to
 * the access-token bucket. Building a bucket key lower-cases three strings and hashes (then
 * compares) a string of about 150 characters, which costs more than the rest of a cache hit; the
 * same strings as before (an app's client id, its authority's host and realm, an account's id) cost
 * four lookups of strings whose hashes V8 already keeps. Only found values are kept; everything is
 * dropped when `limit` values are held.
 */
export interface LookupMemo<V> {
  get(a: string, b: string | null, c: string, d: string, find: () => V | undefined): V | undefined;
  clear(): void;
}

export function lookupMemo<V>(limit = 100_000): LookupMemo<V> {
  let root = new Map<string, Map<string, Map<string, Map<string | null, V>>>>();
  let size = 0;
  const level = <K, T>(map: Map<K, T>, key: K): T => {
    let found = map.get(key);
    if (found === undefined) {
      found = new Map() as T;
      map.set(key, found);
    }
    return found;
  };
  return {
    get(a, b, c, d, find) {
      const known = root.get(a)?.get(c)?.get(d)?.get(b);
      if (known !== undefined) return known;
      // Levels are made only for a value to keep: lookups that find nothing leave no trace.
      const value = find();
      if (value === undefined) return undefined;
      if (size >= limit) {
        root = new Map();
        size = 0;
      }
      level(level(level(root, a), c), d).set(b, value);
      size++;
      return value;
    },
    clear() {
      root = new Map();
      size = 0;
    },
  };
}

/** Generations of bucket sets, unique across caches, so a slot never outlives its bucket. */
let generations = 0;

export interface BucketFinder {
  find(ix: CacheIndexes, query: AccessTokenQuery, owner: string | null): AccessTokenBucket | undefined;
  /** Forgets every bucket: the indexes were rebuilt. */
  reset(): void;
}

export function bucketFinder(): BucketFinder {
  const memo = lookupMemo<AccessTokenBucket>();
  let dropped = 0;
  // Changes whenever a bucket the memo or a slot may hold stops being the live one.
  let generation = ++generations;
  return {
    find(ix, query, owner) {
      if (ix.droppedBuckets !== dropped) {
        memo.clear();
        dropped = ix.droppedBuckets;
        generation = ++generations;
      }
      const slot = query.slot;
      if (slot !== undefined && slot.generation === generation) return slot.bucket as AccessTokenBucket;
      const { clientId, environment, realm } = query;
      const bucket = memo.get(clientId, owner, environment, realm, () =>
        ix.accessTokensByBucket.get(accessTokenBucketKey(clientId, owner, environment, realm)),
      );
      if (slot !== undefined && bucket !== undefined) {
        slot.bucket = bucket;
        slot.generation = generation;
      }
      return bucket;
    },
    reset() {
      memo.clear();
      dropped = 0;
      generation = ++generations;
    },
  };
}
