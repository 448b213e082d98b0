/**
 * The data side of the distributed cache: partitions as stored (JSON by section), the changes an
 * access made, merging them into what another instance wrote meanwhile, and partition lifetimes.
 */
import { belongsTo } from "./partition.js";
import { SECTIONS, type Section } from "./schema.js";
import {
  entryProblem,
  expirySeconds,
  FIELD_CHECKS,
  levelsLeftAt,
  MAX_CACHE_TEXT_LENGTH,
  nestsDeeper,
} from "./validation.js";

const isSection = (name: string): name is Section => (SECTIONS as readonly string[]).includes(name);

export type Entry = Record<string, unknown>;
export type Contents = Record<string, Record<string, unknown>>;

/** `section\nkey`, as the token cache's journal spells a storage key. */
export const storageKey = (section: Section, key: string): string => `${section}\n${key}`;

/** What one access (between the hooks) did to the cache in memory. */
export interface Access {
  partitionKey: string | undefined;
  /** The partition as read in `beforeCacheAccess`: the base of the first write. */
  read: PartitionRead | undefined;
  /** Storage keys written during the access. */
  stored: Set<string>;
  /** Entries removed during the access (memory-bound evictions excepted), by storage key. */
  removed: Map<string, { section: Section; entry: Entry }>;
  /** Releases the cache's memory lock. */
  release: () => void;
}

/** A partition as read from the store; `version` is `undefined` when the store has none. */
export interface PartitionRead {
  contents: Contents;
  version: string | undefined;
  /** The version of the partition under the untagged key of earlier versions, read when the tagged one is missing. */
  legacyVersion?: string | undefined;
}

/** One partition's part of an access: what to write over what the store holds. */
export interface PartitionChange {
  partitionKey: string;
  written: Array<{ section: Section; key: string; entry: unknown }>;
  removed: ReadonlySet<string>;
}

/** Changes waiting for this instance's write of their partition in flight, and their callers. */
export interface WriteQueue {
  next: ({ change: PartitionChange } & Settlement) | undefined;
}

export interface Settlement {
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function settlement(): Settlement {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { done, resolve, reject };
}

/** Two changes of one partition as one: what the later one writes or removes wins. */
export function combineChanges(first: PartitionChange, then: PartitionChange): PartitionChange {
  const written = new Map(first.written.map((w) => [storageKey(w.section, w.key), w]));
  const removed = new Set(first.removed);
  for (const id of then.removed) {
    written.delete(id);
    removed.add(id);
  }
  for (const w of then.written) {
    const id = storageKey(w.section, w.key);
    written.set(id, w);
    removed.delete(id);
  }
  return { partitionKey: first.partitionKey, written: [...written.values()], removed };
}

export function ownPartition(section: Section, entry: Entry): string | undefined {
  if (typeof entry.userAssertionHash === "string" && entry.userAssertionHash !== "")
    return `obo:${entry.userAssertionHash}`;
  const home = entry.home_account_id;
  if (typeof home === "string" && home !== "") return `user:${home}`;
  if (section === "AccessToken") {
    const key = `app:${String(entry.client_id)}:${String(entry.realm)}`.toLowerCase();
    return belongsTo(key, section, entry) ? key : undefined;
  }
  return undefined;
}

/** An object without a prototype: section names and keys such as `__proto__` are then plain keys. */
const record = <T>(): Record<string, T> => Object.create(null);

/**
 * A stored partition's JSON. What `deserialize` would refuse (not a JSON object, text over 256 MiB,
 * an entry with a field of the wrong type, nesting deeper than 64 levels) reads as an empty
 * partition: the user signs in again and the next write replaces it.
 */
export function parseContents(value: string): Contents {
  if (value.length > MAX_CACHE_TEXT_LENGTH) return record();
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return record();
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return record();
  const contents: Contents = record();
  for (const [section, entries] of Object.entries(parsed)) {
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) continue;
    const check = isSection(section) ? FIELD_CHECKS[section] : undefined;
    const kept: Record<string, unknown> = record();
    for (const [key, entry] of Object.entries(entries)) {
      if (check ? entryProblem(check, entry) !== undefined : nestsDeeper(entry, levelsLeftAt(3)))
        return record();
      kept[key] = entry;
    }
    contents[section] = kept;
  }
  return contents;
}

/**
 * The store's partition with an access's changes: its entries are kept, the access's removals
 * applied, the entries the access wrote win, and expired access tokens go.
 */
export function mergePartition(base: Contents, change: PartitionChange, now: number): Contents {
  const out: Contents = record();
  for (const [section, entries] of Object.entries(base)) out[section] = Object.assign(record(), entries);
  for (const id of change.removed) {
    const newline = id.indexOf("\n");
    const section = out[id.slice(0, newline)];
    if (section) delete section[id.slice(newline + 1)];
  }
  for (const { section, key, entry } of change.written) {
    out[section] ??= record();
    (out[section] as Record<string, unknown>)[key] = entry;
  }
  const accessTokens = out.AccessToken;
  if (accessTokens) {
    for (const [key, entry] of Object.entries(accessTokens)) {
      const expiresOn = (entry as Entry | null)?.expires_on;
      if (expiresOn !== undefined && expirySeconds(expiresOn) < now) delete accessTokens[key];
    }
  }
  for (const section of Object.keys(out)) {
    if (Object.keys(out[section] as object).length === 0) delete out[section];
  }
  return out;
}

/**
 * When a partition expires: with its longest-lived token, the latest access token `expires_on` or
 * refresh token `last_modification_time + refreshTokenLifetime` (a refresh token without a
 * modification time counts from now). 0 when it holds no token.
 */
export function partitionExpiry(contents: Contents, now: number, refreshTokenLifetime: number): number {
  let latest = 0;
  for (const entry of Object.values(contents.AccessToken ?? {})) {
    const expiresOn = Number((entry as Entry | null)?.expires_on);
    if (Number.isFinite(expiresOn)) latest = Math.max(latest, expiresOn);
  }
  for (const entry of Object.values(contents.RefreshToken ?? {})) {
    const modified = Number((entry as Entry | null)?.last_modification_time);
    latest = Math.max(latest, (Number.isFinite(modified) ? modified : now) + refreshTokenLifetime);
  }
  return Math.ceil(latest);
}

/** The arguments of a node-redis script call. */
