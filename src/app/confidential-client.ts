/**
 * Confidential clients: web apps, web APIs and daemons, which hold a credential (a secret, a
 * certificate or an assertion).
 */
import type { Authority } from "../authority/authority.js";
import type { Endpoints } from "../authority/discovery.js";
import { regionalHost, resolveRegion } from "../authority/region.js";
import { withCacheAccess } from "../cache/plugin.js";
import { clientAuthenticator } from "../credentials/client-auth.js";
import { removeAppTokens } from "../flows/accounts.js";
import { acquireTokenForClient, type ClientCredentialRequest } from "../flows/client-credentials.js";
import { acquireTokenOnBehalfOf, type OnBehalfOfRequest } from "../flows/on-behalf-of.js";
import type { TokenResult } from "../protocol/token-result.js";
import { ClientApplication } from "./client-application.js";
import type { ConfidentialClientOptions } from "./options.js";
import { defaultPlatform, type Platform } from "./platform.js";

/** Confidential clients hold back 5 s after a 429/5xx without a usable Retry-After (MSAL Python's default). */
const CONFIDENTIAL_RETRY_AFTER_SECONDS = 5;

/**
 * An application that can keep a secret: it gets tokens for itself (client credentials) and on
 * behalf of users who call it (on-behalf-of), and signs users in to web apps.
 *
 * @example
 * ```ts
 * import { ConfidentialClientApplication } from "msal-ts";
 *
 * const app = new ConfidentialClientApplication("my-client-id", {
 *   authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
 *   clientCredential: clientSecret, // from your secret store
 * });
 * const result = await app.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
 * if ("access_token" in result) console.log(result.token_source);
 * ```
 */
export class ConfidentialClientApplication extends ClientApplication {
  readonly #regionFor: (authority: Authority, endpoints: Endpoints) => Promise<string | undefined>;

  constructor(clientId: string, options: ConfidentialClientOptions, platform?: Platform) {
    const chosen = platform ?? defaultPlatform();
    // The options are checked (the credential's presence too) before `clientAuth` reads them.
    super(clientId, options, {
      kind: "confidential",
      defaultRetryAfterSeconds: CONFIDENTIAL_RETRY_AFTER_SECONDS,
      platform: chosen,
      clientAuth: (authority) =>
        clientAuthenticator(options.clientCredential, {
          clientId,
          adfs: authority.kind === "adfs",
          prepareCertificate: chosen.prepareCertificate,
          ...(options.clientClaims ? { clientClaims: options.clientClaims } : {}),
        }),
    });
    let region: Promise<string | undefined> | undefined;
    this.#regionFor = async (authority, endpoints) => {
      if (authority.kind !== "aad") return undefined;
      region ??= resolveRegion(options.azureRegion, { env: this.ctx.platform.env(), http: this.ctx.http });
      const name = await region;
      if (!name) return undefined;
      const url = new URL(endpoints.tokenEndpoint);
      url.host = regionalHost(authority, name);
      return url.toString();
    };
  }

  /**
   * A token for the app itself (client credentials), from the cache when it has a valid one.
   * `scopes` is the resource's `.default` scope, e.g. `["https://graph.microsoft.com/.default"]`.
   *
   * @example
   * ```ts
   * const result = await app.acquireTokenForClient(["https://graph.microsoft.com/.default"], { tenant: customerTenantId });
   * ```
   */
  acquireTokenForClient(scopes: string[], options: ClientCredentialRequest = {}): Promise<TokenResult> {
    return acquireTokenForClient(this.ctx, scopes, options, this.#regionFor);
  }

  /**
   * A token for a downstream API on behalf of the user whose access token (`userAssertion`) your
   * API received. Cached per assertion: repeated calls with the same assertion hit the cache.
   *
   * @example
   * ```ts
   * const result = await app.acquireTokenOnBehalfOf(incomingBearerToken, ["https://graph.microsoft.com/User.Read"]);
   * ```
   */
  acquireTokenOnBehalfOf(
    userAssertion: string,
    scopes: string[],
    options: OnBehalfOfRequest = {},
  ): Promise<TokenResult> {
    return acquireTokenOnBehalfOf(this.ctx, userAssertion, scopes, options);
  }

  /** Removes this app's own tokens (client credentials) from the cache; resolves with how many. */
  removeTokensForClient(): Promise<number> {
    return withCacheAccess(this.ctx.cache, undefined, () =>
      removeAppTokens(this.ctx, this.clientId, this.ctx.authority.host),
    );
  }
}
