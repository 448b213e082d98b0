/**
 * The device authorization endpoint (`{tenant}/oauth2/v2.0/devicecode`), the page where a person
 * enters the code (`/devicelogin`), and approval or denial through the control API.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
 */
import { randomInt } from "node:crypto";
import { entraError } from "./errors.js";
import { type EmuRequest, type EmuResponse, errorResponse, html, json } from "./http.js";
import { deviceCodeEntryPage, messagePage, signInPage } from "./pages.js";
import { isScopeProblem, parseScopes } from "./scopes.js";
import {
  findApp,
  findUser,
  nowSeconds,
  randomToken,
  resolveTenantSegment,
  userAllowedAt,
  userOid,
  userTenantId,
  type World,
} from "./world.js";

const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789";

function newUserCode(): string {
  return Array.from({ length: 9 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join("");
}

export function deviceAuthorizationEndpoint(req: EmuRequest, world: World, segment: string): EmuResponse {
  const ctx = { correlationId: req.correlationId, baseUrl: world.baseUrl };
  if (!resolveTenantSegment(world, segment)) {
    return errorResponse(entraError(ctx, "invalid_request", 90002, `Tenant '${segment}' not found.`));
  }
  const clientId = req.form.get("client_id");
  if (!clientId)
    return errorResponse(
      entraError(
        ctx,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      ),
    );
  const app = findApp(world, clientId);
  if (!app) {
    return errorResponse(
      entraError(
        ctx,
        "unauthorized_client",
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${segment}'.`,
      ),
    );
  }
  const scope = req.form.get("scope") ?? "";
  const parsed = parseScopes(world, scope);
  if (isScopeProblem(parsed))
    return errorResponse(entraError(ctx, parsed.error, parsed.code, parsed.message));
  const userCode = newUserCode();
  const deviceCode = randomToken("emu-dc.", 32);
  const { deviceCodeLifetime: expiresIn, deviceCodeInterval: interval } = world.settings;
  world.deviceCodes.set(deviceCode, {
    deviceCode,
    userCode,
    clientId,
    tenantSegment: segment,
    scopes: scope.split(/\s+/).filter(Boolean),
    expiresAt: nowSeconds() + expiresIn,
    interval,
    status: "pending",
  });
  const verificationUri = `${world.baseUrl}/devicelogin`;
  return json(200, {
    user_code: userCode,
    device_code: deviceCode,
    verification_uri: verificationUri,
    expires_in: expiresIn,
    interval,
    message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
  });
}

function byUserCode(world: World, userCode: string) {
  const wanted = userCode.replace(/[\s-]/g, "").toUpperCase();
  for (const flow of world.deviceCodes.values()) if (flow.userCode === wanted) return flow;
  return undefined;
}

/** What approving or denying a device code came to: done, or why not (with the control API's HTTP status). */
export type DeviceDecision =
  | {
      /** The code was pending and is now approved or denied. */
      ok: true;
    }
  | {
      /** The code could not be decided. */
      ok: false;
      /** 404 (no such code or user), 409 (already decided) or 410 (expired). */
      status: number;
      /** What went wrong. */
      message: string;
    };

/** Approves a pending device code as `username`, as if the user had signed in on another device. */
export function approveDeviceCode(world: World, userCode: string, username: string): DeviceDecision {
  const flow = byUserCode(world, userCode);
  if (!flow) return { ok: false, status: 404, message: `No device code with user_code '${userCode}'.` };
  if (flow.status !== "pending")
    return { ok: false, status: 409, message: `The device code is already ${flow.status}.` };
  if (flow.expiresAt < nowSeconds())
    return { ok: false, status: 410, message: "The device code has expired." };
  const user = findUser(world, username);
  const tenant = resolveTenantSegment(world, flow.tenantSegment);
  if (!user || !tenant || !userAllowedAt(world, user, tenant)) {
    return {
      ok: false,
      status: 404,
      message: `No user '${username}' who may sign in at tenant '${flow.tenantSegment}'.`,
    };
  }
  Object.assign(flow, {
    status: "approved",
    userOid: userOid(user),
    tenantId: userTenantId(world, user),
    authTime: nowSeconds(),
  });
  return { ok: true };
}

/** Denies a pending device code; the next poll gets `error` (default `access_denied`, per RFC 8628). */
export function denyDeviceCode(world: World, userCode: string, error = "access_denied"): DeviceDecision {
  const flow = byUserCode(world, userCode);
  if (!flow) return { ok: false, status: 404, message: `No device code with user_code '${userCode}'.` };
  if (flow.status !== "pending")
    return { ok: false, status: 409, message: `The device code is already ${flow.status}.` };
  Object.assign(flow, { status: "denied", denyError: error });
  return { ok: true };
}

/** `GET/POST /devicelogin`: enter the code, then sign in (or cancel). */
export function deviceLoginPage(req: EmuRequest, world: World): EmuResponse {
  const action = `${world.baseUrl}/devicelogin`;
  if (req.method !== "POST") return html(200, deviceCodeEntryPage(action));
  const code = req.form.get("otc") ?? "";
  const flow = byUserCode(world, code);
  if (flow?.status !== "pending" || flow.expiresAt < nowSeconds()) {
    return html(200, deviceCodeEntryPage(action, "That code didn't work. Check the code and try again."));
  }
  const app = findApp(world, flow.clientId);
  const page = (error?: string, username?: string) =>
    html(
      200,
      signInPage({
        action,
        fields: { otc: flow.userCode },
        appName: app?.displayName ?? flow.clientId,
        permissions: flow.scopes,
        ...(error ? { error } : {}),
        ...(username ? { username } : {}),
      }),
    );
  const step = req.form.get("action");
  if (step === "cancel") {
    denyDeviceCode(world, flow.userCode);
    return html(
      200,
      messagePage("Sign-in cancelled", "You declined to sign in to the application on your device."),
    );
  }
  if (step !== "signin") return page();
  const username = req.form.get("username") ?? "";
  const user = findUser(world, username);
  if (!user || user.password !== req.form.get("password"))
    return page("Your account or password is incorrect. (AADSTS50126)", username);
  const decision = approveDeviceCode(world, flow.userCode, username);
  if (!decision.ok) return page(decision.message, username);
  return html(
    200,
    messagePage(
      "You're signed in",
      `You have signed in to ${app?.displayName ?? flow.clientId} on your device. You may now close this window.`,
    ),
  );
}
