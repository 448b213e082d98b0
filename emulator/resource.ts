/**
 * A protected resource for Continuous Access Evaluation (CAE) tests, `GET /_emulator/resource`:
 * it accepts a bearer access token the emulator signed, unless the token was issued before a
 * revocation event for its user (`POST /_emulator/cae-event {"username"}`); such a token gets a
 * 401 with a claims challenge, as Microsoft Graph answers CAE-capable clients.
 * https://learn.microsoft.com/entra/identity-platform/claims-challenge
 */
import { createPublicKey } from "node:crypto";
import { jsonRequestBody } from "./control.js";
import { type EmuRequest, type EmuResponse, json } from "./http.js";
import { decodeJwt, verifyJwtSignature } from "./jwt.js";
import { popResourceResponse } from "./pop.js";
import { findUser, nowSeconds, userOid, type World } from "./world.js";

function eventsOf(world: World): Map<string, number> {
  return world.caeEvents;
}

/** Records a revocation event for a user now; tokens issued in an earlier second are refused. */
export function recordCaeEvent(world: World, username: string): number | undefined {
  const user = findUser(world, username);
  if (!user) return undefined;
  const at = nowSeconds();
  eventsOf(world).set(userOid(user), at);
  return at;
}

function unauthorized(error: string, description: string, claims?: string): EmuResponse {
  const challenge = [`Bearer realm=""`, `error="${error}"`, `error_description="${description}"`];
  if (claims) challenge.push(`claims="${Buffer.from(claims).toString("base64")}"`);
  return json(401, { error, error_description: description }, { "www-authenticate": challenge.join(", ") });
}

/** `GET /_emulator/resource` with `Authorization: Bearer <access token>`. */
export function resourceEndpoint(req: EmuRequest, world: World): EmuResponse {
  const pop = popResourceResponse(req, world); // Authorization: PoP <signed HTTP request> (pop.ts)
  if (pop) return pop;
  if (req.method !== "GET")
    return json(405, { error: "invalid_request", error_description: "Use GET at the resource." });
  const header = req.headers.authorization ?? "";
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) return unauthorized("invalid_request", "Send an access token: Authorization: Bearer <token>.");
  const jwt = decodeJwt(token);
  if (!jwt || jwt.header.kid !== world.keyId || !verifyJwtSignature(jwt, createPublicKey(world.signingKey)))
    return unauthorized("invalid_token", "The access token's signature is not the emulator's.");
  const { exp, iat, oid } = jwt.payload;
  const now = nowSeconds();
  if (typeof exp !== "number" || exp < now)
    return unauthorized("invalid_token", "The access token has expired.");
  const event = typeof oid === "string" ? eventsOf(world).get(oid) : undefined;
  if (event !== undefined && (typeof iat !== "number" || iat < event)) {
    const claims = JSON.stringify({ access_token: { nbf: { essential: true, value: String(event) } } });
    return unauthorized(
      "insufficient_claims",
      "The access token was issued before a revocation event for its user.",
      claims,
    );
  }
  const { aud, scp, xms_cc } = jwt.payload;
  return json(200, { oid, aud, scp, ...(xms_cc !== undefined ? { xms_cc } : {}) });
}

/** `POST /_emulator/cae-event {"username"}`: a revocation event (password reset, user disabled). */
export function caeEventEndpoint(req: EmuRequest, world: World): EmuResponse {
  if (req.method !== "POST") return json(405, { error: 'Use POST with {"username": "..."}.' });
  const body = jsonRequestBody(req);
  if (body.refused) return body.refused;
  const username = body.input.username;
  if (typeof username !== "string" || username === "")
    return json(400, { error: 'Send {"username": "..."}.' });
  const at = recordCaeEvent(world, username);
  return at === undefined ? json(404, { error: `No user ${username}.` }) : json(200, { username, at });
}
