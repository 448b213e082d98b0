/**
 * Turns a token response and its request into cache entities, as MSAL Python's `TokenCache.add`
 * does (spec section 5.5): the realm comes from the token endpoint, never from the id_token; the
 * home account id from `client_info` (`uid.utid`), else the id_token's `sub`; an account is written
 * only for user tokens.
 */
import { hostWithoutPort } from "../authority/aliases.js";
import { decodeIdToken, decodePart, type IdTokenClaims } from "../protocol/jwt.js";
import type {
  AccessTokenEntity,
  AccountEntity,
  AppMetadataEntity,
  IdTokenEntity,
  RefreshTokenEntity,
} from "./schema.js";
import { scopesToTarget } from "./schema.js";

/** What a flow hands the cache after a successful token request. */
export interface TokenCacheEvent {
  /** The application (client) id the tokens were issued to. */
  clientId: string;
  /** The scopes requested; used when the response has no `scope`. */
  scopes: readonly string[];
  /** The token endpoint the response came from: its first path segment is the realm. */
  tokenEndpoint: string;
  /** The authority's host, which overrides the token endpoint's host (regional endpoints). */
  environment?: string;
  /** The token response as the server sent it (wire field names). */
  response: Record<string, unknown>;
  /** The request's extra data (`key_id`, `username`). */
  data?: Record<string, unknown>;
  /**
   * The request's `grant_type`; sign-in grants (authorization code, device code, password) set the account's
   * `account_source`.
   */
  grantType?: string;
  /** The username for federated sign-ins, whose SAML-based id_token may lack one. */
  username?: string;
  /** `ADFS`, `MSSTS` (the default) or another type. */
  authorityType?: string;
  /** Set by refreshes, so that a refresh racing a sign-out does not bring the account back. */
  skipAccountCreation?: boolean;
  /** On-behalf-of: the hash of the user assertion, stored so repeated calls find their tokens. */
  userAssertionHash?: string;
  /**
   * `pop`: the access token is bound to the app's PoP key (`data.key_id`) and is stored as an
   * `AccessToken_With_AuthScheme`, apart from Bearer tokens.
   */
  authScheme?: "pop";
}

/**
 * The entities one token response becomes, as the cache stores them; those the response did not carry are
 * absent.
 */
export interface CacheEntities {
  /** The access token, when the response had one. */
  accessToken?: AccessTokenEntity;
  /** The refresh token, when the response had one. */
  refreshToken?: RefreshTokenEntity;
  /** The ID token, when the response had one. */
  idToken?: IdTokenEntity;
  /** The account, for user tokens only. */
  account?: AccountEntity;
  /** The client's metadata (its FOCI family), written for every response. */
  appMetadata: AppMetadataEntity;
}

/** Grants that establish an account; refreshes, OBO and assertions do not set `account_source`. */
const ACCOUNT_SOURCES = new Set([
  "broker",
  "authorization_code",
  "password",
  "urn:ietf:params:oauth:grant-type:device_code",
]);

const seconds = (value: unknown): number | undefined => {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Math.trunc(Number(value));
  return Number.isFinite(n) ? n : undefined;
};

function endpointParts(tokenEndpoint: string): { host: string; tenant: string } {
  const url = new URL(tokenEndpoint);
  return { host: url.host.toLowerCase(), tenant: url.pathname.split("/").filter(Boolean)[0] ?? "" };
}

/** The user a token response is for: `client_info`'s uid.utid, else the id_token's subject. */
export function homeAccountId(
  response: { client_info?: unknown },
  claims: IdTokenClaims | undefined,
): string | null {
  if (typeof response.client_info === "string") {
    try {
      const info = decodePart(response.client_info);
      if (info.uid && info.utid) return `${info.uid}.${info.utid}`;
    } catch {
      // A client_info that does not decode falls back to the id_token, as MSAL Python does.
    }
  }
  return typeof claims?.sub === "string" ? claims.sub : null;
}

/** How {@link entitiesFromEvent} writes what the event alone does not decide. */
export interface EntityOptions {
  /**
   * `home_account_id` of app tokens (no account: client credentials). MSAL Python writes `null` (the
   * default) and finds its app tokens only with `null`; msal-node (msal-common) writes `""` and finds
   * its app tokens only with `""`. See `TokenCacheOptions.appTokenHomeAccountId`.
   */
  appTokenHomeAccountId?: null | "";
  /** Keep the port in `environment` (msal-node's form); see `TokenCacheOptions.environmentWithPort`. */
  environmentWithPort?: boolean;
}

export function entitiesFromEvent(
  event: TokenCacheEvent,
  now: number,
  options: EntityOptions = {},
): CacheEntities {
  const { response } = event;
  const { host, tenant: realm } = endpointParts(event.tokenEndpoint);
  const named = (event.environment ?? host).toLowerCase();
  const environment = options.environmentWithPort ? named : hostWithoutPort(named);
  const idToken = typeof response.id_token === "string" ? response.id_token : undefined;
  const claims =
    response.id_token_claims && typeof response.id_token_claims === "object"
      ? (response.id_token_claims as IdTokenClaims)
      : idToken
        ? decodeIdToken(idToken, { clientId: event.clientId })
        : undefined;
  const home = homeAccountId(response, claims);
  const scope =
    typeof response.scope === "string" ? response.scope.split(/\s+/).filter(Boolean) : event.scopes;
  const target = scopesToTarget(scope);
  const out: CacheEntities = { appMetadata: { client_id: event.clientId, environment } };
  if (response.foci !== undefined) out.appMetadata.family_id = String(response.foci);

  if (typeof response.access_token === "string") {
    const expiresOn = seconds(response.expires_on);
    const expiresIn = seconds(response.expires_in) ?? (expiresOn !== undefined ? expiresOn - now : 600);
    const extExpiresIn = seconds(response.ext_expires_in) ?? expiresIn;
    const at: AccessTokenEntity = {
      credential_type: event.authScheme === "pop" ? "AccessToken_With_AuthScheme" : "AccessToken",
      secret: response.access_token,
      home_account_id: home ?? options.appTokenHomeAccountId ?? null,
      environment,
      client_id: event.clientId,
      target,
      realm,
      token_type: typeof response.token_type === "string" ? response.token_type : "Bearer",
      cached_at: String(now),
      expires_on: String(now + expiresIn),
      extended_expires_on: String(now + extExpiresIn),
    };
    if (event.data?.key_id !== undefined) at.key_id = String(event.data.key_id);
    const refreshIn = seconds(response.refresh_in);
    if (refreshIn !== undefined) at.refresh_on = String(now + refreshIn);
    if (event.userAssertionHash !== undefined) at.userAssertionHash = event.userAssertionHash;
    out.accessToken = at;
  }
  if (home !== null && !event.skipAccountCreation) {
    const account: AccountEntity = {
      home_account_id: home,
      environment,
      realm,
      local_account_id: (claims?.oid as string | undefined) ?? claims?.sub ?? null,
      username:
        claims?.preferred_username ??
        claims?.upn ??
        (event.data?.username as string | undefined) ??
        event.username ??
        "",
      authority_type: event.authorityType ?? (realm === "adfs" ? "ADFS" : "MSSTS"),
    };
    if (event.grantType && ACCOUNT_SOURCES.has(event.grantType)) account.account_source = event.grantType;
    out.account = account;
  }
  if (idToken) {
    out.idToken = {
      credential_type: "IdToken",
      secret: idToken,
      home_account_id: home,
      environment,
      realm,
      client_id: event.clientId,
    };
  }
  if (typeof response.refresh_token === "string") {
    const rt: RefreshTokenEntity = {
      credential_type: "RefreshToken",
      secret: response.refresh_token,
      home_account_id: home,
      environment,
      client_id: event.clientId,
      target,
      last_modification_time: String(now),
    };
    if (response.foci !== undefined) rt.family_id = String(response.foci);
    if (event.userAssertionHash !== undefined) rt.userAssertionHash = event.userAssertionHash;
    out.refreshToken = rt;
  }
  return out;
}
