/**
 * Cache partitions for distributed stores: the entries one call needs, by the partition key the
 * flows pass to the cache hooks (`user:<home_account_id>`, `app:<client_id>:<tenant>`,
 * `obo:<assertion hash>`). A store reads and writes one partition per call, never the whole cache.
 */
import type { CacheSections, EntityOf, Section } from "./schema.js";
import { SECTIONS } from "./schema.js";
import type { TokenCache } from "./token-cache.js";

/** A partition's entries, by section and storage key: the unified cache format, restricted. */
export type PartitionContents = Partial<Record<Section, Record<string, unknown>>>;

type Entry = Record<string, unknown>;

/** Whether an entry belongs to a partition. App metadata goes with every partition (it is small and shared). */
export function belongsTo(
  partitionKey: string,
  section: Section,
  entry: Entry,
  userHomes?: ReadonlySet<string>,
): boolean {
  if (section === "AppMetadata") return true;
  const colon = partitionKey.indexOf(":");
  const kind = partitionKey.slice(0, colon);
  const value = partitionKey.slice(colon + 1);
  const home = entry.home_account_id;
  if (kind === "user") return home === value;
  if (kind === "obo")
    return entry.userAssertionHash === value || (typeof home === "string" && (userHomes?.has(home) ?? false));
  if (kind === "app") {
    if (section !== "AccessToken" || (home !== null && home !== "")) return false;
    return `${String(entry.client_id)}:${String(entry.realm)}`.toLowerCase() === value;
  }
  return false;
}

/** Accounts an on-behalf-of partition holds tokens for: their id_tokens and accounts go with it. */
function oboHomes(cache: TokenCache, partitionKey: string): Set<string> {
  const hash = partitionKey.slice("obo:".length);
  const homes = new Set<string>();
  for (const section of ["AccessToken", "RefreshToken"] as const) {
    for (const [, entry] of cache.entries(section)) {
      if ((entry as Entry)?.userAssertionHash === hash && typeof entry.home_account_id === "string")
        homes.add(entry.home_account_id);
    }
  }
  return homes;
}

/** The entries of one partition. */
export function partitionContents(cache: TokenCache, partitionKey: string): PartitionContents {
  const homes = partitionKey.startsWith("obo:") ? oboHomes(cache, partitionKey) : undefined;
  const out: PartitionContents = {};
  for (const section of SECTIONS) {
    // No prototype: a key such as `__proto__` is then an entry like any other.
    const entries: Record<string, unknown> = Object.create(null);
    for (const [key, entry] of cache.entries(section)) {
      if (
        typeof entry === "object" &&
        entry !== null &&
        belongsTo(partitionKey, section, entry as Entry, homes)
      )
        entries[key] = entry;
    }
    if (Object.keys(entries).length > 0) out[section] = entries;
  }
  return out;
}

/** Replaces what the cache holds of a partition with `contents` (entries of other partitions stay). */
export function replacePartition(cache: TokenCache, partitionKey: string, contents: PartitionContents): void {
  const current = partitionContents(cache, partitionKey);
  for (const section of SECTIONS) {
    for (const key of Object.keys(current[section] ?? {})) {
      if (section !== "AppMetadata") cache.remove(section, key);
    }
    for (const [key, entry] of Object.entries(contents[section] ?? {})) {
      cache.restore(section, key, entry as EntityOf[Section]);
    }
  }
}

export type { CacheSections };
