/**
 * What every emulator listener does with a request before and after an endpoint sees it: read the
 * body, log it (secrets redacted), apply an injected fault, and write the response. Shared by the
 * Entra listener (server.ts) and the managed-identity listeners (managed-identity/listeners.ts).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type EmuRequest, type EmuResponse, parseCookies } from "./http.js";
import type { Fault, LoggedRequest, World } from "./world.js";

const MAX_BODY = 1024 * 1024;
const REDACTED_FIELDS = ["client_secret", "password"];
/** Headers that carry credentials: the managed-identity secrets and keys, passwords, cookies. */
const REDACTED_HEADERS = ["authorization", "cookie", "secret", "x-identity-header"];

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new Error("request body too large"));
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The request as endpoints see it, with `baseUrl` giving the URL its scheme and host. */
export async function emuRequest(incoming: IncomingMessage, baseUrl: string): Promise<EmuRequest> {
  const rawBody = await readBody(incoming);
  const url = new URL(incoming.url ?? "/", baseUrl);
  const isForm = (incoming.headers["content-type"] ?? "").includes("application/x-www-form-urlencoded");
  const requestId = incoming.headers["client-request-id"];
  return {
    method: incoming.method ?? "GET",
    url,
    headers: incoming.headers,
    rawBody,
    form: isForm ? new URLSearchParams(rawBody) : new URLSearchParams(),
    correlationId: typeof requestId === "string" && requestId ? requestId : randomUUID(),
    cookies: parseCookies(incoming.headers.cookie),
  };
}

function loggedForm(form: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form) out[k] = REDACTED_FIELDS.includes(k) ? "[redacted]" : v;
  return out;
}

function loggedHeaders(req: EmuRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = REDACTED_HEADERS.includes(k) ? "[redacted]" : Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/** Appends the request to the world's log; the caller sets `status` once it is known. */
export function logRequest(world: World, req: EmuRequest, endpoint: string): LoggedRequest {
  const isForm = (req.headers["content-type"] ?? "").includes("application/x-www-form-urlencoded");
  const entry: LoggedRequest = {
    id: ++world.requestCount,
    time: new Date().toISOString(),
    method: req.method,
    path: req.url.pathname,
    endpoint,
    query: Object.fromEntries(req.url.searchParams),
    headers: loggedHeaders(req),
    ...(isForm ? { form: loggedForm(req.form) } : {}),
  };
  world.log.push(entry);
  return entry;
}

function matchingFault(world: World, endpoint: string, req: EmuRequest): Fault | undefined {
  const fault = world.faults.find(
    (f) =>
      (!f.endpoint || f.endpoint === endpoint) &&
      (!f.path || req.url.pathname.includes(f.path)) &&
      // Token requests carry client_id in the form; managed-identity requests in the query.
      (!f.clientId || (req.form.get("client_id") ?? req.url.searchParams.get("client_id")) === f.clientId),
  );
  if (fault && fault.times !== "always") {
    fault.times -= 1;
    if (fault.times <= 0) world.faults.splice(world.faults.indexOf(fault), 1);
  }
  return fault;
}

/**
 * Applies the first fault that matches the request, if any: waits its delay, then answers with
 * its status, drops the connection (`"dropped"`), or lets the request through (`undefined`).
 */
export async function applyFault(
  world: World,
  endpoint: string,
  req: EmuRequest,
  entry: LoggedRequest,
  incoming: IncomingMessage,
): Promise<EmuResponse | "dropped" | undefined> {
  const fault = matchingFault(world, endpoint, req);
  if (!fault) return undefined;
  entry.fault = fault.id;
  if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
  if (fault.drop) {
    incoming.socket.destroy();
    return "dropped";
  }
  if (fault.status === undefined) return undefined;
  const body =
    typeof fault.body === "string" ? fault.body : fault.body === undefined ? "" : JSON.stringify(fault.body);
  const contentType =
    typeof fault.body === "object" ? "application/json; charset=utf-8" : "text/plain; charset=utf-8";
  entry.status = fault.status;
  return { status: fault.status, headers: { "content-type": contentType, ...fault.headers }, body };
}

export function send(res: ServerResponse, req: EmuRequest, response: EmuResponse): void {
  res.writeHead(response.status, {
    ...response.headers,
    "client-request-id": req.correlationId,
    "x-ms-request-id": randomUUID(),
    "x-ms-ests-server": "msal-ts-emulator",
    "content-length": Buffer.byteLength(response.body),
  });
  res.end(response.body);
}

/** Answers 500 with an OAuth-shaped error when a handler throws before it responded. */
export function sendUnexpected(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return;
  const message = err instanceof Error ? err.message : String(err);
  res
    .writeHead(500, { "content-type": "application/json" })
    .end(JSON.stringify({ error: "server_error", error_description: message }));
}
