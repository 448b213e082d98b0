/**
 * The signed HTTP request (SHR) a proof-of-possession access token travels in, as Entra's AT-PoP
 * defines it (draft-ietf-oauth-signed-http-request, as Entra and msal-node use it). Wire format:
 *
 * - Token request: `token_type=pop` and `req_cnf=base64url-no-padding(JSON {"kid": kid})`, where
 *   `kid` is the base64url SHA-256 JWK thumbprint (RFC 7638) of the app's RSA public key.
 * - Token response: `token_type: "pop"`; the access token carries `cnf: { kid }`.
 * - SHR: a JWS compact, header `{ "alg": "RS256", "typ": "pop", "kid": kid }`, payload
 *   `{ "at": <the server's access token>, "ts": <epoch seconds, fresh per call>, "m": <HTTP method>,
 *   "u": <host[:port] of the URL>, "p": <path>, "nonce": <nonce, when given>,
 *   "cnf": { "jwk": { "kty": "RSA", "n", "e" } } }`, signed RS256 with the bound private key.
 * - The app sends `Authorization: PoP <SHR>`; the result's `token_type` is `"pop"`.
 */
import { encodeBase64Url } from "../protocol/base64.js";
import type { PopAuthScheme } from "./auth-scheme.js";
import type { PopKey } from "./key-store.js";

/** The claims of an SHR, as {@link signHttpRequest} writes them. */
export interface ShrPayload {
  /** The access token the server issued (bound to the key by its `cnf.kid`). */
  at: string;
  /** When the SHR was signed, epoch seconds. */
  ts: number;
  /** The HTTP method. */
  m: string;
  /** The URL's host, with the port when it is not the scheme's default. */
  u: string;
  /** The URL's path. */
  p: string;
  /** The resource's nonce. */
  nonce?: string;
  /** The public key that signed the SHR. */
  cnf: {
    /** The RSA public key (`kty`, `n`, `e`). */
    jwk: PopKey["publicJwk"];
  };
}

const text = (value: unknown) => encodeBase64Url(new TextEncoder().encode(JSON.stringify(value)));

/**
 * Signs an access token into an SHR for one HTTP request. Each call has its own `ts`, so a cached
 * token is signed afresh for every request.
 *
 * @example
 * ```ts
 * const key = await inMemoryPopKeyStore().getKey();
 * const shr = await signHttpRequest(result.access_token, new PopAuthScheme("GET", "https://api.contoso.com/", "n"), key);
 * ```
 */
export async function signHttpRequest(
  accessToken: string,
  scheme: PopAuthScheme,
  key: PopKey,
  now: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  const payload: ShrPayload = {
    at: accessToken,
    ts: now,
    m: scheme.httpMethod,
    u: scheme.url.host,
    p: scheme.url.pathname,
    ...(scheme.nonce ? { nonce: scheme.nonce } : {}),
    cnf: { jwk: key.publicJwk },
  };
  const signingInput = `${text({ alg: "RS256", typ: "pop", kid: key.kid })}.${text(payload)}`;
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    key.privateKey,
    new TextEncoder().encode(signingInput),
  );
  return `${signingInput}.${encodeBase64Url(new Uint8Array(signature))}`;
}
