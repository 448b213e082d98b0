/**
 * The emulator's device code flow over HTTPS: the device authorization endpoint, polling the token
 * endpoint (pending, slow_down, expiry), approval and denial through the control API, and the
 * /devicelogin page a person uses on another device.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";
import {
  Browser,
  CONTOSO,
  claims,
  control,
  expectEntraError,
  pageText,
  postToken,
  sleep,
} from "./helpers.js";

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPE = "openid profile offline_access User.Read";

interface DeviceAuthorization {
  user_code: string;
  device_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
  message: string;
}

describe("emulator device code flow", () => {
  let emulator: Emulator;
  let clientId: string;
  let alice: { username: string; password: string };
  beforeAll(async () => {
    emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
    clientId = app(emulator, "public").clientId;
    alice = user(emulator, "managed");
  });
  afterAll(() => emulator?.stop());

  async function start(scope = SCOPE): Promise<DeviceAuthorization> {
    const res = await fetch(`${emulator.url}/${CONTOSO}/oauth2/v2.0/devicecode`, {
      method: "POST",
      body: new URLSearchParams({ client_id: clientId, scope }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as DeviceAuthorization;
  }

  const poll = (flow: DeviceAuthorization) =>
    postToken(emulator, {
      grant_type: DEVICE_CODE_GRANT,
      client_id: clientId,
      device_code: flow.device_code,
    });

  it("the device authorization response: codes, /devicelogin, the configured interval and a message", async () => {
    const flow = await start();
    expect(flow).toMatchObject({
      user_code: expect.stringMatching(/^[A-Z0-9]{9}$/),
      device_code: expect.any(String),
      verification_uri: `${emulator.url}/devicelogin`,
      expires_in: 900,
      interval: 1,
    });
    expect(flow.message).toBe(
      `To sign in, use a web browser to open the page ${emulator.url}/devicelogin and enter the code ${flow.user_code} to authenticate.`,
    );
  });

  it("approved through the control API: pending, then tokens for the approving user, then already redeemed", async () => {
    const flow = await start();
    expectEntraError(await poll(flow), 400, "authorization_pending", 70016);
    const approved = await control(emulator, "POST", "device/approve", {
      user_code: flow.user_code,
      username: alice.username,
    });
    expect(approved).toEqual({ status: 200, body: { approved: flow.user_code } });
    const tokens = await poll(flow);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: "Bearer", refresh_token: expect.any(String) });
    expect(claims(tokens.body.id_token).preferred_username).toBe(alice.username);
    expect(claims(tokens.body.access_token).aud).toBe("https://graph.microsoft.com");
    expectEntraError(await poll(flow), 400, "invalid_grant", 54005);
  });

  it("denied through the control API: access_denied", async () => {
    const flow = await start();
    const denied = await control(emulator, "POST", "device/deny", { user_code: flow.user_code });
    expect(denied).toEqual({ status: 200, body: { denied: flow.user_code } });
    expectEntraError(await poll(flow), 400, "access_denied", 70000);
  });

  it("control API: approving an unknown user code is 404, a decided one 409", async () => {
    const unknown = await control(emulator, "POST", "device/approve", {
      user_code: "BBBBBBBBB",
      username: alice.username,
    });
    expect(unknown).toEqual({ status: 404, body: { error: "No device code with user_code 'BBBBBBBBB'." } });
    const flow = await start();
    emulator.denyDeviceCode(flow.user_code);
    const again = await control(emulator, "POST", "device/approve", {
      user_code: flow.user_code,
      username: alice.username,
    });
    expect(again).toEqual({ status: 409, body: { error: "The device code is already denied." } });
  });

  it("polling faster than the interval: slow_down, and the interval grows by 5 s", async () => {
    const flow = await start();
    expectEntraError(await poll(flow), 400, "authorization_pending", 70016);
    expectEntraError(await poll(flow), 400, "slow_down", 70016);
    // Past the original 1 s interval, but well within the grown 6 s one: still too fast.
    await sleep(flow.interval * 1000);
    expectEntraError(await poll(flow), 400, "slow_down", 70016);
  });

  it("an expired device code: expired_token AADSTS70020", async () => {
    emulator.configure({ deviceCodeLifetime: 1 });
    try {
      const flow = await start();
      expect(flow.expires_in).toBe(1);
      // The emulator counts whole seconds: the code is expired once this second plus expires_in is over.
      const expired = (Math.floor(Date.now() / 1000) + flow.expires_in) * 1000 + 50;
      await sleep(expired - Date.now());
      expectEntraError(await poll(flow), 400, "expired_token", 70020);
    } finally {
      emulator.configure({ deviceCodeLifetime: 900 });
    }
  });

  it("an unknown device code: invalid_grant AADSTS70000", async () => {
    const answer = await postToken(emulator, {
      grant_type: DEVICE_CODE_GRANT,
      client_id: clientId,
      device_code: "emu-dc.not-issued",
    });
    expectEntraError(answer, 400, "invalid_grant", 70000);
  });

  it("an unknown client at the device authorization endpoint: 400 unauthorized_client AADSTS700016", async () => {
    const res = await fetch(`${emulator.url}/${CONTOSO}/oauth2/v2.0/devicecode`, {
      method: "POST",
      body: new URLSearchParams({ client_id: "99999999-9999-4999-8999-999999999999", scope: SCOPE }),
    });
    expectEntraError(
      { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> },
      400,
      "unauthorized_client",
      700016,
    );
  });

  describe("the /devicelogin page", () => {
    it("entering the code and signing in approves the device code", async () => {
      const flow = await start();
      const browser = new Browser();
      const entry = await browser.get(flow.verification_uri);
      expect(entry.status).toBe(200);
      expect(entry.html).toContain('name="otc"');
      // People type the code with dashes or in lower case.
      const typed = `${flow.user_code.slice(0, 3)}-${flow.user_code.slice(3)}`.toLowerCase();
      const signInPage = await browser.submit(entry, { otc: typed, action: "next" });
      expect(signInPage.html).toContain("Contoso Desktop");
      expect(signInPage.html).toContain('name="password"');
      const wrong = await browser.signIn(signInPage, alice.username, "wrong-password");
      expect(wrong.html).toContain("Your account or password is incorrect. (AADSTS50126)");
      expectEntraError(await poll(flow), 400, "authorization_pending", 70016);
      const done = await browser.signIn(wrong, alice.username, alice.password);
      expect(done.status).toBe(200);
      expect(pageText(done)).toContain("You're signed in");
      const tokens = await poll(flow);
      expect(tokens.status).toBe(200);
      expect(claims(tokens.body.id_token).preferred_username).toBe(alice.username);
    });

    it("a wrong code re-renders the entry page with an error", async () => {
      const browser = new Browser();
      const entry = await browser.get(`${emulator.url}/devicelogin`);
      const retry = await browser.submit(entry, { otc: "BBBBBBBBB", action: "next" });
      expect(retry.status).toBe(200);
      expect(pageText(retry)).toContain("That code didn't work. Check the code and try again.");
    });

    it("cancelling on the page denies the device code", async () => {
      const flow = await start();
      const browser = new Browser();
      const entry = await browser.get(flow.verification_uri);
      const signInPage = await browser.submit(entry, { otc: flow.user_code, action: "next" });
      const cancelled = await browser.submit(signInPage, { action: "cancel" });
      expect(cancelled.html).toContain("Sign-in cancelled");
      expectEntraError(await poll(flow), 400, "access_denied", 70000);
    });
  });
});
