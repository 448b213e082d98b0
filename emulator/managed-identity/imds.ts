/**
 * The Azure Instance Metadata Service (IMDS) token endpoint of a VM, VM scale set or AKS node:
 * `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R` with `Metadata: true`;
 * a user-assigned identity by `client_id`, `object_id` or `msi_res_id`. Answers carry every number
 * as a string, and errors are OAuth-shaped (`error`, `error_description`).
 * https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token
 */
import { randomUUID } from "node:crypto";
import { type EmuRequest, type EmuResponse, json } from "../http.js";
import { nowSeconds } from "../world.js";
import { findUserAssigned, type ManagedIdentityRecord, selectorFrom } from "./identities.js";
import {
  type IssuedToken,
  isKnownResource,
  type ManagedIdentityState,
  managedIdentityToken,
  unknownResourceMessage,
} from "./tokens.js";

/** The oldest api-version IMDS serves tokens at; later dated versions are accepted too. */
export const IMDS_API_VERSION = "2018-02-01";
export const IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token";

const oauthError = (status: number, error: string, description: string) =>
  json(status, { error, error_description: description });

/**
 * The checks IMDS and the Azure Arc agent (which mirrors IMDS) make first: the method and the
 * `Metadata: true` header that keeps server-side request forgery from reaching the endpoint.
 */
export function metadataProblem(req: EmuRequest): EmuResponse | undefined {
  if (req.method !== "GET") return oauthError(405, "invalid_request", "Use GET at the token endpoint.");
  if (req.headers.metadata !== "true")
    return oauthError(400, "bad_request_102", "Required metadata header not specified");
  return undefined;
}

/** IMDS serves every dated api-version from `minimum` on; Arc exactly its one. */
export function apiVersionProblem(req: EmuRequest, minimum: string, exact = false): EmuResponse | undefined {
  const apiVersion = req.url.searchParams.get("api-version") ?? "";
  const ok = exact ? apiVersion === minimum : /^\d{4}-\d{2}-\d{2}$/.test(apiVersion) && apiVersion >= minimum;
  if (ok) return undefined;
  const wanted = exact ? minimum : `${minimum} or later`;
  return oauthError(400, "invalid_request", `Invalid or missing api-version "${apiVersion}": use ${wanted}.`);
}

/** A missing resource, or one Entra does not know (IMDS passes Entra's AADSTS error on). */
export function resourceProblem(req: EmuRequest, state: ManagedIdentityState): EmuResponse | undefined {
  const resource = req.url.searchParams.get("resource");
  if (!resource) return oauthError(400, "invalid_request", "Required audience parameter not specified");
  if (isKnownResource(state, resource)) return undefined;
  return json(400, {
    error: "invalid_resource",
    error_description: unknownResourceMessage(state, resource),
    error_codes: [500011],
    timestamp: new Date()
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z"),
    trace_id: randomUUID(),
    correlation_id: req.correlationId,
  });
}

/** The success body IMDS and Azure Arc send: every field a string. */
export function imdsTokenBody(token: IssuedToken, identity: ManagedIdentityRecord): Record<string, string> {
  const expiresIn = String(Math.max(0, token.expiresOn - nowSeconds()));
  return {
    access_token: token.accessToken,
    client_id: identity.clientId,
    expires_in: expiresIn,
    expires_on: String(token.expiresOn),
    ext_expires_in: expiresIn,
    not_before: String(token.issuedAt),
    resource: token.resource,
    token_type: "Bearer",
  };
}

export function imdsEndpoint(req: EmuRequest, state: ManagedIdentityState): EmuResponse {
  const problem =
    metadataProblem(req) ?? apiVersionProblem(req, IMDS_API_VERSION) ?? resourceProblem(req, state);
  if (problem) return problem;
  const query = req.url.searchParams;
  const selector = selectorFrom(query, {
    clientId: ["client_id"],
    objectId: ["object_id"],
    resourceId: ["msi_res_id"],
  });
  if (selector === "ambiguous")
    return oauthError(
      400,
      "invalid_request",
      "Name one identity: only one of client_id, object_id and msi_res_id may be given.",
    );
  const host = state.catalog.systemAssigned.imds;
  const identity = selector ? findUserAssigned(state.catalog, selector) : host;
  if (!identity) return oauthError(400, "invalid_request", "Identity not found");
  const token = managedIdentityToken(state, identity, host, {
    source: "imds",
    resource: query.get("resource") as string,
  });
  return json(200, imdsTokenBody(token, identity));
}
