/**
 * Proof-of-possession (PoP) access tokens and the signed HTTP requests (SHR) that carry them.
 *
 * Token side: a token request with `token_type=pop` and `req_cnf` (base64url of a JSON object whose
 * `kid` is the RFC 7638 thumbprint of the client's public key) gets an access token with a
 * `cnf: { kid }` claim and `token_type: "pop"`.
 *
 * Resource side: `Authorization: PoP <SHR>`, where the SHR is a JWS (`typ: "pop"`, RS256) whose payload
 * holds the access token (`at`), the time (`ts`), the request's method (`m`), host (`u`) and path
 * (`p`), a `nonce`, and the public key (`cnf.jwk`). The resource checks that the key signed the SHR,
 * that its thumbprint is the token's `cnf.kid`, the token itself as for a Bearer token, and that the
 * SHR describes this very request; failures get `WWW-Authenticate: PoP nonce="..."` with a fresh nonce.
 * https://datatracker.ietf.org/doc/html/draft-ietf-oauth-signed-http-request-03
 * https://datatracker.ietf.org/doc/html/rfc7800 (cnf), https://datatracker.ietf.org/doc/html/rfc7638
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { type EntraError, type ErrorContext, entraError } from "./errors.js";
import { type EmuRequest, type EmuResponse, json } from "./http.js";
import { type DecodedJwt, decodeBase64url, decodeJwt, signJwt, verifyJwtSignature } from "./jwt.js";
import { nowSeconds, type World } from "./world.js";

/** How far an SHR's `ts` may be from the resource's clock, either way. */
export const SHR_MAX_SKEW_SECONDS = 300;
/** How long a nonce from a challenge stays good. */
export const NONCE_LIFETIME_SECONDS = 300;

/** Reads `req_cnf` of a `token_type=pop` request: the `kid` the token gets bound to. */
export function popRequest(form: URLSearchParams, ctx: ErrorContext): { kid: string } | EntraError {
  const reqCnf = form.get("req_cnf");
  if (!reqCnf)
    return entraError(
      ctx,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'req_cnf'.",
    );
  let cnf: unknown;
  try {
    cnf = JSON.parse(decodeBase64url(reqCnf).toString("utf8"));
  } catch {
    cnf = undefined;
  }
  const kid = typeof cnf === "object" && cnf !== null ? (cnf as Record<string, unknown>).kid : undefined;
  if (typeof kid !== "string" || kid === "")
    return entraError(
      ctx,
      "invalid_request",
      90100,
      "The 'req_cnf' parameter is empty or not valid: it must be base64url-encoded JSON with a 'kid', the RFC 7638 thumbprint of the key.",
    );
  return { kid };
}

/** Re-signs a token response's access token with `cnf.kid` added, and names it a PoP token. */
export function bindToKey(
  world: World,
  tokens: Record<string, unknown>,
  kid: string,
): Record<string, unknown> {
  const jwt = decodeJwt(String(tokens.access_token));
  if (!jwt) return tokens;
  const accessToken = signJwt(
    { typ: "JWT", kid: world.keyId },
    { ...jwt.payload, cnf: { kid } },
    world.signingKey,
  );
  return { ...tokens, token_type: "pop", access_token: accessToken };
}

/** RFC 7638 thumbprint of an RSA JWK: SHA-256 of its required members in lexical order. */
export function rsaThumbprint(jwk: { e: string; n: string }): string {
  const canonical = JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n });
  return createHash("sha256").update(canonical).digest("base64url");
}

// Nonces are stateless: issue time, salt and a MAC under a key only this emulator knows.
const nonceKeys = new WeakMap<World, Buffer>();

function nonceKey(world: World): Buffer {
  let key = nonceKeys.get(world);
  if (!key) {
    key = randomBytes(32);
    nonceKeys.set(world, key);
  }
  return key;
}

function nonceMac(world: World, body: Buffer): Buffer {
  return createHmac("sha256", nonceKey(world)).update(body).digest().subarray(0, 16);
}

/** A fresh nonce for a `WWW-Authenticate: PoP nonce="..."` challenge. */
export function issueNonce(world: World): string {
  const body = Buffer.alloc(16);
  body.writeBigUInt64BE(BigInt(nowSeconds()));
  randomBytes(8).copy(body, 8);
  return Buffer.concat([body, nonceMac(world, body)]).toString("base64url");
}

function nonceIsCurrent(world: World, nonce: unknown): boolean {
  if (typeof nonce !== "string") return false;
  const raw = decodeBase64url(nonce);
  if (raw.length !== 32) return false;
  const body = raw.subarray(0, 16);
  if (!timingSafeEqual(raw.subarray(16), nonceMac(world, body))) return false;
  const age = nowSeconds() - Number(body.readBigUInt64BE());
  return age >= 0 && age <= NONCE_LIFETIME_SECONDS;
}

function challenge(world: World, error: string, description: string, claims?: string): EmuResponse {
  // A quoted-string may not hold a bare quote or backslash (RFC 9110 section 5.6.4); the Host header
  // the description may echo is the client's.
  const quoted = description.replace(/["\\]/g, "'");
  const params = [`nonce="${issueNonce(world)}"`, `error="${error}"`, `error_description="${quoted}"`];
  if (claims) params.push(`claims="${Buffer.from(claims).toString("base64")}"`);
  return json(
    401,
    { error, error_description: description },
    { "www-authenticate": `PoP ${params.join(", ")}` },
  );
}

/** Whether the emulator signed this access token and it has not expired; a reason otherwise. */
function innerTokenProblem(world: World, at: DecodedJwt | undefined): string | undefined {
  if (!at || at.header.kid !== world.keyId || !verifyJwtSignature(at, createPublicKey(world.signingKey)))
    return "The access token in the signed request is not signed by the emulator.";
  if (typeof at.payload.exp !== "number" || at.payload.exp < nowSeconds())
    return "The access token in the signed request has expired.";
  return undefined;
}

function publicKeyOf(jwk: unknown): { key: KeyObject; thumbprint: string } | undefined {
  if (typeof jwk !== "object" || jwk === null) return undefined;
  const { kty, n, e } = jwk as Record<string, unknown>;
  if (kty !== "RSA" || typeof n !== "string" || typeof e !== "string") return undefined;
  try {
    return {
      key: createPublicKey({ key: { kty, n, e }, format: "jwk" }),
      thumbprint: rsaThumbprint({ e, n }),
    };
  } catch {
    return undefined;
  }
}

/** The `u` an SHR must carry for this request: the host and port the client addressed. */
function requestHost(req: EmuRequest): string {
  return (req.headers.host ?? req.url.host).toLowerCase();
}

/**
 * The protected resource's PoP side, called first by `GET /_emulator/resource`: answers requests that
 * carry `Authorization: PoP`, PoP-bound tokens sent as Bearer, and every request when the URL asks for
 * a nonce (`?nonce=required`); returns `undefined` to leave other requests to the Bearer checks.
 */
export function popResourceResponse(req: EmuRequest, world: World): EmuResponse | undefined {
  const nonceRequired = req.url.searchParams.get("nonce") === "required";
  const authorization = req.headers.authorization ?? "";
  const shr = /^PoP\s+(\S+)$/i.exec(authorization)?.[1];
  if (!shr) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    if (bearer && decodeJwt(bearer)?.payload.cnf !== undefined)
      return challenge(
        world,
        "invalid_token",
        "This access token is bound to a key: send it in a signed HTTP request, Authorization: PoP <SHR>.",
      );
    if (!nonceRequired) return undefined;
    return challenge(
      world,
      "invalid_token",
      "This resource takes proof-of-possession tokens only: send Authorization: PoP <SHR> with the nonce of this challenge.",
    );
  }
  return verifySignedRequest(req, world, shr, nonceRequired);
}

function verifySignedRequest(
  req: EmuRequest,
  world: World,
  shr: string,
  nonceRequired: boolean,
): EmuResponse {
  const fail = (description: string) => challenge(world, "invalid_token", description);
  const signed = decodeJwt(shr);
  if (signed?.header.typ !== "pop" || signed.header.alg !== "RS256")
    return fail("The signed HTTP request must be a JWS with typ pop and alg RS256.");
  const payload = signed.payload;
  const key = publicKeyOf((payload.cnf as Record<string, unknown> | undefined)?.jwk);
  if (!key) return fail("The signed HTTP request has no RSA public key in cnf.jwk.");
  if (!verifyJwtSignature(signed, key.key))
    return fail("The signed HTTP request's signature does not verify with the key in cnf.jwk.");
  if (typeof payload.at !== "string") return fail("The signed HTTP request has no access token (at).");
  const at = decodeJwt(payload.at);
  const problem = innerTokenProblem(world, at);
  if (problem || !at) return fail(problem ?? "");
  const boundKid = (at.payload.cnf as Record<string, unknown> | undefined)?.kid;
  if (boundKid === undefined)
    return fail("The access token is a Bearer token, not bound to a key: use it as Authorization: Bearer.");
  if (boundKid !== key.thumbprint)
    return fail(
      "The signed HTTP request is signed by a key other than the one the access token is bound to.",
    );
  if (payload.m !== req.method)
    return fail(`The signed HTTP request is for another method than ${req.method}.`);
  if (typeof payload.u !== "string" || payload.u.toLowerCase() !== requestHost(req))
    return fail(`The signed HTTP request is for another host than ${requestHost(req)}.`);
  if (payload.p !== req.url.pathname)
    return fail(`The signed HTTP request is for another path than ${req.url.pathname}.`);
  const ts = payload.ts;
  if (typeof ts !== "number" || Math.abs(nowSeconds() - ts) > SHR_MAX_SKEW_SECONDS)
    return fail(`The signed HTTP request's ts is more than ${SHR_MAX_SKEW_SECONDS} seconds from now.`);
  if (nonceRequired && !nonceIsCurrent(world, payload.nonce))
    return fail("The signed HTTP request must carry the nonce of this challenge.");
  const { aud, scp, oid, iat, xms_cc } = at.payload;
  const event = typeof oid === "string" ? world.caeEvents.get(oid) : undefined;
  if (event !== undefined && (typeof iat !== "number" || iat < event)) {
    const claims = JSON.stringify({ access_token: { nbf: { essential: true, value: String(event) } } });
    return challenge(
      world,
      "insufficient_claims",
      "The access token was issued before a revocation event for its user.",
      claims,
    );
  }
  return json(200, { oid, aud, scp, ...(xms_cc !== undefined ? { xms_cc } : {}), cnf: { kid: boundKid } });
}
