/**
 * Azure Cloud Shell's local token endpoint: `POST $MSI_ENDPOINT` with `Metadata: true` and the form
 * `resource=R`. Cloud Shell has no identity of its own: it hands out tokens for the user signed in
 * to the portal (a delegated token, `idtyp: "user"`), so identity parameters are ignored. Success
 * carries `expires_in` and `expires_on` as strings; errors are `{"error": {"code", "message"}}`.
 * https://learn.microsoft.com/azure/cloud-shell/msi-authorization
 */
import { type EmuRequest, type EmuResponse, json } from "../http.js";
import { nowSeconds } from "../world.js";
import {
  cloudShellToken,
  isKnownResource,
  type ManagedIdentityState,
  unknownResourceMessage,
} from "./tokens.js";

const failure = (status: number, code: string, message: string) => json(status, { error: { code, message } });

export function cloudShellEndpoint(req: EmuRequest, state: ManagedIdentityState): EmuResponse {
  if (req.method !== "POST")
    return failure(405, "MethodNotAllowed", "Use POST with a form body: resource=<resource>.");
  if (req.headers.metadata !== "true")
    return failure(400, "BadRequest", "Required metadata header not specified");
  const resource = req.form.get("resource");
  if (!resource)
    return failure(
      400,
      "BadRequest",
      "Send the resource in a form body (application/x-www-form-urlencoded).",
    );
  if (!isKnownResource(state, resource))
    return failure(400, "invalid_resource", unknownResourceMessage(state, resource));
  const token = cloudShellToken(state, { source: "cloudShell", resource });
  if (!token)
    return failure(500, "NoUser", "The emulator's directory has no user to sign in to Cloud Shell.");
  return json(200, {
    access_token: token.accessToken,
    refresh_token: "",
    expires_in: String(Math.max(0, token.expiresOn - nowSeconds())),
    expires_on: String(token.expiresOn),
    not_before: String(token.issuedAt),
    resource: token.resource,
    token_type: "Bearer",
  });
}
