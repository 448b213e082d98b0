/**
 * Server telemetry headers, in the format Entra reads from every MSAL (schema 4; spec section 9.1):
 * `x-client-current-telemetry: 4|<api>,<reason>|` and `x-client-last-telemetry:
 * 4|<cache hits>|<api>,<correlation id>,...|<error>,...|`, kept per application.
 */

/** Ids Entra uses for each public API. */
export const API_ID = {
  silent: "84",
  byRefreshToken: "85",
  usernamePassword: "301",
  onBehalfOf: "523",
  deviceFlow: "622",
  forClient: "730",
  authorizationCode: "832",
  interactive: "169",
} as const;

/** Why a token was requested from the network rather than the cache. */
export const REFRESH_REASON = { notSilent: 0, forceRefresh: 1, absent: 2, expired: 3, aging: 4 } as const;

const MAX_FAILURE_CHARS = 350;

export interface TelemetryState {
  cacheHits: number;
  failures: Array<{ api: string; correlationId: string; error: string }>;
}

export function newTelemetryState(): TelemetryState {
  return { cacheHits: 0, failures: [] };
}

export function telemetryHeaders(state: TelemetryState, api: string, reason: number): Record<string, string> {
  return {
    "x-client-current-telemetry": currentTelemetry(api, reason),
    "x-client-last-telemetry": lastTelemetry(state),
  };
}

/** `x-client-current-telemetry`: the API called and why it went to the network. */
export function currentTelemetry(api: string, reason: number): string {
  return `4|${api},${reason}|`;
}

/** `x-client-last-telemetry`: cache hits and failures since the last success. */
export function lastTelemetry(state: TelemetryState): string {
  const f = state.failures;
  if (f.length === 0) return `4|${state.cacheHits}|||`;
  return `4|${state.cacheHits}|${f.map((x) => `${x.api},${x.correlationId}`).join(",")}|${f.map((x) => x.error).join(",")}|`;
}

/** After a response: a success starts a new record; a failure joins the list while it stays short. */
export function recordOutcome(
  state: TelemetryState,
  api: string,
  correlationId: string,
  error: string | undefined,
): void {
  if (error === undefined) {
    state.cacheHits = 0;
    state.failures = [];
    return;
  }
  const size = state.failures.reduce(
    (n, x) => n + x.api.length + x.correlationId.length + x.error.length + 3,
    0,
  );
  if (size + api.length + correlationId.length + error.length + 3 < MAX_FAILURE_CHARS)
    state.failures.push({ api, correlationId, error });
}
