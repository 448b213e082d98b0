/**
 * The app the commands use: a public client whose cache lives in a per-user file (mode 0600), and
 * which, with `--verbose`, shows each HTTP exchange with secrets redacted.
 */
import {
  createNodeFetch,
  FilePersistence,
  PersistedTokenCache,
  PublicClientApplication,
} from "../node/index.js";
import type { CommonOptions } from "./options.js";
import { dim, type Terminal } from "./terminal.js";

/** Form fields and query parameters whose values never reach the screen. */
const SECRET_FIELDS = new Set([
  "client_secret",
  "client_assertion",
  "password",
  "refresh_token",
  "code",
  "code_verifier",
  "device_code",
  "assertion",
  "access_token",
  "id_token",
]);

export function redactForm(body: string): string {
  const form = new URLSearchParams(body);
  for (const key of [...form.keys()]) if (SECRET_FIELDS.has(key)) form.set(key, "[redacted]");
  return decodeURIComponent(form.toString().replace(/\+/g, " "));
}

function redactJson(body: string): string {
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    for (const key of Object.keys(json)) if (SECRET_FIELDS.has(key)) json[key] = "[redacted]";
    return JSON.stringify(json);
  } catch {
    return `${body.slice(0, 200)}${body.length > 200 ? "..." : ""}`;
  }
}

/** A fetch that prints each request and response on stderr, secrets replaced by [redacted]. */
function verboseFetch(t: Terminal): (url: string, init: RequestInit) => Promise<Response> {
  const send = createNodeFetch();
  return async (url, init) => {
    const shown = new URL(url);
    t.err.write(`${dim(t, `> ${init.method ?? "GET"} ${shown.origin}${shown.pathname}`)}\n`);
    if (typeof init.body === "string") t.err.write(`${dim(t, `> ${redactForm(init.body)}`)}\n`);
    const response = await send(url, init);
    const text = await response.clone().text();
    t.err.write(`${dim(t, `< ${response.status} ${redactJson(text)}`)}\n`);
    return response;
  };
}

/** Hosts trusted without instance discovery: a local emulator. */
function isLocal(authority: string): boolean {
  const host = new URL(authority).hostname;
  return host === "localhost" || host === "127.0.0.1";
}

export function createApp(
  options: CommonOptions & { clientId: string },
  t: Terminal,
): PublicClientApplication {
  return new PublicClientApplication(options.clientId, {
    authority: options.authority,
    ...(isLocal(options.authority) ? { validateAuthority: false } : {}),
    tokenCache: new PersistedTokenCache(new FilePersistence(options.cacheFile)),
    ...(options.verbose
      ? {
          fetch: verboseFetch(t),
          logger: {
            level: "verbose" as const,
            log: (level: string, message: string) => t.err.write(`${dim(t, `[${level}] ${message}`)}\n`),
          },
        }
      : {}),
  });
}
