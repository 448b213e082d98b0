/**
 * The control API under `/_emulator/`: what tests and tools use to play the user's part (approve a
 * device code), break things on purpose (faults), look at what clients sent (request log), revoke
 * grants, change settings and reset. The same operations are methods on the object `startEmulator`
 * returns; this module is their HTTP face.
 */
import type { PublicDirectory } from "./describe.js";
import type { approveDeviceCode, denyDeviceCode } from "./device.js";
import type { AppInput, UserInput } from "./directory.js";
import { DirectoryError } from "./directory-edit.js";
import { type EmuRequest, type EmuResponse, json } from "./http.js";
import type { EmulatorSettings, Fault, LoggedRequest } from "./world.js";

/** Which refresh tokens {@link ControlOperations.revoke} revokes: those matching every field given. */
export interface RevokeRequest {
  /** The user's tokens (and their browser sessions). */
  username?: string;
  /** This one refresh token. */
  refreshToken?: string;
  /** Tokens issued to this application (client) id. */
  clientId?: string;
}

/** A fault to inject; `times` defaults to 1. */
export type FaultInput = Omit<Fault, "id" | "times"> & {
  /** How many matching requests the fault hits (default 1), or `"always"` until cleared. */
  times?: number | "always";
};

/** What {@link ControlOperations.reset} also forgets. */
export interface ResetOptions {
  /**
   * Also forget Continuous Access Evaluation revocation events (`POST /_emulator/cae-event`). They
   * are kept by default: like the directory, they are facts about users (a password was reset), not
   * grants the emulator handed out.
   */
  revocations?: boolean;
}

/** What the control API (`/_emulator/`) can do; the {@link Emulator} object has the same methods. */
export interface ControlOperations {
  /**
   * The directory clients may use: tenants, apps with their secrets and certificates, users with their
   * passwords.
   */
  directory(): unknown;
  /**
   * Approves a pending device code as `username`, as if the user signed in on another device; the next poll
   * gets tokens.
   */
  approveDeviceCode(userCode: string, username: string): ReturnType<typeof approveDeviceCode>;
  /** Denies a pending device code; the next poll gets `error` (default `access_denied`). */
  denyDeviceCode(userCode: string, error?: string): ReturnType<typeof denyDeviceCode>;
  /** Makes matching requests fail (a status, a delay, or a dropped connection) and returns the fault's id. */
  injectFault(fault: FaultInput): string;
  /** The faults still waiting to match. */
  faults(): Fault[];
  /** Removes every fault. */
  clearFaults(): void;
  /**
   * The requests clients sent, oldest first, optionally to one endpoint (`token`, `authorize`...); secrets
   * are redacted.
   */
  requests(endpoint?: string): LoggedRequest[];
  /** Empties the request log. */
  clearRequests(): void;
  /** Revokes the refresh tokens that match and returns how many; their next use gets `invalid_grant`. */
  revoke(what: RevokeRequest): number;
  /**
   * Changes settings (token lifetimes, polling, the MEX document's WS-Trust versions) and returns them all;
   * `{}` reads them.
   */
  configure(settings: Partial<EmulatorSettings> & { mexOffers?: Array<"13" | "2005"> }): EmulatorSettings;
  /**
   * Forgets every grant, session, fault and logged request, and restores the settings given at start.
   * The directory (with apps and users registered since) and CAE revocation events stay, unless
   * `{ revocations: true }`.
   */
  reset(options?: ResetOptions): void;
  /**
   * Registers an app (or replaces the registration with its client id) and returns it as the directory
   * shows it; `tenant` defaults to the first tenant. Throws a `DirectoryError` naming each problem.
   *
   * @example
   * ```ts
   * emulator.registerApp({ clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", kind: "public", redirectUris: ["http://localhost"] });
   * ```
   */
  registerApp(app: AppInput): PublicDirectory["apps"][number];
  /**
   * Adds a user (or replaces the user of that username) and returns it as the directory shows it;
   * `tenant` defaults to the tenant owning the username's domain, `kind` to `managed`. Throws a
   * `DirectoryError` naming each problem.
   *
   * @example
   * ```ts
   * emulator.registerUser({ username: "erin@contoso.onmicrosoft.com", password: "erin-P@ss1" });
   * ```
   */
  registerUser(user: UserInput): PublicDirectory["users"][number];
  /**
   * The public key of the SSH CA that signs the emulator's SSH certificates, as an `authorized_keys` /
   * `TrustedUserCAKeys` line (`ssh-ed25519 AAAA... msal-ts emulator SSH CA`).
   *
   * @example
   * ```ts
   * writeFileSync("/etc/ssh/trusted-user-ca-keys.pem", `${emulator.sshCaPublicKey()}\n`);
   * ```
   */
  sshCaPublicKey(): string;
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
    case "GET ssh-ca":
      return {
        status: 200,
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: `${ops.sshCaPublicKey()}\n`,
      };
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
    case "POST reset": {
      const revocations = input.revocations;
      if (revocations !== undefined && typeof revocations !== "boolean")
        return problem(400, '"revocations" must be true or false.');
      ops.reset({ revocations: revocations === true });
      return json(200, { reset: true });
    }
    case "POST apps":
    case "POST users":
      try {
        const entry =
          route === "POST apps" ? ops.registerApp(input as AppInput) : ops.registerUser(input as UserInput);
        return json(201, entry);
      } catch (err) {
        if (!(err instanceof DirectoryError)) throw err;
        return json(400, { error: err.message, problems: err.problems });
      }
    default:
      return problem(404, `No control operation ${route}. See docs/emulator.md for the control API.`);
  }
}
