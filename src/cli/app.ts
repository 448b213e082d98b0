/**
 * The apps the commands use: a public client for users and a confidential client for app-only
 * tokens, sharing one cache (in the OS keyring, or a 0600 file: cache-store.ts); `--ca` adds trusted CAs, and `--verbose` shows each
 * HTTP exchange with secrets redacted.
 */
import { readFileSync } from "node:fs";
import {
  type ClientCredential,
  ConfidentialClientApplication,
  createNodeFetch,
  PublicClientApplication,
} from "../node/index.js";
import { cliTokenCache } from "./cache-store.js";
import { type CommonOptions, UsageError } from "./options.js";
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
function verboseFetch(
  t: Terminal,
  ca: string | undefined,
): (url: string, init: RequestInit) => Promise<Response> {
  const send = createNodeFetch(ca === undefined ? {} : { ca });
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

/**
 * The PEM text of the `--ca` file. Read here, not by the library: its `ca` option takes certificates,
 * and a path given there would be a certificate that never parses.
 */
export function readCaFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(
      `cannot read the --ca file ${path} (${reason}).`,
      "--ca takes a PEM file of CA certificates.",
    );
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----"))
    throw new UsageError(
      `the --ca file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`,
      "--ca takes a PEM file of CA certificates.",
    );
  return pem;
}

/** What both kinds of app share: the authority, the cache file, the trust store and the verbose output. */
function sharedOptions(options: CommonOptions, t: Terminal) {
  const ca = readCaFile(options.caFile);
  return {
    authority: options.authority,
    ...(isLocal(options.authority) ? { validateAuthority: false } : {}),
    tokenCache: cliTokenCache(options, t),
    // With our own fetch the trust store goes into it; the library refuses `ca` next to `fetch`.
    ...(options.verbose
      ? {
          fetch: verboseFetch(t, ca),
          logger: {
            level: "verbose" as const,
            log: (level: string, message: string) => t.err.write(`${dim(t, `[${level}] ${message}`)}\n`),
          },
        }
      : ca === undefined
        ? {}
        : { ca }),
  };
}

export function createApp(
  options: CommonOptions & { clientId: string },
  t: Terminal,
): PublicClientApplication {
  return new PublicClientApplication(options.clientId, sharedOptions(options, t));
}

/** A confidential client for app-only tokens, in the same cache file as the users' tokens. */
export function createAppOnly(
  options: CommonOptions & { clientId: string },
  credential: ClientCredential,
  t: Terminal,
): ConfidentialClientApplication {
  return new ConfidentialClientApplication(options.clientId, {
    clientCredential: credential,
    ...sharedOptions(options, t),
  });
}
