/** Maps a request path to the endpoint that serves it. */
import { authorizeEndpoint, SESSION_COOKIE } from "./authorize.js";
import { deviceAuthorizationEndpoint, deviceLoginPage } from "./device.js";
import { instanceDiscovery, jwks, openIdConfiguration } from "./discovery.js";
import type { FederatedSts } from "./federation.js";
import { type EmuRequest, type EmuResponse, html, json, redirect, xml } from "./http.js";
import { messagePage } from "./pages.js";
import { caeEventEndpoint, resourceEndpoint } from "./resource.js";
import { tokenEndpoint } from "./token.js";
import { workloadIdentityEndpoint } from "./workload-issuer.js";
import type { World } from "./world.js";

/** The endpoint name a path belongs to (past a B2C policy), for the request log and fault matching. */
export function endpointName(path: string[]): string {
  const [first, second, third, fourth] = withoutPolicy(path).path;
  // The CAE resource and its revocation events (resource.ts) are served, and logged, as endpoints.
  if (first === "_emulator" && second === "resource" && third === undefined) return "resource";
  if (first === "_emulator" && second === "cae-event" && third === undefined) return "cae-event";
  if (first === "_emulator" && second === "workload-identity") return "workload-identity";
  if (first === "_emulator") return "control";
  if (first === "common" && second === "discovery" && third === "instance") return "instance";
  if (first === "common" && second === "userrealm") return "userrealm";
  if (first === "adfs" && second === "services") return fourth === "mex" ? "mex" : "wstrust";
  if (first === "devicelogin") return "devicelogin";
  if (path.includes(".well-known")) return "discovery";
  if (second === "discovery") return "jwks";
  if (second === "oauth2") {
    const name = third === "v2.0" ? fourth : third;
    if (name && ["authorize", "token", "devicecode", "logout"].includes(name)) return name;
  }
  return "unknown";
}

/**
 * B2C authorities carry a policy after the tenant (`/<tenant>/b2c_1_signin/...`): the endpoint is
 * the same, and the policy stays in the URLs the discovery document publishes.
 */
function withoutPolicy(path: string[]): { path: string[]; policy?: string } {
  const [tenant, policy, ...rest] = path;
  if (tenant === undefined || !policy?.toLowerCase().startsWith("b2c_")) return { path };
  return { path: [tenant, ...rest], policy };
}

export function route(req: EmuRequest, world: World, sts: FederatedSts, fullPath: string[]): EmuResponse {
  const { path, policy } = withoutPolicy(fullPath);
  const endpoint = endpointName(path);
  const segment = path[0] ?? "";
  switch (endpoint) {
    case "resource":
      return resourceEndpoint(req, world);
    case "cae-event":
      return caeEventEndpoint(req, world);
    case "workload-identity":
      return workloadIdentityEndpoint(req, world, path.slice(2));
    case "instance":
      return instanceDiscovery(req, world);
    case "userrealm":
      return json(200, sts.userRealm(decodeURIComponent(path.slice(2).join("/"))));
    case "mex":
      return xml(200, sts.mexDocument(), "application/soap+xml; charset=utf-8");
    case "wstrust": {
      const version = path[3];
      if ((version !== "13" && version !== "2005") || path[4] !== "usernamemixed" || req.method !== "POST")
        break;
      const answer = sts.handleWsTrust(version, req.rawBody);
      return { status: answer.status, headers: { "content-type": answer.contentType }, body: answer.body };
    }
    case "devicelogin":
      return deviceLoginPage(req, world);
    case "discovery":
      return openIdConfiguration(req, world, segment, path[1] === "v2.0" ? "v2" : "v1", policy);
    case "jwks":
      return jwks(req, world, segment);
    case "authorize":
      return authorizeEndpoint(req, world, segment);
    case "token":
      if (req.method !== "POST")
        return json(405, { error: "invalid_request", error_description: "Use POST at the token endpoint." });
      return tokenEndpoint(req, world, segment, sts);
    case "devicecode":
      if (req.method !== "POST")
        return json(405, {
          error: "invalid_request",
          error_description: "Use POST at the device code endpoint.",
        });
      return deviceAuthorizationEndpoint(req, world, segment);
    case "logout":
      return logout(req, world);
  }
  if (path.length === 0)
    return html(
      200,
      messagePage("msal-ts Entra ID emulator", `Running at ${world.baseUrl}. See docs/emulator.md.`),
    );
  return json(404, {
    error: "not_found",
    error_description: `The emulator has no endpoint at ${req.url.pathname}.`,
  });
}

function logout(req: EmuRequest, world: World): EmuResponse {
  const id = req.cookies[SESSION_COOKIE];
  if (id) world.sessions.delete(id);
  const clear = { "set-cookie": `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0` };
  const target =
    req.url.searchParams.get("post_logout_redirect_uri") ?? req.form.get("post_logout_redirect_uri");
  if (target) {
    const state = req.url.searchParams.get("state");
    const url = new URL(target);
    if (state) url.searchParams.set("state", state);
    return redirect(url.toString(), clear);
  }
  return html(
    200,
    messagePage("You signed out of your account", "It's a good idea to close all browser windows."),
    clear,
  );
}
