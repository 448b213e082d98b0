/**
 * The errors an Azure SDK credential made by {@link tokenCredential} throws. Their `name`s are the
 * ones `@azure/identity` uses, because Azure SDK code decides by name: `ChainedTokenCredential`
 * (and so `DefaultAzureCredential`) moves on to its next credential when one throws a
 * `CredentialUnavailableError` or an `AuthenticationRequiredError`, and stops at anything else.
 */
import { MsalError } from "../errors.js";
import type { TokenFailure } from "../protocol/token-result.js";

/**
 * The codes of the Azure SDK credential's errors.
 *
 * @example
 * ```ts
 * const tryAnotherCredential: AzureCredentialErrorCode[] = ["credential_unavailable", "authentication_required"];
 * ```
 */
export type AzureCredentialErrorCode =
  | "credential_unavailable"
  | "authentication_required"
  | "authentication_failed";

/**
 * This credential cannot give a token here at all: a public client with no signed-in account (or
 * several, and none chosen), or a managed identity the host does not have. A chained credential
 * tries its next one. The message says what to do.
 *
 * @example
 * ```ts
 * try {
 *   await tokenCredential(publicApp).getToken("https://storage.azure.com/.default");
 * } catch (e) {
 *   if (e instanceof CredentialUnavailableError) console.error(e.message); // e.g. "sign in first"
 * }
 * ```
 */
export class CredentialUnavailableError extends MsalError {
  declare readonly code: "credential_unavailable";
  constructor(message: string, options?: { cause?: unknown }) {
    super("credential_unavailable", message, options);
  }
}

/**
 * The user is signed in, but no token can be had without them: the refresh token expired or was
 * revoked, or the resource's claims challenge needs a new sign-in (MFA, a password reset). Sign
 * the user in again interactively with `scopes` and, when set, `claims` as the claims challenge;
 * then the credential works again.
 *
 * @example
 * ```ts
 * const credential = tokenCredential(publicApp, { account });
 * try {
 *   await credential.getToken(["https://storage.azure.com/.default"]);
 * } catch (e) {
 *   if (!(e instanceof AuthenticationRequiredError)) throw e;
 *   await publicApp.acquireTokenInteractive(e.scopes, e.claims ? { claimsChallenge: e.claims } : {});
 * }
 * ```
 */
export class AuthenticationRequiredError extends MsalError {
  declare readonly code: "authentication_required";
  /** The scopes the token was asked for: ask for them in the interactive sign-in. */
  readonly scopes: string[];
  /** The claims challenge to pass as `claimsChallenge` to the sign-in, when there is one. */
  readonly claims: string | undefined;
  /** The identity provider's answer to the silent request, when it answered. */
  readonly result: TokenFailure | undefined;

  constructor(
    message: string,
    details: { scopes: string[]; claims?: string | undefined; result?: TokenFailure | undefined },
  ) {
    super("authentication_required", message);
    this.scopes = details.scopes;
    this.claims = details.claims;
    this.result = details.result;
  }
}

/**
 * The identity provider (or the managed identity endpoint) answered with an error: a wrong secret,
 * an unknown scope, an app not consented to in the tenant. `result` is its answer, with `error`,
 * `error_description` and `correlation_id`; the message quotes them.
 *
 * @example
 * ```ts
 * try {
 *   await tokenCredential(app).getToken("https://storage.azure.com/.default");
 * } catch (e) {
 *   if (e instanceof AuthenticationError) console.error(e.result.error, e.result.correlation_id);
 * }
 * ```
 */
export class AuthenticationError extends MsalError {
  declare readonly code: "authentication_failed";
  /** The identity provider's error result. */
  readonly result: TokenFailure;
  /** The HTTP status of the answer, when known. */
  readonly statusCode: number | undefined;

  constructor(message: string, result: TokenFailure) {
    super("authentication_failed", message);
    this.result = result;
    this.statusCode = result.status;
  }
}
