/**
 * OpenID Connect discovery, JWKS and instance discovery, shaped as Entra ID publishes them.
 * - Tenants by id or domain answer with their GUID in every endpoint and the issuer, as Entra does.
 * - `common` and `organizations` publish the `{tenantid}` issuer template; `consumers` the MSA tenant.
 * - `/common/discovery/instance` answers api-version 1.0 (`tenant_discovery_endpoint`) and 1.1
 *   (plus `metadata`, the alias groups, including the emulator's own `localhost`/`127.0.0.1` pair).
 * https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc
 */
import { createPublicKey } from "node:crypto";
import { CONSUMERS_TENANT_ID } from "./directory.js";
import { entraError } from "./errors.js";
import { type EmuRequest, type EmuResponse, errorResponse, json } from "./http.js";
import { resolveTenantSegment, type World } from "./world.js";

/** Microsoft's published alias groups; clients use them to share cache entries across hosts. */
const MICROSOFT_CLOUDS = [
  {
    preferred_network: "login.microsoftonline.com",
    preferred_cache: "login.windows.net",
    aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
  },
  {
    preferred_network: "login.partner.microsoftonline.cn",
    preferred_cache: "login.partner.microsoftonline.cn",
    aliases: ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
  },
  {
    preferred_network: "login.microsoftonline.de",
    preferred_cache: "login.microsoftonline.de",
    aliases: ["login.microsoftonline.de"],
  },
  {
    preferred_network: "login.microsoftonline.us",
    preferred_cache: "login.microsoftonline.us",
    aliases: ["login.microsoftonline.us", "login.usgovcloudapi.net"],
  },
  {
    preferred_network: "login-us.microsoftonline.com",
    preferred_cache: "login-us.microsoftonline.com",
    aliases: ["login-us.microsoftonline.com"],
  },
];

function emulatorHosts(world: World): string[] {
  const port = new URL(world.baseUrl).port;
  return [`localhost:${port}`, `127.0.0.1:${port}`];
}

/** MSAL Python names the authority's host without its port here, so a bare `localhost` is ours too. */
function isEmulatorHost(world: World, host: string): boolean {
  return emulatorHosts(world).includes(host) || host === "localhost" || host === "127.0.0.1";
}

function unknownTenant(req: EmuRequest, world: World, segment: string): EmuResponse {
  return errorResponse(
    entraError(
      { correlationId: req.correlationId, baseUrl: world.baseUrl },
      "invalid_tenant",
      90002,
      `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    ),
  );
}

/** `{tenant}/v2.0/.well-known/openid-configuration` (v2) and `{tenant}/.well-known/openid-configuration` (v1). */
export function openIdConfiguration(
  req: EmuRequest,
  world: World,
  segment: string,
  version: "v1" | "v2",
  b2cPolicy?: string,
): EmuResponse {
  const tenant = resolveTenantSegment(world, segment);
  if (!tenant) return unknownTenant(req, world, segment);
  const base = world.baseUrl;
  // ADFS keeps `adfs` in its URLs and B2C its domain and policy; Entra tenants publish their id.
  const pathTenant =
    segment.toLowerCase() === "adfs"
      ? "adfs"
      : b2cPolicy
        ? `${segment}/${b2cPolicy}`
        : typeof tenant === "string"
          ? tenant
          : tenant.id;
  const issuerTenant =
    tenant === "consumers" ? CONSUMERS_TENANT_ID : typeof tenant === "string" ? "{tenantid}" : tenant.id;
  const v = version === "v2" ? "/v2.0" : "";
  const oauth = `${base}/${pathTenant}/oauth2${v}`;
  return json(200, {
    token_endpoint: `${oauth}/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${base}/${pathTenant}/discovery${v}/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: version === "v2" ? `${base}/${issuerTenant}/v2.0` : `${base}/${issuerTenant}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${base}/oidc/userinfo`,
    authorization_endpoint: `${oauth}/authorize`,
    device_authorization_endpoint: `${oauth}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${oauth}/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    kerberos_endpoint: `${base}/${pathTenant}/kerberos`,
    tenant_region_scope: tenant === "consumers" ? null : "NA",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  });
}

export function jwks(req: EmuRequest, world: World, segment: string): EmuResponse {
  if (!resolveTenantSegment(world, segment)) return unknownTenant(req, world, segment);
  const jwk = createPublicKey(world.signingKey).export({ format: "jwk" });
  return json(200, {
    keys: [
      {
        kty: "RSA",
        use: "sig",
        kid: world.keyId,
        x5t: world.keyId,
        n: jwk.n,
        e: jwk.e,
        issuer: `${world.baseUrl}/{tenantid}/v2.0`,
      },
    ],
  });
}

/** `GET /common/discovery/instance?api-version=1.0|1.1&authorization_endpoint=...` */
export function instanceDiscovery(req: EmuRequest, world: World): EmuResponse {
  const ctx = { correlationId: req.correlationId, baseUrl: world.baseUrl };
  const endpoint = req.url.searchParams.get("authorization_endpoint");
  const apiVersion = req.url.searchParams.get("api-version") ?? "1.0";
  if (!endpoint) {
    return errorResponse(
      entraError(
        ctx,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'authorization_endpoint'.",
      ),
    );
  }
  let authority: URL;
  try {
    authority = new URL(endpoint);
  } catch {
    return errorResponse(entraError(ctx, "invalid_instance", 50049, "Unknown or invalid instance."));
  }
  const own = emulatorHosts(world);
  const ours = isEmulatorHost(world, authority.host);
  if (
    (!ours && !MICROSOFT_CLOUDS.some((c) => c.aliases.includes(authority.host))) ||
    authority.protocol !== "https:"
  ) {
    return errorResponse(entraError(ctx, "invalid_instance", 50049, "Unknown or invalid instance."));
  }
  const tenant = authority.pathname.split("/").filter(Boolean)[0] ?? "common";
  const origin = ours ? world.baseUrl : `https://${authority.host}`;
  const body: Record<string, unknown> = {
    tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
  };
  if (apiVersion !== "1.0") {
    body["api-version"] = apiVersion;
    body.metadata = [
      { preferred_network: own[0], preferred_cache: own[0], aliases: own },
      ...MICROSOFT_CLOUDS,
    ];
  }
  return json(200, body);
}
