/**
 * Errors msal-ts throws for mistakes on the client side (bad options, bad input, state or nonce
 * mismatches, a cache that cannot be read). A server's OAuth error is never thrown: it comes back
 * as a result with `error` and `error_description`, as in MSAL Python.
 */
import type { AzureCredentialErrorCode } from "./azure/errors.js";
import type { ManagedIdentityErrorCode } from "./managed-identity/errors.js";

/**
 * The codes `MsalError` itself is thrown with: failures of discovery, of a federated (WS-Trust)
 * sign-in and of the distributed cache, which have no class of their own. See docs/errors.md.
 *
 * @example
 * ```ts
 * const retryLater: GeneralErrorCode[] = ["discovery_failed", "mex_failed"];
 * ```
 */
export type GeneralErrorCode =
  | "instance_discovery_failed"
  | "discovery_failed"
  | "distributed_cache_conflict"
  | "user_realm_discovery_failed"
  | "mex_failed"
  | "mex_no_endpoint"
  | "federation_unknown"
  | "wstrust_unsupported_endpoint"
  | "wstrust_unsupported_token"
  | "wstrust_fault"
  | "wstrust_invalid_response"
  | "wstrust_invalid_xml";

/**
 * The codes of {@link IdTokenError}: which check an id_token (or a JWT part) failed.
 *
 * @example
 * ```ts
 * const signInAgain: IdTokenErrorCode[] = ["id_token_nonce_mismatch", "id_token_expired"];
 * ```
 */
export type IdTokenErrorCode =
  | "invalid_id_token"
  | "invalid_jwt_part"
  | "id_token_audience_mismatch"
  | "id_token_issuer_mismatch"
  | "id_token_nonce_mismatch"
  | "id_token_expired"
  | "id_token_not_yet_valid"
  | "id_token_max_age_exceeded"
  | "id_token_auth_time_missing";

/**
 * The codes of {@link AuthFlowError}: how an authorization response does not fit its flow.
 *
 * @example
 * ```ts
 * const startAgain: AuthFlowErrorCode[] = ["state_mismatch", "auth_response_replayed"];
 * ```
 */
export type AuthFlowErrorCode =
  | "state_mismatch"
  | "auth_response_replayed"
  | "scope_mismatch"
  | "issuer_mismatch";

/**
 * The codes of {@link CredentialError}: a private key, certificate or PFX file that could not be read.
 *
 * @example
 * ```ts
 * const askForPassphrase: CredentialErrorCode[] = ["private_key_passphrase_required", "pfx_wrong_passphrase"];
 * ```
 */
export type CredentialErrorCode =
  | "private_key_passphrase_required"
  | "private_key_wrong_passphrase"
  | "private_key_malformed"
  | "private_key_unsupported_algorithm"
  | "private_key_limit_exceeded"
  | "certificate_malformed"
  | "pfx_wrong_passphrase"
  | "pfx_unsupported_algorithm"
  | "pfx_no_private_key"
  | "pfx_no_matching_certificate"
  | "pfx_malformed"
  | "pfx_limit_exceeded";

/**
 * Every `code` an {@link MsalError} can carry, so that comparing `e.code` with a misspelt code is a
 * compile error. Each class narrows it to its own codes (`IdTokenError["code"]` is
 * {@link IdTokenErrorCode}).
 *
 * @example
 * ```ts
 * function isRetryable(code: MsalErrorCode): boolean {
 *   return code === "network_error" || code === "discovery_failed";
 * }
 * ```
 */
export type MsalErrorCode =
  | GeneralErrorCode
  | IdTokenErrorCode
  | AuthFlowErrorCode
  | CredentialErrorCode
  | ManagedIdentityErrorCode
  | AzureCredentialErrorCode
  | "cache_deserialization_failed"
  | "invalid_configuration"
  | "invalid_argument"
  | "browser_interaction_timeout"
  | "browser_unavailable"
  | "cache_lock_timeout"
  | "keyring_unavailable"
  | "network_error";

/**
 * The base of every error msal-ts throws. `code` is stable and meant for programs; `message` says
 * what went wrong and what to do.
 *
 * @example
 * ```ts
 * try {
 *   cache.deserialize(await readFile("token-cache.json", "utf8"));
 * } catch (e) {
 *   if (e instanceof MsalError && e.code === "cache_deserialization_failed") startFresh();
 * }
 * ```
 */
export class MsalError extends Error {
  /**
   * What went wrong, stable across versions: compare it in code (docs/errors.md lists each code with its
   * cause and fix).
   */
  readonly code: MsalErrorCode;

  constructor(code: MsalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * `deserialize()` was given text that is not a JSON object. The cache in memory is left exactly as
 * it was.
 */
export class CacheDeserializationError extends MsalError {
  /** Always `cache_deserialization_failed`. */
  declare readonly code: "cache_deserialization_failed";

  constructor(message: string, options?: { cause?: unknown }) {
    super("cache_deserialization_failed", message, options);
  }
}

/** An id_token failed validation (audience, issuer, nonce, lifetime) or could not be decoded. */
export class IdTokenError extends MsalError {
  /** Which check failed. */
  declare readonly code: IdTokenErrorCode;

  constructor(code: IdTokenErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * An option given to an application is wrong. Thrown by constructors, before any I/O; the message
 * names the option and the fix.
 *
 * @example
 * ```ts
 * new ConfidentialClientApplication("id", { clientCredential: "" });
 * // ConfigurationError: clientCredential is empty: pass the client secret, a certificate ...
 * ```
 */
export class ConfigurationError extends MsalError {
  /** Always `invalid_configuration`. */
  declare readonly code: "invalid_configuration";
  /** The name of the wrong option, e.g. `authority`. */
  readonly option: string;

  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super("invalid_configuration", message, options);
    this.option = option;
  }
}

/**
 * A method was called with an argument it cannot use (scopes that are not an array of strings,
 * a claims challenge that is not JSON, an aborted signal).
 */
export class ArgumentError extends MsalError {
  /** Always `invalid_argument`. */
  declare readonly code: "invalid_argument";
  /** The name of the wrong argument, e.g. `scopes`. */
  readonly argument: string;

  constructor(argument: string, message: string, options?: { cause?: unknown }) {
    super("invalid_argument", message, options);
    this.argument = argument;
  }
}

/**
 * An authorization response does not belong to the flow it was given with: its state differs, it
 * was already redeemed, or it asks for scopes the flow did not. Start the sign-in again.
 */
export class AuthFlowError extends MsalError {
  /** How the response does not fit the flow. */
  declare readonly code: AuthFlowErrorCode;

  constructor(code: AuthFlowErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The user did not finish signing in in the browser before the `timeout`. */
export class BrowserInteractionTimeoutError extends MsalError {
  /** Always `browser_interaction_timeout`. */
  declare readonly code: "browser_interaction_timeout";

  constructor(message = "The user did not complete the sign-in in the browser in time.") {
    super("browser_interaction_timeout", message);
  }
}

/**
 * No browser could be opened (no display, no browser installed, a remote shell). Use the device
 * code flow (`initiateDeviceFlow`) instead, or pass `openBrowser` to show the URL your own way.
 */
export class BrowserUnavailableError extends MsalError {
  /** Always `browser_unavailable`. */
  declare readonly code: "browser_unavailable";

  constructor(message: string, options?: { cause?: unknown }) {
    super("browser_unavailable", message, options);
  }
}
