/**
 * Managed identity tokens in the token cache (spec section 3.14): the unified schema's access
 * tokens with the identity's id as `client_id`, the machine's name as `environment`, the realm
 * `managed_identity`, the resource as `target` and no account. MSAL Python means
 * `SYSTEM_ASSIGNED_MANAGED_IDENTITY` as the system-assigned identity's `client_id` but writes
 * `null` by a slip; msal-ts writes what it means, so an app token and a system-assigned one never
 * share a key.
 */
import { appPartition, withCacheAccess } from "../cache/plugin.js";
import type { AccessTokenHit, AccessTokenQuery } from "../cache/queries.js";
import type { TokenCache } from "../cache/token-cache.js";
import type { TokenSuccess } from "../protocol/token-result.js";
import type { ManagedIdentity } from "./identity.js";
import type { ManagedIdentityToken } from "./response.js";

export const MANAGED_IDENTITY_REALM = "managed_identity";
export const SYSTEM_ASSIGNED_CACHE_ID = "SYSTEM_ASSIGNED_MANAGED_IDENTITY";
/** Tokens that live this long or longer are refreshed at half their lifetime (Entra's guidance for MI). */
export const HALF_LIFE_FROM_SECONDS = 7200;

/** Where an identity's tokens are in the cache. */
export interface ManagedIdentityCacheSlot {
  cache: TokenCache;
  clientId: string;
  environment: string;
}

export function cacheClientId(identity: ManagedIdentity): string {
  return identity.id ?? SYSTEM_ASSIGNED_CACHE_ID;
}

/** The machine's name as a cache environment: a host name, else `localhost`. */
export function cacheEnvironment(hostname: string): string {
  const name = hostname.trim().toLowerCase();
  return /^[a-z0-9.-]+$/.test(name) ? name : "localhost";
}

const query = (
  slot: ManagedIdentityCacheSlot,
  resource: string,
  minValiditySeconds: number,
): AccessTokenQuery => ({
  clientId: slot.clientId,
  homeAccountId: null,
  environment: slot.environment,
  realm: MANAGED_IDENTITY_REALM,
  scopes: [resource],
  minValiditySeconds,
});

/** The cached token for `resource` valid for at least `minValiditySeconds` more. */
export function findManagedIdentityToken(
  slot: ManagedIdentityCacheSlot,
  resource: string,
  now: number,
  minValiditySeconds: number,
): AccessTokenHit | undefined | Promise<AccessTokenHit | undefined> {
  const q = query(slot, resource, minValiditySeconds);
  if (!slot.cache.plugin) return slot.cache.findAccessTokenHit(q, now);
  return withCacheAccess(slot.cache, appPartition(slot.clientId, MANAGED_IDENTITY_REALM), () =>
    slot.cache.findAccessTokenHit(q, now),
  );
}

/**
 * Caches a token from the endpoint, and returns it as a result with its `refresh_on`: the
 * endpoint's `refresh_in`, or half the lifetime of a token that lives 2 hours or more. MSAL Python
 * leaves `refresh_in` on the result too; msal-ts gives `refresh_on` alone, as for every other flow.
 */
export async function storeManagedIdentityToken(
  slot: ManagedIdentityCacheSlot,
  resource: string,
  token: ManagedIdentityToken,
  now: number,
): Promise<TokenSuccess> {
  let refreshIn = token.refresh_in;
  if (refreshIn === undefined && token.expires_in >= HALF_LIFE_FROM_SECONDS)
    refreshIn = Math.floor(token.expires_in / 2);
  const response: Record<string, unknown> = {
    access_token: token.access_token,
    expires_in: token.expires_in,
    token_type: token.token_type,
  };
  if (refreshIn !== undefined) response.refresh_in = refreshIn;
  await withCacheAccess(slot.cache, appPartition(slot.clientId, MANAGED_IDENTITY_REALM), () =>
    slot.cache.add(
      {
        clientId: slot.clientId,
        scopes: [resource],
        tokenEndpoint: `https://${slot.environment}/${MANAGED_IDENTITY_REALM}`,
        response,
      },
      now,
    ),
  );
  const result: TokenSuccess = {
    access_token: token.access_token,
    token_type: token.token_type,
    expires_in: token.expires_in,
    token_source: "identity_provider",
  };
  if (refreshIn !== undefined) result.refresh_on = now + refreshIn;
  if (token.resource !== undefined) result.additional_fields = { resource: token.resource };
  return result;
}

/** Hex SHA-256 of a token (token revocation's `token_sha256_to_refresh`), with Web Crypto. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
