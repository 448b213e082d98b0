/**
 * The emulator's authorization endpoint driven over HTTPS like a browser would: sign-in, account
 * picker and consent pages, sessions (the `emu_session` cookie), prompts, response modes, PKCE,
 * nonce, claims and logout. Codes are redeemed at the token endpoint to check what they carry.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, startTestEmulator } from "../support/emulator.js";
import { parseForm } from "../support/sign-in.js";
import {
  authorizeUrl,
  Browser,
  CONTOSO,
  claims,
  expectEntraError,
  expectRedirectError,
  isSignInPage,
  LOOPBACK_REDIRECT,
  type Page,
  pickerAccounts,
  pkcePair,
  postToken,
  prefilledUsername,
  redirectParams,
} from "./helpers.js";

const SCOPE = "openid profile offline_access User.Read";

describe("emulator authorize endpoint", () => {
  let emulator: Emulator;
  let clientId: string;
  let alice: { username: string; password: string };
  let bob: { username: string; password: string };
  beforeAll(async () => {
    emulator = await startTestEmulator();
    clientId = app(emulator, "public").clientId;
    const [first, second] = emulator.directory.users;
    alice = first as typeof alice;
    bob = second as typeof bob;
  });
  afterAll(() => emulator?.stop());

  const authorize = (params: Record<string, string> = {}) =>
    authorizeUrl(emulator, {
      client_id: clientId,
      response_type: "code",
      redirect_uri: LOOPBACK_REDIRECT,
      scope: SCOPE,
      ...params,
    });

  /** Opens the sign-in page in `browser` and signs in; returns the emulator's answer to the form. */
  async function signIn(browser: Browser, who = alice, params: Record<string, string> = {}): Promise<Page> {
    const page = await browser.get(authorize({ prompt: "login", ...params }));
    expect(isSignInPage(page)).toBe(true);
    return browser.signIn(page, who.username, who.password);
  }

  async function redeem(code: string | null, extra: Record<string, string> = {}) {
    return postToken(emulator, {
      grant_type: "authorization_code",
      client_id: clientId,
      code: code ?? "",
      redirect_uri: LOOPBACK_REDIRECT,
      scope: SCOPE,
      ...extra,
    });
  }

  describe("response modes", () => {
    it("query: 302 to the redirect URI with code, session_state and the state echoed in the query", async () => {
      const answer = await signIn(new Browser(), alice, { state: "st-query" });
      expect(answer.status).toBe(302);
      const location = new URL(answer.location as string);
      expect(`${location.origin}${location.pathname}`).toBe(`${LOOPBACK_REDIRECT}/`);
      expect(location.hash).toBe("");
      expect(location.searchParams.get("code")).toMatch(/^1\.emu-code\./);
      expect(location.searchParams.get("state")).toBe("st-query");
      expect(location.searchParams.get("session_state")).toBeTruthy();
    });

    it("fragment: the response goes in the fragment, not the query", async () => {
      const answer = await signIn(new Browser(), alice, { response_mode: "fragment", state: "st-frag" });
      const location = new URL(answer.location as string);
      expect(location.search).toBe("");
      const params = new URLSearchParams(location.hash.slice(1));
      expect(params.get("state")).toBe("st-frag");
      expect((await redeem(params.get("code"))).status).toBe(200);
    });

    it("form_post: 200 with an auto-submitting form that posts code and state to the redirect URI", async () => {
      const answer = await signIn(new Browser(), alice, { response_mode: "form_post", state: "st-post" });
      expect(answer.status).toBe(200);
      expect(answer.location).toBeUndefined();
      expect(answer.html).toContain('onload="document.forms[0].submit()"');
      const form = parseForm(answer.html);
      expect(form.action).toBe(LOOPBACK_REDIRECT);
      expect(form.fields).toMatchObject({ state: "st-post", code: expect.stringMatching(/^1\.emu-code\./) });
      expect((await redeem(form.fields.code as string)).status).toBe(200);
    });
  });

  it("client_info=1: returns client_info naming the user's object id and tenant", async () => {
    const params = redirectParams((await signIn(new Browser(), alice, { client_info: "1" })).location);
    const info = JSON.parse(Buffer.from(params.get("client_info") as string, "base64url").toString("utf8"));
    const tokens = await redeem(params.get("code"));
    expect(info).toEqual({ uid: claims(tokens.body.id_token).oid, utid: CONTOSO });
    const without = redirectParams((await signIn(new Browser())).location);
    expect(without.get("client_info")).toBeNull();
  });

  describe("PKCE", () => {
    it("S256: the code is redeemed only with the matching code_verifier", async () => {
      const { verifier, challenge } = pkcePair("S256");
      const params = redirectParams(
        (await signIn(new Browser(), alice, { code_challenge: challenge, code_challenge_method: "S256" }))
          .location,
      );
      const code = params.get("code");
      expectEntraError(await redeem(code), 400, "invalid_request", 50148);
      expectEntraError(
        await redeem(code, { code_verifier: pkcePair("S256").verifier }),
        400,
        "invalid_grant",
        501481,
      );
      // The challenge itself is not the verifier.
      expectEntraError(await redeem(code, { code_verifier: challenge }), 400, "invalid_grant", 501481);
      const tokens = await redeem(code, { code_verifier: verifier });
      expect(tokens.status).toBe(200);
      expectEntraError(await redeem(code, { code_verifier: verifier }), 400, "invalid_grant", 54005);
    });

    it("plain: the verifier must equal the challenge", async () => {
      const { verifier, challenge } = pkcePair("plain");
      const params = redirectParams(
        (await signIn(new Browser(), alice, { code_challenge: challenge, code_challenge_method: "plain" }))
          .location,
      );
      expectEntraError(
        await redeem(params.get("code"), { code_verifier: `${verifier}x` }),
        400,
        "invalid_grant",
        501481,
      );
      expect((await redeem(params.get("code"), { code_verifier: verifier })).status).toBe(200);
    });

    it("an unknown code_challenge_method goes back to the redirect URI as invalid_request", async () => {
      const page = await new Browser().get(
        authorize({ code_challenge: "abc", code_challenge_method: "S512" }),
      );
      expectRedirectError(page, "invalid_request", 501491);
    });
  });

  it("nonce lands in the id_token, with auth_time", async () => {
    const params = redirectParams((await signIn(new Browser(), alice, { nonce: "n-0S6_WzA2Mj" })).location);
    const idToken = claims((await redeem(params.get("code"))).body.id_token);
    expect(idToken).toMatchObject({
      nonce: "n-0S6_WzA2Mj",
      aud: clientId,
      preferred_username: alice.username,
    });
    expect(idToken.auth_time).toBeTypeOf("number");
  });

  describe("redirect URIs and clients", () => {
    it("a loopback redirect URI on any port matches the registered http://localhost", async () => {
      const answer = await signIn(new Browser(), alice, { redirect_uri: "http://localhost:61234/" });
      expect(answer.location).toMatch(/^http:\/\/localhost:61234\/\?code=/);
    });

    it.each([
      ["an unregistered host", "https://evil.example.com/callback"],
      ["a different loopback host", "http://127.0.0.1:54321"],
      ["a different path on localhost", "http://localhost:54321/other"],
    ])("%s: 400 HTML error page with AADSTS50011 and no redirect", async (_, redirectUri) => {
      const page = await new Browser().get(authorize({ redirect_uri: redirectUri }));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(page.html).toContain("AADSTS50011:");
    });

    it("unknown client_id: 400 HTML error page with AADSTS700016", async () => {
      const page = await new Browser().get(authorize({ client_id: "99999999-9999-4999-8999-999999999999" }));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.html).toContain("AADSTS700016:");
    });
  });

  describe("sessions and prompt", () => {
    it("prompt=none without a session: redirect with error=login_required (AADSTS50058) and the state", async () => {
      const page = await new Browser().get(authorize({ prompt: "none", state: "st-none" }));
      const params = expectRedirectError(page, "login_required", 50058);
      expect(params.get("state")).toBe("st-none");
    });

    it("prompt=none with a session: a code straight away, no page", async () => {
      const browser = new Browser();
      await signIn(browser);
      expect(browser.cookies.get("emu_session")).toBeTruthy();
      const page = await browser.get(authorize({ prompt: "none" }));
      expect(page.status).toBe(302);
      const tokens = await redeem(redirectParams(page.location).get("code"));
      expect(claims(tokens.body.id_token).preferred_username).toBe(alice.username);
    });

    it("without prompt, a session signs the user in silently", async () => {
      const browser = new Browser();
      await signIn(browser);
      const page = await browser.get(authorize());
      expect(page.status).toBe(302);
      expect(redirectParams(page.location).get("code")).toBeTruthy();
    });

    it("prompt=login shows the sign-in page even with a session", async () => {
      const browser = new Browser();
      await signIn(browser);
      expect(isSignInPage(await browser.get(authorize({ prompt: "login" })))).toBe(true);
    });

    it("prompt=select_account lists the signed-in users; picking one issues its code", async () => {
      const browser = new Browser();
      await signIn(browser, alice);
      await signIn(browser, bob);
      const picker = await browser.get(authorize({ prompt: "select_account" }));
      expect(picker.status).toBe(200);
      const accounts = pickerAccounts(picker);
      expect(accounts.map((a) => a.username).sort()).toEqual([alice.username, bob.username].sort());
      const chosen = accounts.find((a) => a.username === alice.username);
      const answer = await browser.submit(picker, { account: chosen?.oid as string });
      const tokens = await redeem(redirectParams(answer.location).get("code"));
      expect(claims(tokens.body.id_token)).toMatchObject({
        preferred_username: alice.username,
        oid: chosen?.oid,
      });
    });

    it("prompt=consent shows the consent page; accepting issues a code", async () => {
      const browser = new Browser();
      await signIn(browser);
      const page = await browser.get(authorize({ prompt: "consent", state: "st-consent" }));
      expect(page.status).toBe(200);
      expect(page.html).toContain("Permissions requested");
      expect(page.html).toContain("<li>User.Read</li>");
      const answer = await browser.submit(page, { action: "consent" });
      const params = redirectParams(answer.location);
      expect(params.get("state")).toBe("st-consent");
      expect((await redeem(params.get("code"))).status).toBe(200);
    });

    it("prompt=consent, cancelled: redirect with error=access_denied (AADSTS65004)", async () => {
      const browser = new Browser();
      await signIn(browser);
      const page = await browser.get(authorize({ prompt: "consent" }));
      const answer = await browser.submit(page, { action: "cancel" });
      const params = expectRedirectError(answer, "access_denied", 65004);
      expect(params.get("error_subcode")).toBe("cancel");
    });

    it("max_age=0 forces a fresh sign-in despite the session; the id_token carries the new auth_time", async () => {
      const browser = new Browser();
      const first = redirectParams((await signIn(browser)).location);
      const firstAuthTime = claims((await redeem(first.get("code"))).body.id_token).auth_time as number;
      const silent = await browser.get(authorize({ prompt: "none", max_age: "0" }));
      expectRedirectError(silent, "login_required", 50058);
      const page = await browser.get(authorize({ max_age: "0" }));
      expect(isSignInPage(page)).toBe(true);
      expect(prefilledUsername(page)).toBe(alice.username);
      const answer = await browser.signIn(page, alice.username, alice.password);
      const idToken = claims((await redeem(redirectParams(answer.location).get("code"))).body.id_token);
      expect(idToken.auth_time).toBeTypeOf("number");
      expect(idToken.auth_time as number).toBeGreaterThanOrEqual(firstAuthTime);
    });
  });

  describe("the sign-in page", () => {
    it("login_hint prefills the username; domain_hint is shown", async () => {
      const page = await new Browser().get(
        authorize({ login_hint: bob.username, domain_hint: "contoso.test" }),
      );
      expect(isSignInPage(page)).toBe(true);
      expect(prefilledUsername(page)).toBe(bob.username);
      expect(page.html).toContain("Organisation: contoso.test");
    });

    it("a wrong password re-renders the page with the AADSTS50126 message; the right one then signs in", async () => {
      const browser = new Browser();
      const page = await browser.get(authorize({ state: "st-retry" }));
      const retry = await browser.signIn(page, alice.username, "wrong-password");
      expect(isSignInPage(retry)).toBe(true);
      expect(retry.html).toContain("Your account or password is incorrect. (AADSTS50126)");
      expect(prefilledUsername(retry)).toBe(alice.username);
      expect(browser.cookies.has("emu_session")).toBe(false);
      const answer = await browser.signIn(retry, alice.username, alice.password);
      expect(redirectParams(answer.location).get("state")).toBe("st-retry");
    });

    it("an unknown user re-renders the page with AADSTS50034", async () => {
      const browser = new Browser();
      const retry = await browser.signIn(
        await browser.get(authorize()),
        "nobody@contoso.onmicrosoft.com",
        "x",
      );
      expect(isSignInPage(retry)).toBe(true);
      expect(retry.html).toContain("(AADSTS50034)");
    });
  });

  describe("claims", () => {
    it("xms_cc client capabilities in the claims parameter land in the access token", async () => {
      const request = JSON.stringify({ access_token: { xms_cc: { values: ["cp1"] } } });
      const params = redirectParams((await signIn(new Browser(), alice, { claims: request })).location);
      const tokens = await redeem(params.get("code"));
      expect(tokens.status).toBe(200);
      expect(claims(tokens.body.access_token).xms_cc).toEqual(["cp1"]);
    });

    it("claims that are not JSON: redirect with error=invalid_request (AADSTS90100)", async () => {
      const page = await new Browser().get(authorize({ claims: "{not json", state: "st-claims" }));
      const params = expectRedirectError(page, "invalid_request", 90100);
      expect(params.get("state")).toBe("st-claims");
    });
  });

  describe("logout", () => {
    it("clears the session: prompt=none afterwards answers login_required, even with the old cookie", async () => {
      const browser = new Browser();
      await signIn(browser);
      const oldCookie = browser.cookies.get("emu_session") as string;
      const out = await browser.get(`${emulator.url}/${CONTOSO}/oauth2/v2.0/logout`);
      expect(out.status).toBe(200);
      expect(out.headers.getSetCookie().join("\n")).toMatch(/emu_session=;.*Max-Age=0/);
      expect(browser.cookies.has("emu_session")).toBe(false);
      const silent = await browser.get(authorize({ prompt: "none" }));
      expectRedirectError(silent, "login_required", 50058);
      // A browser that kept the old cookie: the session is gone on the emulator's side too.
      const stale = new Browser();
      stale.cookies.set("emu_session", oldCookie);
      expectRedirectError(await stale.get(authorize({ prompt: "none" })), "login_required", 50058);
    });

    it("redirects to post_logout_redirect_uri with the state", async () => {
      const browser = new Browser();
      await signIn(browser);
      const target = new URL(`${emulator.url}/${CONTOSO}/oauth2/v2.0/logout`);
      target.searchParams.set("post_logout_redirect_uri", "http://localhost:54321/signed-out");
      target.searchParams.set("state", "st-out");
      const out = await browser.get(target.toString());
      expect(out.status).toBe(302);
      expect(out.location).toBe("http://localhost:54321/signed-out?state=st-out");
      expect(browser.cookies.has("emu_session")).toBe(false);
    });
  });
});
