/**
 * The part of oidc-provider (v9, panva/node-oidc-provider) the interop test uses. The package ships
 * no type declarations; its configuration is documented in its repository's docs/README.md.
 */
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  /** The Koa context oidc-provider hands to configuration functions and event listeners. */
  export interface ProviderContext {
    oidc: {
      route?: string;
      params?: Record<string, unknown>;
      client?: { clientId: string };
    };
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: "opaque" | "jwt";
  }

  export type Configuration = Record<string, unknown>;

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** A Node.js request listener (the provider is a Koa application). */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (ctx: ProviderContext, ...rest: unknown[]) => void): this;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
  };

  export default Provider;
}
