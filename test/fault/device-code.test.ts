/**
 * Device code polling faults. A device authorization response whose `interval` is negative, zero,
 * missing or not a number had the poll loop spin: 58,310 polls in 3 s against a server that kept
 * answering `authorization_pending`. And every pending poll, the flow's normal state while the user
 * signs in, was logged as a warning. The emulator plays the server: a fault gives the device
 * authorization response the interval under test, another answers every poll with
 * `authorization_pending`, and its request log counts the polls.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { type DeviceFlow, type LogLevel, PublicClientApplication } from "../../src/node/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPES = ["User.Read"];
/** How long each poll loop runs before its signal aborts it: at 5 s between polls, room for exactly one. */
const WINDOW_MS = 2500;

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

function client(lines: Array<[LogLevel, string]> = []): PublicClientApplication {
  return new PublicClientApplication(app(emulator, "public").clientId, {
    authority: `${emulator.url}/organizations`,
    validateAuthority: false,
    logger: { level: "verbose", log: (level, message) => lines.push([level, message]) },
  });
}

/** A device flow whose authorization response carries `interval` as given (left out when `undefined`). */
async function flowWithInterval(
  pca: PublicClientApplication,
  deviceCode: string,
  interval: unknown,
): Promise<DeviceFlow> {
  const body: Record<string, unknown> = {
    user_code: "FAULTY01",
    device_code: deviceCode,
    verification_uri: `${emulator.url}/devicelogin`,
    expires_in: 900,
    message: "Enter FAULTY01.",
  };
  if (interval !== undefined) body.interval = interval;
  emulator.injectFault({ endpoint: "devicecode", status: 200, body });
  const flow = await pca.initiateDeviceFlow(SCOPES);
  if ("error" in flow) throw new Error(`initiateDeviceFlow failed: ${JSON.stringify(flow)}`);
  return flow as DeviceFlow;
}

/** Polls `flow` until the window ends; the polls the emulator received for it, and how the call ended. */
async function pollsInWindow(
  pca: PublicClientApplication,
  flow: DeviceFlow,
): Promise<{ polls: number; ended: string }> {
  const outcome = await pca
    .acquireTokenByDeviceFlow(flow, { signal: AbortSignal.timeout(WINDOW_MS) })
    .catch((error: unknown) => error);
  const polls = emulator.requests("token").filter((r) => r.form?.device_code === flow.device_code).length;
  return { polls, ended: (outcome as Error).name };
}

describe("device code polling", () => {
  it("a negative, zero or non-numeric interval polled in a tight loop: it becomes 5 s (exactly one poll in 2.5 s)", async () => {
    emulator.injectFault({
      endpoint: "token",
      status: 400,
      body: { error: "authorization_pending", error_description: "AADSTS70016: pending." },
      times: "always",
    });
    const pca = client();
    // Poll loops at once, each against a server that answers authorization_pending forever.
    const negative = await flowWithInterval(pca, "dc-negative", -1);
    const zero = await flowWithInterval(pca, "dc-zero", 0);
    const text = await flowWithInterval(pca, "dc-text", "abc");
    // A flow object the caller stored, loaded or edited is checked again before polling.
    const edited = await flowWithInterval(pca, "dc-edited", 5);
    edited.interval = -1;
    // A sub-second interval is polled once a second: polls at 0, 1 and 2 s at most.
    const subSecond = await flowWithInterval(pca, "dc-sub-second", 0.3);
    const [fast, ...windows] = await Promise.all(
      [subSecond, negative, zero, text, edited].map((flow) => pollsInWindow(pca, flow)),
    );
    expect(windows.map((w) => w.polls)).toEqual([1, 1, 1, 1]);
    expect(fast?.polls).toBeGreaterThanOrEqual(2);
    expect(fast?.polls).toBeLessThanOrEqual(3);
    // Each loop was still waiting when its signal fired, and stopped with the signal's reason.
    expect([fast, ...windows].map((w) => w?.ended)).toEqual(Array(5).fill("TimeoutError"));
    expect(edited.interval).toBe(5);

    // What initiateDeviceFlow makes of each interval: 5 s for anything unusable, never under 1 s.
    const cases: Array<[unknown, number]> = [
      [-1, 5],
      [0, 5],
      ["abc", 5],
      [undefined, 5],
      [null, 5],
      ["", 5],
      [-0.5, 5],
      ["-3", 5],
      ["1e400", 5],
      [{}, 5],
      [0.3, 1],
      ["3", 3],
      [2.9, 2],
      [7, 7],
    ];
    for (const [index, [interval, seconds]] of cases.entries()) {
      const flow = await flowWithInterval(pca, `dc-case-${index}`, interval);
      expect({ interval, seconds: flow.interval }).toEqual({ interval, seconds });
    }
  });

  it("every pending poll was logged as a warning: pending polls are logged at verbose", async () => {
    emulator.configure({ deviceCodeInterval: 1 });
    const lines: Array<[LogLevel, string]> = [];
    const pca = client(lines);
    const flow = await pca.initiateDeviceFlow(SCOPES);
    if ("error" in flow) throw new Error(`initiateDeviceFlow failed: ${JSON.stringify(flow)}`);
    const device = flow as DeviceFlow;
    const polls = () =>
      emulator
        .requests("token")
        .filter((r) => r.form?.grant_type === DEVICE_CODE_GRANT && r.form.device_code === device.device_code);
    const result = pca.acquireTokenByDeviceFlow(device);
    await expect.poll(() => polls().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(emulator.approveDeviceCode(device.user_code, user(emulator, "managed").username)).toEqual({
      ok: true,
    });
    expect("access_token" in (await result)).toBe(true);
    const pending = polls().filter((r) => r.status === 400).length;
    expect(pending).toBeGreaterThanOrEqual(2);
    expect(lines.filter(([level]) => level === "warning" || level === "error")).toEqual([]);
    const pendingLines = lines.filter(([, message]) => message.includes("authorization_pending"));
    expect(pendingLines).toHaveLength(pending);
    expect(pendingLines.every(([level]) => level === "verbose")).toBe(true);
  });
});
