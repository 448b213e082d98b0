/**
 * The emulator's control API over HTTPS (`/_emulator/...`): fault injection, the request log,
 * settings, reset, the directory, and errors for bad input and unknown operations.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Emulator, LoggedRequest } from "../../emulator/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";
import { CONTOSO, control, expectEntraError, passwordGrant, postToken } from "./helpers.js";

const GRAPH_DEFAULT = "https://graph.microsoft.com/.default";

describe("emulator control API", () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterEach(async () => {
    await control(emulator, "DELETE", "faults");
  });
  afterAll(() => emulator?.stop());

  const appToken = (clientKind = "daemon") => {
    const client = app(emulator, clientKind);
    return postToken(emulator, {
      grant_type: "client_credentials",
      client_id: client.clientId,
      client_secret: client.secret as string,
      scope: GRAPH_DEFAULT,
    });
  };
  const discovery = () => fetch(`${emulator.url}/${CONTOSO}/v2.0/.well-known/openid-configuration`);
  const addFault = async (fault: Record<string, unknown>) => {
    const answer = await control(emulator, "POST", "faults", fault);
    expect(answer).toEqual({ status: 201, body: { id: expect.stringMatching(/^fault-\d+$/) } });
    return (answer.body as { id: string }).id;
  };

  describe("faults", () => {
    it("answers with the fault's status, headers and JSON body `times` times, then normally again", async () => {
      const body = { error: "temporarily_unavailable", error_description: "Try again later." };
      const id = await addFault({
        endpoint: "token",
        status: 503,
        headers: { "Retry-After": "7" },
        body,
        times: 2,
      });
      expect((await control(emulator, "GET", "faults")).body).toEqual([
        { id, endpoint: "token", status: 503, headers: { "Retry-After": "7" }, body, times: 2 },
      ]);
      for (let i = 0; i < 2; i++) {
        const faulted = await appToken();
        expect(faulted.status).toBe(503);
        expect(faulted.headers.get("retry-after")).toBe("7");
        expect(faulted.headers.get("content-type")).toMatch(/^application\/json/);
        expect(faulted.body).toEqual(body);
      }
      expect((await appToken()).status).toBe(200);
      expect((await control(emulator, "GET", "faults")).body).toEqual([]);
      const statuses = emulator.requests("token").slice(-3);
      expect(statuses.map((r) => [r.status, r.fault])).toEqual([
        [503, id],
        [503, id],
        [200, undefined],
      ]);
    });

    it('"always" keeps answering until the faults are cleared; a string body is sent as text', async () => {
      await addFault({ endpoint: "discovery", status: 500, body: "boom", times: "always" });
      for (let i = 0; i < 3; i++) {
        const res = await discovery();
        expect(res.status).toBe(500);
        expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
        expect(await res.text()).toBe("boom");
      }
      expect(await control(emulator, "DELETE", "faults")).toEqual({ status: 200, body: { cleared: true } });
      expect((await discovery()).status).toBe(200);
    });

    it("delayMs alone delays the request, which then gets its normal answer", async () => {
      const id = await addFault({ endpoint: "token", delayMs: 50 });
      const answer = await appToken();
      expect(answer.status).toBe(200);
      expect(answer.body.access_token).toEqual(expect.any(String));
      expect(emulator.requests("token").at(-1)?.fault).toBe(id);
    });

    it("drop: true closes the connection: the fetch rejects with a socket error", async () => {
      await addFault({ endpoint: "token", drop: true });
      const error = await appToken().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toBe("fetch failed");
      expect(((error as TypeError).cause as { code?: string }).code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
      expect((await appToken()).status).toBe(200);
    });

    it("filtered by endpoint: only that endpoint's requests are affected", async () => {
      await addFault({ endpoint: "devicecode", status: 429, times: "always" });
      expect((await appToken()).status).toBe(200);
      expect((await discovery()).status).toBe(200);
      const res = await fetch(`${emulator.url}/${CONTOSO}/oauth2/v2.0/devicecode`, {
        method: "POST",
        body: new URLSearchParams({ client_id: app(emulator, "public").clientId, scope: "User.Read" }),
      });
      expect(res.status).toBe(429);
    });

    it("filtered by clientId: only that client's requests are affected", async () => {
      const web = app(emulator, "confidential");
      await addFault({
        endpoint: "token",
        clientId: web.clientId,
        status: 400,
        body: { error: "invalid_client" },
      });
      expect((await appToken("daemon")).status).toBe(200);
      const faulted = await appToken("confidential");
      expect(faulted).toMatchObject({ status: 400, body: { error: "invalid_client" } });
      expect((await appToken("confidential")).status).toBe(200);
    });

    it.each([
      [{ status: 503, times: 0 }, '"times" must be a positive integer or "always".'],
      [{ status: 503, times: 1.5 }, '"times" must be a positive integer or "always".'],
      [{ status: 503, times: "sometimes" }, '"times" must be a positive integer or "always".'],
      [{ endpoint: "token" }, 'A fault needs at least one of "status", "drop" or "delayMs".'],
      ["not json", "The body must be a JSON object."],
      [[{ status: 503 }], "The body must be a JSON object."],
    ])("bad fault input %j: 400 with a message", async (input, message) => {
      expect(await control(emulator, "POST", "faults", input)).toEqual({
        status: 400,
        body: { error: message },
      });
      expect((await control(emulator, "GET", "faults")).body).toEqual([]);
    });
  });

  describe("request log", () => {
    it("GET /_emulator/requests?endpoint=token shows form fields with secrets and passwords redacted", async () => {
      expect(await control(emulator, "DELETE", "requests")).toEqual({ status: 200, body: { cleared: true } });
      const alice = user(emulator, "managed");
      await appToken();
      await passwordGrant(emulator, app(emulator, "public").clientId, alice, "User.Read");
      await discovery();
      const { status, body } = await control(emulator, "GET", "requests?endpoint=token");
      expect(status).toBe(200);
      const [credentials, password] = body as LoggedRequest[];
      expect(body).toHaveLength(2);
      expect(credentials).toMatchObject({
        method: "POST",
        path: `/${CONTOSO}/oauth2/v2.0/token`,
        endpoint: "token",
        status: 200,
        form: {
          grant_type: "client_credentials",
          client_id: app(emulator, "daemon").clientId,
          client_secret: "[redacted]",
          scope: GRAPH_DEFAULT,
        },
      });
      expect(password?.form).toEqual({
        grant_type: "password",
        client_id: app(emulator, "public").clientId,
        username: alice.username,
        password: "[redacted]",
        scope: "User.Read",
      });
      expect(JSON.stringify(body)).not.toContain(alice.password);
      expect(JSON.stringify(body)).not.toContain(app(emulator, "daemon").secret);
    });

    it("redacts the Authorization header; without a filter lists every endpoint but not control calls", async () => {
      await control(emulator, "DELETE", "requests");
      const daemon = app(emulator, "daemon");
      const basic = Buffer.from(`${daemon.clientId}:${daemon.secret}`).toString("base64");
      await postToken(
        emulator,
        { grant_type: "client_credentials", scope: GRAPH_DEFAULT },
        { headers: { authorization: `Basic ${basic}` } },
      );
      await discovery();
      const all = (await control(emulator, "GET", "requests")).body as LoggedRequest[];
      expect(all.map((r) => r.endpoint)).toEqual(["token", "discovery"]);
      expect(all[0]?.headers.authorization).toBe("[redacted]");
      expect(JSON.stringify(all)).not.toContain(basic);
    });

    it("DELETE /_emulator/requests empties the log", async () => {
      await discovery();
      expect(await control(emulator, "DELETE", "requests")).toEqual({ status: 200, body: { cleared: true } });
      expect(await control(emulator, "GET", "requests")).toEqual({ status: 200, body: [] });
    });
  });

  describe("settings and reset", () => {
    it("GET /_emulator/settings shows the settings; POST changes known ones and ignores the rest", async () => {
      const before = await control(emulator, "GET", "settings");
      expect(before).toEqual({
        status: 200,
        body: {
          accessTokenLifetime: 3599,
          idTokenLifetime: 3600,
          refreshTokenLifetime: 90 * 24 * 3600,
          deviceCodeInterval: 5,
          deviceCodeLifetime: 900,
          authCodeLifetime: 600,
        },
      });
      try {
        const after = await control(emulator, "POST", "settings", { accessTokenLifetime: 120, bogus: 1 });
        expect(after).toEqual({
          status: 200,
          body: { ...(before.body as object), accessTokenLifetime: 120 },
        });
        expect((await control(emulator, "GET", "settings")).body).toEqual(after.body);
        expect((await appToken()).body.expires_in).toBe(120);
      } finally {
        await control(emulator, "POST", "settings", { accessTokenLifetime: 3599 });
      }
    });

    it("POST /_emulator/reset restores settings and forgets faults, the log and issued refresh tokens", async () => {
      const publicId = app(emulator, "public").clientId;
      const issued = await passwordGrant(
        emulator,
        publicId,
        user(emulator, "managed"),
        "openid offline_access",
      );
      await control(emulator, "POST", "settings", { accessTokenLifetime: 60 });
      await addFault({ endpoint: "jwks", status: 500, times: "always" });
      expect(await control(emulator, "POST", "reset", {})).toEqual({ status: 200, body: { reset: true } });
      expect((await control(emulator, "GET", "settings")).body).toMatchObject({ accessTokenLifetime: 3599 });
      expect((await control(emulator, "GET", "faults")).body).toEqual([]);
      expect((await control(emulator, "GET", "requests")).body).toEqual([]);
      const refreshed = await postToken(emulator, {
        grant_type: "refresh_token",
        client_id: publicId,
        refresh_token: issued.body.refresh_token as string,
      });
      expectEntraError(refreshed, 400, "invalid_grant", 9002313);
    });
  });

  describe("other operations and errors", () => {
    it("GET /_emulator/directory is the directory the emulator object describes", async () => {
      expect(await control(emulator, "GET", "directory")).toEqual({ status: 200, body: emulator.directory });
    });

    it("POST /_emulator/revoke needs something to revoke: 400", async () => {
      expect(await control(emulator, "POST", "revoke", {})).toEqual({
        status: 400,
        body: { error: 'Send "username", "refresh_token" or "client_id".' },
      });
    });

    it.each([
      ["GET", "nope", "No control operation GET nope. See docs/emulator.md for the control API."],
      ["PUT", "faults", "No control operation PUT faults. See docs/emulator.md for the control API."],
    ])("unknown control route %s /_emulator/%s: 404 with a message", async (method, path, message) => {
      expect(await control(emulator, method, path)).toEqual({ status: 404, body: { error: message } });
    });

    it("a path that is no endpoint at all: 404 not_found naming the path", async () => {
      const res = await fetch(`${emulator.url}/no/such/endpoint`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: "not_found",
        error_description: "The emulator has no endpoint at /no/such/endpoint.",
      });
    });
  });
});
