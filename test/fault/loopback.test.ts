/**
 * The interactive sign-in's loopback listener, attacked from the same machine (RFC 8252 section
 * 8.3, DNS rebinding): a process that binds the other loopback address, requests that fish for the
 * flow's state and PKCE challenge, and an authorization code injected under a foreign Host. Each
 * runs a real sign-in against the emulator, with the browser's part played over HTTP.
 */
import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { PublicClientApplication, type TokenResult } from "../../src/node/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";
import { signInOverHttp } from "../support/sign-in.js";

const SCOPES = ["User.Read"];

let emulator: Emulator;
let alice: { username: string; password: string };

beforeAll(async () => {
  emulator = await startTestEmulator();
  alice = user(emulator, "managed");
});
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

/** Node's own fetch carries the token requests: what is under test here is the listener alone. */
function client(): PublicClientApplication {
  return new PublicClientApplication(app(emulator, "public").clientId, {
    authority: `${emulator.url}/organizations`,
    validateAuthority: false,
    fetch: (url, init) => fetch(url, init),
  });
}

interface Answer {
  status: number;
  headers: string;
  body: string;
}

/** One HTTP request to `address`:`port` with the Host header given (or none), as any local process can send. */
function send(
  address: string,
  port: number,
  path: string,
  host: string | undefined,
  method = "GET",
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, method, agent: false, setHost: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: JSON.stringify(res.headers), body }),
      );
    });
    if (host !== undefined) req.setHeader("host", host);
    req.on("error", reject);
    req.end();
  });
}

/** Whether this machine has ::1 at all (a machine without IPv6 cannot be attacked through it). */
async function hasIpv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(0, "::1", () => probe.close(() => resolve(true)));
  });
}

function redirectOf(authUrl: string): URL {
  return new URL(new URL(authUrl).searchParams.get("redirect_uri") ?? "");
}

describe("the loopback listener under local attack", () => {
  it("a foreign listener on [::1]:<port> cannot get the code: the port is held on ::1 too, and ::1 is answered by msal-ts", async () => {
    if (!(await hasIpv6Loopback())) {
      console.log("This machine has no ::1: the foreign [::1] listener test is skipped.");
      return;
    }
    const stolen: string[] = [];
    let foreign: Server | undefined;
    let bindError: string | undefined;
    let landed: Answer | undefined;
    let result: TokenResult | unknown;
    try {
      result = await client()
        .acquireTokenInteractive(SCOPES, {
          timeout: 5_000,
          openBrowser: async (url) => {
            const port = Number(redirectOf(url).port);
            // The attacker: a local process that listens on [::1]:<port> and keeps what it receives.
            foreign = createServer((req, res) => {
              stolen.push(req.url ?? "");
              res.end("thanks");
            });
            bindError = await new Promise<string | undefined>((resolve) => {
              foreign?.once("error", (e: NodeJS.ErrnoException) => resolve(e.code));
              foreign?.listen(port, "::1", () => resolve(undefined));
            });
            const { location } = await signInOverHttp(url, alice.username, alice.password);
            const back = new URL(location);
            // A browser that resolves localhost to ::1 first.
            landed = await send("::1", port, `${back.pathname}${back.search}`, back.host);
          },
        })
        .catch((e: unknown) => e);
    } finally {
      await new Promise((resolve) => (foreign?.listening ? foreign.close(resolve) : resolve(undefined)));
    }
    expect(bindError).toBe("EADDRINUSE");
    expect(stolen).toEqual([]);
    expect(landed?.status).toBe(200);
    expect(landed?.body).toContain(
      '<p id="message">Authentication complete. You can close this window and return to the application.</p>',
    );
    expect(result).toMatchObject({ token_source: "identity_provider" });
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("requests without a code get no page containing the state, the code challenge or the authorize URL", async () => {
    const answers: Array<{ request: string; answer: Answer }> = [];
    let secrets: string[] = [];
    const result = await client().acquireTokenInteractive(SCOPES, {
      timeout: 10_000,
      openBrowser: async (url) => {
        const authorize = new URL(url);
        const state = authorize.searchParams.get("state") ?? "";
        const challenge = authorize.searchParams.get("code_challenge") ?? "";
        secrets = [state, challenge, encodeURIComponent(state), `${authorize.origin}${authorize.pathname}`];
        const port = Number(redirectOf(url).port);
        for (const [path, host, method] of [
          ["/", `localhost:${port}`, "GET"],
          ["/favicon.ico", `localhost:${port}`, "GET"],
          [`/?state=${state}`, `localhost:${port}`, "GET"],
          ["/signin", `localhost:${port}`, "GET"],
          [`/?code=c&state=${state}`, `localhost:${port}`, "POST"],
          ["/", "attacker.example", "GET"],
          ["/", `attacker.example:${port}`, "GET"],
          ["/", undefined, "GET"],
        ] as const) {
          answers.push({
            request: `${method} ${path} Host: ${host}`,
            answer: await send("127.0.0.1", port, path, host, method),
          });
        }
        const { location } = await signInOverHttp(url, alice.username, alice.password);
        await fetch(location);
      },
    });
    expect(result).toMatchObject({ token_source: "identity_provider" });
    expect(secrets.every((s) => s.length > 0)).toBe(true);
    for (const { answer } of answers) {
      for (const secret of secrets) {
        expect(answer.body).not.toContain(secret);
        expect(answer.headers).not.toContain(secret);
      }
      expect(answer.body).not.toContain("authorize");
    }
    expect(answers.map(({ request, answer }) => `${request} -> ${answer.status}`)).toEqual(
      answers.map(({ request }) => {
        const status = !request.includes("Host: localhost:") ? 400 : request.startsWith("POST") ? 405 : 404;
        return `${request} -> ${status}`;
      }),
    );
  });

  it("a code injected with Host: attacker.example is refused (400) and the sign-in does not complete with it", async () => {
    let injected: Answer | undefined;
    let delivered: Answer | undefined;
    const result = await client().acquireTokenInteractive(SCOPES, {
      timeout: 10_000,
      openBrowser: async (url) => {
        const port = Number(redirectOf(url).port);
        // A real code and state, delivered the way a rebinding web page would: its own Host.
        const { location } = await signInOverHttp(url, alice.username, alice.password);
        const back = new URL(location);
        injected = await send("127.0.0.1", port, `${back.pathname}${back.search}`, "attacker.example");
        // The browser's own delivery is the one taken: the injected copy neither ended nor used up the wait.
        delivered = await send("127.0.0.1", port, `${back.pathname}${back.search}`, back.host);
      },
    });
    expect(injected).toMatchObject({ status: 400, body: "Bad Request" });
    expect(delivered?.status).toBe(200);
    expect(delivered?.body).toContain(
      '<p id="message">Authentication complete. You can close this window and return to the application.</p>',
    );
    expect(result).toMatchObject({ token_source: "identity_provider" });
    expect(emulator.requests("token")).toHaveLength(1);
  });
});
