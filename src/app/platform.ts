/**
 * What differs between runtimes: how HTTP is sent, where environment variables come from, what the
 * OS is called, and how certificate credentials are read. The portable defaults use the global
 * `fetch`; the Node entry installs Node's (proxy, CA, keep-alive, PFX, encrypted PEM).
 */

import type { CertificatePreparer } from "../credentials/client-auth.js";
import { preparePortableCertificate } from "../credentials/portable-certificate.js";
import { ConfigurationError } from "../errors.js";
import type { InteractivePlatform } from "../flows/interactive.js";
import type { FetchLike } from "../http/types.js";

/** The transport options of an app, as {@link Platform.createFetch} receives them. */
export interface TransportOptions {
  /** The `proxy` option: a proxy URL (Node entry only). */
  proxy?: string;
  /** The `ca` option: extra CA certificates as PEM text (Node entry only). */
  ca?: string | string[];
  /** The `timeout` option, in milliseconds: how long one HTTP request may take. */
  timeoutMs?: number;
}

/**
 * What an app needs of its runtime: HTTP, environment variables, the OS name, certificate reading, and (for
 * interactive sign-in) a loopback listener and a browser. The Node entry installs {@link nodePlatform}; the
 * portable entry's default uses the global `fetch`.
 */
export interface Platform extends InteractivePlatform {
  /** The default transport for an app, given its options. */
  createFetch(options: TransportOptions): FetchLike;
  /** The environment variables (`MSAL_FORCE_REGION`, `REGION_NAME`...); the portable default has none. */
  env(): Record<string, string | undefined>;
  /** Sent as `x-client-OS`. */
  os: string;
  /** Reads certificate credentials: PKCS#8 PEM everywhere; PFX and encrypted PEM on Node. */
  prepareCertificate: CertificatePreparer;
  /** A synchronous SHA-256 (hex), when the runtime has one (Node's `createHash`). */
  sha256Hex?: (text: string) => string;
}

const portable: Platform = {
  createFetch(options) {
    if (options.proxy || options.ca) {
      throw new ConfigurationError(
        options.proxy ? "proxy" : "ca",
        'The proxy and ca options need the Node entry of msal-ts (import from "msal-ts" on Node); elsewhere pass a `fetch` that goes through your proxy and trusts your CA.',
      );
    }
    return (url, init) => fetch(url, init);
  },
  env: () => ({}),
  os: "unknown",
  prepareCertificate: preparePortableCertificate,
};

let current: Platform = portable;

/** The platform apps use when none is given; the Node entry sets it when imported. */
export function defaultPlatform(): Platform {
  return current;
}

export function setDefaultPlatform(platform: Platform): void {
  current = platform;
}
