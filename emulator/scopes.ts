/**
 * Scope parsing as Entra does it: a scope names a resource and a permission
 * (`https://graph.microsoft.com/User.Read`, `api://<app id>/access_as_user`), a bare permission means
 * Microsoft Graph, and `<resource>/.default` asks for every permission granted to the app.
 * One token is for one resource, so scopes for two resources are refused (AADSTS28000).
 */
import type { App } from "./directory.js";
import { storageScopes } from "./storage.js";
import type { World } from "./world.js";

export const GRAPH_RESOURCE = "https://graph.microsoft.com";

/**
 * Azure Resource Manager's two identifier URIs (the Azure CLI and Azure PowerShell ask for the
 * first, as `https://management.core.windows.net//.default`; the Azure SDKs for the second). Either
 * is accepted with or without its trailing slash, and a token's `aud` is the URI as asked, as Entra
 * issues it.
 */
export const ARM_RESOURCES = [
  "https://management.core.windows.net/",
  "https://management.azure.com/",
] as const;

/** The one delegated permission Azure Resource Manager exposes. */
const ARM_PERMISSIONS = ["user_impersonation"];
export const OIDC_SCOPES = new Set(["openid", "profile", "email", "offline_access"]);

export interface ParsedScopes {
  oidc: Set<string>;
  /** Resource identifier, e.g. `https://graph.microsoft.com` or `api://<id>`. */
  resource: string;
  /** The `aud` of tokens for that resource. */
  audience: string;
  /** The app that is the resource, when it is one of the directory's apps. */
  resourceApp?: App;
  /** Permissions without the resource prefix, e.g. `User.Read` or `.default`. */
  permissions: string[];
  /** The scopes to return in the `scope` field of the response (Graph permissions stay bare). */
  granted: string[];
  /**
   * The delegated permissions the resource exposes, which `.default` grants to a user token's `scp`;
   * absent for resources that grant `User.Read` (Graph).
   */
  exposed?: string[];
}

export type ScopeProblem = { code: number; error: string; message: string };

function splitScope(scope: string): { resource: string; permission: string } {
  const slash = scope.lastIndexOf("/");
  if (slash <= 0) return { resource: GRAPH_RESOURCE, permission: scope };
  return { resource: scope.slice(0, slash), permission: scope.slice(slash + 1) };
}

function resourceApp(world: World, resource: string): App | undefined {
  const id = resource.startsWith("api://") ? resource.slice("api://".length) : resource;
  return world.directory.apps.find(
    (a) => a.clientId === id || (a.scopes ?? []).some((s) => splitScope(s).resource === resource),
  );
}

export function parseScopes(world: World, scopeParam: string): ParsedScopes | ScopeProblem {
  const requested = scopeParam.split(/\s+/).filter(Boolean);
  const oidc = new Set<string>();
  const byResource = new Map<string, string[]>();
  // Granted scopes are echoed as the client spelled them, so clients find them in their caches.
  const spelled = new Map<string, string>();
  for (const scope of requested) {
    if (OIDC_SCOPES.has(scope.toLowerCase())) {
      oidc.add(scope.toLowerCase());
      continue;
    }
    const { resource, permission } = splitScope(scope);
    const key =
      resource.toLowerCase() === GRAPH_RESOURCE || resource === "00000003-0000-0000-c000-000000000000"
        ? GRAPH_RESOURCE
        : resource;
    byResource.set(key, [...(byResource.get(key) ?? []), permission]);
    spelled.set(permission, scope);
  }
  if (byResource.size > 1) {
    return {
      code: 28000,
      error: "invalid_scope",
      message: `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scopeParam} is not valid.`,
    };
  }
  const [entry] = byResource;
  if (!entry) {
    // Only OpenID Connect scopes: Entra issues a Graph token for the user's own profile.
    return {
      oidc,
      resource: GRAPH_RESOURCE,
      audience: GRAPH_RESOURCE,
      permissions: [],
      granted: grantedOidc(oidc),
    };
  }
  const [resource, permissions] = entry;
  if (resource === GRAPH_RESOURCE) {
    const granted = permissions.map((p) => spelled.get(p) ?? p);
    return {
      oidc,
      resource,
      audience: GRAPH_RESOURCE,
      permissions,
      granted: [...granted, ...grantedOidc(oidc)],
    };
  }
  const storage = storageScopes(resource, permissions, oidc, grantedOidc(oidc));
  if (storage) return { ...storage, exposed: ["user_impersonation"] };
  const arm = ARM_RESOURCES.find((r) => r.replace(/\/$/, "") === resource.replace(/\/+$/, "").toLowerCase());
  if (arm) {
    const unknown = permissions.filter((p) => p !== ".default" && !ARM_PERMISSIONS.includes(p));
    if (unknown.length > 0) return unknownPermission(unknown, arm);
    return {
      oidc,
      resource,
      audience: resource,
      permissions,
      granted: [...permissions.map((p) => `${resource}/${p}`), ...grantedOidc(oidc)],
      exposed: ARM_PERMISSIONS,
    };
  }
  const app = resourceApp(world, resource);
  if (!app) {
    return {
      code: 500011,
      error: "invalid_resource",
      message: `The resource principal named ${resource} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    };
  }
  const exposed = new Set((app.scopes ?? []).map((s) => splitScope(s).permission));
  const unknown = permissions.filter((p) => p !== ".default" && !exposed.has(p));
  if (unknown.length > 0) return unknownPermission(unknown, resource);
  return {
    oidc,
    resource,
    audience: app.clientId,
    resourceApp: app,
    permissions,
    granted: [...permissions.map((p) => `${resource}/${p}`), ...grantedOidc(oidc)],
    exposed: [...exposed],
  };
}

function unknownPermission(unknown: string[], resource: string): ScopeProblem {
  return {
    code: 65005,
    error: "invalid_client",
    message: `The application asked for scope '${unknown.join(" ")}' that doesn't exist on the resource '${resource}'. Contact the app vendor.`,
  };
}

/**
 * A user token's `scp`: the permissions asked for, and for `<resource>/.default` every permission
 * the resource exposes (the emulator treats them all as consented), as Entra grants an app's
 * static consent. Microsoft Graph's `.default`, and a request with only OpenID Connect scopes, get
 * `User.Read`; a resource that exposes nothing gets no `scp`.
 * https://learn.microsoft.com/entra/identity-platform/scopes-oidc#the-default-scope
 */
export function delegatedScope(scopes: ParsedScopes): string | undefined {
  const asked = scopes.permissions.filter((p) => p !== ".default");
  const wantsDefault = asked.length < scopes.permissions.length || scopes.permissions.length === 0;
  if (!wantsDefault) return asked.join(" ");
  if (!scopes.exposed) return [...new Set([...asked, "User.Read"])].join(" ");
  const granted = [...new Set([...asked, ...scopes.exposed])];
  return granted.length > 0 ? granted.join(" ") : undefined;
}

/** Entra answers `openid profile` with `openid profile email` in the granted scope. */
function grantedOidc(oidc: Set<string>): string[] {
  const out = [...oidc].filter((s) => s !== "offline_access");
  if (oidc.has("openid") && !oidc.has("email")) out.push("email");
  return out;
}

export function isScopeProblem(parsed: ParsedScopes | ScopeProblem): parsed is ScopeProblem {
  return "code" in parsed;
}
