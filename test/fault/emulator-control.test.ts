/**
 * Emulator control API faults. `/_emulator/...` parsed any POST body as JSON, whatever its
 * Content-Type, so a web page open in the developer's browser could drive a running emulator
 * (CSRF): a `text/plain` POST is a CORS "simple request" that browsers send cross-origin without
 * asking, and so are forms and a bodiless POST. Now every control POST needs
 * `Content-Type: application/json` and anything else gets 415 and changes nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { CONTOSO, expectEntraError, postToken, sleep } from "../integration/helpers.js";
import { app, startTestEmulator, user } from "../support/emulator.js";

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

let emulator: Emulator;
let clientId: string;
let alice: { username: string; password: string };
/** Issued at least a second before any test's requests: a CAE event would make the resource refuse it. */
let earlyAccessToken: string;

beforeAll(async () => {
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
  clientId = app(emulator, "public").clientId;
  alice = user(emulator, "managed");
  earlyAccessToken = (await passwordGrant()).access_token;
  await sleep(1100);
});
afterAll(() => emulator?.stop());

async function passwordGrant(): Promise<{ access_token: string; refresh_token: string }> {
  const answer = await postToken(emulator, {
    grant_type: "password",
    client_id: clientId,
    username: alice.username,
    password: alice.password,
    scope: "openid offline_access User.Read",
  });
  expect(answer.status).toBe(200);
  return answer.body as { access_token: string; refresh_token: string };
}

async function startDeviceFlow(): Promise<{ user_code: string; device_code: string }> {
  const res = await fetch(`${emulator.url}/${CONTOSO}/oauth2/v2.0/devicecode`, {
    method: "POST",
    body: new URLSearchParams({ client_id: clientId, scope: "User.Read" }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { user_code: string; device_code: string };
}

/** Each control POST with a body that, sent as JSON, would change the emulator's state. */
function controlPosts(userCode: string): Array<[path: string, body: Record<string, unknown>]> {
  return [
    ["device/approve", { user_code: userCode, username: alice.username }],
    ["device/deny", { user_code: userCode }],
    ["faults", { endpoint: "token", status: 500, times: "always" }],
    ["revoke", { username: alice.username }],
    ["settings", { accessTokenLifetime: 60 }],
    ["reset", {}],
    ["cae-event", { username: alice.username }],
  ];
}

/** A POST as a web page can have a browser send it to another origin without a CORS preflight. */
const SIMPLE_POSTS: Array<{
  kind: string;
  mediaType: string | undefined;
  init: (body: Record<string, unknown>) => RequestInit;
}> = [
  {
    kind: "JSON text as text/plain",
    mediaType: "text/plain",
    init: (body) => ({ body: JSON.stringify(body), headers: { "content-type": "text/plain;charset=UTF-8" } }),
  },
  {
    kind: "an HTML form (urlencoded)",
    mediaType: "application/x-www-form-urlencoded",
    init: (body) => ({ body: new URLSearchParams(body as Record<string, string>) }),
  },
  {
    kind: "a multipart form",
    mediaType: "multipart/form-data",
    init: (body) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(body)) form.set(k, String(v));
      return { body: form };
    },
  },
  { kind: "no body and no Content-Type", mediaType: undefined, init: () => ({}) },
];

describe("the emulator's control API accepts only application/json POSTs", () => {
  beforeEach(() => {
    emulator.reset();
    emulator.configure({ accessTokenLifetime: 1234 });
  });

  it.each(SIMPLE_POSTS)(
    "refuses $kind at every control endpoint with 415 and a JSON error, changing nothing",
    async ({ mediaType, init }) => {
      const flow = await startDeviceFlow();
      const { refresh_token } = await passwordGrant();
      const settings = emulator.configure({});

      for (const [path, body] of controlPosts(flow.user_code)) {
        const res = await fetch(`${emulator.url}/_emulator/${path}`, { method: "POST", ...init(body) });
        expect({ path, status: res.status }).toEqual({ path, status: 415 });
        expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
        expect(res.headers.get("accept-post")).toBe("application/json");
        expect(await res.json()).toEqual({
          error: `Send control requests as JSON: a POST with "Content-Type: application/json" and a JSON object body (this one had ${mediaType ? `"${mediaType}"` : "no Content-Type"}).`,
        });
      }

      // Nothing changed: settings, faults, the pending device code, the refresh token, CAE events.
      expect(emulator.configure({})).toEqual(settings);
      expect(emulator.configure({}).accessTokenLifetime).toBe(1234);
      expect(emulator.faults()).toEqual([]);
      const poll = await postToken(emulator, {
        grant_type: DEVICE_CODE_GRANT,
        client_id: clientId,
        device_code: flow.device_code,
      });
      expectEntraError(poll, 400, "authorization_pending", 70016);
      const refreshed = await postToken(emulator, {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token,
      });
      expect(refreshed.status).toBe(200);
      const resource = await fetch(`${emulator.url}/_emulator/resource`, {
        headers: { authorization: `Bearer ${earlyAccessToken}` },
      });
      expect(resource.status).toBe(200);
    },
    30_000,
  );

  it("accepts application/json, with or without parameters, at every control endpoint", async () => {
    const approved = await startDeviceFlow();
    const denied = await startDeviceFlow();
    const post = async (path: string, body: Record<string, unknown>, contentType: string) => {
      const res = await fetch(`${emulator.url}/_emulator/${path}`, {
        method: "POST",
        headers: { "content-type": contentType },
        body: JSON.stringify(body),
      });
      return { path, status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const json = "application/json";
    const withCharset = "Application/JSON; charset=utf-8";
    expect(await post("settings", { accessTokenLifetime: 60 }, withCharset)).toMatchObject({
      status: 200,
      body: { accessTokenLifetime: 60 },
    });
    expect(
      await post("device/approve", { user_code: approved.user_code, username: alice.username }, json),
    ).toEqual({ path: "device/approve", status: 200, body: { approved: approved.user_code } });
    expect(await post("device/deny", { user_code: denied.user_code }, withCharset)).toEqual({
      path: "device/deny",
      status: 200,
      body: { denied: denied.user_code },
    });
    expect(await post("faults", { endpoint: "jwks", status: 503 }, json)).toMatchObject({ status: 201 });
    expect(emulator.faults()).toHaveLength(1);
    expect(await post("revoke", { username: alice.username }, withCharset)).toMatchObject({ status: 200 });
    // Another user than the one whose early token the other tests show the resource: reset keeps CAE events.
    const bob = user(emulator, "mfa").username;
    expect(await post("cae-event", { username: bob }, json)).toMatchObject({
      status: 200,
      body: { username: bob },
    });
    expect(await post("reset", {}, json)).toEqual({ path: "reset", status: 200, body: { reset: true } });
    expect(emulator.faults()).toEqual([]);
    // An empty JSON POST is an empty object; a body that is JSON but not an object is still a 400.
    const empty = await fetch(`${emulator.url}/_emulator/reset`, {
      method: "POST",
      headers: { "content-type": json },
    });
    expect(empty.status).toBe(200);
    expect(await post("settings", [] as unknown as Record<string, unknown>, json)).toEqual({
      path: "settings",
      status: 400,
      body: { error: "The body must be a JSON object." },
    });
    // Reading needs no body: GET and DELETE go through as before.
    expect((await fetch(`${emulator.url}/_emulator/settings`)).status).toBe(200);
    expect((await fetch(`${emulator.url}/_emulator/faults`, { method: "DELETE" })).status).toBe(200);
  });
});
