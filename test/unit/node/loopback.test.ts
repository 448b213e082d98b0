/**
 * The loopback listener of interactive sign-in on its own: where it listens (127.0.0.1 and ::1 for
 * localhost, 127.0.0.1 alone when asked), its redirect URI, busy ports, and what it answers: a bare
 * 400 to a foreign Host, a page with nothing about the flow to anything that is not a response,
 * state mismatches, escaped error pages, custom pages, one response only, timeout and abort.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";
import { afterEach, describe, expect, it } from "vitest";
import type { LoopbackOptions } from "../../../src/flows/interactive.js";
import {
  BrowserInteractionTimeoutError,
  ConfigurationError,
  type LoopbackListener,
} from "../../../src/node/index.js";
import { startLoopbackListener } from "../../../src/node/loopback.js";

const open: LoopbackListener[] = [];

async function listen(
  port = 0,
  options: LoopbackOptions = {},
): Promise<{ listener: LoopbackListener; port: number }> {
  const listener = await startLoopbackListener(port, options);
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

interface Answer {
  status: number;
  type: string | undefined;
  cacheControl: string | undefined;
  body: string;
}

/**
 * A request to `address`:`port` with the Host header a browser sends for `http://localhost:<port>`
 * (or `host`, or none when null).
 */
function get(
  port: number,
  path: string,
  {
    method = "GET",
    host,
    address = "127.0.0.1",
  }: { method?: string; host?: string | null; address?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, method, agent: false, setHost: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers["content-type"],
          cacheControl: res.headers["cache-control"],
          body,
        }),
      );
    });
    if (host !== null) req.setHeader("host", host ?? `localhost:${port}`);
    req.on("error", reject);
    req.end();
  });
}

/** Whether this machine has ::1 (without IPv6 the listener holds 127.0.0.1 alone). */
async function hasIpv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(0, "::1", () => probe.close(() => resolve(true)));
  });
}
const ipv6 = await hasIpv6Loopback();
if (!ipv6) console.log("This machine has no ::1: the tests of listening on ::1 are skipped.");

function outcome<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

const NOT_A_RESPONSE =
  "<p>This address only receives the response of a sign-in. Return to the application.</p>";
const SUCCESS =
  '<p id="message">Authentication complete. You can close this window and return to the application.</p>';

describe("the loopback listener", () => {
  it.skipIf(!ipv6)(
    "port 0: the system assigns a port, and the redirect URI is http://localhost:<port>",
    async () => {
      const { listener, port } = await listen(0);
      expect(port).toBeGreaterThan(0);
      expect(listener.redirectUri).toBe(`http://localhost:${port}`);
    },
  );

  it.skipIf(!ipv6)(
    "holds its port on 127.0.0.1 and ::1, and nowhere else (other loopback addresses, the machine's own address)",
    async () => {
      const { port } = await listen(0);
      expect(await tryConnect("127.0.0.1", port)).toBe("connected");
      expect(await tryConnect("::1", port)).toBe("connected");
      // Linux routes all of 127.0.0.0/8 to the loopback interface: a listener on 0.0.0.0 or 127/8 would answer.
      if (process.platform === "linux") expect(await tryConnect("127.0.0.2", port)).toBe("refused");
      const external = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && !i.internal && i.family === "IPv4");
      if (!external) {
        console.log("No non-loopback IPv4 address on this machine: the external-address check is skipped.");
        return;
      }
      expect(await tryConnect(external.address, port)).toBe("refused");
    },
  );

  it("host 127.0.0.1: listens on 127.0.0.1 alone, and the redirect URI is http://127.0.0.1:<port>", async () => {
    const { listener, port } = await listen(0, { host: "127.0.0.1" });
    expect(listener.redirectUri).toBe(`http://127.0.0.1:${port}`);
    expect(await tryConnect("127.0.0.1", port)).toBe("connected");
    expect(["refused", "no route"]).toContain(await tryConnect("::1", port));
    expect((await get(port, "/", { host: `127.0.0.1:${port}` })).status).toBe(404);
    expect((await get(port, "/", { host: `localhost:${port}` })).status).toBe(400);
  });

  it("a port in use on 127.0.0.1: ConfigurationError naming the address and the way out", async () => {
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

  it.skipIf(!ipv6)(
    "a fixed port in use on ::1 only: ConfigurationError naming [::1]:<port>, and 127.0.0.1:<port> is let go",
    async () => {
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "::1", resolve));
      const busy = (blocker.address() as { port: number }).port;
      try {
        const error = await startLoopbackListener(busy).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error).toMatchObject({ code: "invalid_configuration", option: "port" });
        expect((error as Error).message).toBe(
          `Cannot listen for the sign-in response on [::1]:${busy}: port ${busy} is in use. Use port 0 to let the system pick one.`,
        );
        expect(await tryConnect("127.0.0.1", busy)).toBe("refused");
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    },
  );

  it("takes a fixed port when it is free", async () => {
    const probe = createHttpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const free = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const { listener } = await listen(free);
    expect(listener.redirectUri).toBe(ipv6 ? `http://localhost:${free}` : `http://127.0.0.1:${free}`);
  });

  it.skipIf(!ipv6)(
    "a Host that is not the registered authority gets a bare 400, and the sign-in goes on waiting",
    async () => {
      const { listener, port } = await listen();
      const waiting = outcome(listener.waitForResponse({ state: "S1" }));
      const path = "/?code=c&state=S1";
      for (const host of [
        "attacker.example",
        `attacker.example:${port}`,
        `127.0.0.1:${port}`,
        `[::1]:${port}`,
        `localhost:${port + 1}`,
        "localhost",
        "",
      ]) {
        for (const address of ["127.0.0.1", "::1"]) {
          const answer = await get(port, path, { host, address });
          expect({ host, address, ...answer }).toEqual({
            host,
            address,
            status: 400,
            type: "text/plain; charset=utf-8",
            cacheControl: undefined,
            body: "Bad Request",
          });
        }
      }
      // No Host at all: Node's HTTP server refuses the request before it reaches the listener.
      expect(await get(port, path, { host: null })).toEqual({
        status: 400,
        type: undefined,
        cacheControl: undefined,
        body: "",
      });
      // An absolute request target names another authority than Host: refused as well.
      expect(await get(port, `http://attacker.example${path}`)).toMatchObject({
        status: 400,
        body: "Bad Request",
      });
      expect(waiting.settled).toBe(false);
      // Host names are case-insensitive (RFC 9110 section 4.2.3).
      expect((await get(port, path, { host: `LocalHost:${port}`, address: "::1" })).status).toBe(200);
      await expect.poll(() => waiting.settled).toBe(true);
      expect(waiting.value).toEqual({ code: "c", state: "S1" });
    },
  );

  it("before a sign-in starts: 404, no sign-in in progress", async () => {
    const { listener, port } = await listen();
    const host = new URL(listener.redirectUri).host;
    const answer = await get(port, "/?code=c&state=S1", { host });
    expect(answer.status).toBe(404);
    expect(answer.body).toContain("<title>Not found</title>");
    expect(answer.body).toContain("<p>No sign-in is in progress.</p>");
  });

  it("requests that are not an authorization response get a page with nothing about the sign-in", async () => {
    const { listener, port } = await listen();
    const host = new URL(listener.redirectUri).host;
    const waiting = outcome(listener.waitForResponse({ state: "S1" }));
    for (const [path, method, status] of [
      ["/", "GET", 404],
      ["/favicon.ico", "GET", 404],
      ["/?state=S1", "GET", 404],
      ["/?session_state=S1", "GET", 404],
      ["/elsewhere?code=c&state=S1", "GET", 404],
      ["/?code=c&state=S1", "POST", 405],
    ] as const) {
      const answer = await get(port, path, { method, host });
      expect({ path, method, ...answer, body: "" }).toEqual({
        path,
        method,
        status,
        type: "text/html; charset=utf-8",
        cacheControl: "no-store",
        body: "",
      });
      expect(answer.body).toContain("<title>Not found</title>");
      expect(answer.body).toContain(NOT_A_RESPONSE);
      expect(answer.body).not.toContain("S1");
    }
    expect(waiting.settled).toBe(false);
    await get(port, "/?code=c&state=S1", { host });
    await expect.poll(() => waiting.settled).toBe(true);
    expect(waiting.value).toEqual({ code: "c", state: "S1" });
  });

  it("a path: the response is taken there only, and the redirect URI ends with it", async () => {
    const { listener, port } = await listen(0, { path: "/auth/callback" });
    const redirect = new URL(listener.redirectUri);
    expect(redirect.pathname).toBe("/auth/callback");
    expect(listener.redirectUri).toBe(`http://${redirect.host}/auth/callback`);
    const waiting = outcome(listener.waitForResponse({ state: "S1" }));
    expect((await get(port, "/?code=c&state=S1", { host: redirect.host })).status).toBe(404);
    expect((await get(port, "/auth/callback/?code=c&state=S1", { host: redirect.host })).status).toBe(404);
    expect(waiting.settled).toBe(false);
    const answer = await get(port, "/auth/callback?code=c&state=S1", { host: redirect.host });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(SUCCESS);
    await expect.poll(() => waiting.settled).toBe(true);
    expect(waiting.value).toEqual({ code: "c", state: "S1" });
  });

  it("a response with another state: 400 State mismatch, and the sign-in goes on waiting; one response ends it on both addresses", async () => {
    const { listener, port } = await listen();
    const host = new URL(listener.redirectUri).host;
    const waiting = outcome(listener.waitForResponse({ state: "S1" }));
    const wrong = await get(port, "/?code=forged&state=S2", { host });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain("<title>State mismatch</title>");
    expect(wrong.body).toContain(
      '<p id="message">This response does not belong to the sign-in in progress, so it was refused. Close this window.</p>',
    );
    expect(wrong.body).not.toContain("S1");
    expect(wrong.body).not.toContain("S2");
    expect((await get(port, "/?code=forged", { host })).status).toBe(400);
    expect((await get(port, "/?code=forged&state=S1&state=S1", { host })).status).toBe(400);
    expect((await get(port, "/?code=a&code=b&state=S1", { host })).status).toBe(400);
    expect(waiting.settled).toBe(false);
    const right = await get(port, "/?code=real&state=S1&session_state=x", { host });
    expect(right.status).toBe(200);
    expect(right.body).toContain(SUCCESS);
    await expect.poll(() => waiting.settled).toBe(true);
    expect(waiting.value).toEqual({ code: "real", state: "S1", session_state: "x" });
    expect(await tryConnect("127.0.0.1", port)).toBe("refused");
    expect(["refused", "no route"]).toContain(await tryConnect("::1", port));
  });

  it("an error response: the error page escapes HTML in error and error_description", async () => {
    const { listener, port } = await listen();
    const host = new URL(listener.redirectUri).host;
    const waiting = outcome(listener.waitForResponse({ state: "S1" }));
    const query = new URLSearchParams({
      error: "access_denied<i>",
      error_description: `<script>alert("x")</script> & 'more'`,
      state: "S1",
    });
    const answer = await get(port, `/?${query}`, { host });
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
    const host = new URL(listener.redirectUri).host;
    const successPage = "<!doctype html><title>Done</title><p>Back to <b>Contoso</b> you go.</p>";
    const waiting = listener.waitForResponse({ state: "S1", successPage });
    const answer = await get(port, "/?code=c&state=S1", { host });
    expect(answer).toMatchObject({ status: 200, body: successPage });
    expect(await waiting).toEqual({ code: "c", state: "S1" });
  });

  it("custom error page: {error} and {error_description} replaced, HTML-escaped, every time they appear", async () => {
    const { listener, port } = await listen();
    const host = new URL(listener.redirectUri).host;
    const errorPage = "<h1>{error}</h1><p>{error_description}</p><pre>{error}</pre>";
    const waiting = listener.waitForResponse({ state: "S1", errorPage });
    const query = new URLSearchParams({
      error: "server_error",
      error_description: "<b>down</b>",
      state: "S1",
    });
    const answer = await get(port, `/?${query}`, { host });
    expect(answer).toMatchObject({
      status: 200,
      body: "<h1>server_error</h1><p>&#60;b&#62;down&#60;/b&#62;</p><pre>server_error</pre>",
    });
    expect(await waiting).toEqual({ error: "server_error", error_description: "<b>down</b>", state: "S1" });
  });

  it("an error without description: the error page leaves the description empty", async () => {
    const { listener, port } = await listen();
    const host = new URL(listener.redirectUri).host;
    const waiting = listener.waitForResponse({ state: "S1", errorPage: "[{error}|{error_description}]" });
    expect((await get(port, "/?error=login_required&state=S1", { host })).body).toBe("[login_required|]");
    expect(await waiting).toEqual({ error: "login_required", state: "S1" });
  });

  it("nobody answers within timeoutMs: BrowserInteractionTimeoutError, and the listener stops taking responses", async () => {
    const { listener, port } = await listen();
    const host = new URL(listener.redirectUri).host;
    const error = await listener.waitForResponse({ state: "S1", timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserInteractionTimeoutError);
    expect(error).toMatchObject({
      code: "browser_interaction_timeout",
      message: "The user did not complete the sign-in in the browser within 50 ms.",
    });
    expect((await get(port, "/?code=c&state=S1", { host })).status).toBe(404);
  });

  it("abort: rejects with the signal's reason, also when the signal is already aborted", async () => {
    const { listener } = await listen();
    const controller = new AbortController();
    const waiting = listener.waitForResponse({ state: "S1", signal: controller.signal });
    const reason = new Error("user closed the app");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    const early = listener.waitForResponse({ state: "S2", signal: AbortSignal.abort("gone") });
    await expect(early).rejects.toBe("gone");
  });

  it("close: the port is released on both addresses, also with a browser's idle connection open", async () => {
    const { listener, port } = await listen();
    const idle = connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => idle.once("connect", resolve));
    const ended = new Promise((resolve) => idle.once("close", resolve));
    await listener.close();
    await ended;
    expect(await tryConnect("127.0.0.1", port)).toBe("refused");
    expect(["refused", "no route"]).toContain(await tryConnect("::1", port));
  });
});

/**
 * A machine without IPv6, made with a network namespace of its own (`unshare -rn`) whose loopback
 * has no ::1. The listener and the flow run there as a bundle of the sources (rolldown), since the
 * child is a plain Node process.
 */
const NO_IPV6_SETUP = "ip link set lo up && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6";

function noIpv6Namespace(): boolean {
  const probe = spawnSync(
    "unshare",
    [
      "-rn",
      "sh",
      "-c",
      `${NO_IPV6_SETUP} && exec "$0" -e "require('net').createServer().listen(0,'::1')"`,
      process.execPath,
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  return probe.status !== 0 && probe.stderr.includes("EADDRNOTAVAIL");
}
const noIpv6Available = process.platform === "linux" && noIpv6Namespace();
if (!noIpv6Available)
  console.log(
    "Cannot make a network namespace without ::1 here (unshare -rn, ip): the no-IPv6 test is skipped.",
  );

const CHILD = `
import { connect } from "node:net";
const { startLoopbackListener } = await import("./loopback.js");
const { PublicClientApplication } = await import("./node.js");
const tryConnect = (host, port) => new Promise((resolve) => {
  const socket = connect({ host, port });
  socket.once("connect", () => { socket.destroy(); resolve("connected"); });
  socket.once("error", (error) => resolve(error.code));
});
const listener = await startLoopbackListener(0);
const port = Number(new URL(listener.redirectUri).port);
const out = { redirectUri: listener.redirectUri, port, v4: await tryConnect("127.0.0.1", port), v6: await tryConnect("::1", port) };
await listener.close();
const logs = [];
const app = new PublicClientApplication("11111111-1111-4111-8111-111111111111", {
  authority: "https://login.example.test/organizations",
  validateAuthority: false,
  logger: { level: "warning", log: (level, message) => logs.push(level + ": " + message) },
  fetch: async () => { throw new TypeError("offline"); },
});
let redirectUri = "";
await app.acquireTokenInteractive(["User.Read"], { openBrowser: (url) => { redirectUri = url; } }).catch(() => undefined);
out.logs = logs.filter((line) => line.includes("::1"));
console.log(JSON.stringify(out));
`;

describe.skipIf(!noIpv6Available)("the loopback listener on a machine without IPv6", () => {
  it("listens on 127.0.0.1 alone, sends http://127.0.0.1:<port>, and says so in a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "msal-ts-no-ipv6-"));
    try {
      const root = fileURLToPath(new URL("../../../", import.meta.url));
      await build({
        input: { node: join(root, "src/node/index.ts"), loopback: join(root, "src/node/loopback.ts") },
        platform: "node",
        logLevel: "silent",
        output: { dir, format: "esm", entryFileNames: "[name].js" },
        write: true,
      });
      writeFileSync(join(dir, "child.mjs"), CHILD);
      const child = spawnSync(
        "unshare",
        ["-rn", "sh", "-c", `${NO_IPV6_SETUP} && exec "$0" child.mjs`, process.execPath],
        { cwd: dir, encoding: "utf8", timeout: 20_000 },
      );
      expect(child.stderr).toBe("");
      const out = JSON.parse(child.stdout) as Record<string, unknown>;
      const port = out.port as number;
      expect(out).toEqual({
        redirectUri: `http://127.0.0.1:${port}`,
        port,
        v4: "connected",
        v6: "EADDRNOTAVAIL",
        logs: [
          expect.stringMatching(
            /^warning: ::1 is not available on this machine \(no IPv6\), so the sign-in response is received on 127\.0\.0\.1 only, at http:\/\/127\.0\.0\.1:\d+\. If the sign-in fails with a redirect URI mismatch, register http:\/\/127\.0\.0\.1 as a redirect URI of the app\.$/,
          ),
        ],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
