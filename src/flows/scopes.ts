/** Scope decoration for user flows (spec section 2.3). */
import { ArgumentError } from "../errors.js";

export const RESERVED_SCOPES: readonly string[] = ["openid", "profile", "offline_access"];

/** The caller's scopes plus `openid profile offline_access` (less `excludeScopes`), which callers may not pass themselves. */
export function decorateScopes(scopes: readonly string[], excludeScopes: readonly string[] = []): string[] {
  const reserved = scopes.filter((s) => RESERVED_SCOPES.includes(s));
  if (reserved.length > 0) {
    throw new ArgumentError(
      "scopes",
      `${reserved.join(", ")} ${reserved.length > 1 ? "are" : "is"} reserved: msal-ts asks for openid, profile and offline_access itself. Pass only your API's scopes.`,
    );
  }
  return [...new Set([...scopes, ...RESERVED_SCOPES])].filter((s) => !excludeScopes.includes(s));
}
