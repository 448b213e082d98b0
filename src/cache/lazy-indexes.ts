/**
 * Indexes over part of a section, for the first lookups after a load. Building every index costs
 * several times what a lookup needs (a record, a bucket and sets per entry, then their garbage
 * collection: about as long again as `JSON.parse` of the cache), and a one-shot process (a CLI, a
 * script, a serverless cold start) makes one or two lookups. Until the indexes are built, a lookup
 * reads its section once, keeps the entries a cheap field test lets through (same account, client,
 * realm, case-insensitive), and indexes only those, the way the full build would: the bucket it then
 * reads holds the same records in the same order, so the answer is the same.
 */
import { type CacheIndexes, emptyIndexes, indexEntity, isPopToken } from "./indexes.js";
import type { CacheSections, EntityOf, Section } from "./schema.js";

/** An entry as a filter sees it: any of its fields may be missing or of another type. */
export type Fields = { readonly [field: string]: unknown };

/**
 * Whether a field is `want`, in any case; `null` and absent are `""`, as the indexes take them. Loose
 * on purpose where the indexes are strict (a field of the wrong type is left to the indexer to refuse).
 */
export function sameText(value: unknown, want: string | null | undefined): boolean {
  const text = value ?? "";
  const wanted = want ?? "";
  if (text === wanted) return true;
  return typeof text === "string" && text.toLowerCase() === wanted.toLowerCase();
}

/** The indexes the full build would make, over only the entries of `section` that `keep` lets through. */
export function partialIndexes(
  sections: CacheSections,
  section: Section,
  keep: (entry: Fields) => boolean,
): CacheIndexes {
  const ix = emptyIndexes();
  for (const [key, entity] of sections[section] as Map<string, EntityOf[Section]>) {
    if (typeof entity === "object" && entity !== null && keep(entity as Fields))
      indexEntity(ix, section, key, entity, true);
  }
  return ix;
}

/** Entries of one account (`home_account_id`, in any case; `null`, absent and `""` alike). */
export const ofAccount =
  (home: string | null | undefined) =>
  (e: Fields): boolean =>
    sameText(e.home_account_id, home);

/**
 * Access tokens a bucket of this client, owner and realm may hold: besides the owner's own, every
 * on-behalf-of and proof-of-possession token of the client (their buckets have owners of their own).
 */
export const ofAccessTokenBucket =
  (clientId: string, home: string | null, realm: string) =>
  (e: Fields): boolean =>
    sameText(e.client_id, clientId) &&
    sameText(e.realm, realm) &&
    (sameText(e.home_account_id, home) || typeof e.userAssertionHash === "string" || isPopToken(e));
