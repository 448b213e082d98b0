/**
 * Decoding JWT parts without verifying signatures. MSAL clients receive id_tokens straight from the
 * token endpoint over TLS, so (as in MSAL Python and the OpenID Connect spec, section 3.1.3.7) the
 * claims are checked but the signature is not.
 */
import { IdTokenError } from "../errors.js";
import { decodeBase64ToString } from "./base64.js";

/** Claims of an id_token; Entra's common ones are named, others are allowed. */
export interface IdTokenClaims {
  /** Audience: the application (client) id the token was issued to. */
  aud?: string | string[];
  /** Issuer: the authority that issued the token, with the tenant id. */
  iss?: string;
  /** Issued at (epoch seconds). */
  iat?: number;
  /** Not valid before (epoch seconds). */
  nbf?: number;
  /** Expires at (epoch seconds). */
  exp?: number;
  /** Subject: the user, pairwise per application. */
  sub?: string;
  /** The user's object id in the tenant (Entra ID). */
  oid?: string;
  /** The tenant id the user signed in to (Entra ID). */
  tid?: string;
  /** The nonce of the authorization request, echoed back. */
  nonce?: string;
  /** When the user last entered credentials (epoch seconds); checked against `max_age`. */
  auth_time?: number;
  /** The user's sign-in name (Entra ID v2.0). */
  preferred_username?: string;
  /** The user principal name (Entra ID v1.0 and AD FS). */
  upn?: string;
  /** The user's display name. */
  name?: string;
  /** The token version: `1.0` or `2.0`. */
  ver?: string;
  [claim: string]: unknown;
}

/**
 * Decodes one base64 or base64url part of a JWT (or any base64 JSON, such as `client_info`) into
 * an object.
 *
 * @example
 * ```ts
 * const { uid, utid } = decodePart(response.client_info);
 * ```
 */
export function decodePart(part: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeBase64ToString(part));
  } catch (cause) {
    throw new IdTokenError("invalid_jwt_part", "The token part is not base64-encoded JSON.", { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new IdTokenError("invalid_jwt_part", "The token part is not a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

/**
 * Returns an id_token's claims, checking its audience when `clientId` is given.
 *
 * @example
 * ```ts
 * if (result.id_token) {
 *   const claims = decodeIdToken(result.id_token, { clientId: "my-client-id" });
 *   console.log(claims.preferred_username);
 * }
 * ```
 */
export function decodeIdToken(idToken: string, options: { clientId?: string } = {}): IdTokenClaims {
  const payload = idToken.split(".")[1];
  if (payload === undefined)
    throw new IdTokenError("invalid_id_token", "The id_token is not a JWT (header.payload.signature).");
  const claims = decodePart(payload) as IdTokenClaims;
  if (options.clientId !== undefined) {
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(options.clientId)) {
      throw new IdTokenError(
        "id_token_audience_mismatch",
        `The id_token is for audience ${JSON.stringify(claims.aud)}, not this app (${options.clientId}). Check the client id the app was configured with.`,
      );
    }
  }
  return claims;
}
