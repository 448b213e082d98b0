/**
 * Aborts and timeouts in send() and in discovery, with fetches of the test's own (one that ignores
 * its signal, bodies that never arrive): a caller's abort rejects with the signal's reason wherever
 * the call is, a timeout is NetworkError "timeout", one caller's abort of a shared discovery leaves
 * the others waiting, and calls that share one signal add no listeners to it.
 */
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { parseAuthority } from "../../../src/authority/authority.js";
import { memoisedDiscovery } from "../../../src/authority/discovery.js";
import { type HttpConfig, send } from "../../../src/http/client.js";
import { NetworkError } from "../../../src/http/network-error.js";
import type { FetchLike, HttpRequest } from "../../../src/http/types.js";
import { failure } from "../../support/tcp.js";

const URL_ = "https://login.example/tenant/oauth2/v2.0/token";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function config(fetch: FetchLike, extra: Partial<HttpConfig> = {}): HttpConfig {
  return { fetch, defaultRetryAfterSeconds: 5, cache: new Map(), log: () => {}, ...extra };
}

const post = (signal?: AbortSignal): HttpRequest => ({
  method: "POST",
  url: URL_,
  headers: {},
  form: { grant_type: "client_credentials", client_id: "app", scope: "s" },
  ...(signal ? { signal } : {}),
});

/** A fetch that never settles and never looks at its signal. */
const deaf: FetchLike = () => new Promise<Response>(() => {});

/** A fetch whose responses send their headers and then nothing; `cancelled` collects the cancel reasons. */
function silentBodies() {
  const cancelled: unknown[] = [];
  const fetch: FetchLike = async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        cancel(reason) {
          cancelled.push(reason);
        },
      }),
    );
  return { fetch, cancelled };
}

describe("a caller's abort rejects with the signal's reason", () => {
  it("already aborted: rejects at once, nothing is fetched", async () => {
    let calls = 0;
    const counting: FetchLike = async () => {
      calls++;
      return new Response("{}");
    };
    const reason = new Error("the user went away");
    await expect(send(config(counting), post(AbortSignal.abort(reason)))).rejects.toBe(reason);
    expect(calls).toBe(0);
  });

  it("while a fetch that ignores its signal is pending: the default reason, an AbortError DOMException", async () => {
    const controller = new AbortController();
    const pending = failure(send(config(deaf), post(controller.signal)));
    await sleep(20);
    controller.abort();
    const error = await pending;
    expect(error).toBe(controller.signal.reason);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
  });

  it("while the body is being read: the caller's own reason, and the body stream is cancelled with it", async () => {
    const { fetch, cancelled } = silentBodies();
    const controller = new AbortController();
    const pending = failure(send(config(fetch), post(controller.signal)));
    await sleep(20);
    controller.abort("stop");
    expect(await pending).toBe("stop");
    expect(cancelled).toEqual(["stop"]);
  });

  it("while waiting to retry after a 503 with Retry-After: 3: at once, and no second request", async () => {
    let calls = 0;
    const busy: FetchLike = async () => {
      calls++;
      return new Response("{}", { status: 503, headers: { "retry-after": "3" } });
    };
    const controller = new AbortController();
    const pending = failure(send(config(busy), post(controller.signal)));
    await sleep(50);
    const abortedAt = performance.now();
    controller.abort();
    expect(await pending).toBe(controller.signal.reason);
    expect(performance.now() - abortedAt).toBeLessThan(100);
    await sleep(100);
    expect(calls).toBe(1);
  });

  it("while a retryAndThrottle: false request's body is read", async () => {
    const { fetch, cancelled } = silentBodies();
    const controller = new AbortController();
    const request: HttpRequest = { ...post(controller.signal), retryAndThrottle: false };
    const pending = failure(send(config(fetch), request));
    await sleep(20);
    controller.abort();
    expect(await pending).toBe(controller.signal.reason);
    expect(cancelled).toHaveLength(1);
  });
});

describe("the timeout", () => {
  it("ends a body that never arrives: NetworkError timeout naming the limit, the stream cancelled, no retry", async () => {
    const { fetch, cancelled } = silentBodies();
    let calls = 0;
    const counting: FetchLike = (url, init) => {
      calls++;
      return fetch(url, init);
    };
    const startedAt = performance.now();
    const error = await failure(send(config(counting, { timeoutMs: 200 }), post()));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(199);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).kind).toBe("timeout");
    expect((error as NetworkError).message).toBe(
      `Could not reach ${URL_}: the request timed out after 200 ms (The operation was aborted due to timeout). Check the network and the server, or raise the \`timeout\` option.`,
    );
    expect(cancelled).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it("ends a fetch that ignores its signal", async () => {
    const error = await failure(send(config(deaf, { timeoutMs: 100 }), post()));
    expect((error as NetworkError).kind).toBe("timeout");
  });
});

describe("discovery", () => {
  const authority = parseAuthority("https://login.example/tenant", { validateAuthority: false });
  const openIdConfiguration = JSON.stringify({
    authorization_endpoint: "https://login.example/tenant/oauth2/v2.0/authorize",
    token_endpoint: "https://login.example/tenant/oauth2/v2.0/token",
  });

  /** Answers discovery after `release()` is called, counting requests. */
  function gated() {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const count = { calls: 0 };
    const fetch: FetchLike = async () => {
      count.calls++;
      await gate;
      return new Response(openIdConfiguration);
    };
    return { fetch, count, release };
  }

  it("one caller's abort rejects that caller with its reason; the others get the endpoints from the one round trip", async () => {
    const { fetch, count, release } = gated();
    const http = config(fetch);
    const discover = memoisedDiscovery();
    const controller = new AbortController();
    const aborted = failure(
      discover(authority, { http, instanceDiscovery: false, signal: controller.signal }),
    );
    const patient = discover(authority, { http, instanceDiscovery: false });
    const alsoPatient = discover(authority, {
      http,
      instanceDiscovery: false,
      signal: new AbortController().signal,
    });
    await sleep(10);
    controller.abort();
    expect(await aborted).toBe(controller.signal.reason);
    release();
    expect((await patient).tokenEndpoint).toBe("https://login.example/tenant/oauth2/v2.0/token");
    expect((await alsoPatient).tokenEndpoint).toBe("https://login.example/tenant/oauth2/v2.0/token");
    expect(count.calls).toBe(1);
    expect(discover.known.get(authority.url)?.tokenEndpoint).toBe(
      "https://login.example/tenant/oauth2/v2.0/token",
    );
  });

  it("an already aborted signal rejects at once with its reason and starts no discovery", async () => {
    const { fetch, count } = gated();
    const discover = memoisedDiscovery();
    await expect(
      discover(authority, { http: config(fetch), instanceDiscovery: false, signal: AbortSignal.abort("no") }),
    ).rejects.toBe("no");
    expect(count.calls).toBe(0);
  });
});

describe("signals shared by many calls", () => {
  it("100 concurrent calls (and discoveries) on one signal add no listener to it and print no warning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const shared = new AbortController().signal;
      const { fetch, cancelled } = silentBodies();
      const http = config(fetch, { timeoutMs: 300 });
      const authority = parseAuthority("https://login.example/other", { validateAuthority: false });
      const discover = memoisedDiscovery();
      const calls = Array.from({ length: 100 }, () => failure(send(http, post(shared))));
      const discoveries = Array.from({ length: 100 }, () =>
        failure(discover(authority, { http, instanceDiscovery: false, signal: shared })),
      );
      await sleep(50);
      expect(getEventListeners(shared, "abort")).toHaveLength(0);
      const outcomes = await Promise.all([...calls, ...discoveries]);
      expect(outcomes.every((e) => e instanceof NetworkError && e.kind === "timeout")).toBe(true);
      // 100 token requests and the one discovery request, each read cancelled by its timeout.
      expect(cancelled).toHaveLength(101);
      await sleep(10);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
