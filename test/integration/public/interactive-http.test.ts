/**
 * acquireTokenInteractive without a real browser: the injected openBrowser plays the browser over
 * plain HTTP (sign-in form, then the redirect to the loopback listener). Covers a launcher that
 * returns only after the browser came back (as with an SSO session), a launcher that fails, a
 * fixed port and custom pages. The Chromium-driven cases are in test/browser/interactive.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import {
  BrowserUnavailableError,
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
let alice: { username: string; password: string };

beforeAll(async () => {
  emulator = await startTestEmulator();
  alice = user(emulator, "managed");
});
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

function client(): PublicClientApplication {
  return new PublicClientApplication(app(emulator, "public").clientId, {
    authority: `${emulator.url}/organizations`,
    validateAuthority: false,
  });
}

/** Signs in on the emulator's page over HTTP and follows the redirect to the loopback listener. */
async function browse(authUrl: string): Promise<{ status: number; body: string }> {
  const { location } = await signInOverHttp(authUrl, alice.username, alice.password);
  const back = await fetch(location);
  return { status: back.status, body: await back.text() };
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
    expect(probe.token_source).toBe("identity_provider");
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
});
