/**
 * Interactive sign-in through the system browser (spec section 3.3): a loopback listener receives
 * the authorization response at `http://localhost:<port>` (RFC 8252 section 7.3), holding the port
 * on both 127.0.0.1 and ::1, or at `http://127.0.0.1:<port>` for apps registered that way; the auth
 * code flow with PKCE does the rest. The listener and the browser come from the platform (the Node
 * entry has both); `openBrowser` replaces the launcher.
 */
import type { AppContext } from "../app/context.js";
import { ConfigurationError } from "../errors.js";
import type { TokenResult } from "../protocol/token-result.js";
import { type AuthCodeFlowRequest, acquireTokenByAuthCodeFlow, initiateAuthCodeFlow } from "./auth-code.js";
import { type PopRequestOptions, type TokenRequestOptions, validateTokenData } from "./token-extras.js";

/**
 * Options of {@link PublicClientApplication.acquireTokenInteractive}: those of {@link AuthCodeFlowRequest}
 * but the redirect, which is a loopback listener's, and these.
 */
export interface InteractiveRequest
  extends Omit<AuthCodeFlowRequest, "redirectUri" | "responseMode">,
    TokenRequestOptions,
    PopRequestOptions {
  /** Port to listen on; default: the one in `redirectUri`, else one the system assigns. */
  port?: number;
  /**
   * The loopback redirect URI the app registered: `http://localhost` (the default) or
   * `http://127.0.0.1`, with an optional port and path (RFC 8252 section 7.3). With `localhost` the
   * listener holds the port on 127.0.0.1 and ::1; with `127.0.0.1`, on 127.0.0.1 only.
   */
  redirectUri?: string;
  /** Milliseconds to wait for the user; default: until `signal` aborts. */
  timeout?: number;
  /** Aborts the sign-in: the listener stops and the call rejects. */
  signal?: AbortSignal;
  /** Opens the sign-in URL; default: the system browser. */
  openBrowser?: (url: string) => void | Promise<void>;
  /** HTML shown in the browser after sign-in, instead of the default page. */
  successPage?: string;
  /** HTML shown after a failed sign-in; `{error}` and `{error_description}` are replaced (HTML-escaped). */
  errorPage?: string;
}

/** Where the loopback listener listens, from the app's redirect URI. */
export interface LoopbackOptions {
  /** The redirect URI's host: `localhost` (127.0.0.1 and ::1) or `127.0.0.1` (that address only). */
  host?: "localhost" | "127.0.0.1";
  /** The redirect URI's path, where the response is taken; default `/`. */
  path?: string;
}

/** What the platform's loopback listener does. */
export interface LoopbackListener {
  /** The redirect URI to send: `http://localhost:<port>` or `http://127.0.0.1:<port>`, with the path. */
  redirectUri: string;
  /**
   * Resolves with the one authorization response whose `state` matches (the listener then stops
   * listening); rejects on timeout or abort.
   */
  waitForResponse(options: {
    state: string;
    timeoutMs?: number;
    signal?: AbortSignal;
    successPage?: string;
    errorPage?: string;
  }): Promise<Record<string, string>>;
  /** Stops listening, whether or not a response came. */
  close(): Promise<void>;
}

export interface InteractivePlatform {
  /**
   * Listens on a loopback port for the authorization response (`port` 0: one the system assigns); absent
   * where no listener can run.
   */
  startLoopbackListener?(port: number, options?: LoopbackOptions): Promise<LoopbackListener>;
  /** Opens a URL in the system browser; absent where there is none. */
  openBrowser?(url: string): Promise<void>;
}

/**
 * `http://localhost` or `http://127.0.0.1`, an optional port, and an optional path of plain segments:
 * no query or fragment (the response adds its own query), no empty or dot segments (which URL
 * parsing would rewrite, so the path the browser requests would differ from the one registered).
 */
const LOOPBACK_REDIRECT =
  /^http:\/\/(localhost|127\.0\.0\.1)(?::(\d{1,5}))?(\/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*\/?)*)?$/i;

/** The listener's host, port and path from a loopback redirect URI and the `port` option. */
function loopbackTarget(request: InteractiveRequest): { port: number; options: LoopbackOptions } {
  const match = LOOPBACK_REDIRECT.exec(request.redirectUri ?? "http://localhost");
  if (!match) {
    throw new ConfigurationError(
      "redirectUri",
      `Interactive sign-in receives the response on loopback: redirectUri must be http://localhost or http://127.0.0.1, optionally with a port and a path (got ${request.redirectUri}).`,
    );
  }
  if (
    request.port !== undefined &&
    !(Number.isInteger(request.port) && request.port >= 0 && request.port <= 65535)
  )
    throw new ConfigurationError(
      "port",
      `port must be 0 to 65535, 0 for one the system picks (got ${request.port}).`,
    );
  const fromUri = match[2] === undefined ? undefined : Number(match[2]);
  if (fromUri !== undefined && (fromUri < 1 || fromUri > 65535))
    throw new ConfigurationError(
      "redirectUri",
      `The port of redirectUri must be 1 to 65535 (got ${fromUri}).`,
    );
  if (fromUri !== undefined && request.port !== undefined && request.port !== fromUri) {
    throw new ConfigurationError(
      "port",
      `port ${request.port} contradicts the port of redirectUri (${fromUri}): give one of them.`,
    );
  }
  const host = match[1]?.toLowerCase() === "localhost" ? "localhost" : "127.0.0.1";
  return {
    port: fromUri ?? request.port ?? 0,
    options: { host, ...(match[3] && match[3] !== "/" ? { path: match[3] } : {}) },
  };
}

export async function acquireTokenInteractive(
  ctx: AppContext,
  scopes: string[],
  request: InteractiveRequest,
  platform: InteractivePlatform,
): Promise<TokenResult> {
  if (!platform.startLoopbackListener) {
    throw new ConfigurationError(
      "platform",
      "Interactive sign-in needs a loopback listener: use the Node entry of msal-ts, or the auth code flow with your own redirect handling.",
    );
  }
  const open = request.openBrowser ?? platform.openBrowser;
  if (!open)
    throw new ConfigurationError(
      "openBrowser",
      "No browser launcher on this platform: pass openBrowser, or use the device code flow.",
    );
  const target = loopbackTarget(request);
  validateTokenData(request.data); // Before the user signs in for nothing.
  request.signal?.throwIfAborted();
  const listener = await platform.startLoopbackListener(target.port, target.options);
  if (target.options.host === "localhost" && !listener.redirectUri.startsWith("http://localhost")) {
    ctx.log(
      "warning",
      `::1 is not available on this machine (no IPv6), so the sign-in response is received on 127.0.0.1 only, at ${listener.redirectUri}. If the sign-in fails with a redirect URI mismatch, register http://127.0.0.1 as a redirect URI of the app.`,
    );
  }
  // Ends the wait for the response when the sign-in ends another way (the browser cannot be opened).
  const ended = new AbortController();
  try {
    const {
      port: _port,
      redirectUri: _redirectUri,
      timeout,
      signal,
      openBrowser: _open,
      successPage,
      errorPage,
      data,
      headers,
      authScheme,
      popKeyStore,
      ...flowOptions
    } = request;
    const flow = await initiateAuthCodeFlow(ctx, scopes, {
      ...flowOptions,
      redirectUri: listener.redirectUri,
    });
    // Wait before opening the browser: one with an SSO session is redirected back at once, maybe
    // before `open` resolves, and a response that arrives while nobody waits is turned away.
    const response = listener.waitForResponse({
      state: flow.state,
      ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
      signal: signal ? AbortSignal.any([signal, ended.signal]) : ended.signal,
      ...(successPage ? { successPage } : {}),
      ...(errorPage ? { errorPage } : {}),
    });
    response.catch(() => undefined); // Awaited below; a rejection while the browser opens is not unhandled.
    ctx.log("info", `Opening the browser for sign-in; redirect URI ${listener.redirectUri}.`);
    await open(flow.auth_uri);
    // The token request carries the caller's extras; extraQueryParameters go to both requests.
    return await acquireTokenByAuthCodeFlow(ctx, flow, await response, {
      scopes,
      ...(signal ? { signal } : {}),
      ...(data ? { data } : {}),
      ...(headers ? { headers } : {}),
      ...(authScheme ? { authScheme } : {}),
      ...(popKeyStore ? { popKeyStore } : {}),
      ...(flowOptions.extraQueryParameters ? { extraQueryParameters: flowOptions.extraQueryParameters } : {}),
    });
  } finally {
    ended.abort();
    await listener.close();
  }
}
