/**
 * The loopback listener of interactive sign-in on its own: where it listens (127.0.0.1 only), its
 * redirect URI, a busy port, and what it answers a browser: the link to the sign-in page, state
 * mismatches, escaped error pages, custom pages, timeout and abort.
 */
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import {
  BrowserInteractionTimeoutError,
  ConfigurationError,
  type LoopbackListener,
} from "../../../src/node/index.js";
import { startLoopbackListener } from "../../../src/node/loopback.js";

const AUTH_URI =
  "https://login.example.test/common/oauth2/v2.0/authorize?client_id=abc&state=S1&scope=openid";
const open: LoopbackListener[] = [];

async function listen(port = 0): Promise<{ listener: LoopbackListener; port: number }> {
  const listener = await startLoopbackListener(port);
  open.push(listener);
  return { listener, port: Number(new URL(listener.redirectUri).port) };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

/**
 * Whether a TCP connection to host:port is accepted: "refused" when nothing listens there,
 * "no route" when this machine has no such address (no IPv6, say).
 */
function tryConnect(host: string, port: number): Promise<"connected" | "refused" | "no route"> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") resolve("refused");
      else if (["EADDRNOTAVAIL", "ENETUNREACH", "EAFNOSUPPORT"].includes(error.code ?? ""))
        resolve("no route");
      else reject(error);
    });
  });
}

function get(port: number, path: string, init: RequestInit = {}) {
  return fetch(`http://127.0.0.1:${port}${path}`, init).then(async (r) => ({
    status: r.status,
    type: r.headers.get("content-type"),
    cacheControl: r.headers.get("cache-control"),
    body: await r.text(),
  }));
}

function outcome<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe("the loopback listener", () => {
  it("port 0: the system assigns a port, and the redirect URI is http://localhost:<port>", async () => {
    const { listener, port } = await listen(0);
    expect(port).toBeGreaterThan(0);
    expect(listener.redirectUri).toBe(`http://localhost:${port}`);
  });

  it("listens on 127.0.0.1 only: not on other loopback addresses, ::1 or the machine's own address", async () => {
    const { port } = await listen(0);
    expect(await tryConnect("127.0.0.1", port)).toBe("connected");
    // Linux routes all of 127.0.0.0/8 to the loopback interface: a listener on 0.0.0.0 or 127/8 would answer.
    if (process.platform === "linux") expect(await tryConnect("127.0.0.2", port)).toBe("refused");
    expect(["refused", "no route"]).toContain(await tryConnect("::1", port));
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && !i.internal && i.family === "IPv4");
    if (!external) {
      console.log("No non-loopback IPv4 address on this machine: the external-address check is skipped.");
      return;
    }
    expect(await tryConnect(external.address, port)).toBe("refused");
  });

  it("a port in use: ConfigurationError naming the port and the way out", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const error = await startLoopbackListener(busy).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: "invalid_configuration", option: "port" });
      expect((error as Error).message).toBe(
        `Cannot listen for the sign-in response on 127.0.0.1:${busy}: port ${busy} is in use. Use port 0 to let the system pick one.`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("takes a fixed port when it is free", async () => {
    const probe = createHttpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const free = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const { listener } = await listen(free);
    expect(listener.redirectUri).toBe(`http://localhost:${free}`);
  });

  it("before a sign-in starts: 404, no sign-in in progress", async () => {
    const { port } = await listen();
    const answer = await get(port, "/?code=c&state=S1");
    expect(answer.status).toBe(404);
    expect(answer.body).toContain("<title>Not found</title>");
    expect(answer.body).toContain("<p>No sign-in is in progress.</p>");
  });

  it("requests that are not an authorization response get a page with the link to the sign-in page", async () => {
    const { listener, port } = await listen();
    const waiting = outcome(listener.waitForResponse({ state: "S1", authUri: AUTH_URI }));
    for (const [path, init] of [
      ["/", {}],
      ["/favicon.ico", {}],
      ["/?state=S1", {}],
      ["/?code=c&state=S1", { method: "POST" }],
    ] as const) {
      const answer = await get(port, path, init);
      expect(answer).toMatchObject({
        status: 200,
        type: "text/html; charset=utf-8",
        cacheControl: "no-store",
      });
      expect(answer.body).toContain("<title>Sign in</title>");
      expect(answer.body).toContain(
        '<p>Continue to <a href="https://login.example.test/common/oauth2/v2.0/authorize?client_id=abc&#38;state=S1&#38;scope=openid">the sign-in page</a>.</p>',
      );
    }
    expect(waiting.settled).toBe(false);
    await get(port, "/?code=c&state=S1");
    await expect.poll(() => waiting.settled).toBe(true);
    expect(waiting.value).toEqual({ code: "c", state: "S1" });
  });

  it("a response with another state: 400 State mismatch, and the sign-in goes on waiting", async () => {
    const { listener, port } = await listen();
    const waiting = outcome(listener.waitForResponse({ state: "S1", authUri: AUTH_URI }));
    const wrong = await get(port, "/?code=forged&state=S2");
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain("<title>State mismatch</title>");
    expect(wrong.body).toContain(
      '<p id="message">This response does not belong to the sign-in in progress, so it was refused. Close this window.</p>',
    );
    const missing = await get(port, "/?code=forged");
    expect(missing.status).toBe(400);
    expect(waiting.settled).toBe(false);
    const right = await get(port, "/?code=real&state=S1&session_state=x");
    expect(right.status).toBe(200);
    expect(right.body).toContain(
      '<p id="message">Authentication complete. You can close this window and return to the application.</p>',
    );
    await expect.poll(() => waiting.settled).toBe(true);
    expect(waiting.value).toEqual({ code: "real", state: "S1", session_state: "x" });
    const late = await get(port, "/?code=again&state=S1");
    expect(late.status).toBe(404);
  });

  it("an error response: the error page escapes HTML in error and error_description", async () => {
    const { listener, port } = await listen();
    const waiting = outcome(listener.waitForResponse({ state: "S1", authUri: AUTH_URI }));
    const query = new URLSearchParams({
      error: "access_denied<i>",
      error_description: `<script>alert("x")</script> & 'more'`,
      state: "S1",
    });
    const answer = await get(port, `/?${query}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("<title>Sign-in failed</title>");
    expect(answer.body).toContain(
      '<p id="message">The sign-in did not complete: <b>access_denied&#60;i&#62;</b>.</p><p>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;more&#39;</p>',
    );
    expect(answer.body).not.toContain("<script>");
    await expect.poll(() => waiting.settled).toBe(true);
    expect(waiting.value).toEqual({
      error: "access_denied<i>",
      error_description: `<script>alert("x")</script> & 'more'`,
      state: "S1",
    });
  });

  it("custom success page: served as given", async () => {
    const { listener, port } = await listen();
    const successPage = "<!doctype html><title>Done</title><p>Back to <b>Contoso</b> you go.</p>";
    const waiting = listener.waitForResponse({ state: "S1", authUri: AUTH_URI, successPage });
    const answer = await get(port, "/?code=c&state=S1");
    expect(answer).toMatchObject({ status: 200, body: successPage });
    expect(await waiting).toEqual({ code: "c", state: "S1" });
  });

  it("custom error page: {error} and {error_description} replaced, HTML-escaped, every time they appear", async () => {
    const { listener, port } = await listen();
    const errorPage = "<h1>{error}</h1><p>{error_description}</p><pre>{error}</pre>";
    const waiting = listener.waitForResponse({ state: "S1", authUri: AUTH_URI, errorPage });
    const query = new URLSearchParams({
      error: "server_error",
      error_description: "<b>down</b>",
      state: "S1",
    });
    const answer = await get(port, `/?${query}`);
    expect(answer).toMatchObject({
      status: 200,
      body: "<h1>server_error</h1><p>&#60;b&#62;down&#60;/b&#62;</p><pre>server_error</pre>",
    });
    expect(await waiting).toEqual({ error: "server_error", error_description: "<b>down</b>", state: "S1" });
  });

  it("an error without description: the error page leaves the description empty", async () => {
    const { listener, port } = await listen();
    const waiting = listener.waitForResponse({
      state: "S1",
      authUri: AUTH_URI,
      errorPage: "[{error}|{error_description}]",
    });
    expect((await get(port, "/?error=login_required&state=S1")).body).toBe("[login_required|]");
    expect(await waiting).toEqual({ error: "login_required", state: "S1" });
  });

  it("nobody answers within timeoutMs: BrowserInteractionTimeoutError, and the listener stops taking responses", async () => {
    const { listener, port } = await listen();
    const error = await listener
      .waitForResponse({ state: "S1", authUri: AUTH_URI, timeoutMs: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserInteractionTimeoutError);
    expect(error).toMatchObject({
      code: "browser_interaction_timeout",
      message: "The user did not complete the sign-in in the browser within 50 ms.",
    });
    expect((await get(port, "/?code=c&state=S1")).status).toBe(404);
  });

  it("abort: rejects with the signal's reason, also when the signal is already aborted", async () => {
    const { listener } = await listen();
    const controller = new AbortController();
    const waiting = listener.waitForResponse({ state: "S1", authUri: AUTH_URI, signal: controller.signal });
    const reason = new Error("user closed the app");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    const early = listener.waitForResponse({
      state: "S2",
      authUri: AUTH_URI,
      signal: AbortSignal.abort("gone"),
    });
    await expect(early).rejects.toBe("gone");
  });

  it("close: the port is released", async () => {
    const { listener, port } = await listen();
    await listener.close();
    expect(await tryConnect("127.0.0.1", port)).toBe("refused");
  });
});
