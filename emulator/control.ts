/**
 * The control API under `/_emulator/`: what tests and tools use to play the user's part (approve a
 * device code), break things on purpose (faults), look at what clients sent (request log), revoke
 * grants, change settings and reset. The same operations are methods on the object `startEmulator`
 * returns; this module is their HTTP face.
 */
import type { approveDeviceCode, denyDeviceCode } from "./device.js";
import { type EmuRequest, type EmuResponse, json } from "./http.js";
import type { EmulatorSettings, Fault, LoggedRequest } from "./world.js";

export interface RevokeRequest {
  username?: string;
  refreshToken?: string;
  clientId?: string;
}

/** A fault to inject; `times` defaults to 1. */
export type FaultInput = Omit<Fault, "id" | "times"> & { times?: number | "always" };

export interface ControlOperations {
  directory(): unknown;
  approveDeviceCode(userCode: string, username: string): ReturnType<typeof approveDeviceCode>;
  denyDeviceCode(userCode: string, error?: string): ReturnType<typeof denyDeviceCode>;
  injectFault(fault: FaultInput): string;
  faults(): Fault[];
  clearFaults(): void;
  requests(endpoint?: string): LoggedRequest[];
  clearRequests(): void;
  revoke(what: RevokeRequest): number;
  configure(settings: Partial<EmulatorSettings> & { mexOffers?: Array<"13" | "2005"> }): EmulatorSettings;
  reset(): void;
}

const problem = (status: number, message: string) => json(status, { error: message });

/**
 * The JSON object a POST to the control API carries, or the response refusing it. Only
 * `Content-Type: application/json` (with any parameters) is read: a web page can have the browser
 * send a form or `text/plain` POST to any origin without asking first (a CORS "simple request"),
 * but not a JSON one, so this keeps pages the user visits from driving the emulator (CSRF).
 * https://fetch.spec.whatwg.org/#cors-safelisted-request-header
 */
export function jsonRequestBody(
  req: EmuRequest,
): { input: Record<string, unknown>; refused?: undefined } | { refused: EmuResponse } {
  const mediaType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    const sent = mediaType ? `"${mediaType}"` : "no Content-Type";
    return {
      refused: json(
        415,
        {
          error: `Send control requests as JSON: a POST with "Content-Type: application/json" and a JSON object body (this one had ${sent}).`,
        },
        { "accept-post": "application/json" },
      ),
    };
  }
  try {
    const parsed: unknown = JSON.parse(req.rawBody || "{}");
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      return { input: parsed as Record<string, unknown> };
  } catch {
    // Refused below.
  }
  return { refused: problem(400, "The body must be a JSON object.") };
}

export function controlEndpoint(req: EmuRequest, ops: ControlOperations, path: string[]): EmuResponse {
  // Only POSTs carry input; the other methods' bodies, if any, are not read.
  const body = req.method === "POST" ? jsonRequestBody(req) : { input: {} };
  if (body.refused) return body.refused;
  const { input } = body;
  const route = `${req.method} ${path.join("/")}`;
  const str = (name: string) => (typeof input[name] === "string" ? (input[name] as string) : undefined);
  switch (route) {
    case "GET directory":
      return json(200, ops.directory());
    case "POST device/approve":
    case "POST device/deny": {
      const userCode = str("user_code");
      if (!userCode) return problem(400, 'Send {"user_code": "..."}.');
      if (route.endsWith("approve")) {
        const username = str("username");
        if (!username) return problem(400, 'Send {"user_code": "...", "username": "..."}.');
        const result = ops.approveDeviceCode(userCode, username);
        return result.ok ? json(200, { approved: userCode }) : problem(result.status, result.message);
      }
      const result = ops.denyDeviceCode(userCode, str("error"));
      return result.ok ? json(200, { denied: userCode }) : problem(result.status, result.message);
    }
    case "POST faults": {
      const times = input.times;
      if (times !== undefined && times !== "always" && !(Number.isInteger(times) && (times as number) > 0)) {
        return problem(400, '"times" must be a positive integer or "always".');
      }
      if (input.status === undefined && input.drop === undefined && input.delayMs === undefined) {
        return problem(400, 'A fault needs at least one of "status", "drop" or "delayMs".');
      }
      return json(201, { id: ops.injectFault(input as FaultInput) });
    }
    case "GET faults":
      return json(200, ops.faults());
    case "DELETE faults":
      ops.clearFaults();
      return json(200, { cleared: true });
    case "GET requests":
      return json(200, ops.requests(req.url.searchParams.get("endpoint") ?? undefined));
    case "DELETE requests":
      ops.clearRequests();
      return json(200, { cleared: true });
    case "POST revoke": {
      const what: RevokeRequest = {};
      if (str("username")) what.username = str("username");
      if (str("refresh_token")) what.refreshToken = str("refresh_token");
      if (str("client_id")) what.clientId = str("client_id");
      if (Object.keys(what).length === 0)
        return problem(400, 'Send "username", "refresh_token" or "client_id".');
      return json(200, { revoked: ops.revoke(what) });
    }
    case "POST settings":
      return json(200, ops.configure(input as Partial<EmulatorSettings>));
    case "GET settings":
      return json(200, ops.configure({}));
    case "POST reset":
      ops.reset();
      return json(200, { reset: true });
    default:
      return problem(404, `No control operation ${route}. See docs/emulator.md for the control API.`);
  }
}
