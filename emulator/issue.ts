/**
 * Builds token responses shaped as Entra ID's v2.0 endpoint returns them: `token_type`, `scope`,
 * `expires_in`, `ext_expires_in`, `refresh_in` (long-lived tokens only), `access_token`,
 * `refresh_token`, `id_token`, `client_info` and `foci` for family apps.
 * https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference
 */
import { createHash } from "node:crypto";
import type { App, User } from "./directory.js";
import { base64url, signJwt } from "./jwt.js";
import { delegatedScope, type ParsedScopes } from "./scopes.js";
import { accessTokenClaims } from "./storage.js";
import { nowSeconds, randomToken, stableGuid, userOid, userTenantId, type World } from "./world.js";

export function issuerFor(world: World, tenantId: string): string {
  return `${world.baseUrl}/${tenantId}/v2.0`;
}

export function clientInfo(oid: string, tenantId: string): string {
  return base64url(JSON.stringify({ uid: oid, utid: tenantId }));
}

/** Entra's `sub` is pairwise: unique to the user and the app. */
function pairwiseSubject(oid: string, clientId: string): string {
  return createHash("sha256").update(`${oid}|${clientId}`).digest("base64url").slice(0, 43);
}

function signToken(world: World, payload: Record<string, unknown>): string {
  return signJwt({ typ: "JWT", kid: world.keyId }, payload, world.signingKey);
}

/** Client capabilities (`xms_cc`) the client declared in the `claims` request parameter. */
function capabilities(claims: string | undefined): string[] | undefined {
  if (!claims) return undefined;
  try {
    const values = JSON.parse(claims)?.access_token?.xms_cc?.values;
    return Array.isArray(values) ? values.map(String) : undefined;
  } catch {
    return undefined;
  }
}

function lifetimes(world: World): Record<string, number> {
  const expiresIn = world.settings.accessTokenLifetime;
  const out: Record<string, number> = { expires_in: expiresIn, ext_expires_in: expiresIn };
  const refreshIn = world.settings.refreshIn ?? (expiresIn >= 7200 ? Math.floor(expiresIn / 2) : 0);
  if (refreshIn > 0) out.refresh_in = refreshIn;
  return out;
}

export interface UserTokenRequest {
  app: App;
  user: User;
  scopes: ParsedScopes;
  authTime: number;
  nonce?: string;
  claims?: string;
  /** Authentication methods, e.g. `["pwd"]` or `["pwd", "mfa"]`. */
  amr?: string[];
  /** Whether the client sent `client_info=1`. */
  clientInfo: boolean;
}

export function issueUserTokens(world: World, req: UserTokenRequest): Record<string, unknown> {
  const now = nowSeconds();
  const oid = userOid(req.user);
  const tid = userTenantId(world, req.user);
  const profile = { name: req.user.name ?? req.user.username, preferred_username: req.user.username };
  const cc = capabilities(req.claims);
  const accessToken = signToken(
    world,
    accessTokenClaims(req.scopes, {
      aud: req.scopes.audience,
      iss: issuerFor(world, tid),
      iat: now,
      nbf: now,
      exp: now + world.settings.accessTokenLifetime,
      ...profile,
      oid,
      sub: pairwiseSubject(oid, req.scopes.audience),
      tid,
      azp: req.app.clientId,
      azpacr: req.app.secret || req.app.certificate ? "1" : "0",
      scp: delegatedScope(req.scopes),
      amr: req.amr ?? ["pwd"],
      uti: randomToken("", 16),
      ver: "2.0",
      ...(cc ? { xms_cc: cc } : {}),
    }),
  );
  const response: Record<string, unknown> = {
    token_type: "Bearer",
    scope: req.scopes.granted.join(" "),
    ...lifetimes(world),
    access_token: accessToken,
  };
  if (req.scopes.oidc.has("offline_access")) {
    const refreshToken = randomToken("1.emu-rt.");
    world.refreshTokens.set(refreshToken, {
      clientId: req.app.clientId,
      ...(req.app.familyId ? { familyId: req.app.familyId } : {}),
      userOid: oid,
      tenantId: tid,
      authTime: req.authTime,
      expiresAt: now + world.settings.refreshTokenLifetime,
      revoked: false,
    });
    response.refresh_token = refreshToken;
    if (req.app.familyId) response.foci = req.app.familyId;
  }
  if (req.scopes.oidc.has("openid")) {
    response.id_token = signToken(world, {
      aud: req.app.clientId,
      iss: issuerFor(world, tid),
      iat: now,
      nbf: now,
      exp: now + world.settings.idTokenLifetime,
      auth_time: req.authTime,
      ...profile,
      ...(req.scopes.oidc.has("email") || req.scopes.oidc.has("openid") ? { email: req.user.username } : {}),
      oid,
      sub: pairwiseSubject(oid, req.app.clientId),
      tid,
      ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
      uti: randomToken("", 16),
      ver: "2.0",
    });
  }
  if (req.clientInfo) response.client_info = clientInfo(oid, tid);
  return response;
}

/** The object id of an app's service principal in a tenant (app-only tokens carry it as `oid`). */
export function servicePrincipalId(clientId: string, tenantId: string): string {
  return stableGuid(`sp:${clientId}:${tenantId}`);
}

export function issueAppToken(
  world: World,
  app: App,
  tenantId: string,
  scopes: ParsedScopes,
  claims?: string,
): Record<string, unknown> {
  const now = nowSeconds();
  const spId = servicePrincipalId(app.clientId, tenantId);
  const cc = capabilities(claims);
  const accessToken = signToken(
    world,
    accessTokenClaims(scopes, {
      aud: scopes.audience,
      iss: issuerFor(world, tenantId),
      iat: now,
      nbf: now,
      exp: now + world.settings.accessTokenLifetime,
      azp: app.clientId,
      azpacr: "1",
      idtyp: "app",
      oid: spId,
      sub: spId,
      tid: tenantId,
      roles: [],
      uti: randomToken("", 16),
      ver: "2.0",
      ...(cc ? { xms_cc: cc } : {}),
    }),
  );
  return {
    token_type: "Bearer",
    ...lifetimes(world),
    access_token: accessToken,
  };
}
