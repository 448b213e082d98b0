/**
 * Helpers for the emulator's integration tests: a cookie-keeping browser over global `fetch` (no
 * redirects followed), token endpoint calls, and assertions on Entra-shaped errors.
 */
import { createHash, randomBytes } from "node:crypto";
import { decodeJwt, type JWTPayload } from "jose";
import { expect } from "vitest";
import { CONTOSO_TENANT_ID, type Emulator } from "../../emulator/index.js";
import { parseForm } from "../support/sign-in.js";

export const CONTOSO = CONTOSO_TENANT_ID;
export const LOOPBACK_REDIRECT = "http://localhost:54321";

export interface Page {
  status: number;
  headers: Headers;
  /** The `location` header of a redirect, else undefined. */
  location: string | undefined;
  html: string;
}

/** What a browser does, over fetch: keeps cookies, never follows redirects (tests look at them). */
export class Browser {
  readonly cookies = new Map<string, string>();

  async open(url: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ""] = cookie.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      if (/;\s*max-age=0\b/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
    return {
      status: res.status,
      headers: res.headers,
      location: res.headers.get("location") ?? undefined,
      html: await res.text(),
    };
  }

  get(url: string): Promise<Page> {
    return this.open(url);
  }

  post(url: string, fields: Record<string, string>): Promise<Page> {
    return this.open(url, { method: "POST", body: new URLSearchParams(fields) });
  }

  /** Submits the page's first form with its hidden fields plus `extra`. */
  submit(page: Page, extra: Record<string, string>): Promise<Page> {
    const form = parseForm(page.html);
    return this.post(form.action, { ...form.fields, ...extra });
  }

  signIn(page: Page, username: string, password: string): Promise<Page> {
    return this.submit(page, { username, password, action: "signin" });
  }
}

export function authorizeUrl(emulator: Emulator, params: Record<string, string>, tenant = CONTOSO): string {
  const url = new URL(`${emulator.url}/${tenant}/oauth2/v2.0/authorize`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** The authorization response carried by a redirect, from its query or its fragment. */
export function redirectParams(location: string | undefined): URLSearchParams {
  expect(location, "a redirect location").toBeTypeOf("string");
  const url = new URL(location as string);
  return new URLSearchParams(url.hash ? url.hash.slice(1) : url.search);
}

/** The page's HTML with the numeric character references the emulator writes (`&#39;`) decoded. */
export function pageText(page: Page): string {
  return page.html.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/** Whether a page is the emulator's sign-in form. */
export function isSignInPage(page: Page): boolean {
  return page.status === 200 && /<h1>Sign in<\/h1>/.test(page.html) && /name="password"/.test(page.html);
}

/** The value of the sign-in page's username field. */
export function prefilledUsername(page: Page): string | undefined {
  return /<input type="email" id="username" name="username"[^>]*value="([^"]*)"/.exec(page.html)?.[1];
}

/** The accounts an account picker page offers: `{ oid, username }`. */
export function pickerAccounts(page: Page): Array<{ oid: string; username: string }> {
  return [
    ...page.html.matchAll(/<button type="submit" name="account" value="([^"]+)">([^<]+)<\/button>/g),
  ].map((m) => ({ oid: m[1] as string, username: m[2] as string }));
}

export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function postToken(
  emulator: Emulator,
  fields: Record<string, string>,
  options: { tenant?: string; headers?: Record<string, string> } = {},
): Promise<TokenAnswer> {
  const res = await fetch(`${emulator.url}/${options.tenant ?? CONTOSO}/oauth2/v2.0/token`, {
    method: "POST",
    headers: options.headers ?? {},
    body: new URLSearchParams(fields),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function getJson(url: string, init: RequestInit = {}): Promise<TokenAnswer> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** Asserts an Entra-shaped error: status, `error`, `error_codes` and the AADSTS prefix of the description. */
export function expectEntraError(answer: TokenAnswer, status: number, error: string, code: number): void {
  expect({ status: answer.status, error: answer.body.error, error_codes: answer.body.error_codes }).toEqual({
    status,
    error,
    error_codes: [code],
  });
  expect(answer.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
}

/**
 * Asserts an error sent back to the redirect URI: a 302 whose response carries `error`, no code, and
 * an `error_description` starting with the AADSTS code (redirects have no `error_codes` field).
 * Returns the response parameters.
 */
export function expectRedirectError(page: Page, error: string, code: number): URLSearchParams {
  expect(page.status).toBe(302);
  const params = redirectParams(page.location);
  expect(params.get("error")).toBe(error);
  expect(params.get("error_description")).toMatch(new RegExp(`^AADSTS${code}: `));
  expect(params.get("code")).toBeNull();
  return params;
}

export function claims(token: unknown): JWTPayload & Record<string, unknown> {
  expect(token, "a JWT").toBeTypeOf("string");
  return decodeJwt(token as string) as JWTPayload & Record<string, unknown>;
}

export function pkcePair(method: "S256" | "plain"): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = method === "plain" ? verifier : createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Tokens for a user through the password grant (ROPC), the shortest way to a user token. */
export function passwordGrant(
  emulator: Emulator,
  clientId: string,
  who: { username: string; password: string },
  scope: string,
  tenant = CONTOSO,
): Promise<TokenAnswer> {
  return postToken(
    emulator,
    { grant_type: "password", client_id: clientId, username: who.username, password: who.password, scope },
    { tenant },
  );
}

/** Calls the control API and returns the status and JSON body. */
export async function control(
  emulator: Emulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${emulator.url}/_emulator/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
  });
  return { status: res.status, body: await res.json() };
}
