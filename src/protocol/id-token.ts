/**
 * id_token validation for sign-ins: audience, issuer (Entra's multi-tenant `{tenantid}` template
 * filled in with the token's `tid`), lifetime with clock skew, nonce, and `auth_time` against
 * `max_age`. Stricter than MSAL Python, which only warns on lifetime and skips the issuer.
 * https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
import { IdTokenError } from "../errors.js";
import { decodeIdToken, type IdTokenClaims } from "./jwt.js";

/** Clocks may differ this much (seconds). */
export const CLOCK_SKEW_SECONDS = 300;

export interface IdTokenExpectations {
  clientId: string;
  /** The issuer from the OpenID configuration; checked when known. */
  issuer?: string;
  /** The nonce the authorize request carried (MSAL sends the SHA-256 hex of its raw nonce). */
  nonce?: string;
  /** Seconds: the sign-in must be this recent (`auth_time`). */
  maxAge?: number;
  now?: number;
}

function describe(claims: IdTokenClaims, now: number): string {
  const shown = {
    iss: claims.iss,
    aud: claims.aud,
    exp: claims.exp,
    nbf: claims.nbf,
    iat: claims.iat,
    tid: claims.tid,
  };
  return `(now ${now}, claims ${JSON.stringify(shown)})`;
}

/** The expected issuer: Entra's `{tenantid}` placeholder (common/organizations) is the token's tenant. */
function expectedIssuer(template: string, claims: IdTokenClaims): string {
  return typeof claims.tid === "string" ? template.replace("{tenantid}", claims.tid) : template;
}

export function validateIdToken(idToken: string, expect: IdTokenExpectations): IdTokenClaims {
  const claims = decodeIdToken(idToken, { clientId: expect.clientId });
  const now = expect.now ?? Math.floor(Date.now() / 1000);
  if (expect.issuer !== undefined) {
    const wanted = expectedIssuer(expect.issuer, claims);
    if (claims.iss !== wanted) {
      throw new IdTokenError(
        "id_token_issuer_mismatch",
        `The id_token was issued by ${String(claims.iss)}, not by ${wanted} as the authority's configuration says. Check the authority. ${describe(claims, now)}`,
      );
    }
  }
  if (typeof claims.exp !== "number" || claims.exp + CLOCK_SKEW_SECONDS < now) {
    throw new IdTokenError(
      "id_token_expired",
      `The id_token has expired. Sign in again; if this repeats, check this machine's clock. ${describe(claims, now)}`,
    );
  }
  if (typeof claims.nbf === "number" && claims.nbf - CLOCK_SKEW_SECONDS > now) {
    throw new IdTokenError(
      "id_token_not_yet_valid",
      `The id_token is not valid yet: check this machine's clock. ${describe(claims, now)}`,
    );
  }
  if (expect.nonce !== undefined && claims.nonce !== expect.nonce) {
    throw new IdTokenError(
      "id_token_nonce_mismatch",
      `The id_token's nonce does not match the sign-in request's: the response belongs to another sign-in, or was replayed. Start the sign-in again. ${describe(claims, now)}`,
    );
  }
  if (expect.maxAge !== undefined) {
    if (typeof claims.auth_time !== "number") {
      throw new IdTokenError(
        "id_token_auth_time_missing",
        `The sign-in asked for max_age, but the id_token has no auth_time. ${describe(claims, now)}`,
      );
    }
    if (claims.auth_time + expect.maxAge + CLOCK_SKEW_SECONDS < now) {
      throw new IdTokenError(
        "id_token_max_age_exceeded",
        `The user signed in ${now - claims.auth_time} s ago, more than max_age (${expect.maxAge} s) allows. Sign in again with prompt=login. ${describe(claims, now)}`,
      );
    }
  }
  return claims;
}
