/**
 * Interactive sign-in through the system browser (spec section 3.3): a loopback listener on
 * 127.0.0.1 receives the authorization response at `http://localhost:<port>` (RFC 8252), and the
 * auth code flow with PKCE does the rest. The listener and the browser come from the platform (the
 * Node entry has both); `openBrowser` replaces the launcher.
 */
import type { AppContext } from "../app/context.js";
import { ConfigurationError } from "../errors.js";
import type { TokenResult } from "../protocol/token-result.js";
import { type AuthCodeFlowRequest, acquireTokenByAuthCodeFlow, initiateAuthCodeFlow } from "./auth-code.js";

export interface InteractiveRequest extends Omit<AuthCodeFlowRequest, "redirectUri" | "responseMode"> {
  /** Port on 127.0.0.1; default: one the system assigns. */
  port?: number;
  /** Milliseconds to wait for the user; default: until `signal` aborts. */
  timeout?: number;
  signal?: AbortSignal;
  /** Opens the sign-in URL; default: the system browser. */
  openBrowser?: (url: string) => void | Promise<void>;
  /** HTML shown in the browser after sign-in, instead of the default page. */
  successPage?: string;
  /** HTML shown after a failed sign-in; `{error}` and `{error_description}` are replaced (HTML-escaped). */
  errorPage?: string;
}

/** What the platform's loopback listener does. */
export interface LoopbackListener {
  /** The redirect URI to register and send: `http://localhost:<port>`. */
  redirectUri: string;
  /** Resolves with the authorization response whose `state` matches; rejects on timeout or abort. */
  waitForResponse(options: {
    state: string;
    authUri: string;
    timeoutMs?: number;
    signal?: AbortSignal;
    successPage?: string;
    errorPage?: string;
  }): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface InteractivePlatform {
  startLoopbackListener?(port: number): Promise<LoopbackListener>;
  openBrowser?(url: string): Promise<void>;
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
  request.signal?.throwIfAborted();
  const listener = await platform.startLoopbackListener(request.port ?? 0);
  // Ends the wait for the response when the sign-in ends another way (the browser cannot be opened).
  const ended = new AbortController();
  try {
    const {
      port: _port,
      timeout,
      signal,
      openBrowser: _open,
      successPage,
      errorPage,
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
      authUri: flow.auth_uri,
      ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
      signal: signal ? AbortSignal.any([signal, ended.signal]) : ended.signal,
      ...(successPage ? { successPage } : {}),
      ...(errorPage ? { errorPage } : {}),
    });
    response.catch(() => undefined); // Awaited below; a rejection while the browser opens is not unhandled.
    ctx.log("info", `Opening the browser for sign-in; redirect URI ${listener.redirectUri}.`);
    await open(flow.auth_uri);
    return await acquireTokenByAuthCodeFlow(ctx, flow, await response, {
      scopes,
      ...(signal ? { signal } : {}),
    });
  } finally {
    ended.abort();
    await listener.close();
  }
}
