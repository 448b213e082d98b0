/**
 * The device code flow of a public client against the emulator: the server's message, polling until
 * the user approves or denies, expiry (the flow's own `expires_at`, or the server's expired_token),
 * stopping from outside (`expires_at = 0`, an abort signal) and `slow_down`. What went over the wire
 * is read from the emulator's request log.
 */
import { getEventListeners } from "node:events";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator, LoggedRequest } from "../../../emulator/index.js";
import {
  type DeviceFlow,
  PublicClientApplication,
  type TokenFailure,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, startTestEmulator, user } from "../../support/emulator.js";

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPES = ["User.Read"];

let emulator: Emulator;
let alice: { username: string };

beforeAll(async () => {
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
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

async function start(pca: PublicClientApplication): Promise<DeviceFlow> {
  const flow = await pca.initiateDeviceFlow(SCOPES);
  if ("error" in flow) throw new Error(`initiateDeviceFlow failed: ${JSON.stringify(flow)}`);
  return flow as DeviceFlow;
}

/** The device code polls the emulator has seen for this flow, in order. */
const polls = (flow: DeviceFlow): LoggedRequest[] =>
  emulator
    .requests("token")
    .filter((r) => r.form?.grant_type === DEVICE_CODE_GRANT && r.form.device_code === flow.device_code);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failure = (result: unknown) => result as TokenFailure;

/** The result as tokens; a failure fails the test with the server's answer. */
function success(result: TokenResult): TokenSuccess {
  if ("error" in result) throw new Error(`Expected tokens, got ${JSON.stringify(result)}`);
  return result as TokenSuccess;
}

describe("device code flow", () => {
  it("shows the server's message, polls at the interval and gets tokens once the user approves", async () => {
    const pca = client();
    const flow = await start(pca);
    expect(flow).toMatchObject({
      interval: 1,
      expires_in: 900,
      verification_uri: `${emulator.url}/devicelogin`,
    });
    expect(flow.message).toBe(
      `To sign in, use a web browser to open the page ${emulator.url}/devicelogin and enter the code ${flow.user_code} to authenticate.`,
    );
    const signal = new AbortController().signal;
    const result = pca.acquireTokenByDeviceFlow(flow, { signal });
    await expect.poll(() => polls(flow).length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(emulator.approveDeviceCode(flow.user_code, alice.username)).toEqual({ ok: true });
    const token = success(await result);
    expect(token).toMatchObject({ token_source: "identity_provider", token_type: "Bearer" });
    expect(token.id_token_claims?.preferred_username).toBe(alice.username);
    const sent = polls(flow);
    expect(sent.map((r) => r.status).slice(0, -1)).toEqual(sent.slice(0, -1).map(() => 400));
    expect(sent.at(-1)?.status).toBe(200);
    for (const poll of sent) {
      expect(poll.form).toMatchObject({
        client_id: pca.clientId,
        device_code: flow.device_code,
        code: flow.device_code,
      });
      expect(poll.headers["client-request-id"]).toBe(flow.correlation_id);
    }
    // Every one-second wait removed its abort listener again.
    expect(getEventListeners(signal, "abort")).toEqual([]);
    const [account] = await pca.getAccounts();
    expect(account?.username).toBe(alice.username);
    expect((await pca.acquireTokenSilent(SCOPES, account))?.token_source).toBe("cache");
  });

  it("denied by the user: the server's access_denied comes back as the result", async () => {
    const pca = client();
    const flow = await start(pca);
    const result = pca.acquireTokenByDeviceFlow(flow);
    await expect.poll(() => polls(flow).length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    expect(emulator.denyDeviceCode(flow.user_code)).toEqual({ ok: true });
    const denied = failure(await result);
    expect(denied).toMatchObject({ error: "access_denied", error_codes: [70000] });
    expect(denied.error_description).toMatch(
      /^AADSTS70000: The user denied the authorization request on the device code sign-in page\. /,
    );
  });

  it("expired: polling stops at the flow's expires_at, and the result is the last authorization_pending", async () => {
    emulator.configure({ deviceCodeLifetime: 2 });
    // Start just after a second boundary: the emulator counts its 2 s from the whole second.
    await sleep(1050 - (Date.now() % 1000));
    const pca = client();
    const flow = await start(pca);
    expect(flow.expires_in).toBe(2);
    const pending = failure(await pca.acquireTokenByDeviceFlow(flow));
    expect(pending).toMatchObject({ error: "authorization_pending", error_codes: [70016] });
    const sent = polls(flow);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    for (const poll of sent) expect(Date.parse(poll.time)).toBeLessThanOrEqual(flow.expires_at * 1000);
  });

  it("expired at the server first (expires_at pushed later): the server's expired_token comes back", async () => {
    emulator.configure({ deviceCodeLifetime: 2 });
    const pca = client();
    const flow = await start(pca);
    flow.expires_at = Date.now() / 1000 + 60;
    const expired = failure(await pca.acquireTokenByDeviceFlow(flow));
    expect(expired).toMatchObject({ error: "expired_token", error_codes: [70020] });
    expect(expired.error_description).toMatch(
      /^AADSTS70020: The provided value for the input parameter 'device_code' is not valid\. This device code has expired\. /,
    );
    expect(polls(flow).length).toBeGreaterThanOrEqual(2);
  });

  it("expires_at = 0 set from outside stops polling: no poll after it, the last authorization_pending", async () => {
    const pca = client();
    const flow = await start(pca);
    const result = pca.acquireTokenByDeviceFlow(flow);
    await expect.poll(() => polls(flow).length, { timeout: 5000, interval: 20 }).toBe(1);
    flow.expires_at = 0;
    expect(failure(await result)).toMatchObject({ error: "authorization_pending" });
    await sleep(1500);
    expect(polls(flow)).toHaveLength(1);
  });

  it("aborted by the signal: rejects with the abort reason, and no poll follows", async () => {
    const pca = client();
    const flow = await start(pca);
    const controller = new AbortController();
    const result = pca.acquireTokenByDeviceFlow(flow, { signal: controller.signal });
    const settled = result.catch((e: unknown) => e);
    await expect.poll(() => polls(flow).length, { timeout: 5000, interval: 20 }).toBe(1);
    const reason = new Error("the user closed the window");
    controller.abort(reason);
    expect(await settled).toBe(reason);
    await sleep(1500);
    expect(polls(flow)).toHaveLength(1);
    expect(getEventListeners(controller.signal, "abort")).toEqual([]);
  });

  it("an already aborted signal: rejects before any poll", async () => {
    const pca = client();
    const flow = await start(pca);
    await expect(pca.acquireTokenByDeviceFlow(flow, { signal: AbortSignal.abort("stop") })).rejects.toBe(
      "stop",
    );
    expect(polls(flow)).toHaveLength(0);
  });

  it("slow_down: the interval grows by 5 s and the next poll comes that much later", async () => {
    const pca = client();
    const flow = await start(pca);
    emulator.injectFault({
      endpoint: "token",
      status: 400,
      body: { error: "slow_down", error_description: "AADSTS70016: Polling too fast." },
      times: 1,
    });
    const result = pca.acquireTokenByDeviceFlow(flow);
    await expect.poll(() => polls(flow).length, { timeout: 5000, interval: 20 }).toBe(1);
    expect(polls(flow)[0]?.fault).toBeDefined();
    emulator.approveDeviceCode(flow.user_code, alice.username);
    const token = await result;
    expect(!token.error && token.token_source).toBe("identity_provider");
    expect(flow.interval).toBe(6);
    const [slowed, next] = polls(flow);
    expect(next?.status).toBe(200);
    // The poll after slow_down waited interval + 5 = 6 s (lower bound only, with room for clock granularity).
    expect(Date.parse(next?.time ?? "") - Date.parse(slowed?.time ?? "")).toBeGreaterThanOrEqual(5500);
  });

  it("a device code the server does not know: invalid_grant at once, no more polls", async () => {
    const pca = client();
    const flow = await start(pca);
    const forged = { ...flow, device_code: "emu-dc.forged" };
    const result = failure(await pca.acquireTokenByDeviceFlow(forged));
    expect(result).toMatchObject({ error: "invalid_grant", error_codes: [70000] });
    expect(emulator.requests("token").filter((r) => r.form?.device_code === "emu-dc.forged")).toHaveLength(1);
  });

  it.each([
    ["null", null],
    ["an array", []],
  ])("a device authorization answer of JSON %s: invalid_response, not a TypeError", async (_kind, body) => {
    emulator.injectFault({ endpoint: "devicecode", status: 200, body, times: 1 });
    const flow = await client().initiateDeviceFlow(SCOPES);
    expect(flow).toEqual({
      error: "invalid_response",
      error_description: "The device authorization endpoint answered HTTP 200 without a JSON object.",
      status: 200,
    });
  });
});
