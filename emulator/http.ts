/** Request and response values that endpoint handlers take and return; the server does the I/O. */
import type { IncomingHttpHeaders } from "node:http";
import type { EntraError } from "./errors.js";

export interface EmuRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Form fields for `application/x-www-form-urlencoded` bodies, else empty. */
  form: URLSearchParams;
  /** The caller's `client-request-id`, or a new id: Entra echoes it as the correlation id. */
  correlationId: string;
  cookies: Record<string, string>;
}

export interface EmuResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): EmuResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResponse(err: EntraError): EmuResponse {
  return json(err.status, err.body);
}

export function html(
  status: number,
  body: string,
  headers: Record<string, string | string[]> = {},
): EmuResponse {
  return {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers },
    body,
  };
}

export function xml(
  status: number,
  body: string,
  contentType = "application/soap+xml; charset=utf-8",
): EmuResponse {
  return { status, headers: { "content-type": contentType }, body };
}

export function redirect(location: string, headers: Record<string, string | string[]> = {}): EmuResponse {
  return { status: 302, headers: { location, "cache-control": "no-store", ...headers }, body: "" };
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

/** A parameter from the query string or, for POST, the form body (authorize accepts both). */
export function param(req: EmuRequest, name: string): string | undefined {
  return req.form.get(name) ?? req.url.searchParams.get(name) ?? undefined;
}
