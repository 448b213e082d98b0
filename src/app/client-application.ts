/**
 * What public and confidential client applications share: options, the context flows run in, and
 * the cache. Thin on purpose: each method validates its arguments and calls a flow.
 */
import type { Authority } from "../authority/authority.js";
import type { TokenCache } from "../cache/token-cache.js";
import type { ClientAuthenticator } from "../credentials/client-auth.js";
import { type AppContext, createContext } from "./context.js";
import { type ClientApplicationOptions, validateClientId, validateCommonOptions } from "./options.js";
import { defaultPlatform, type Platform } from "./platform.js";

export abstract class ClientApplication {
  /** The application (client) id. */
  readonly clientId: string;
  protected readonly ctx: AppContext;

  protected constructor(
    clientId: string,
    options: ClientApplicationOptions,
    setup: {
      defaultRetryAfterSeconds: number;
      clientAuth?: (authority: Authority) => ClientAuthenticator;
      platform?: Platform;
    },
  ) {
    validateClientId(clientId);
    validateCommonOptions(options);
    this.clientId = clientId;
    this.ctx = createContext(clientId, options, setup.platform ?? defaultPlatform(), setup);
  }

  /** The token cache this app reads and writes. */
  get tokenCache(): TokenCache {
    return this.ctx.cache;
  }

  /** The authority URL requests go to by default. */
  get authority(): string {
    return this.ctx.authority.url;
  }
}
