/**
 * The loopback listener of interactive sign-in (RFC 8252 section 7.3, 8.3): HTTP servers on the
 * loopback interface only, that take the one authorization response whose `state` matches, answer
 * the browser with a page a person can read, and refuse everything else.
 *
 * What it guarantees, and why:
 * - For `http://localhost:<port>` it holds the port on BOTH 127.0.0.1 and ::1. A browser may resolve
 *   `localhost` to either; if msal-ts held only one, another local process could bind the other and
 *   receive the code and state. Where ::1 does not exist (no IPv6) it listens on 127.0.0.1 alone and
 *   the redirect URI becomes `http://127.0.0.1:<port>`, which names the one address it holds.
 * - It answers only requests whose Host header is the registered authority: a web page that rebinds
 *   its own DNS name to 127.0.0.1 (DNS rebinding) reaches the port with its own Host and gets a bare
 *   400.
 * - No page it serves contains the authorize URL, the state or the PKCE challenge: anyone who can
 *   make a request to the port must learn nothing about the sign-in in progress.
 * - The authorization response is taken only at the redirect URI's path, and only one: the first
 *   with the expected state ends the wait and both servers stop listening. A response with another
 *   (or no) state is refused with 400 and the wait goes on: the state is 128 random bits, so a forged
 *   response cannot complete the sign-in, and ending the wait on it would let any web page in the
 *   user's browser cancel the user's sign-in with one request (OAuth security BCP, RFC 9700 section
 *   4.7: the state protects against CSRF; it is not an error channel).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BrowserInteractionTimeoutError, ConfigurationError } from "../errors.js";
import type { LoopbackListener, LoopbackOptions } from "../flows/interactive.js";
import { nodeHttp } from "./builtins.js";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:10vh auto;max-width:34em;padding:0 1em;color:#222}h1{font-size:1.4em}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const SUCCESS = page(
  "Signed in",
  '<p id="message">Authentication complete. You can close this window and return to the application.</p>',
);
const NOT_A_RESPONSE = page(
  "Not found",
  "<p>This address only receives the response of a sign-in. Return to the application.</p>",
);
const NO_SIGN_IN = page("Not found", "<p>No sign-in is in progress.</p>");
const STATE_MISMATCH = page(
  "State mismatch",
  '<p id="message">This response does not belong to the sign-in in progress, so it was refused. Close this window.</p>',
);

function errorPage(template: string | undefined, error: string, description: string): string {
  if (template)
    return template
      .replaceAll("{error}", escapeHtml(error))
      .replaceAll("{error_description}", escapeHtml(description));
  return page(
    "Sign-in failed",
    `<p id="message">The sign-in did not complete: <b>${escapeHtml(error)}</b>.</p><p>${escapeHtml(description)}</p><p>Close this window and try again from the application.</p>`,
  );
}

function send(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    connection: "close",
    ...extra,
  });
  res.end(html);
}

/** For a request that is not for us: nothing about the flow, not even a page. */
function badRequest(res: ServerResponse): void {
  res.writeHead(400, { "content-type": "text/plain; charset=utf-8", connection: "close" });
  res.end("Bad Request");
}

/** Errors that mean this machine has no ::1 (IPv6 disabled or absent), as opposed to a busy port. */
const NO_IPV6 = new Set(["EADDRNOTAVAIL", "EAFNOSUPPORT", "EPROTONOSUPPORT"]);

/** How many times port 0 looks for a port free on both 127.0.0.1 and ::1. */
const DUAL_STACK_ATTEMPTS = 20;

function listenOn(server: Server, port: number, address: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen({ port, host: address, ipv6Only: address === "::1" }, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function shown(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function cannotListen(address: string, port: number, error: NodeJS.ErrnoException): ConfigurationError {
  const hint =
    error.code === "EADDRINUSE"
      ? `port ${port} is in use`
      : error.code === "EACCES"
        ? `port ${port} needs privileges`
        : error.message;
  return new ConfigurationError(
    "port",
    `Cannot listen for the sign-in response on ${shown(address, port)}: ${hint}. Use port 0 to let the system pick one.`,
    { cause: error },
  );
}

/** A server that stops listening once, and can be awaited until its connections are gone. */
interface Held {
  server: Server;
  closed: Promise<void>;
}

function hold(server: Server): Held {
  return { server, closed: new Promise<void>((resolve) => server.once("close", () => resolve())) };
}

async function closeQuietly(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Binds `port` on the addresses `host` stands for. For `localhost`, both loopback addresses or
 * none (falling back to 127.0.0.1 alone only where ::1 does not exist); port 0 retries until the
 * system's pick for 127.0.0.1 is free on ::1 too.
 */
async function bind(
  port: number,
  host: "localhost" | "127.0.0.1",
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ held: Held[]; port: number; host: "localhost" | "127.0.0.1" }> {
  const create = () => nodeHttp().createServer({ requestTimeout: 60_000 }, handler);
  for (let attempt = 1; ; attempt++) {
    const v4 = create();
    // Loopback only: the authorization code must never be reachable from another machine.
    const actual = await listenOn(v4, port, "127.0.0.1").catch((error: NodeJS.ErrnoException) => {
      throw cannotListen("127.0.0.1", port, error);
    });
    if (host === "127.0.0.1") return { held: [hold(v4)], port: actual, host };
    const v6 = create();
    try {
      await listenOn(v6, actual, "::1");
      return { held: [hold(v4), hold(v6)], port: actual, host };
    } catch (cause) {
      const error = cause as NodeJS.ErrnoException;
      if (NO_IPV6.has(error.code ?? "")) return { held: [hold(v4)], port: actual, host: "127.0.0.1" };
      await closeQuietly(v4);
      // Someone holds [::1]:<port>: with a port of our choosing, choose again; a fixed one is refused.
      if (error.code !== "EADDRINUSE" || port !== 0 || attempt >= DUAL_STACK_ATTEMPTS)
        throw cannotListen("::1", actual, error);
    }
  }
}

/**
 * Starts listening for the authorization response of an interactive sign-in on loopback. `port` 0
 * lets the system pick one. `options.host` is the host of the redirect URI the app registered
 * (`localhost` by default, or `127.0.0.1`), `options.path` its path (default `/`).
 *
 * @example
 * ```ts
 * const listener = await startLoopbackListener(0);
 * // send listener.redirectUri as redirect_uri, then:
 * const response = await listener.waitForResponse({ state, timeoutMs: 120_000 });
 * await listener.close();
 * ```
 */
export async function startLoopbackListener(
  port: number,
  options: LoopbackOptions = {},
): Promise<LoopbackListener> {
  const path = options.path ?? "/";
  let current: ((req: IncomingMessage, res: ServerResponse, url: URL) => void) | undefined;
  let authority = "";
  const ours = new Set<string>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // RFC 8252 section 8.3 and DNS rebinding: only the authority the browser was sent to is ours.
    if (!ours.has(req.headers.host?.toLowerCase() ?? "")) {
      badRequest(res);
      return;
    }
    // Origin-form only (RFC 9112 section 3.2.1): an absolute URL would carry another authority.
    if (!req.url?.startsWith("/") || req.url.startsWith("//")) {
      badRequest(res);
      return;
    }
    const url = new URL(req.url, `http://${authority}`);
    if (!current) send(res, 404, NO_SIGN_IN);
    else current(req, res, url);
  };
  const bound = await bind(port, options.host ?? "localhost", handle);
  authority = `${bound.host}:${bound.port}`;
  ours.add(authority);
  // A browser leaves the default port out of Host (RFC 9110 section 7.2).
  if (bound.port === 80) ours.add(bound.host);
  let stopped = false;
  const stopListening = () => {
    if (stopped) return;
    stopped = true;
    for (const { server } of bound.held) {
      server.close();
      server.closeIdleConnections();
    }
  };
  const redirectUri = `http://${authority}${path === "/" ? "" : path}`;
  return {
    redirectUri,
    waitForResponse({ state, timeoutMs, signal, successPage, errorPage: errorTemplate }) {
      return new Promise((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (settle: () => void) => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          current = undefined;
          settle();
        };
        const onAbort = () => finish(() => reject(signal?.reason));
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        if (timeoutMs !== undefined) {
          timer = setTimeout(
            () =>
              finish(() =>
                reject(
                  new BrowserInteractionTimeoutError(
                    `The user did not complete the sign-in in the browser within ${timeoutMs} ms.`,
                  ),
                ),
              ),
            timeoutMs,
          );
        }
        current = (req, res, url) => {
          if (url.pathname !== path) {
            send(res, 404, NOT_A_RESPONSE);
            return;
          }
          if (req.method !== "GET") {
            send(res, 405, NOT_A_RESPONSE, { allow: "GET" });
            return;
          }
          const query = url.searchParams;
          if (!query.has("code") && !query.has("error")) {
            send(res, 404, NOT_A_RESPONSE);
            return;
          }
          // A repeated parameter makes "the" state or code ambiguous: refused like a wrong state.
          const repeated = ["state", "code", "error"].some((name) => query.getAll(name).length > 1);
          if (repeated || query.get("state") !== state) {
            send(res, 400, STATE_MISMATCH);
            return;
          }
          const params = Object.fromEntries(query);
          if (params.error !== undefined)
            send(res, 200, errorPage(errorTemplate, params.error, params.error_description ?? ""));
          else send(res, 200, successPage ?? SUCCESS);
          // Exactly one response: nothing more reaches this sign-in, on either address.
          stopListening();
          finish(() => resolve(params));
        };
      });
    },
    async close() {
      stopListening();
      for (const { server } of bound.held) server.closeAllConnections();
      await Promise.all(bound.held.map((h) => h.closed));
    },
  };
}
