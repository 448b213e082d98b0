/**
 * The unified MSAL cache schema: entity types and pure key makers, exactly as MSAL Python writes
 * them, so that MSAL Python, msal-node, MSAL.NET and the Azure CLI can share a cache with us.
 * Numbers are strings of epoch seconds. Fields this module does not know are kept as they are.
 * Spec: MSAL Python `token_cache.py` (key_makers, `_TokenCache.add`).
 */

/** Fields of other MSAL libraries survive a round trip: entities are open records. */
type Open = { [field: string]: unknown };

export interface AccessTokenEntity extends Open {
  credential_type: "AccessToken";
  secret: string;
  home_account_id: string | null;
  environment: string;
  client_id: string;
  /** Space-joined scopes, sorted. */
  target: string;
  realm: string;
  token_type?: string;
  cached_at: string;
  expires_on: string;
  extended_expires_on?: string;
  refresh_on?: string;
  /** Proof-of-possession or SSH certificate key id, from the request. */
  key_id?: string;
  /** On-behalf-of: base64url SHA-256 of the user assertion (msal-node's field name). */
  userAssertionHash?: string;
}

export interface RefreshTokenEntity extends Open {
  credential_type: "RefreshToken";
  secret: string;
  home_account_id: string | null;
  environment: string;
  client_id: string;
  target?: string;
  last_modification_time?: string;
  /** FOCI family, from the response's `foci`. */
  family_id?: string;
  userAssertionHash?: string;
}

export interface IdTokenEntity extends Open {
  credential_type: "IdToken";
  secret: string;
  home_account_id: string | null;
  environment: string;
  realm: string;
  client_id: string;
}

/** An account as cached: one per home account, environment and tenant (realm). */
export interface AccountEntity extends Open {
  home_account_id: string;
  environment: string;
  realm: string;
  local_account_id: string | null;
  username: string;
  /** `MSSTS` for Entra, `ADFS`, or another library's value such as `CLOUDSHELL`. */
  authority_type: string;
  account_source?: string;
}

export interface AppMetadataEntity extends Open {
  client_id: string;
  environment: string;
  family_id?: string;
}

export const SECTIONS = ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"] as const;
export type Section = (typeof SECTIONS)[number];

export interface EntityOf {
  AccessToken: AccessTokenEntity;
  RefreshToken: RefreshTokenEntity;
  IdToken: IdTokenEntity;
  Account: AccountEntity;
  AppMetadata: AppMetadataEntity;
}

/** The five sections as maps from storage key to entity. */
export type CacheSections = { [S in Section]: Map<string, EntityOf[S]> };

const text = (value: unknown): string =>
  typeof value === "string" ? value : value == null ? "" : String(value);

/** `home_account_id-environment-accesstoken-client_id-realm-target`, lower-cased. */
export function accessTokenKey(
  e: Pick<AccessTokenEntity, "home_account_id" | "environment" | "client_id" | "realm" | "target">,
): string {
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
