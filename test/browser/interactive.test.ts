/**
 * Interactive sign-in with a real browser: Debian's Chromium, driven by playwright-core, opens the
 * emulator's sign-in page (the injected `openBrowser` navigates the page), a person's part is played
 * by filling the form, and the browser is redirected to msal-ts's loopback listener. Covers
 * success and the cache, cancel, a forged response with the wrong state, the listener's pages
 * giving nothing away, timeout, SSO and `prompt=login`, and aborting. Skipped where /usr/bin/chromium is not installed (CI installs it).
 */
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import {
  BrowserInteractionTimeoutError,
  type InteractiveRequest,
  PublicClientApplication,
  type TokenResult,
  type TokenSuccess,
} from "../../src/node/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";

const CHROMIUM = "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available)
  console.log(
    `Skipping the interactive browser tests: ${CHROMIUM} is not installed (apt-get install chromium).`,
  );

const SCOPES = ["User.Read"];
const SUCCESS = "Authentication complete. You can close this window and return to the application.";

/** The result as tokens; a failure fails the test with the server's answer. */
function success(result: TokenResult): TokenSuccess {
  if ("error" in result) throw new Error(`Expected tokens, got ${JSON.stringify(result)}`);
  return result as TokenSuccess;
}

describe.skipIf(!available)("interactive sign-in in Chromium", () => {
  let emulator: Emulator;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: { username: string; password: string };

  beforeAll(async () => {
    emulator = await startTestEmulator();
    alice = user(emulator, "managed");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      headless: true,
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await emulator?.stop();
  });
  beforeEach(async () => {
    emulator.reset();
    // The emulator's certificate comes from the test CA, which Chromium's store does not hold.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    page = await context.newPage();
  });
  afterEach(() => context?.close());

  function client(): PublicClientApplication {
    return new PublicClientApplication(app(emulator, "public").clientId, {
      authority: `${emulator.url}/organizations`,
      validateAuthority: false,
    });
  }

  /** Starts acquireTokenInteractive with an openBrowser that navigates the page; `opened` is the auth URL. */
  function interactive(pca: PublicClientApplication, options: InteractiveRequest = {}) {
    let opened!: (url: string) => void;
    const authUrl = new Promise<string>((resolve) => {
      opened = resolve;
    });
    const result: Promise<TokenResult> = pca.acquireTokenInteractive(SCOPES, {
      ...options,
      openBrowser: async (url) => {
        await page.goto(url);
        opened(url);
      },
    });
    result.catch(() => undefined); // Awaited by the test; keeps an early rejection from being unhandled.
    return { result, authUrl };
  }

  const portOf = (authUrl: string) =>
    Number(new URL(new URL(authUrl).searchParams.get("redirect_uri") ?? "").port);

  async function signInOnPage(who: { username: string; password: string }): Promise<void> {
    await page.fill("#username", who.username);
    await page.fill("#password", who.password);
    await Promise.all([page.waitForURL(/^http:\/\/localhost:\d+\/\?/), page.click("#signin")]);
  }

  async function loopbackRefuses(port: number): Promise<string | undefined> {
    const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    return (error as { cause?: { code?: string } }).cause?.code;
  }

  it("signs in through the sign-in page; the loopback shows the success page; then the cache serves", async () => {
    const pca = client();
    const { result, authUrl } = interactive(pca);
    const url = new URL(await authUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${emulator.url}/organizations/oauth2/v2.0/authorize`);
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/localhost:\d+$/);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(await page.title()).toBe("Sign in to your account");

    await signInOnPage(alice);
    expect(await page.title()).toBe("Signed in");
    expect(await page.textContent("#message")).toBe(SUCCESS);

    const token = success(await result);
    expect(token.token_source).toBe("identity_provider");
    expect(token.id_token_claims?.preferred_username).toBe(alice.username);
    const [redeemed] = emulator.requests("token");
    expect(redeemed?.form).toMatchObject({
      grant_type: "authorization_code",
      redirect_uri: url.searchParams.get("redirect_uri"),
    });

    const [account] = await pca.getAccounts();
    expect(account?.username).toBe(alice.username);
    const silent = await pca.acquireTokenSilent(SCOPES, account);
    expect(silent).toMatchObject({ token_source: "cache", access_token: token.access_token });
    expect(emulator.requests("token")).toHaveLength(1);
    expect(await loopbackRefuses(portOf(url.toString()))).toBe("ECONNREFUSED");
  });

  it("the user cancels: the result is access_denied and the browser shows the loopback's error page", async () => {
    const { result, authUrl } = interactive(client());
    await authUrl;
    await Promise.all([page.waitForURL(/^http:\/\/localhost:\d+\/\?/), page.click("#cancel")]);
    expect(await page.title()).toBe("Sign-in failed");
    expect(await page.textContent("#message")).toBe("The sign-in did not complete: access_denied.");
    expect(await page.textContent("body")).toContain(
      "AADSTS65004: User declined to consent to access the app.",
    );
    expect(await result).toEqual({
      error: "access_denied",
      error_description: "AADSTS65004: User declined to consent to access the app.",
    });
    expect(emulator.requests("token")).toEqual([]);
  });

  it("a response with the wrong state is refused (400 State mismatch) and the real sign-in still completes", async () => {
    const { result, authUrl } = interactive(client());
    const url = await authUrl;
    const forged = await page.goto(`http://localhost:${portOf(url)}/?code=x&state=wrong`);
    expect(forged?.status()).toBe(400);
    expect(await page.title()).toBe("State mismatch");
    expect(await page.textContent("#message")).toBe(
      "This response does not belong to the sign-in in progress, so it was refused. Close this window.",
    );
    await page.goto(url);
    await signInOnPage(alice);
    expect(await page.textContent("#message")).toBe(SUCCESS);
    const token = success(await result);
    expect(token.id_token_claims?.preferred_username).toBe(alice.username);
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("the listener's own address, opened in the browser, shows nothing of the sign-in; the sign-in still completes", async () => {
    const { result, authUrl } = interactive(client());
    const url = new URL(await authUrl);
    const secrets = [
      url.searchParams.get("state") ?? "",
      url.searchParams.get("code_challenge") ?? "",
      `${url.origin}${url.pathname}`,
    ];
    for (const path of ["/", "/favicon.ico", `/?state=${url.searchParams.get("state")}`]) {
      const answer = await page.goto(`http://localhost:${portOf(url.toString())}${path}`);
      expect(answer?.status()).toBe(404);
      expect(await page.title()).toBe("Not found");
      const html = await page.content();
      for (const secret of secrets) expect(html).not.toContain(secret);
      expect(await page.$$("a")).toEqual([]);
    }
    await page.goto(url.toString());
    await signInOnPage(alice);
    expect(await page.textContent("#message")).toBe(SUCCESS);
    expect(success(await result).id_token_claims?.preferred_username).toBe(alice.username);
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("nobody signs in within the timeout: BrowserInteractionTimeoutError, and the listener is gone", async () => {
    const { result, authUrl } = interactive(client(), { timeout: 1500 });
    const url = await authUrl;
    expect(await page.isVisible("#username")).toBe(true);
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserInteractionTimeoutError);
    expect(error).toMatchObject({
      code: "browser_interaction_timeout",
      message: "The user did not complete the sign-in in the browser within 1500 ms.",
    });
    expect(await loopbackRefuses(portOf(url))).toBe("ECONNREFUSED");
  });

  it("SSO: a second sign-in needs no form; prompt=login shows the sign-in form again", async () => {
    const pca = client();
    const first = interactive(pca);
    await first.authUrl;
    await signInOnPage(alice);
    expect(success(await first.result).token_source).toBe("identity_provider");

    // The emulator's session cookie skips the page: the browser lands on the loopback at once.
    const sso = interactive(pca, { timeout: 10_000 });
    await sso.authUrl;
    expect(page.url()).toMatch(/^http:\/\/localhost:\d+\/\?code=/);
    expect(await page.textContent("#message")).toBe(SUCCESS);
    expect(success(await sso.result).id_token_claims?.preferred_username).toBe(alice.username);

    const again = interactive(pca, { prompt: "login", timeout: 10_000 });
    expect(new URL(await again.authUrl).searchParams.get("prompt")).toBe("login");
    expect(await page.title()).toBe("Sign in to your account");
    expect(await page.isVisible("#username")).toBe(true);
    expect(await page.isVisible("#password")).toBe(true);
    await signInOnPage(alice);
    expect(await page.textContent("#message")).toBe(SUCCESS);
    expect(success(await again.result).token_source).toBe("identity_provider");
    expect(emulator.requests("token")).toHaveLength(3);
  });

  it("aborted by the signal after the page opened: rejects with the reason, and the port is closed", async () => {
    const controller = new AbortController();
    const { result, authUrl } = interactive(client(), { signal: controller.signal });
    const url = await authUrl;
    expect(await page.isVisible("#username")).toBe(true);
    const reason = new Error("the app is shutting down");
    controller.abort(reason);
    expect(await result.catch((e: unknown) => e)).toBe(reason);
    expect(await loopbackRefuses(portOf(url))).toBe("ECONNREFUSED");
    expect(emulator.requests("token")).toEqual([]);
  });
});
