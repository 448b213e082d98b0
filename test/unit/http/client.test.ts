/**
 * send(): the byte budget over the decoded body (with a fetch of the test's own, as an app may pass
 * one), UTF-8 across chunk boundaries, which failures are retried (against real local servers and
 * Node's transport), and that nothing past the budget is cached.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpConfig, send } from "../../../src/http/client.js";
import { NetworkError } from "../../../src/http/network-error.js";
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  FEDERATION_MAX_RESPONSE_BYTES,
  type FetchLike,
  type HttpRequest,
} from "../../../src/http/types.js";
import { createNodeFetch } from "../../../src/node/fetch.js";
import { closedPort, failure, type TcpServer, tcpServer } from "../../support/tcp.js";

const KiB = 1024;

function config(fetch: FetchLike, extra: Partial<HttpConfig> = {}): HttpConfig {
  return { fetch, defaultRetryAfterSeconds: 5, cache: new Map(), log: () => {}, ...extra };
}

/** A body served in `chunk`-byte pieces, `total` bytes in all (Infinity: endless), counting what was pulled. */
function streamedBody(chunk: number, total: number) {
  const seen = { pulledBytes: 0, cancelled: false, cancelReason: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = Math.min(chunk, total - seen.pulledBytes);
      if (size <= 0) return controller.close();
      seen.pulledBytes += size;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
    cancel(reason) {
      seen.cancelled = true;
      seen.cancelReason = reason;
    },
  });
  return { stream, seen };
}

const get = (url: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({
  method: "GET",
  url,
  headers: {},
  ...extra,
});

describe("the byte budget", () => {
  it("an endless body stops at 1 MiB: response_too_large naming the URL (without its query) and the limit, the stream cancelled", async () => {
    const { stream, seen } = streamedBody(64 * KiB, Number.POSITIVE_INFINITY);
    const http = config(async () => new Response(stream));
    const error = await failure(send(http, get("https://login.example/tenant/v2.0/.well-known/x?secret=1")));
    expect(error).toBeInstanceOf(NetworkError);
    const network = error as NetworkError;
    expect(network.kind).toBe("response_too_large");
    expect(network.code).toBe("network_error");
    expect(network.url).toBe("https://login.example/tenant/v2.0/.well-known/x");
    expect(network.message).toBe(
      "The response from https://login.example/tenant/v2.0/.well-known/x is larger than 1048576 bytes (1 MiB), the most msal-ts reads for this request, so it stopped reading and cached nothing. An identity provider's answer is far smaller: check that the URL points at the right server and that no proxy or captive portal answers in its place.",
    );
    expect(network.hint).toBe(
      "An identity provider's answer is far smaller: check that the URL points at the right server and that no proxy or captive portal answers in its place.",
    );
    expect(seen.cancelled).toBe(true);
    expect(seen.cancelReason).toBe(network);
    // One chunk past the budget was read, and the stream's queue holds at most one more.
    expect(seen.pulledBytes).toBeLessThanOrEqual(DEFAULT_MAX_RESPONSE_BYTES + 2 * 64 * KiB);
    // Nothing past the budget was stored in the HTTP cache.
    expect((http.cache as Map<string, unknown>).size).toBe(0);
  });

  it("exactly 1 MiB is read (and a GET cached); one byte more is response_too_large", async () => {
    const exact = config(
      async () => new Response(streamedBody(100 * KiB, DEFAULT_MAX_RESPONSE_BYTES).stream),
    );
    const response = await send(exact, get("https://login.example/exact"));
    expect(response.body).toHaveLength(DEFAULT_MAX_RESPONSE_BYTES);
    expect((exact.cache as Map<string, unknown>).size).toBe(1);

    const over = config(
      async () => new Response(streamedBody(100 * KiB, DEFAULT_MAX_RESPONSE_BYTES + 1).stream),
    );
    const error = await failure(send(over, get("https://login.example/over")));
    expect((error as NetworkError).kind).toBe("response_too_large");
    expect((over.cache as Map<string, unknown>).size).toBe(0);
  });

  it("maxResponseBytes raises it per request: a 3 MiB MEX document is read under the federation budget", async () => {
    const body = 3 * 1024 * KiB;
    const http = config(async () => new Response(streamedBody(256 * KiB, body).stream));
    const response = await send(
      http,
      get("https://sts.example/adfs/services/trust/mex", { maxResponseBytes: FEDERATION_MAX_RESPONSE_BYTES }),
    );
    expect(response.body).toHaveLength(body);
    const limited = await failure(
      send(config(http.fetch), get("https://sts.example/adfs/services/trust/mex")),
    );
    expect((limited as NetworkError).kind).toBe("response_too_large");
    expect((limited as NetworkError).message).toContain("larger than 1048576 bytes (1 MiB)");
  });

  it("the budget holds for requests that are never retried or throttled too (WS-Trust)", async () => {
    const { stream, seen } = streamedBody(64 * KiB, Number.POSITIVE_INFINITY);
    const http = config(async () => new Response(stream));
    const error = await failure(
      send(http, {
        method: "POST",
        url: "https://sts.example/adfs/services/trust/13/usernamemixed",
        headers: {},
        body: { contentType: "application/soap+xml", text: "<s:Envelope/>" },
        retryAndThrottle: false,
        maxResponseBytes: FEDERATION_MAX_RESPONSE_BYTES,
      }),
    );
    expect((error as NetworkError).kind).toBe("response_too_large");
    expect((error as NetworkError).message).toContain("larger than 4194304 bytes (4 MiB)");
    expect(seen.cancelled).toBe(true);
  });
});

describe("decoding", () => {
  it("UTF-8 split across chunks decodes as Response.text() does (BOM dropped, invalid bytes replaced)", async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"name":"Zoë 😀"}'), 0xff]);
    const expected = await new Response(bytes).text();
    // One byte per chunk: every multi-byte sequence is split.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    const response = await send(
      config(async () => new Response(stream)),
      get("https://login.example/utf8"),
    );
    expect(response.body).toBe(expected);
    expect(response.body).toBe('{"name":"Zoë 😀"}\uFFFD');
  });

  it("a body-less response is the empty string", async () => {
    const response = await send(
      config(async () => new Response(null, { status: 204 })),
      get("https://login.example/none"),
    );
    expect(response).toMatchObject({ status: 204, body: "" });
  });
});

describe("retries: only what is safe to send twice", () => {
  let dropping: TcpServer;
  let dropped = 0;
  let refusedPort: number;
  const nodeFetch = createNodeFetch({ env: {} });

  beforeAll(async () => {
    // Reads a whole request, then closes the connection without a response.
    dropping = await tcpServer((socket) => {
      let seen = "";
      socket.on("data", (data: Buffer) => {
        seen += data.toString("latin1");
        const end = seen.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(seen.slice(0, end))?.[1] ?? "0");
        if (seen.length < end + 4 + length) return;
        dropped++;
        socket.destroy();
      });
    });
    refusedPort = await closedPort();
  });
  afterAll(async () => {
    await nodeFetch.close();
    await dropping?.close();
  });

  /** The fetch, counting the attempts that reach it. */
  function counting() {
    const count = { calls: 0 };
    const fetch: FetchLike = (url, init) => {
      count.calls++;
      return nodeFetch(url, init);
    };
    return { fetch, count };
  }

  const post = (url: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({
    method: "POST",
    url,
    headers: {},
    form: { grant_type: "client_credentials", client_id: "app", scope: "s" },
    ...extra,
  });

  it("a POST whose connection was refused (none of it sent) is retried once: connection_refused after 2 attempts", async () => {
    const { fetch, count } = counting();
    const error = await failure(send(config(fetch), post(`http://127.0.0.1:${refusedPort}/token`)));
    expect((error as NetworkError).kind).toBe("connection_refused");
    expect(count.calls).toBe(2);
  });

  it("a POST the server read and then dropped is not retried: connection_reset, received once", async () => {
    const { fetch, count } = counting();
    dropped = 0;
    const error = await failure(send(config(fetch), post(`http://127.0.0.1:${dropping.port}/token`)));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).kind).toBe("connection_reset");
    expect(count.calls).toBe(1);
    expect(dropped).toBe(1);
  });

  it("a GET the server dropped is retried once: received twice", async () => {
    const { fetch, count } = counting();
    dropped = 0;
    const error = await failure(send(config(fetch), get(`http://127.0.0.1:${dropping.port}/discovery`)));
    expect((error as NetworkError).kind).toBe("connection_reset");
    expect(count.calls).toBe(2);
    expect(dropped).toBe(2);
  });

  it("retryAndThrottle: false is never retried, not even after a refused connection", async () => {
    const { fetch, count } = counting();
    const error = await failure(
      send(config(fetch), post(`http://127.0.0.1:${refusedPort}/adfs`, { retryAndThrottle: false })),
    );
    expect((error as NetworkError).kind).toBe("connection_refused");
    expect(count.calls).toBe(1);
  });

  it("a request marked retry: false (a password grant) is never retried: not after a refused connection, not after a 503", async () => {
    const password = { grant_type: "password", username: "u", password: "p", client_id: "app" };
    const { fetch, count } = counting();
    const refused = await failure(
      send(config(fetch), post(`http://127.0.0.1:${refusedPort}/token`, { form: password, retry: false })),
    );
    expect((refused as NetworkError).kind).toBe("connection_refused");
    expect(count.calls).toBe(1);

    let calls = 0;
    const busy: FetchLike = async () => {
      calls++;
      return new Response('{"error":"temporarily_unavailable"}', { status: 503 });
    };
    const response = await send(
      config(busy),
      post("https://login.example/token", { form: password, retry: false }),
    );
    expect(response.status).toBe(503);
    expect(calls).toBe(1);
  });

  it("a 503 on a client credentials POST still gets its one retry (a response was received)", async () => {
    let calls = 0;
    const busyOnce: FetchLike = async () => {
      calls++;
      return calls === 1 ? new Response("{}", { status: 503 }) : new Response('{"access_token":"t"}');
    };
    const response = await send(config(busyOnce), post("https://login.example/token"));
    expect(response.status).toBe(200);
    expect(calls).toBe(2);
  });
});
