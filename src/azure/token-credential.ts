/**
 * An Azure SDK `TokenCredential` (`@azure/core-auth`) made from an msal-ts client, so that
 * `BlobServiceClient`, `SecretClient` and every other Azure SDK client get their tokens through
 * msal-ts's cache. The shapes are declared here structurally: msal-ts has no runtime dependency on
 * the Azure SDK, and test/types/azure-credential.ts proves they fit `@azure/core-auth`'s.
 * https://learn.microsoft.com/javascript/api/@azure/core-auth/tokencredential
 */
import { ClientApplication } from "../app/client-application.js";
import { ConfidentialClientApplication } from "../app/confidential-client.js";
import { ArgumentError } from "../errors.js";
import type { Account } from "../flows/accounts.js";
import type { AccountRef } from "../flows/silent.js";
import { NetworkError } from "../http/network-error.js";
import { ManagedIdentityClient } from "../managed-identity/client.js";
import { ManagedIdentityError } from "../managed-identity/errors.js";
import type { TokenFailure, TokenResult, TokenSuccess } from "../protocol/token-result.js";
import { AuthenticationError, AuthenticationRequiredError, CredentialUnavailableError } from "./errors.js";

/**
 * An abort signal as the Azure SDK passes it (`AbortSignalLike`): a real `AbortSignal`, or any
 * object with `aborted` and `abort` listeners.
 *
 * @example
 * ```ts
 * const signal: AzureAbortSignalLike = AbortSignal.timeout(10_000);
 * ```
 */
export interface AzureAbortSignalLike {
  /** Whether the signal has fired. */
  readonly aborted: boolean;
  /** Adds a listener for `abort`. */
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  /** Removes a listener for `abort`. */
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * What an Azure SDK client passes to `getToken` (`@azure/core-auth`'s `GetTokenOptions`); the
 * fields msal-ts reads.
 *
 * @example
 * ```ts
 * const options: AzureGetTokenOptions = { tenantId: customerTenantId, abortSignal: AbortSignal.timeout(10_000) };
 * ```
 */
export interface AzureGetTokenOptions {
  /** Aborts the token request. */
  abortSignal?: AzureAbortSignalLike | undefined;
  /**
   * A claims challenge (JSON, already base64-decoded) from a resource's `WWW-Authenticate` header:
   * sent as `claimsChallenge`, so the cache is skipped.
   */
  claims?: string | undefined;
  /**
   * The Azure SDK's wish for a CAE token. Whether tokens are CAE tokens is the application's choice,
   * made once: its `clientCapabilities: ["cp1"]` (or the managed identity client's). MSAL has no
   * per-request capabilities, so this flag changes nothing.
   */
  enableCae?: boolean | undefined;
  /** Another tenant than the app's, for this token (multi-tenant apps); ignored by managed identity. */
  tenantId?: string | undefined;
}

/**
 * A token as the Azure SDK takes it (`@azure/core-auth`'s `AccessToken`).
 *
 * @example
 * ```ts
 * const token: AzureAccessToken = await tokenCredential(app).getToken("https://storage.azure.com/.default");
 * const minutesLeft = (token.expiresOnTimestamp - Date.now()) / 60_000;
 * ```
 */
export interface AzureAccessToken {
  /** The access token. */
  token: string;
  /** When it expires, in epoch milliseconds. */
  expiresOnTimestamp: number;
  /** When to renew it ahead of expiry, in epoch milliseconds (Entra ID's `refresh_in`), if it said. */
  refreshAfterTimestamp?: number;
  /** `Bearer`, or `pop` for a proof-of-possession token. */
  tokenType: "Bearer" | "pop";
}

/**
 * An Azure SDK `TokenCredential` backed by an msal-ts client: give it to any Azure SDK client.
 *
 * @example
 * ```ts
 * const credential: MsalTokenCredential = tokenCredential(app);
 * const token = await credential.getToken(["https://vault.azure.net/.default"]);
 * ```
 */
export interface MsalTokenCredential {
  /**
   * A token for `scopes` (one resource's, e.g. `https://storage.azure.com/.default`), from the
   * client's cache when it holds a valid one. Throws {@link CredentialUnavailableError},
   * {@link AuthenticationRequiredError} or {@link AuthenticationError} when there is none to give.
   */
  getToken(scopes: string | string[], options?: AzureGetTokenOptions): Promise<AzureAccessToken>;
}

/**
 * Options of {@link tokenCredential}.
 *
 * @example
 * ```ts
 * const options: TokenCredentialOptions = { account };
 * ```
 */
export interface TokenCredentialOptions {
  /**
   * The signed-in user whose tokens to give (public clients, and web apps acting for a user). Without
   * it, a public client uses the one account in its cache; a confidential client gets app tokens
   * (client credentials).
   */
  account?: AccountRef;
}

/**
 * The clients {@link tokenCredential} takes: either application, or a managed identity client.
 *
 * @example
 * ```ts
 * const clients: TokenCredentialClient[] = [app, publicApp];
 * const credentials = clients.map((client) => tokenCredential(client));
 * ```
 */
export type TokenCredentialClient = ClientApplication | ManagedIdentityClient;

/**
 * Turns an msal-ts client into an Azure SDK `TokenCredential`:
 * - a `ConfidentialClientApplication` gets the app's own tokens (`acquireTokenForClient`); with
 *   `options.account`, that user's tokens instead;
 * - a `PublicClientApplication` gets the signed-in user's tokens silently: `options.account`, or
 *   the single account in its cache. When the user must sign in (again), it throws
 *   {@link CredentialUnavailableError} (no account) or {@link AuthenticationRequiredError};
 * - a `ManagedIdentityClient` gets the host's managed identity's tokens, for the resource the scope
 *   names (`https://vault.azure.net/.default` is the resource `https://vault.azure.net`).
 *
 * `getToken`'s `tenantId` asks for a token from that tenant, `claims` is sent as the claims
 * challenge. CAE (`enableCae`) is the app's `clientCapabilities: ["cp1"]`: see docs/azure.md.
 *
 * @example
 * ```ts
 * import { BlobServiceClient } from "@azure/storage-blob";
 * import { ConfidentialClientApplication, tokenCredential } from "msal-ts";
 *
 * const app = new ConfidentialClientApplication(clientId, { authority, clientCredential: secret });
 * const blobs = new BlobServiceClient("https://myaccount.blob.core.windows.net", tokenCredential(app));
 * await blobs.getContainerClient("reports").createIfNotExists();
 * ```
 */
export function tokenCredential(
  client: TokenCredentialClient,
  options: TokenCredentialOptions = {},
): MsalTokenCredential {
  if (!(client instanceof ClientApplication || client instanceof ManagedIdentityClient))
    throw new ArgumentError(
      "client",
      "tokenCredential takes a ConfidentialClientApplication, a PublicClientApplication or a ManagedIdentityClient of msal-ts.",
    );
  const { account } = options ?? {};
  if (account !== undefined && typeof account?.home_account_id !== "string")
    throw new ArgumentError(
      "account",
      "options.account must be an account from getAccounts() or a result's `account`, with its home_account_id.",
    );
  return {
    async getToken(scopes, getTokenOptions = {}) {
      const list = scopeList(scopes);
      const { abortSignal, claims, tenantId } = getTokenOptions;
      const { signal, release } = abortSignalOf(abortSignal);
      try {
        if (client instanceof ManagedIdentityClient)
          return await managedIdentityToken(client, list, claims, signal);
        const common = {
          ...(claims ? { claimsChallenge: claims } : {}),
          ...(tenantId ? { tenant: tenantId } : {}),
          ...(signal ? { signal } : {}),
        };
        if (account === undefined && client instanceof ConfidentialClientApplication)
          return appToken(await client.acquireTokenForClient(list, common));
        const user = account ?? (await onlyAccount(client));
        const result = await client.acquireTokenSilentWithError(list, user, common);
        return userToken(result, list, claims);
      } finally {
        release();
      }
    },
  };
}

function scopeList(scopes: string | string[]): string[] {
  const list = typeof scopes === "string" ? [scopes] : scopes;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === "string" && s !== ""))
    throw new ArgumentError(
      "scopes",
      'getToken needs a scope or an array of scopes, e.g. "https://storage.azure.com/.default".',
    );
  return list;
}

/**
 * An `AbortSignal` for msal-ts from the Azure SDK's `AbortSignalLike`, which need not be one
 * (`@azure/abort-controller`'s older signals are not); `release` removes the forwarding listener.
 */
function abortSignalOf(like: AzureAbortSignalLike | undefined): {
  signal: AbortSignal | undefined;
  release: () => void;
} {
  if (like === undefined || like instanceof AbortSignal) return { signal: like, release: () => {} };
  const controller = new AbortController();
  const forward = () => controller.abort(new DOMException("The token request was aborted.", "AbortError"));
  if (like.aborted) forward();
  else like.addEventListener("abort", forward, { once: true });
  return { signal: controller.signal, release: () => like.removeEventListener("abort", forward) };
}

async function onlyAccount(client: ClientApplication): Promise<Account> {
  const accounts = await client.getAccounts();
  const [first] = accounts;
  if (first && accounts.length === 1) return first;
  throw new CredentialUnavailableError(
    accounts.length === 0
      ? "No user is signed in to this app: sign one in first (acquireTokenInteractive, initiateDeviceFlow, ...) with the same token cache, then use the credential."
      : `${accounts.length} users are signed in to this app: choose one with tokenCredential(app, { account }), an account from getAccounts().`,
  );
}

function accessToken(result: TokenSuccess): AzureAccessToken {
  const token: AzureAccessToken = {
    token: result.access_token,
    expiresOnTimestamp: Date.now() + result.expires_in * 1000,
    tokenType: result.token_type.toLowerCase() === "pop" ? "pop" : "Bearer",
  };
  if (result.refresh_on !== undefined) token.refreshAfterTimestamp = result.refresh_on * 1000;
  return token;
}

function failureText(failure: TokenFailure): string {
  const id = failure.correlation_id ? ` (correlation id ${failure.correlation_id})` : "";
  return `${failure.error}: ${failure.error_description ?? "no description"}${id}`;
}

function appToken(result: TokenResult): AzureAccessToken {
  if (!result.error) return accessToken(result);
  throw new AuthenticationError(
    `The identity provider refused the app's token request: ${failureText(result)}. Check the app's credential, authority and scope.`,
    result,
  );
}

/** OAuth errors after which only the user can help (RFC 6749 section 5.2, OpenID Connect Core 3.1.2.6). */
const USER_NEEDED = new Set(["invalid_grant", "interaction_required", "login_required", "consent_required"]);

function userToken(
  result: TokenResult | null,
  scopes: string[],
  claims: string | undefined,
): AzureAccessToken {
  if (result === null)
    throw new AuthenticationRequiredError(
      `The cache holds no token or refresh token for this user and ${scopes.join(" ")}: sign the user in again interactively with these scopes.`,
      { scopes, claims },
    );
  if (!result.error) return accessToken(result);
  if (result.requires_interaction || USER_NEEDED.has(result.error))
    throw new AuthenticationRequiredError(
      `The user must sign in again (${failureText(result)}): call acquireTokenInteractive (or the device code flow) with these scopes${result.claims || claims ? " and the error's claims as claimsChallenge" : ""}.`,
      { scopes, claims: result.claims ?? claims, result },
    );
  throw new AuthenticationError(
    `The identity provider refused the silent token request: ${failureText(result)}.`,
    result,
  );
}

/** The resource a managed identity token is for: the one scope, without `/.default` (spec section 1.10). */
function resourceOf(scopes: string[]): string {
  const [scope] = scopes;
  if (scope === undefined || scopes.length !== 1)
    throw new ArgumentError(
      "scopes",
      `A managed identity token is for one resource: pass one scope such as "https://vault.azure.net/.default", not ${scopes.length}.`,
    );
  return scope.endsWith("/.default") ? scope.slice(0, -"/.default".length) : scope;
}

async function managedIdentityToken(
  client: ManagedIdentityClient,
  scopes: string[],
  claims: string | undefined,
  signal: AbortSignal | undefined,
): Promise<AzureAccessToken> {
  const resource = resourceOf(scopes);
  let result: TokenResult;
  try {
    result = await client.acquireTokenForClient({
      resource,
      ...(claims ? { claimsChallenge: claims } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    // No endpoint here (not on Azure), or one that cannot serve this identity: a chained credential moves on.
    if (error instanceof ManagedIdentityError || (error instanceof NetworkError && !signal?.aborted))
      throw new CredentialUnavailableError(
        `No managed identity is available here (${error.message}). On a developer machine, use another credential.`,
        { cause: error },
      );
    throw error;
  }
  if (!result.error) return accessToken(result);
  throw new AuthenticationError(
    `The managed identity endpoint refused the token request for ${resource}: ${failureText(result)}.`,
    result,
  );
}
