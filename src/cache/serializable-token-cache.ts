/**
 * A token cache that can be saved and loaded as the unified MSAL cache JSON (the format MSAL
 * Python, msal-node, MSAL.NET and the Azure CLI share). A round trip keeps everything it read:
 * unknown fields, unknown sections (whatever their names, `__proto__` included), entries it cannot
 * use, their keys and their order. What it loads is checked first (src/cache/validation.ts): a
 * cache with a malformed entry is refused whole.
 */
import { CacheDeserializationError } from "../errors.js";
import { type EntityOf, emptySections, SECTIONS, type Section } from "./schema.js";
import { TokenCache } from "./token-cache.js";
import {
  entryProblem,
  FIELD_CHECKS,
  levelsLeftAt,
  MAX_CACHE_TEXT_LENGTH,
  nestsDeeper,
  tooDeep,
} from "./validation.js";

const isSection = (name: string): name is Section => (SECTIONS as readonly string[]).includes(name);

const UNCHANGED = "Nothing was loaded; the cache in memory is unchanged.";

/** A section name or key as a message shows it: quoted, and cut short when long. */
const quoted = (name: string): string =>
  JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}...` : name);

/**
 * @example
 * ```ts
 * const cache = new SerializableTokenCache();
 * cache.deserialize(await readFile("cache.json", "utf8"));
 * // ... use the cache in an app ...
 * if (cache.hasStateChanged) await writeFile("cache.json", cache.serialize());
 * ```
 */
export class SerializableTokenCache extends TokenCache {
  /** Whether anything was added, changed or removed since the last `serialize()` or `deserialize()`. */
  get hasStateChanged(): boolean {
    return this.stateChanged;
  }

  /** The cache as unified-schema JSON. */
  serialize(): string {
    // No prototype: a section named "__proto__" is then written as a section, not taken as one.
    const out: Record<string, unknown> = Object.create(null);
    for (const name of this.sectionOrder) {
      out[name] =
        isSection(name) && !this.otherSections.has(name)
          ? Object.fromEntries(this.sections[name])
          : this.otherSections.get(name);
    }
    this.stateChanged = false;
    return JSON.stringify(out);
  }

  /**
   * Replaces the cache's contents with `text`. An empty string means an empty cache. Text that is
   * not a JSON object, an entry whose fields do not have the schema's types (text, `null` where MSAL
   * writes it, whole epoch seconds for times), nesting deeper than 64 levels, or text longer than
   * 256 MiB throws {@link CacheDeserializationError}, whose message names the section, the key and
   * the field, and leaves the cache exactly as it was.
   */
  deserialize(text: string): void {
    if (text.length > MAX_CACHE_TEXT_LENGTH) {
      const reason = `it is ${text.length} characters long, more than the ${MAX_CACHE_TEXT_LENGTH} a cache may have`;
      throw new CacheDeserializationError(`The token cache is too large: ${reason}. ${UNCHANGED}`, {
        cause: new RangeError(reason),
      });
    }
    let parsed: unknown = {};
    if (text.trim() !== "") {
      try {
        parsed = JSON.parse(text);
      } catch (cause) {
        throw new CacheDeserializationError(
          `The token cache is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}). ${UNCHANGED} Move the file aside or start from an empty cache.`,
          { cause },
        );
      }
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`;
      throw new CacheDeserializationError(
        `The token cache must be a JSON object with sections such as "AccessToken", but it is ${kind}. ${UNCHANGED}`,
      );
    }
    // One pass: each entry is checked as it goes into its section's map; the swap comes last.
    const sections = emptySections();
    const other = new Map<string, unknown>();
    const order: string[] = [];
    for (const [name, value] of Object.entries(parsed)) {
      order.push(name);
      if (isSection(name) && typeof value === "object" && value !== null && !Array.isArray(value)) {
        const map = sections[name] as Map<string, EntityOf[Section]>;
        const check = FIELD_CHECKS[name];
        // Keys then lookups: a section holds thousands of entries, and Object.entries would make a
        // pair array for each (it costs more than the checks).
        const keys = Object.keys(value);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string;
          const entity: unknown = (value as Record<string, unknown>)[key];
          const problem = entryProblem(check, entity);
          if (problem !== undefined) throw malformed(`The ${name} entry ${quoted(key)}`, problem);
          map.set(key, entity as EntityOf[Section]);
        }
      } else {
        if (nestsDeeper(value, levelsLeftAt(2)))
          throw malformed(`The section ${quoted(name)}`, tooDeep("it"));
        other.set(name, value);
      }
    }
    this.replaceState(sections, other, order);
    this.stateChanged = false;
  }
}

/** The error for a malformed entry or section; its cause says what is wrong, for logs that quote it. */
function malformed(where: string, problem: string): CacheDeserializationError {
  const detail = `${where}: ${problem}`;
  return new CacheDeserializationError(
    `The token cache is malformed. ${detail}. ${UNCHANGED} Remove or repair that entry, or move the cache aside and sign in again.`,
    { cause: new TypeError(detail) },
  );
}
