/**
 * acquireTokenInteractive without a real browser: the injected openBrowser plays the browser over
 * plain HTTP (sign-in form, then the redirect to the loopback listener). Covers a launcher that
 * returns only after the browser came back (as with an SSO session), a launcher that fails, a
 * fixed port, custom pages, and the loopback redirect URIs an app may have registered
 * (`http://127.0.0.1`, a path). The Chromium-driven cases are in test/browser/interactive.test.ts.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DirectoryInput, Emulator } from "../../../emulator/index.js";
import {
  BrowserInteractionTimeoutError,
  BrowserUnavailableError,
  ConfigurationError,
  PublicClientApplication,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, startTestEmulator, user } from "../../support/emulator.js";
import { signInOverHttp } from "../../support/sign-in.js";

const SCOPES = ["User.Read"];

/** The result as tokens; a failure fails the test with the server's answer. */
function success(result: TokenResult): TokenSuccess {
  if ("error" in result) throw new Error(`Expected tokens, got ${JSON.stringify(result)}`);
  return result as TokenSuccess;
}

let emulator: Emulator;
/** The same directory, with the public app registered for http://127.0.0.1 and a localhost path too. */
let registeredElsewhere: Emulator;
let alice: { username: string; password: string };

beforeAll(async () => {
  emulator = await startTestEmulator();
  alice = user(emulator, "managed");
  // The printed directory is the emulator's own, so it loads back as one (kind is a plain string in it).
  const directory = {
    ...emulator.directory,
    apps: emulator.directory.apps.map((a) =>
      a.kind === "public"
        ? { ...a, redirectUris: ["http://127.0.0.1", "http://localhost/auth/callback"] }
        : a,
    ),
  } as DirectoryInput;
  registeredElsewhere = await startTestEmulator({ directory });
});
afterAll(async () => {
  await registeredElsewhere?.stop();
  await emulator?.stop();
});
beforeEach(() => {
  emulator.reset();
  registeredElsewhere.reset();
});

function client(on: Emulator = emulator): PublicClientApplication {
  return new PublicClientApplication(app(on, "public").clientId, {
    authority: `${on.url}/organizations`,
    validateAuthority: false,
  });
}

/** What a TCP connection to address:port meets. */
function tryConnect(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

/** Signs in on the emulator's page over HTTP and follows the redirect to the loopback listener. */
async function browse(authUrl: string): Promise<{ status: number; body: string }> {
  const { location } = await signInOverHttp(authUrl, alice.username, alice.password);
  const back = await fetch(location);
  return { status: back.status, body: await back.text() };
}

/** A port nothing listens on right now, on either loopback address. */
async function tryFreePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function refused(port: number): Promise<boolean> {
  const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
  return (error as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED";
}

describe("acquireTokenInteractive with a launcher of the app's own", () => {
  it("a launcher that returns only after the browser came back to the redirect URI still signs in", async () => {
    let landed: { status: number; body: string } | undefined;
    const result = await client().acquireTokenInteractive(SCOPES, {
      timeout: 10_000,
      openBrowser: async (url) => {
        landed = await browse(url);
      },
    });
    expect(landed?.status).toBe(200);
    expect(landed?.body).toContain(
      '<p id="message">Authentication complete. You can close this window and return to the application.</p>',
    );
    expect(success(result).token_source).toBe("identity_provider");
    expect(success(result).id_token_claims?.preferred_username).toBe(alice.username);
  });

  it("a launcher that fails: its error comes back, and the listener's port is closed", async () => {
    let redirectUri = "";
    const failure = new BrowserUnavailableError("no browser here");
    const error = await client()
      .acquireTokenInteractive(SCOPES, {
        timeout: 60_000,
        openBrowser: (url) => {
          redirectUri = new URL(url).searchParams.get("redirect_uri") ?? "";
          throw failure;
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(redirectUri).toMatch(/^http:\/\/localhost:\d+$/);
    expect(await refused(Number(new URL(redirectUri).port))).toBe(true);
    expect(emulator.requests("token")).toEqual([]);
  });

  it("a fixed port: the redirect URI sent is http://localhost:<port>", async () => {
    const probe = await client().acquireTokenInteractive(SCOPES, {
      openBrowser: async (url) => {
        await browse(url);
      },
    });
    expect(!probe.error && probe.token_source).toBe("identity_provider");
    const port = Number(new URL(emulator.requests("token")[0]?.form?.redirect_uri ?? "").port);
    emulator.clearRequests();
    let sent = "";
    await client().acquireTokenInteractive(SCOPES, {
      port,
      openBrowser: async (url) => {
        sent = new URL(url).searchParams.get("redirect_uri") ?? "";
        await browse(url);
      },
    });
    expect(sent).toBe(`http://localhost:${port}`);
    expect(emulator.requests("token")[0]?.form?.redirect_uri).toBe(`http://localhost:${port}`);
  });

  it("custom success and error pages are what the browser gets", async () => {
    let landed: { status: number; body: string } | undefined;
    await client().acquireTokenInteractive(SCOPES, {
      successPage: "<p>Welcome back to Contoso.</p>",
      openBrowser: async (url) => {
        landed = await browse(url);
      },
    });
    expect(landed).toEqual({ status: 200, body: "<p>Welcome back to Contoso.</p>" });

    let errorPage: string | undefined;
    const result = await client().acquireTokenInteractive(SCOPES, {
      errorPage: "<p>{error}: {error_description}</p>",
      openBrowser: async (url) => {
        const redirect = new URL(url).searchParams.get("redirect_uri");
        const state = new URL(url).searchParams.get("state") ?? "";
        const query = new URLSearchParams({ error: "access_denied", error_description: "<no>", state });
        errorPage = await (await fetch(`${redirect}/?${query}`)).text();
      },
    });
    expect(errorPage).toBe("<p>access_denied: &#60;no&#62;</p>");
    expect(result).toEqual({ error: "access_denied", error_description: "<no>" });
  });

  it("redirectUri http://127.0.0.1: listens there alone, and sends and redeems http://127.0.0.1:<port>", async () => {
    let sent = "";
    let v6 = "";
    let landed: { status: number; body: string } | undefined;
    const result = await client(registeredElsewhere).acquireTokenInteractive(SCOPES, {
      redirectUri: "http://127.0.0.1",
      timeout: 10_000,
      openBrowser: async (url) => {
        sent = new URL(url).searchParams.get("redirect_uri") ?? "";
        v6 = await tryConnect("::1", Number(new URL(sent).port));
        const { location } = await signInOverHttp(url, alice.username, alice.password);
        const back = await fetch(location);
        landed = { status: back.status, body: await back.text() };
      },
    });
    expect(sent).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(["ECONNREFUSED", "EADDRNOTAVAIL", "ENETUNREACH", "EAFNOSUPPORT"]).toContain(v6);
    expect(landed?.status).toBe(200);
    expect(success(result).id_token_claims?.preferred_username).toBe(alice.username);
    expect(registeredElsewhere.requests("token")[0]?.form?.redirect_uri).toBe(sent);
  });

  it("redirectUri with a port and a path: that port, that path, sent as given", async () => {
    const probe = await tryFreePort();
    const redirectUri = `http://localhost:${probe}/auth/callback`;
    let sent = "";
    const result = await client(registeredElsewhere).acquireTokenInteractive(SCOPES, {
      redirectUri,
      timeout: 10_000,
      openBrowser: async (url) => {
        sent = new URL(url).searchParams.get("redirect_uri") ?? "";
        const { location } = await signInOverHttp(url, alice.username, alice.password);
        expect(new URL(location).pathname).toBe("/auth/callback");
        await fetch(location);
      },
    });
    expect(sent).toBe(redirectUri);
    expect(success(result).token_source).toBe("identity_provider");
    expect(registeredElsewhere.requests("token")[0]?.form?.redirect_uri).toBe(redirectUri);
  });

  it("a redirectUri that is not http on loopback, or a port that contradicts it: ConfigurationError, nothing opened or sent", async () => {
    let opened = 0;
    const openBrowser = () => {
      opened++;
    };
    for (const [options, option, message] of [
      [
        { redirectUri: "https://localhost" },
        "redirectUri",
        "Interactive sign-in receives the response on loopback: redirectUri must be http://localhost or http://127.0.0.1, optionally with a port and a path (got https://localhost).",
      ],
      [
        { redirectUri: "http://0.0.0.0:8400" },
        "redirectUri",
        "Interactive sign-in receives the response on loopback: redirectUri must be http://localhost or http://127.0.0.1, optionally with a port and a path (got http://0.0.0.0:8400).",
      ],
      [
        { redirectUri: "http://localhost.attacker.example" },
        "redirectUri",
        "Interactive sign-in receives the response on loopback: redirectUri must be http://localhost or http://127.0.0.1, optionally with a port and a path (got http://localhost.attacker.example).",
      ],
      [
        { redirectUri: "http://localhost/cb?x=1" },
        "redirectUri",
        "Interactive sign-in receives the response on loopback: redirectUri must be http://localhost or http://127.0.0.1, optionally with a port and a path (got http://localhost/cb?x=1).",
      ],
      [
        { redirectUri: "http://localhost/a/../b" },
        "redirectUri",
        "Interactive sign-in receives the response on loopback: redirectUri must be http://localhost or http://127.0.0.1, optionally with a port and a path (got http://localhost/a/../b).",
      ],
      [{ port: -1 }, "port", "port must be 0 to 65535, 0 for one the system picks (got -1)."],
      [
        { redirectUri: "http://127.0.0.1:70000" },
        "redirectUri",
        "The port of redirectUri must be 1 to 65535 (got 70000).",
      ],
      [
        { redirectUri: "http://localhost:8400", port: 8401 },
        "port",
        "port 8401 contradicts the port of redirectUri (8400): give one of them.",
      ],
    ] as const) {
      const error = await client()
        .acquireTokenInteractive(SCOPES, { ...options, openBrowser })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: "invalid_configuration", option, message });
    }
    expect(opened).toBe(0);
    expect(emulator.requests()).toEqual([]);
  });

  it("abort and timeout end the wait promptly and close both addresses, even with a browser's idle connection open", async () => {
    for (const ending of ["abort", "timeout"] as const) {
      const controller = new AbortController();
      const reason = new Error("the app is shutting down");
      let port = 0;
      let idleClosed: Promise<unknown> = Promise.resolve();
      let endedAt = 0;
      const error = await client()
        .acquireTokenInteractive(SCOPES, {
          ...(ending === "abort" ? { signal: controller.signal } : { timeout: 300 }),
          openBrowser: async (url) => {
            port = Number(new URL(new URL(url).searchParams.get("redirect_uri") ?? "").port);
            // A browser's preconnect: a connection that sends nothing and stays open.
            const idle = connect({ host: "127.0.0.1", port });
            await new Promise((resolve) => idle.once("connect", resolve));
            idleClosed = new Promise((resolve) => idle.once("close", resolve));
            endedAt = performance.now();
            if (ending === "abort") controller.abort(reason);
          },
        })
        .catch((e: unknown) => e);
      const elapsed = performance.now() - endedAt;
      if (ending === "abort") expect(error).toBe(reason);
      else expect(error).toBeInstanceOf(BrowserInteractionTimeoutError);
      // Generous ceilings: the wait ends on the abort at once, and 300 ms after it starts on timeout.
      expect(elapsed).toBeLessThan(ending === "abort" ? 1_000 : 2_000);
      await idleClosed;
      expect(await tryConnect("127.0.0.1", port)).toBe("ECONNREFUSED");
      expect(["ECONNREFUSED", "EADDRNOTAVAIL", "ENETUNREACH", "EAFNOSUPPORT"]).toContain(
        await tryConnect("::1", port),
      );
    }
    expect(emulator.requests("token")).toEqual([]);
  });
});
