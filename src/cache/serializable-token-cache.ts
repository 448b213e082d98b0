/**
 * A token cache that can be saved and loaded as the unified MSAL cache JSON (the format MSAL
 * Python, msal-node, MSAL.NET and the Azure CLI share). A round trip keeps everything it read:
 * unknown fields, unknown sections, entries it cannot use, their keys and their order.
 */
import { CacheDeserializationError } from "../errors.js";
import { type EntityOf, emptySections, SECTIONS, type Section } from "./schema.js";
import { TokenCache } from "./token-cache.js";

const isSection = (name: string): name is Section => (SECTIONS as readonly string[]).includes(name);

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
    const out: Record<string, unknown> = {};
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
   * Replaces the cache's contents with `text`. An empty string means an empty cache. Text that is not
   * a JSON object throws {@link CacheDeserializationError} and leaves the cache exactly as it was.
   */
  deserialize(text: string): void {
    let parsed: unknown = {};
    if (text.trim() !== "") {
      try {
        parsed = JSON.parse(text);
      } catch (cause) {
        throw new CacheDeserializationError(
          `The token cache is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}). Nothing was loaded; the cache in memory is unchanged. Move the file aside or start from an empty cache.`,
          { cause },
        );
      }
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`;
      throw new CacheDeserializationError(
        `The token cache must be a JSON object with sections such as "AccessToken", but it is ${kind}. Nothing was loaded; the cache in memory is unchanged.`,
      );
    }
    const sections = emptySections();
    const other = new Map<string, unknown>();
    const order: string[] = [];
    for (const [name, value] of Object.entries(parsed)) {
      order.push(name);
      if (isSection(name) && typeof value === "object" && value !== null && !Array.isArray(value)) {
        const map = sections[name] as Map<string, EntityOf[Section]>;
        for (const [key, entity] of Object.entries(value)) map.set(key, entity as EntityOf[Section]);
      } else {
        other.set(name, value);
      }
    }
    this.replaceState(sections, other, order);
    this.stateChanged = false;
  }
}
