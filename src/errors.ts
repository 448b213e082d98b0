/**
 * Errors msal-ts throws for mistakes on the client side (bad options, bad input, state or nonce
 * mismatches, a cache that cannot be read). A server's OAuth error is never thrown: it comes back
 * as a result with `error` and `error_description`, as in MSAL Python.
 */

/**
 * The base of every error msal-ts throws. `code` is stable and meant for programs; `message` says
 * what went wrong and what to do.
 *
 * @example
 * ```ts
 * try {
 *   cache.deserialize(text);
 * } catch (e) {
 *   if (e instanceof MsalError && e.code === "cache_deserialization_failed") startFresh();
 * }
 * ```
 */
export class MsalError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
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
  constructor(message: string, options?: { cause?: unknown }) {
    super("cache_deserialization_failed", message, options);
  }
}

/** An id_token failed validation (audience, issuer, nonce, lifetime) or could not be decoded. */
export class IdTokenError extends MsalError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
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
export class AuthFlowError extends MsalError {}

/** The user did not finish signing in in the browser before the `timeout`. */
export class BrowserInteractionTimeoutError extends MsalError {
  constructor(message = "The user did not complete the sign-in in the browser in time.") {
    super("browser_interaction_timeout", message);
  }
}

/**
 * No browser could be opened (no display, no browser installed, a remote shell). Use the device
 * code flow (`initiateDeviceFlow`) instead, or pass `openBrowser` to show the URL your own way.
 */
export class BrowserUnavailableError extends MsalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("browser_unavailable", message, options);
  }
}
