/**
 * A caller's abort reaches that caller, and only that caller, while requests are shared: during
 * discovery and during a token request that concurrent callers joined (single flight). Defect: the
 * app never passed the caller's signal to discovery, so an abort there waited for discovery to end;
 * and a shared token request carried its first caller's signal, whose abort failed every caller.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { isTokenError } from "../../src/node/index.js";
import { daemonWithSecret, GRAPH_DEFAULT, tokenRequests } from "../integration/confidential/helpers.js";
import { startTestEmulator } from "../support/emulator.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());

/** The global fetch, held back for the URLs that `gate` matches until `release()`. */
function gatedFetch(gate: (url: string) => boolean) {
  let release: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sent: { url: string; signal: AbortSignal | undefined }[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    sent.push({ url, signal: init.signal ?? undefined });
    if (gate(url)) await opened;
    return globalThis.fetch(url, init);
  };
  return { fetch, sent, release };
}

const isDiscovery = (url: string) => url.includes("openid-configuration") || url.includes("/discovery/");
const isToken = (url: string) => url.endsWith("/token");

describe("aborts while requests are shared", () => {
  it("an abort during discovery rejects that call with the signal's reason at once; another caller still gets its token", async () => {
    const gate = gatedFetch(isDiscovery);
    const app = daemonWithSecret(emulator, { fetch: gate.fetch });
    const reason = new Error("the user went away");
    const controller = new AbortController();
    const aborted = app.acquireTokenForClient(GRAPH_DEFAULT, { signal: controller.signal });
    const other = app.acquireTokenForClient(GRAPH_DEFAULT);
    setTimeout(() => controller.abort(reason), 30);
    const started = Date.now();
    await expect(aborted).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
    gate.release();
    const result = await other;
    expect(isTokenError(result)).toBe(false);
  });

  it("the default reason is an AbortError DOMException", async () => {
    const gate = gatedFetch(isDiscovery);
    const app = daemonWithSecret(emulator, { fetch: gate.fetch });
    const controller = new AbortController();
    const aborted = app.acquireTokenForClient(GRAPH_DEFAULT, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
    gate.release();
  });

  it("the first of two callers sharing a token request aborts: it rejects, the other gets the token from the one request", async () => {
    const gate = gatedFetch(isToken);
    const app = daemonWithSecret(emulator, { fetch: gate.fetch });
    const before = tokenRequests(emulator).length;
    const controller = new AbortController();
    const first = app.acquireTokenForClient(GRAPH_DEFAULT, { signal: controller.signal });
    const second = app.acquireTokenForClient(GRAPH_DEFAULT);
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await expect(first).rejects.toMatchObject({ name: "AbortError" });
    gate.release();
    const result = await second;
    expect(isTokenError(result)).toBe(false);
    expect(tokenRequests(emulator).length - before).toBe(1);
  });

  it("when every caller of a shared token request has aborted, the request itself is aborted", async () => {
    const gate = gatedFetch(isToken);
    const app = daemonWithSecret(emulator, { fetch: gate.fetch });
    const a = new AbortController();
    const b = new AbortController();
    const calls = [
      app.acquireTokenForClient(GRAPH_DEFAULT, { signal: a.signal }),
      app.acquireTokenForClient(GRAPH_DEFAULT, { signal: b.signal }),
    ];
    while (!gate.sent.some((s) => isToken(s.url))) await new Promise((resolve) => setTimeout(resolve, 10));
    const tokenSignal = gate.sent.find((s) => isToken(s.url))?.signal;
    a.abort();
    expect(tokenSignal?.aborted).toBe(false);
    b.abort();
    expect(tokenSignal?.aborted).toBe(true);
    await Promise.allSettled(calls);
    gate.release();
  });
});
