/**
 * The loopback listener of interactive sign-in (RFC 8252 section 7.3): an HTTP server on
 * 127.0.0.1 only, that takes the one authorization response whose `state` matches, answers the
 * browser with a page a person can read, and refuses everything else.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BrowserInteractionTimeoutError, ConfigurationError } from "../errors.js";
import type { LoopbackListener } from "../flows/interactive.js";
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

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    connection: "close",
  });
  res.end(html);
}

export async function startLoopbackListener(port: number): Promise<LoopbackListener> {
  const pending: Array<(req: IncomingMessage, res: ServerResponse) => void> = [];
  const server = nodeHttp().createServer((req, res) => {
    const handler = pending[0];
    if (handler) handler(req, res);
    else send(res, 404, page("Not found", "<p>No sign-in is in progress.</p>"));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      const hint =
        error.code === "EADDRINUSE"
          ? `port ${port} is in use`
          : error.code === "EACCES"
            ? `port ${port} needs privileges`
            : error.message;
      reject(
        new ConfigurationError(
          "port",
          `Cannot listen for the sign-in response on 127.0.0.1:${port}: ${hint}. Use port 0 to let the system pick one.`,
          { cause: error },
        ),
      );
    });
    // Loopback only: the authorization code must never be reachable from another machine.
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://localhost:${actualPort}`,
    waitForResponse({ state, authUri, timeoutMs, signal, successPage, errorPage: errorTemplate }) {
      return new Promise((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (settle: () => void) => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          pending.length = 0;
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
        pending.push((req, res) => {
          const url = new URL(req.url ?? "/", "http://localhost");
          const params = Object.fromEntries(url.searchParams);
          if (req.method !== "GET" || (params.code === undefined && params.error === undefined)) {
            // A person who opened the redirect URI by hand gets the way to sign in.
            send(
              res,
              200,
              page("Sign in", `<p>Continue to <a href="${escapeHtml(authUri)}">the sign-in page</a>.</p>`),
            );
            return;
          }
          if (params.state !== state) {
            send(
              res,
              400,
              page(
                "State mismatch",
                '<p id="message">This response does not belong to the sign-in in progress, so it was refused. Close this window.</p>',
              ),
            );
            return;
          }
          if (params.error !== undefined)
            send(res, 200, errorPage(errorTemplate, params.error, params.error_description ?? ""));
          else send(res, 200, successPage ?? SUCCESS);
          finish(() => resolve(params));
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
