/**
 * The little of Azure Resource Manager that signing in with a tool needs: after it gets an ARM
 * token, the Azure CLI (`az login`) lists the caller's tenants and subscriptions to choose an
 * account. Under `{url}/_emulator/arm/` (a custom cloud's `endpoint-resource-manager`), with an
 * ARM token the emulator issued: `GET tenants` (the token's tenant) and `GET subscriptions` (one
 * subscription per tenant, `<tenant name> emulator subscription`, with an id derived from the
 * tenant's, so it is the same in every run). Nothing else of ARM is played.
 * https://learn.microsoft.com/rest/api/resources/tenants/list
 * https://learn.microsoft.com/rest/api/resources/subscriptions/list
 */
import { createPublicKey } from "node:crypto";
import { type EmuRequest, type EmuResponse, json } from "./http.js";
import { decodeJwt, verifyJwtSignature } from "./jwt.js";
import { ARM_RESOURCES } from "./scopes.js";
import { findTenant, nowSeconds, stableGuid, type World } from "./world.js";

/** The path under the emulator's URL that a custom cloud's `endpoint-resource-manager` names. */
export const ARM_PATH = "/_emulator/arm/";

/** The emulator subscription of a tenant: an id derived from the tenant id. */
export function subscriptionId(tenantId: string): string {
  return stableGuid(`subscription:${tenantId}`);
}

/** ARM's error shape: `{"error": {"code", "message"}}`. */
function armError(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return json(status, { error: { code, message } }, headers);
}

/** The token's tenant id when it is an unexpired ARM token the emulator signed, else an error answer. */
function callerTenant(req: EmuRequest, world: World): string | EmuResponse {
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  const challenge = {
    "www-authenticate": `Bearer authorization_uri="${world.baseUrl}/common", error="invalid_token"`,
  };
  if (!token)
    return armError(
      401,
      "AuthenticationFailed",
      "Authentication failed. The 'Authorization' header is missing.",
      challenge,
    );
  const jwt = decodeJwt(token);
  if (!jwt || jwt.header.kid !== world.keyId || !verifyJwtSignature(jwt, createPublicKey(world.signingKey)))
    return armError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge);
  const { aud, exp, tid } = jwt.payload;
  if (typeof exp !== "number" || exp < nowSeconds())
    return armError(401, "ExpiredAuthenticationToken", "The access token has expired.", challenge);
  const isArm = ARM_RESOURCES.some((r) => String(aud).replace(/\/+$/, "") === r.replace(/\/$/, ""));
  if (!isArm)
    return armError(
      401,
      "InvalidAuthenticationTokenAudience",
      `The access token has audience '${String(aud)}'; ask for ${ARM_RESOURCES[0]}/.default.`,
      challenge,
    );
  return String(tid);
}

/** `GET {url}/_emulator/arm/<path>`: `tenants` or `subscriptions`. */
export function armEndpoint(req: EmuRequest, world: World, path: string[]): EmuResponse {
  const tenantId = callerTenant(req, world);
  if (typeof tenantId !== "string") return tenantId;
  const tenant = findTenant(world, tenantId);
  const route = `${req.method} ${path.join("/")}`;
  if (!tenant) return json(200, { value: [] });
  if (route === "GET tenants")
    return json(200, {
      value: [
        {
          id: `/tenants/${tenant.id}`,
          tenantId: tenant.id,
          countryCode: "US",
          displayName: tenant.name ?? tenant.domain,
          domains: [tenant.domain, ...(tenant.domains ?? [])],
          defaultDomain: tenant.domain,
          tenantCategory: "Home",
          tenantType: "AAD",
        },
      ],
    });
  if (route === "GET subscriptions") {
    const id = subscriptionId(tenant.id);
    return json(200, {
      value: [
        {
          id: `/subscriptions/${id}`,
          authorizationSource: "RoleBased",
          managedByTenants: [],
          subscriptionId: id,
          tenantId: tenant.id,
          displayName: `${tenant.name ?? tenant.domain} emulator subscription`,
          state: "Enabled",
          subscriptionPolicies: {
            locationPlacementId: "Public_2014-09-01",
            quotaId: "PayAsYouGo_2014-09-01",
            spendingLimit: "Off",
          },
        },
      ],
      count: { type: "Total", value: 1 },
    });
  }
  return armError(
    404,
    "NotFound",
    `The emulator plays only GET tenants and GET subscriptions of Azure Resource Manager, not ${route}.`,
  );
}
