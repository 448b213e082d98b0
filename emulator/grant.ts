/** What every grant handler receives and returns. */
import type { App, Tenant } from "./directory.js";
import { type EntraError, entraError } from "./errors.js";
import type { EmuRequest } from "./http.js";
import { isScopeProblem, type ParsedScopes, parseScopes } from "./scopes.js";
import type { ReservedTenant, World } from "./world.js";

export interface GrantRequest {
  req: EmuRequest;
  world: World;
  app: App;
  /** The tenant named in the token endpoint's path. */
  tenant: Tenant | ReservedTenant;
  segment: string;
}

export type GrantOutcome = { tokens: Record<string, unknown> } | { error: EntraError };

export function fail(
  g: GrantRequest,
  error: string,
  code: number,
  message: string,
  extra: { suberror?: string; claims?: string } = {},
): GrantOutcome {
  return {
    error: entraError(
      { correlationId: g.req.correlationId, baseUrl: g.world.baseUrl },
      error,
      code,
      message,
      extra,
    ),
  };
}

export function missingParameter(g: GrantRequest, name: string): GrantOutcome {
  return fail(
    g,
    "invalid_request",
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}

export function requestedScopes(g: GrantRequest, fallback?: string): ParsedScopes | GrantOutcome {
  const parsed = parseScopes(g.world, g.req.form.get("scope") ?? fallback ?? "");
  return isScopeProblem(parsed) ? fail(g, parsed.error, parsed.code, parsed.message) : parsed;
}

export function isOutcome(value: ParsedScopes | GrantOutcome): value is GrantOutcome {
  return "error" in value || "tokens" in value;
}
