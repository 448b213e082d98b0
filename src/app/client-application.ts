/**
 * What public and confidential client applications share: options, the context flows run in, and
 * the cache. Thin on purpose: each method validates its arguments and calls a flow.
 */
import { type Authority, unknownAuthorityAdvice } from "../authority/authority.js";
import { DEFAULT_INSTANCE_DISCOVERY_ENDPOINT, type Endpoints } from "../authority/discovery.js";
import type { TokenCache } from "../cache/token-cache.js";
import type { ClientAuthenticator } from "../credentials/client-auth.js";
import { ConfigurationError, MsalError } from "../errors.js";
import { type Account, getAccounts, removeAccount } from "../flows/accounts.js";
import {
  type AuthCodeFlow,
  type AuthCodeFlowRequest,
  type AuthResponse,
  acquireTokenByAuthCodeFlow,
  initiateAuthCodeFlow,
  type RedeemRequest,
} from "../flows/auth-code.js";
import {
  type AuthorizationCodeRequest,
  type AuthorizationUrlRequest,
  acquireTokenByAuthorizationCode,
  getAuthorizationRequestUrl,
} from "../flows/authorization-code.js";
import { acquireTokenByRefreshToken, type RefreshTokenRequest } from "../flows/refresh-token.js";
import { type AccountRef, acquireTokenSilentWithError, type SilentRequest } from "../flows/silent.js";
import { acquireTokenByUsernamePassword, type UsernamePasswordRequest } from "../flows/username-password.js";
import { NetworkError, safeUrl } from "../http/network-error.js";
import type { TokenResult, TokenSuccess } from "../protocol/token-result.js";
import { type AppContext, createContext } from "./context.js";
import {
  type ApplicationKind,
  type ClientApplicationOptions,
  validateApplicationArguments,
} from "./options.js";
import { defaultPlatform, type Platform } from "./platform.js";

/**
 * What public and confidential client applications share: accounts, the token cache, silent calls and the
 * auth code flow. Create a {@link PublicClientApplication} or a {@link ConfidentialClientApplication}.
 */
export abstract class ClientApplication {
  /** The application (client) id. */
  readonly clientId: string;
  protected readonly ctx: AppContext;

  protected constructor(
    clientId: string,
    options: ClientApplicationOptions,
    setup: {
      kind: ApplicationKind;
      defaultRetryAfterSeconds: number;
      clientAuth?: (authority: Authority) => ClientAuthenticator;
      platform?: Platform;
    },
  ) {
    validateApplicationArguments(setup.kind, clientId, options);
    this.clientId = clientId;
    this.ctx = createContext(clientId, options, setup.platform ?? defaultPlatform(), setup);
    this.ctx.discover = explainingUnknownAuthorities(this.ctx.discover, options);
  }

  /** The token cache this app reads and writes. */
  get tokenCache(): TokenCache {
    return this.ctx.cache;
  }

  /** The authority URL requests go to by default. */
  get authority(): string {
    return this.ctx.authority.url;
  }

  /**
   * Starts an auth code flow with PKCE: send the user to `flow.auth_uri`, keep `flow` (e.g. in the
   * web session), and pass it with the response to {@link ClientApplication.acquireTokenByAuthCodeFlow}.
   *
   * @example
   * ```ts
   * const flow = await app.initiateAuthCodeFlow(["User.Read"], { redirectUri: "https://app.example/callback" });
   * session.flow = flow;
   * res.redirect(flow.auth_uri);
   * ```
   */
  initiateAuthCodeFlow(scopes: string[], options: AuthCodeFlowRequest = {}): Promise<AuthCodeFlow> {
    return initiateAuthCodeFlow(this.ctx, scopes, options);
  }

  /**
   * Completes an auth code flow: checks the response's state against the flow, redeems the code,
   * checks the id_token (nonce, `max_age`) and caches the tokens.
   *
   * @example
   * ```ts
   * const result = await app.acquireTokenByAuthCodeFlow(session.flow, Object.fromEntries(callbackUrl.searchParams));
   * ```
   */
  acquireTokenByAuthCodeFlow(
    flow: AuthCodeFlow,
    authResponse: AuthResponse,
    options: RedeemRequest = {},
  ): Promise<TokenResult> {
    return acquireTokenByAuthCodeFlow(this.ctx, flow, authResponse, options);
  }

  /** The authorize URL without a flow object (you keep state and nonce yourself). Prefer `initiateAuthCodeFlow`. */
  getAuthorizationRequestUrl(scopes: string[], options: AuthorizationUrlRequest = {}): Promise<string> {
    return getAuthorizationRequestUrl(this.ctx, scopes, options);
  }

  /** Redeems an authorization code you got yourself. Prefer `acquireTokenByAuthCodeFlow`. */
  acquireTokenByAuthorizationCode(
    code: string,
    scopes: string[],
    options: AuthorizationCodeRequest = {},
  ): Promise<TokenResult> {
    return acquireTokenByAuthorizationCode(this.ctx, code, scopes, options);
  }

  /** Redeems a refresh token from elsewhere, adding the user and tokens to the cache. */
  acquireTokenByRefreshToken(
    refreshToken: string,
    scopes: string[],
    options: RefreshTokenRequest = {},
  ): Promise<TokenResult> {
    return acquireTokenByRefreshToken(this.ctx, refreshToken, scopes, options);
  }

  /**
   * A token for a signed-in account from the cache, refreshed with its refresh token when needed:
   * the token, or `null` when there is none to be had without the user.
   *
   * @example
   * ```ts
   * const [account] = await app.getAccounts();
   * const result = account && (await app.acquireTokenSilent(["User.Read"], account));
   * if (!result) startInteractiveSignIn();
   * ```
   */
  acquireTokenSilent(
    scopes: string[],
    account: AccountRef | null | undefined,
    options: SilentRequest = {},
  ): Promise<TokenSuccess | null> {
    return acquireTokenSilentWithError(this.ctx, scopes, account, options).then(successOnly);
  }

  /**
   * Like {@link ClientApplication.acquireTokenSilent}, but a failed refresh comes back as the error
   * (with `requires_interaction` and any `claims`); `null` still means the cache had nothing usable.
   */
  acquireTokenSilentWithError(
    scopes: string[],
    account: AccountRef | null | undefined,
    options: SilentRequest = {},
  ): Promise<TokenResult | null> {
    return acquireTokenSilentWithError(this.ctx, scopes, account, options);
  }

  /**
   * Signs a user in with username and password (ROPC), for managed and federated (WS-Trust)
   * users. It cannot do MFA: such users get an `interaction_required` result. Prefer interactive or
   * device code sign-in.
   */
  acquireTokenByUsernamePassword(
    username: string,
    password: string,
    scopes: string[],
    options: UsernamePasswordRequest = {},
  ): Promise<TokenResult> {
    return acquireTokenByUsernamePassword(this.ctx, username, password, scopes, options);
  }

  /** Signed-in accounts in the cache, one per user, optionally with this username. */
  getAccounts(options: { username?: string } = {}): Promise<Account[]> {
    return getAccounts(this.ctx, options);
  }

  /** Signs an account out of this app: removes its tokens and account entries from the cache. */
  removeAccount(account: AccountRef): Promise<void> {
    return removeAccount(this.ctx, account);
  }
}

const successOnly = (result: TokenResult | null): TokenSuccess | null =>
  result && !("error" in result) ? (result as TokenSuccess) : null;

/**
 * An authority on a host msal-ts does not know is checked with instance discovery first (spec 6.2).
 * When that check cannot be made (the endpoint does not resolve or answer, as where only the
 * identity provider is reachable), the transport's error alone would point at
 * login.microsoftonline.com, a host the app never named: say instead what the check was for and
 * how to configure an authority that is not Microsoft Entra's.
 */
function explainingUnknownAuthorities(
  discover: (authority: Authority, signal?: AbortSignal) => Promise<Endpoints>,
  options: ClientApplicationOptions,
): (authority: Authority, signal?: AbortSignal) => Promise<Endpoints> {
  const setting = options.validateAuthority === false ? false : (options.instanceDiscovery ?? true);
  if (setting === false) return discover;
  const endpoint = typeof setting === "string" ? setting : DEFAULT_INSTANCE_DISCOVERY_ENDPOINT;
  const shown = safeUrl(endpoint);
  return (authority, signal) => {
    const endpoints = discover(authority, signal);
    if (authority.knownToMicrosoft || authority.knownToDeveloper) return endpoints;
    return endpoints.catch((error: unknown) => {
      const failed =
        (error instanceof NetworkError && error.url === shown && !signal?.aborted) ||
        (error instanceof MsalError && error.code === "instance_discovery_failed");
      if (!failed) throw error;
      const what =
        error instanceof NetworkError ? error.message.slice(0, -error.hint.length).trim() : error.message;
      throw new ConfigurationError(
        "authority",
        `${unknownAuthorityAdvice(authority)} (msal-ts checks such hosts with instance discovery at ${shown} before use, and that failed: ${what})`,
        { cause: error },
      );
    });
  };
}
