/**
 * The authorization endpoint, `{tenant}/oauth2/v2.0/authorize`: a sign-in page a person (or a test
 * over HTTP, or a browser driven by Playwright) fills in, with browser sessions for SSO,
 * `prompt` (none, login, consent, select_account), `login_hint`, `domain_hint`, `max_age`, PKCE,
 * `claims`, `nonce`, and the query, fragment and form_post response modes.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
 */
import type { App, Tenant } from "./directory.js";
import { type EmuRequest, type EmuResponse, html, redirect } from "./http.js";
import { clientInfo } from "./issue.js";
import { accountPickerPage, consentPage, errorPage, formPostPage, signInPage } from "./pages.js";
import { OIDC_SCOPES } from "./scopes.js";
import {
  type BrowserSession,
  findApp,
  findUser,
  findUserByOid,
  nowSeconds,
  type ReservedTenant,
  randomToken,
  resolveTenantSegment,
  userAllowedAt,
  userOid,
  userTenantId,
  type World,
} from "./world.js";

export const SESSION_COOKIE = "emu_session";
const PENDING_FIELD = "emu_request";

/** A validated authorization request: from here on, errors go back to the redirect URI. */
interface AuthorizeContext {
  req: EmuRequest;
  world: World;
  params: URLSearchParams;
  app: App;
  tenant: Tenant | ReservedTenant;
  redirectUri: string;
  pendingId: string;
  action: string;
}

function isLoopback(url: URL): boolean {
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** Exact match, except that a registered loopback URI matches any port (RFC 8252 section 7.3). */
export function redirectUriRegistered(app: App, candidate: string): boolean {
  let asked: URL;
  try {
    asked = new URL(candidate);
  } catch {
    return false;
  }
  const path = (u: URL) => (u.pathname === "/" ? "" : u.pathname);
  return (app.redirectUris ?? []).some((registered) => {
    if (registered === candidate) return true;
    const r = new URL(registered);
    if (isLoopback(r) && isLoopback(asked)) return r.hostname === asked.hostname && path(r) === path(asked);
    return r.origin === asked.origin && path(r) === path(asked) && r.search === asked.search;
  });
}

function errorPageResponse(req: EmuRequest, status: number, code: number, message: string): EmuResponse {
  return html(status, errorPage(code, message, req.correlationId));
}

export function authorizeEndpoint(req: EmuRequest, world: World, segment: string): EmuResponse {
  const pendingId = req.form.get(PENDING_FIELD);
  const params = pendingId
    ? world.pendingAuthorize.get(pendingId)
    : new URLSearchParams([...req.url.searchParams, ...req.form]);
  if (!params)
    return errorPageResponse(
      req,
      400,
      50089,
      "Your sign-in took too long or the page was opened twice. Start the sign-in again.",
    );
  const clientId = params.get("client_id");
  if (!clientId)
    return errorPageResponse(
      req,
      400,
      900144,
      "The request body must contain the following parameter: 'client_id'.",
    );
  const app = findApp(world, clientId);
  if (!app) {
    return errorPageResponse(
      req,
      400,
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${segment}'.`,
    );
  }
  const tenant = resolveTenantSegment(world, segment);
  if (!tenant) return errorPageResponse(req, 400, 90002, `Tenant '${segment}' not found.`);
  const redirectUri = params.get("redirect_uri") ?? app.redirectUris?.[0];
  if (!redirectUri || !redirectUriRegistered(app, redirectUri)) {
    return errorPageResponse(
      req,
      400,
      50011,
      `The redirect URI '${redirectUri ?? ""}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
    );
  }
  const id = pendingId ?? randomToken("", 18);
  world.pendingAuthorize.set(id, params);
  const ctx: AuthorizeContext = {
    req,
    world,
    params,
    app,
    tenant,
    redirectUri,
    pendingId: id,
    action: pendingId ? (req.form.get("action") ?? "") : "",
  };
  const invalid = pendingId ? undefined : requestProblem(ctx);
  if (invalid) return invalid;
  return pendingId ? continueSignIn(ctx) : startSignIn(ctx);
}

function requestProblem(ctx: AuthorizeContext): EmuResponse | undefined {
  const { params } = ctx;
  if (params.get("response_type") !== "code") {
    return respond(ctx, {
      error: "unsupported_response_type",
      error_description:
        "AADSTS700054: response_type must be 'code' for this emulator's authorization code flow.",
    });
  }
  const method = params.get("code_challenge_method");
  if (params.get("code_challenge") && method && method !== "S256" && method !== "plain") {
    return respond(ctx, {
      error: "invalid_request",
      error_description: `AADSTS501491: Invalid code_challenge_method '${method}': use S256 or plain.`,
    });
  }
  const claims = params.get("claims");
  if (claims) {
    try {
      JSON.parse(claims);
    } catch {
      return respond(ctx, {
        error: "invalid_request",
        error_description: "AADSTS90100: The claims parameter is not valid JSON.",
      });
    }
  }
  const mode = params.get("response_mode");
  if (mode && !["query", "fragment", "form_post"].includes(mode)) {
    return respond(ctx, {
      error: "invalid_request",
      error_description: `AADSTS900144: Invalid response_mode '${mode}': use query, fragment or form_post.`,
    });
  }
  return undefined;
}

function session(ctx: AuthorizeContext): { id: string; value: BrowserSession } | undefined {
  const id = ctx.req.cookies[SESSION_COOKIE];
  const value = id ? ctx.world.sessions.get(id) : undefined;
  return id && value ? { id, value } : undefined;
}

/** Session users who may sign in here and match `login_hint`. */
function candidates(ctx: AuthorizeContext): BrowserSession["users"] {
  const hint = ctx.params.get("login_hint")?.toLowerCase();
  return (session(ctx)?.value.users ?? []).filter((u) => {
    const user = findUserByOid(ctx.world, u.oid);
    return (
      user && userAllowedAt(ctx.world, user, ctx.tenant) && (!hint || user.username.toLowerCase() === hint)
    );
  });
}

function tooOld(ctx: AuthorizeContext, authTime: number): boolean {
  const maxAge = ctx.params.get("max_age");
  if (maxAge === null) return false;
  // max_age=0 always asks for a fresh sign-in (OIDC Core 3.1.2.1: equivalent to prompt=login).
  return Number(maxAge) === 0 || authTime + Number(maxAge) < nowSeconds();
}

function resourceScopes(ctx: AuthorizeContext): string[] {
  return (ctx.params.get("scope") ?? "").split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s.toLowerCase()));
}

function consented(ctx: AuthorizeContext, oid: string): boolean {
  const granted = ctx.world.consents.get(`${ctx.app.clientId}|${oid}`);
  return resourceScopes(ctx).every((s) => granted?.has(s));
}

function recordConsent(ctx: AuthorizeContext, oid: string): void {
  const key = `${ctx.app.clientId}|${oid}`;
  ctx.world.consents.set(key, new Set([...(ctx.world.consents.get(key) ?? []), ...resourceScopes(ctx)]));
}

function startSignIn(ctx: AuthorizeContext): EmuResponse {
  const prompt = ctx.params.get("prompt");
  const users = candidates(ctx);
  const fresh = users.filter((u) => !tooOld(ctx, u.authTime));
  if (prompt === "none") {
    const [only] = fresh;
    if (users.length > 1)
      return respond(ctx, {
        error: "interaction_required",
        error_description: "AADSTS16000: Multiple accounts are signed in; the user must pick one.",
      });
    if (!only)
      return respond(ctx, {
        error: "login_required",
        error_description: "AADSTS50058: A silent sign-in request was sent but no user is signed in.",
      });
    if (!consented(ctx, only.oid))
      return respond(ctx, {
        error: "consent_required",
        error_description: "AADSTS65001: The user or administrator has not consented to use the application.",
      });
    return issueCode(ctx, only.oid, only.authTime);
  }
  if (prompt === "login" || users.length === 0) return signIn(ctx);
  if (prompt === "select_account" || users.length > 1) return picker(ctx, users);
  const [only] = fresh;
  if (!only) return signIn(ctx, findUserByOid(ctx.world, (users[0] as { oid: string }).oid)?.username);
  if (prompt === "consent" || !consented(ctx, only.oid)) return consent(ctx, only.oid);
  return issueCode(ctx, only.oid, only.authTime);
}

function continueSignIn(ctx: AuthorizeContext): EmuResponse {
  const { action, req } = ctx;
  if (action === "cancel") {
    return respond(ctx, {
      error: "access_denied",
      error_subcode: "cancel",
      error_description: "AADSTS65004: User declined to consent to access the app.",
    });
  }
  if (action === "signin")
    return checkPassword(ctx, req.form.get("username") ?? "", req.form.get("password") ?? "");
  if (action === "choose") {
    const chosen = candidates(ctx).find((u) => u.oid === req.form.get("account"));
    if (!chosen) return signIn(ctx);
    if (tooOld(ctx, chosen.authTime)) return signIn(ctx, findUserByOid(ctx.world, chosen.oid)?.username);
    if (ctx.params.get("prompt") === "consent" || !consented(ctx, chosen.oid))
      return consent(ctx, chosen.oid);
    return issueCode(ctx, chosen.oid, chosen.authTime);
  }
  if (action === "consent") {
    const chosen = candidates(ctx).find((u) => u.oid === req.form.get("account"));
    if (!chosen) return signIn(ctx);
    recordConsent(ctx, chosen.oid);
    return issueCode(ctx, chosen.oid, chosen.authTime);
  }
  return signIn(ctx);
}

function formAction(ctx: AuthorizeContext): string {
  return `${ctx.world.baseUrl}${ctx.req.url.pathname}`;
}

function signIn(ctx: AuthorizeContext, username?: string, error?: string): EmuResponse {
  const domainHint = ctx.params.get("domain_hint");
  return html(
    200,
    signInPage({
      action: formAction(ctx),
      fields: { [PENDING_FIELD]: ctx.pendingId },
      appName: ctx.app.displayName ?? ctx.app.clientId,
      permissions: (ctx.params.get("scope") ?? "").split(/\s+/).filter(Boolean),
      username: username ?? ctx.params.get("login_hint") ?? "",
      ...(error ? { error } : {}),
      ...(domainHint ? { note: `Organisation: ${domainHint}` } : {}),
    }),
  );
}

function picker(ctx: AuthorizeContext, users: BrowserSession["users"]): EmuResponse {
  const accounts = users.flatMap((u) => {
    const user = findUserByOid(ctx.world, u.oid);
    return user ? [{ oid: u.oid, username: user.username }] : [];
  });
  return html(200, accountPickerPage(formAction(ctx), { [PENDING_FIELD]: ctx.pendingId }, accounts));
}

function consent(ctx: AuthorizeContext, oid: string): EmuResponse {
  const username = findUserByOid(ctx.world, oid)?.username ?? oid;
  const fields = { [PENDING_FIELD]: ctx.pendingId, account: oid };
  const permissions = (ctx.params.get("scope") ?? "").split(/\s+/).filter(Boolean);
  return html(
    200,
    consentPage(formAction(ctx), fields, ctx.app.displayName ?? ctx.app.clientId, username, permissions),
  );
}

function checkPassword(ctx: AuthorizeContext, username: string, password: string): EmuResponse {
  const user = findUser(ctx.world, username);
  if (!user || !userAllowedAt(ctx.world, user, ctx.tenant)) {
    return signIn(ctx, username, "We couldn't find an account with that username. (AADSTS50034)");
  }
  if (user.password !== password)
    return signIn(ctx, username, "Your account or password is incorrect. (AADSTS50126)");
  const oid = userOid(user);
  const authTime = nowSeconds();
  const existing = session(ctx);
  const id = existing?.id ?? randomToken("", 24);
  const others = existing?.value.users.filter((u) => u.oid !== oid) ?? [];
  ctx.world.sessions.set(id, {
    users: [{ oid, tenantId: userTenantId(ctx.world, user), authTime }, ...others],
  });
  recordConsent(ctx, oid);
  const cookie = `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Lax`;
  return issueCode(ctx, oid, authTime, { "set-cookie": cookie });
}

function issueCode(
  ctx: AuthorizeContext,
  oid: string,
  authTime: number,
  headers: Record<string, string> = {},
): EmuResponse {
  const { params, world } = ctx;
  const user = findUserByOid(world, oid);
  const code = randomToken("1.emu-code.", 48);
  const challenge = params.get("code_challenge");
  const nonce = params.get("nonce");
  const claims = params.get("claims");
  const tenantId = user ? userTenantId(world, user) : "";
  world.codes.set(code, {
    clientId: ctx.app.clientId,
    redirectUri: ctx.redirectUri,
    scopes: (params.get("scope") ?? "openid profile").split(/\s+/).filter(Boolean),
    userOid: oid,
    tenantId,
    authTime,
    expiresAt: nowSeconds() + world.settings.authCodeLifetime,
    redeemed: false,
    ...(challenge
      ? {
          codeChallenge: challenge,
          codeChallengeMethod: params.get("code_challenge_method") === "S256" ? "S256" : "plain",
        }
      : {}),
    ...(nonce !== null ? { nonce } : {}),
    ...(claims ? { claims } : {}),
  });
  world.pendingAuthorize.delete(ctx.pendingId);
  const fields: Record<string, string> = { code };
  if (params.get("client_info") === "1") fields.client_info = clientInfo(oid, tenantId);
  fields.session_state = randomToken("", 16);
  return respond(ctx, fields, headers);
}

/** Sends the authorization response to the redirect URI in the requested response mode. */
function respond(
  ctx: AuthorizeContext,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): EmuResponse {
  const state = ctx.params.get("state");
  const all = state !== null ? { ...fields, state } : fields;
  const mode = ctx.params.get("response_mode") ?? "query";
  if (mode === "form_post") return html(200, formPostPage(ctx.redirectUri, all), headers);
  const target = new URL(ctx.redirectUri);
  const encoded = new URLSearchParams(all).toString();
  if (mode === "fragment") target.hash = encoded;
  else for (const [k, v] of Object.entries(all)) target.searchParams.set(k, v);
  return redirect(target.toString(), headers);
}
