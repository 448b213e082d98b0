/**
 * Token endpoint faults injected through the emulator's control API: throttling (429 with
 * Retry-After holds identical requests back), passing server faults (one retry), a connection
 * dropped after the token POST was read (never re-sent), a body that is not JSON, and a server
 * slower than the app's timeout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { NetworkError } from "../../../src/node/index.js";
import { app, startTestEmulator } from "../../support/emulator.js";
import { daemonWithSecret, failure, GRAPH_DEFAULT, success, tokenRequests } from "./helpers.js";

const THROTTLED = {
  error: "temporarily_unavailable",
  error_description:
    "AADSTS50196: The server terminated an operation because it encountered a client request loop.",
  error_codes: [50196],
};

describe("client credentials through token endpoint faults", () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(() => emulator?.stop());
  beforeEach(() => emulator.reset());

  it("429 with Retry-After: 30 is an error result; an identical call within the window is not sent", async () => {
    emulator.injectFault({
      endpoint: "token",
      status: 429,
      headers: { "Retry-After": "30" },
      body: THROTTLED,
    });
    const cca = daemonWithSecret(emulator);
    const throttled = failure(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(throttled).toMatchObject({ error: "temporarily_unavailable", error_codes: [50196], status: 429 });
    expect(throttled.retry_after).toBeUndefined();
    expect(tokenRequests(emulator)).toHaveLength(1);

    // The fault is used up: the emulator would answer now, but msal-ts holds the request back.
    expect(emulator.faults()).toEqual([]);
    const held = failure(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(tokenRequests(emulator)).toHaveLength(1);
    expect(held).toMatchObject({ error: "temporarily_unavailable", status: 429 });
    expect(held.retry_after).toBeGreaterThan(0);
    expect(held.retry_after).toBeLessThanOrEqual(30);
    expect(held.error_description).toContain("msal-ts did not send this request");
    expect(held.error_description).toContain(`try again in ${held.retry_after} s`);

    // Another request (another scope) is not held back.
    const middleTier = app(emulator, "middle-tier").clientId;
    const other = success(await cca.acquireTokenForClient([`api://${middleTier}/.default`]));
    expect(other.token_source).toBe("identity_provider");
    expect(tokenRequests(emulator)).toHaveLength(2);
  });

  it("a 500 once: the one retry gets the token (two requests logged)", async () => {
    emulator.injectFault({ endpoint: "token", status: 500, body: { error: "server_error" }, times: 1 });
    const result = success(await daemonWithSecret(emulator).acquireTokenForClient(GRAPH_DEFAULT));
    expect(result.token_source).toBe("identity_provider");
    const requests = tokenRequests(emulator);
    expect(requests.map((r) => r.status)).toEqual([500, 200]);
    expect(requests[0]?.fault).toBeDefined();
    expect(requests[1]?.fault).toBeUndefined();
  });

  it("a 503 twice: the retry fails too, and the result is the error with status 503", async () => {
    emulator.injectFault({
      endpoint: "token",
      status: 503,
      body: { error: "temporarily_unavailable", error_description: "AADSTS90033: busy" },
      times: 2,
    });
    const result = await daemonWithSecret(emulator).acquireTokenForClient(GRAPH_DEFAULT);
    expect(result).toMatchObject({ error: "temporarily_unavailable", status: 503 });
    expect(tokenRequests(emulator).map((r) => r.status)).toEqual([503, 503]);
  });

  it("a connection dropped after the token POST was read: a connection_reset NetworkError, and the POST is not re-sent", async () => {
    emulator.injectFault({ endpoint: "token", drop: true });
    const failure = await daemonWithSecret(emulator)
      .acquireTokenForClient(GRAPH_DEFAULT)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(NetworkError);
    expect((failure as NetworkError).kind).toBe("connection_reset");
    const requests = tokenRequests(emulator);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.status).toBeUndefined();
  });

  it("a 200 whose body is not JSON: invalid_response quoting the body", async () => {
    emulator.injectFault({ endpoint: "token", status: 200, body: "<html>oops" });
    const result = await daemonWithSecret(emulator).acquireTokenForClient(GRAPH_DEFAULT);
    expect(result).toMatchObject({ error: "invalid_response", status: 200 });
    expect(result.error_description).toContain('"<html>oops"');
    expect(result.error_description).toContain("/oauth2/v2.0/token");
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("a server slower than the timeout option: NetworkError of kind timeout", async () => {
    emulator.injectFault({ endpoint: "token", delayMs: 3000 });
    const cca = daemonWithSecret(emulator, { timeout: 500 });
    const error = await cca.acquireTokenForClient(GRAPH_DEFAULT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).kind).toBe("timeout");
    expect((error as NetworkError).code).toBe("network_error");
    expect((error as NetworkError).message).toContain("/oauth2/v2.0/token");
    // Timeouts are not retried.
    expect(tokenRequests(emulator)).toHaveLength(1);
  });
});
