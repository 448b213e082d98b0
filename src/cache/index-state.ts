/**
 * The indexes of a token cache and when they are built. After a load (deserialize swaps in a new
 * state) they are stale: the first few lookups read partial indexes (src/cache/lazy-indexes.ts) and
 * the next one builds them all, so that a one-shot process pays for what it looks up, and a
 * long-running one builds them once. New alias groups also make them be built again.
 */
import { aliasGroupsVersion } from "../authority/aliases.js";
import { type BucketFinder, bucketFinder } from "./bucket-finder.js";
import { type CacheIndexes, emptyIndexes, indexEntity } from "./indexes.js";
import { type Fields, partialIndexes } from "./lazy-indexes.js";
import { reindexEntity } from "./reindex.js";
import { type CacheSections, type EntityOf, SECTIONS, type Section } from "./schema.js";

/**
 * How many lookups (or writes) after a load read partial indexes before the full build: enough for
 * a one-shot process's few calls. Each costs one pass over a section; the build costs many.
 */
export const LAZY_LOOKUPS = 4;

export class IndexState {
  #indexes: CacheIndexes = emptyIndexes();
  readonly buckets: BucketFinder = bucketFinder();
  #aliasVersion = aliasGroupsVersion();
  #stale = false;
  #lazyLookups = 0;
  /** How many times the indexes were built (each build also refills the recency order). */
  builds = 0;

  /**
   * @param sections - the cache's sections as they are now (deserialize replaces them).
   * @param recency - the access tokens' recency order of a bounded cache, which a build restarts.
   */
  constructor(
    private readonly sections: () => CacheSections,
    private readonly recency: Map<string, true> | undefined,
  ) {}

  /** Whether the indexes wait for a build (writes and removals then leave them alone). */
  get stale(): boolean {
    return this.#stale;
  }

  /** A new state was swapped in: up to `lazyLookups` lookups read partial indexes, then they are built. */
  invalidate(lazyLookups: number): void {
    this.#stale = true;
    this.#lazyLookups = lazyLookups;
  }

  /** Keeps the indexes in step with `entity` stored under `key` in place of `old`. */
  reindex(section: Section, key: string, old: EntityOf[Section], entity: EntityOf[Section]): void {
    if (this.#stale) return;
    const indexable = (e: unknown) => typeof e === "object" && e !== null;
    if (indexable(old) && indexable(entity)) reindexEntity(this.#indexes, section, key, old, entity);
    else {
      this.index(section, key, old, false);
      this.index(section, key, entity, true);
    }
  }

  /** Keeps the indexes in step with a write (`add`) or a removal. */
  index(section: Section, key: string, entity: EntityOf[Section], add: boolean): void {
    // Entries that are not objects (kept for round trips) were never indexed.
    if (this.#stale || typeof entity !== "object" || entity === null) return;
    indexEntity(this.#indexes, section, key, entity, add);
  }

  /**
   * Whether a lookup is to read partial indexes (counting it); if not, the full indexes are
   * up to date when this returns.
   */
  lazy(): boolean {
    if (this.#stale && this.#lazyLookups > 0) {
      this.#lazyLookups--;
      return true;
    }
    if (this.#stale || this.#aliasVersion !== aliasGroupsVersion()) this.#rebuild();
    return false;
  }

  /** The full indexes as they are: up to date right after {@link IndexState.lazy} returned `false`. */
  get current(): CacheIndexes {
    return this.#indexes;
  }

  /** The full indexes, built if they were stale. */
  full(): CacheIndexes {
    if (this.#stale || this.#aliasVersion !== aliasGroupsVersion()) this.#rebuild();
    return this.#indexes;
  }

  /** The indexes a lookup in `section` reads: see {@link IndexState.lazy}; `keep` picks what partial ones hold. */
  for(section: Section, keep: (e: Fields) => boolean): CacheIndexes {
    return this.lazy() ? partialIndexes(this.sections(), section, keep) : this.#indexes;
  }

  #rebuild(): void {
    this.builds++;
    this.#stale = false;
    this.#lazyLookups = 0;
    this.#indexes = emptyIndexes();
    this.buckets.reset();
    this.recency?.clear();
    this.#aliasVersion = aliasGroupsVersion();
    const sections = this.sections();
    for (const section of SECTIONS) {
      for (const [key, entity] of sections[section] as Map<string, EntityOf[Section]>) {
        if (typeof entity === "object" && entity !== null)
          indexEntity(this.#indexes, section, key, entity, true);
        if (section === "AccessToken") this.recency?.set(key, true);
      }
    }
  }
}
