/**
 * The unified MSAL cache schema: entity types and pure key makers, exactly as MSAL Python writes
 * them, so that MSAL Python, msal-node, MSAL.NET and the Azure CLI can share a cache with us.
 * Numbers are strings of epoch seconds. Fields this module does not know are kept as they are.
 * Spec: MSAL Python `token_cache.py` (key_makers, `_TokenCache.add`).
 */

/** Fields of other MSAL libraries survive a round trip: entities are open records. */
type Open = { [field: string]: unknown };

/**
 * An access token as the unified cache stores it (section `AccessToken`). Field names and formats are MSAL
 * Python's, so other MSAL libraries read the same entry.
 */
export interface AccessTokenEntity extends Open {
  /**
   * `AccessToken`; `AccessToken_With_AuthScheme` for a proof-of-possession token bound to the app's key
   * (msal-node's name and key format for it), which never serves a Bearer request.
   */
  credential_type: "AccessToken" | "AccessToken_With_AuthScheme";
  /** The access token itself. */
  secret: string;
  /**
   * The user's `<uid>.<utid>` (from `client_info`, else the id_token's `sub`); for app-only tokens
   * `null`, or `""` with `appTokenHomeAccountId: ""`.
   */
  home_account_id: string | null;
  /** The authority's host, e.g. `login.microsoftonline.com`. */
  environment: string;
  /** The application (client) id the token was issued to. */
  client_id: string;
  /** Space-joined scopes, sorted. */
  target: string;
  /**
   * The tenant as the token endpoint's path names it: usually a tenant id, else a domain,
   * `organizations` or `common`.
   */
  realm: string;
  /** The response's `token_type`: `Bearer` unless the server said otherwise. */
  token_type?: string;
  /** When the token was stored (epoch seconds, as a string). */
  cached_at: string;
  /** When the token expires (epoch seconds, as a string). */
  expires_on: string;
  /** How long the token may be used while Entra ID is unavailable (epoch seconds, as a string). */
  extended_expires_on?: string;
  /**
   * When to refresh the token ahead of its expiry, from the response's `refresh_in` (epoch seconds, as a
   * string).
   */
  refresh_on?: string;
  /** Proof-of-possession or SSH certificate key id, from the request. */
  key_id?: string;
  /** On-behalf-of: base64url SHA-256 of the user assertion (msal-node's field name). */
  userAssertionHash?: string;
}

/**
 * A refresh token as the unified cache stores it (section `RefreshToken`). One per account and client, or per
 * family with FOCI.
 */
export interface RefreshTokenEntity extends Open {
  /** Always `RefreshToken`. */
  credential_type: "RefreshToken";
  /** The refresh token itself. */
  secret: string;
  /** The user's `<uid>.<utid>` (from `client_info`, else the id_token's `sub`), or `null` when neither came. */
  home_account_id: string | null;
  /** The authority's host, e.g. `login.microsoftonline.com`. */
  environment: string;
  /** The application (client) id the token was issued to. */
  client_id: string;
  /** Space-joined scopes the token was issued with; refresh tokens are not looked up by scope. */
  target?: string;
  /** When the entry was last written (epoch seconds, as a string). */
  last_modification_time?: string;
  /** FOCI family, from the response's `foci`. */
  family_id?: string;
  /**
   * On-behalf-of: base64url SHA-256 of the user assertion the token was obtained for (msal-node's field
   * name).
   */
  userAssertionHash?: string;
}

/** An ID token as the unified cache stores it (section `IdToken`), one per account, client and tenant. */
export interface IdTokenEntity extends Open {
  /** Always `IdToken`. */
  credential_type: "IdToken";
  /** The ID token (a JWT). */
  secret: string;
  /** The user's `<uid>.<utid>` (from `client_info`, else the id_token's `sub`). */
  home_account_id: string | null;
  /** The authority's host, e.g. `login.microsoftonline.com`. */
  environment: string;
  /**
   * The tenant as the token endpoint's path names it: usually a tenant id, else a domain,
   * `organizations` or `common`.
   */
  realm: string;
  /** The application (client) id the token was issued to. */
  client_id: string;
}

/** An account as cached: one per home account, environment and tenant (realm). */
export interface AccountEntity extends Open {
  /** The user's `<uid>.<utid>` (from `client_info`, else the id_token's `sub`): the same in every tenant. */
  home_account_id: string;
  /** The authority's host, e.g. `login.microsoftonline.com`. */
  environment: string;
  /**
   * The tenant as the token endpoint's path names it: usually a tenant id, else a domain,
   * `organizations` or `common`.
   */
  realm: string;
  /** The user's object id (`oid`) in this tenant, when the ID token has one. */
  local_account_id: string | null;
  /** The user's sign-in name (`preferred_username` or `upn`). */
  username: string;
  /** `MSSTS` for Entra, `ADFS`, or another library's value such as `CLOUDSHELL`. */
  authority_type: string;
  /** The grant that signed the account in, e.g. `authorization_code` or `device_code`. */
  account_source?: string;
}

/** What the cache remembers about a client (section `AppMetadata`): whether it belongs to a FOCI family. */
export interface AppMetadataEntity extends Open {
  /** The application (client) id. */
  client_id: string;
  /** The authority's host, e.g. `login.microsoftonline.com`. */
  environment: string;
  /** The FOCI family the client belongs to (`1`), when the server said so. */
  family_id?: string;
}

export const SECTIONS = ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"] as const;
/**
 * The five sections of a unified cache: `AccessToken`, `RefreshToken`, `IdToken`, `Account` and
 * `AppMetadata`.
 */
export type Section = (typeof SECTIONS)[number];

/** The entity type stored in each {@link Section}. */
export interface EntityOf {
  /** Section `AccessToken`. */
  AccessToken: AccessTokenEntity;
  /** Section `RefreshToken`. */
  RefreshToken: RefreshTokenEntity;
  /** Section `IdToken`. */
  IdToken: IdTokenEntity;
  /** Section `Account`. */
  Account: AccountEntity;
  /** Section `AppMetadata`. */
  AppMetadata: AppMetadataEntity;
}

/** The five sections as maps from storage key to entity. */
export type CacheSections = { [S in Section]: Map<string, EntityOf[S]> };

const text = (value: unknown): string =>
  typeof value === "string" ? value : value == null ? "" : String(value);

/**
 * `home_account_id-environment-accesstoken-client_id-realm-target`, lower-cased. The key has no
 * `key_id`, so a new SSH certificate for the same scopes replaces the old one (MSAL Python's rule).
 * A proof-of-possession token (`AccessToken_With_AuthScheme`) is keyed as msal-node keys it,
 * `...-accesstoken_with_authscheme-client_id-realm-target-pop`, so it lives beside the Bearer token
 * for the same scopes.
 */
export function accessTokenKey(
  e: Pick<AccessTokenEntity, "home_account_id" | "environment" | "client_id" | "realm" | "target"> &
    Partial<Pick<AccessTokenEntity, "credential_type" | "token_type">>,
): string {
  if (e.credential_type === "AccessToken_With_AuthScheme")
    return `${text(e.home_account_id)}-${text(e.environment)}-accesstoken_with_authscheme-${text(e.client_id)}-${text(e.realm)}-${text(e.target)}-${text(e.token_type)}`.toLowerCase();
  return `${text(e.home_account_id)}-${text(e.environment)}-accesstoken-${text(e.client_id)}-${text(e.realm)}-${text(e.target)}`.toLowerCase();
}

/** `home_account_id-environment-refreshtoken-client_id--target`, lower-cased: the realm is always empty. */
export function refreshTokenKey(
  e: Pick<RefreshTokenEntity, "home_account_id" | "environment" | "client_id" | "target">,
): string {
  return `${text(e.home_account_id)}-${text(e.environment)}-refreshtoken-${text(e.client_id)}--${text(e.target)}`.toLowerCase();
}

/** `home_account_id-environment-idtoken-client_id-realm-`, lower-cased: the target is always empty. */
export function idTokenKey(
  e: Pick<IdTokenEntity, "home_account_id" | "environment" | "client_id" | "realm">,
): string {
  return `${text(e.home_account_id)}-${text(e.environment)}-idtoken-${text(e.client_id)}-${text(e.realm)}-`.toLowerCase();
}

/** `home_account_id-environment-realm`, lower-cased. */
export function accountKey(e: Pick<AccountEntity, "home_account_id" | "environment" | "realm">): string {
  return `${text(e.home_account_id)}-${text(e.environment)}-${text(e.realm)}`.toLowerCase();
}

/** `appmetadata-environment-client_id`, not lower-cased (as MSAL Python writes it). */
export function appMetadataKey(e: Pick<AppMetadataEntity, "environment" | "client_id">): string {
  return `appmetadata-${text(e.environment)}-${text(e.client_id)}`;
}

export const KEY_MAKERS: { [S in Section]: (entity: EntityOf[S]) => string } = {
  AccessToken: accessTokenKey,
  RefreshToken: refreshTokenKey,
  IdToken: idTokenKey,
  Account: accountKey,
  AppMetadata: appMetadataKey,
};

/** Scopes as a cache `target`: de-duplicated, sorted, space-joined (MSAL Python sorts them). */
export function scopesToTarget(scopes: Iterable<string>): string {
  return [...new Set(scopes)].sort().join(" ");
}

export function emptySections(): CacheSections {
  return {
    AccessToken: new Map(),
    RefreshToken: new Map(),
    IdToken: new Map(),
    Account: new Map(),
    AppMetadata: new Map(),
  };
}
