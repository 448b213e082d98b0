/**
 * The Azure Arc agent (HIMDS) token endpoint, which mirrors IMDS and adds a challenge: a request
 * without a key gets `401` with `WWW-Authenticate: Basic realm=<path of a key file>`; the agent
 * writes a fresh random key to that file, readable only by privileged users, and the client proves
 * it may read it by sending `Authorization: Basic <file contents>` on the same request again. Each
 * key works once; its file is removed when it is used or when the emulator stops. Only the
 * machine's system-assigned identity exists: identity parameters are ignored, and the answer names
 * the system identity's `client_id`, as the agent does.
 * https://learn.microsoft.com/azure/azure-arc/servers/managed-identity-authentication
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type EmuRequest, type EmuResponse, json } from "../http.js";
import { apiVersionProblem, imdsTokenBody, metadataProblem, resourceProblem } from "./imds.js";
import { type ManagedIdentityState, managedIdentityToken } from "./tokens.js";

export const ARC_API_VERSION = "2020-06-01";

/** Writes a new key file into the Arc key directory and returns its path. */
function writeKeyFile(state: ManagedIdentityState): string {
  mkdirSync(state.arc.directory, { recursive: true, mode: 0o700 });
  const length = state.settings.arcKeyLength;
  const key = randomBytes(Math.ceil((length * 3) / 4) + 3)
    .toString("base64url")
    .slice(0, length);
  const file = join(state.arc.directory, `${randomBytes(8).toString("hex")}.key`);
  writeFileSync(file, key, { mode: 0o600 });
  state.arc.keys.set(key, file);
  return file;
}

function challenge(state: ManagedIdentityState, description: string): EmuResponse {
  return json(
    401,
    { error: "unauthorized_client", error_description: description },
    { "www-authenticate": `Basic realm=${writeKeyFile(state)}` },
  );
}

/** Removes the key files this emulator wrote and has not seen used. */
export function removeArcKeyFiles(state: ManagedIdentityState): void {
  for (const file of state.arc.keys.values()) rmSync(file, { force: true });
  state.arc.keys.clear();
}

export function azureArcEndpoint(req: EmuRequest, state: ManagedIdentityState): EmuResponse {
  const problem = metadataProblem(req) ?? apiVersionProblem(req, ARC_API_VERSION, true);
  if (problem) return problem;
  const authorization = req.headers.authorization;
  if (!authorization)
    return challenge(state, "Read the key file the WWW-Authenticate header names and send it as Basic.");
  const key = /^Basic (.+)$/s.exec(authorization)?.[1];
  const file = key === undefined ? undefined : state.arc.keys.get(key);
  if (key === undefined || file === undefined)
    return challenge(state, "The Authorization header does not hold a key this agent wrote, or it was used.");
  state.arc.keys.delete(key);
  rmSync(file, { force: true });
  const unusable = resourceProblem(req, state);
  if (unusable) return unusable;
  const identity = state.catalog.systemAssigned.azureArc;
  const token = managedIdentityToken(state, identity, identity, {
    source: "azureArc",
    resource: req.url.searchParams.get("resource") as string,
  });
  return json(200, imdsTokenBody(token, identity));
}
