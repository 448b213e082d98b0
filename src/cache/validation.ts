/**
 * What the cache checks in JSON it loads, so that a damaged or hostile cache is refused whole at
 * load time instead of failing later, in a lookup or in every `serialize()`:
 *
 * - each entity's fields have the types of the unified MSAL cache schema: text where MSAL Python
 *   (`token_cache.py`) and msal-node write text, `null` only where they write `null`, and times as
 *   whole epoch seconds (text, as MSAL writes them, or a number);
 * - nothing nests deeper than {@link MAX_NESTING_DEPTH}, so that unknown fields, which are kept
 *   for round trips, can always be written back (`JSON.stringify` recurses per level);
 * - the text is at most {@link MAX_CACHE_TEXT_LENGTH} long.
 *
 * Fields are checked only when present: other libraries (and MSAL Python's own test vectors) leave
 * some out, and such entries stay in the cache unused, as before. Entries that are not objects are
 * kept the same way. The checks run in the pass that fills the section maps, with no second walk.
 */
import type { Section } from "./schema.js";

/**
 * The deepest nesting of objects and arrays a cache may have, counting the top-level object as 1
 * (a section is 2, an entity 3, an entity's field 4). MSAL writes at most 5 (msal-node's
 * `tenantProfiles`), and `JSON.stringify` writes 64 levels with room to spare on any stack.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * The longest cache text `deserialize` takes, and the largest cache file `FilePersistence` reads
 * (bytes): 256 MiB. A cache of 10,000 users, each with an account, an id_token, an access token and
 * a refresh token, is about 46 MB; apps with more users in one place should use a distributed cache
 * (one partition per user). The bound keeps a runaway or hostile file from exhausting memory:
 * parsing takes several times the text's size, and V8 cannot hold a string of 2^29 characters at all.
 */
export const MAX_CACHE_TEXT_LENGTH = 256 * 1024 * 1024;

type Fields = { readonly [field: string]: unknown };

/**
 * Whole seconds as text, as MSAL writes `expires_on` and the other times: at most 15 digits, so the
 * number is exact (below 2^53) and far beyond any real time (msal-node's times in milliseconds
 * have 13).
 */
const WHOLE_SECONDS = /^-?\d{1,15}$/;

/** Whether a value is a number of epoch seconds other MSAL libraries could have written. */
function isEpochSeconds(value: unknown): boolean {
  return typeof value === "string" ? WHOLE_SECONDS.test(value) : Number.isSafeInteger(value);
}

/**
 * Epoch seconds of an access token's `expires_on` as lookups use it: `-Infinity` (expired) for
 * anything that is not a finite number, whatever put the entry in the cache (a plugin's `restore`,
 * a partition read from a store), so that such a token is never served.
 */
export function expirySeconds(value: unknown): number {
  const seconds = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) ? seconds : Number.NEGATIVE_INFINITY;
}

/** What a value is, for messages: its JSON type and, when short, the value itself. */
function described(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const shown = JSON.stringify(value) ?? String(value);
  return `a ${typeof value} (${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown})`;
}

function text(field: string, value: unknown): string | undefined {
  return value === undefined || typeof value === "string"
    ? undefined
    : `its field "${field}" is ${described(value)}, but it must be a string`;
}

function textOrNull(field: string, value: unknown): string | undefined {
  return value === undefined || value === null || typeof value === "string"
    ? undefined
    : `its field "${field}" is ${described(value)}, but it must be a string or null`;
}

function time(field: string, value: unknown): string | undefined {
  return value === undefined || isEpochSeconds(value)
    ? undefined
    : `its field "${field}" is ${described(value)}, but it must be whole seconds since 1970, as text such as "1700000000" or as a number`;
}

/** Fields every credential (access token, refresh token, id_token) has. */
function credentialProblem(e: Fields): string | undefined {
  return (
    text("credential_type", e.credential_type) ??
    text("secret", e.secret) ??
    textOrNull("home_account_id", e.home_account_id) ??
    text("environment", e.environment) ??
    text("client_id", e.client_id) ??
    text("realm", e.realm) ??
    text("target", e.target)
  );
}

function accessTokenProblem(e: Fields): string | undefined {
  return (
    credentialProblem(e) ??
    time("expires_on", e.expires_on) ??
    time("extended_expires_on", e.extended_expires_on) ??
    time("cached_at", e.cached_at) ??
    time("refresh_on", e.refresh_on) ??
    text("token_type", e.token_type) ??
    text("key_id", e.key_id) ??
    text("userAssertionHash", e.userAssertionHash)
  );
}

function refreshTokenProblem(e: Fields): string | undefined {
  return (
    credentialProblem(e) ??
    time("last_modification_time", e.last_modification_time) ??
    text("family_id", e.family_id) ??
    text("userAssertionHash", e.userAssertionHash)
  );
}

function accountProblem(e: Fields): string | undefined {
  return (
    text("home_account_id", e.home_account_id) ??
    text("environment", e.environment) ??
    text("realm", e.realm) ??
    textOrNull("local_account_id", e.local_account_id) ??
    text("username", e.username) ??
    text("authority_type", e.authority_type) ??
    text("account_source", e.account_source) ??
    time("last_modification_time", e.last_modification_time)
  );
}

function appMetadataProblem(e: Fields): string | undefined {
  return (
    text("client_id", e.client_id) ?? text("environment", e.environment) ?? text("family_id", e.family_id)
  );
}

/** The check of each section's entities: what is wrong with one, or `undefined`. */
export const FIELD_CHECKS: { readonly [S in Section]: (entity: Fields) => string | undefined } = {
  AccessToken: accessTokenProblem,
  RefreshToken: refreshTokenProblem,
  IdToken: credentialProblem,
  Account: accountProblem,
  AppMetadata: appMetadataProblem,
};

/**
 * Whether `value` nests objects or arrays more than `levels` deep (a string or number nests 0, `{}`
 * nests 1). The walk stops at the bound, so it recurses at most `levels` calls whatever the input.
 */
export function nestsDeeper(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (levels <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeper(item, levels - 1)) return true;
    return false;
  }
  for (const field in value) if (nestsDeeper((value as Fields)[field], levels - 1)) return true;
  return false;
}

/** Levels a value may nest at depth `depth` (the top-level object being depth 1). */
export const levelsLeftAt = (depth: number): number => MAX_NESTING_DEPTH - depth + 1;

/** What is wrong with an entry of a known section (at depth 3), or `undefined` when it may be loaded. */
export function entryProblem(
  check: (entity: Fields) => string | undefined,
  entry: unknown,
): string | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  if (Array.isArray(entry)) return nestsDeeper(entry, levelsLeftAt(3)) ? tooDeep("it") : undefined;
  const fields = entry as Fields;
  const problem = check(fields);
  if (problem !== undefined) return problem;
  for (const field in fields) {
    const value = fields[field];
    if (typeof value === "object" && value !== null && nestsDeeper(value, levelsLeftAt(4)))
      return tooDeep(`its field ${JSON.stringify(field.length > 40 ? `${field.slice(0, 40)}...` : field)}`);
  }
  return undefined;
}

export const tooDeep = (what: string): string =>
  `${what} nests objects or arrays more than ${MAX_NESTING_DEPTH} levels deep (counting from the top of the cache), which no MSAL library writes`;
