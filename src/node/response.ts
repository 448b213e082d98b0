/**
 * The Response side of the Node transport: a standard `Response` on node:http's message, the body
 * decoded (gzip, deflate, br) and streamed as the caller reads it.
 */
import type { IncomingMessage } from "node:http";
import { pipeline, type Readable, type Transform } from "node:stream";
import * as zlib from "node:zlib";

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** How fetch reports a request that could not be made: the cause is what network-error.ts reads. */
export function fetchFailed(cause: unknown): TypeError {
  return new TypeError("fetch failed", { cause });
}

const ZLIB_LENIENT = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_LENIENT = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

/** The body without its content codings; with one this does not know, the body as it came (as fetch does). */
function decoded(res: IncomingMessage): Readable {
  const codings = String(res.headers["content-encoding"] ?? "")
    .toLowerCase()
    .split(",")
    .map((coding) => coding.trim())
    .filter((coding) => coding !== "" && coding !== "identity")
    .reverse();
  if (codings.length === 0) return res;
  const decoders: Transform[] = [];
  for (const coding of codings) {
    if (coding === "gzip" || coding === "x-gzip") decoders.push(zlib.createGunzip(ZLIB_LENIENT));
    else if (coding === "deflate") decoders.push(zlib.createInflate(ZLIB_LENIENT));
    else if (coding === "br") decoders.push(zlib.createBrotliDecompress(BROTLI_LENIENT));
    else return res;
  }
  // An error anywhere destroys the whole chain, so it reaches the body's reader at its end.
  return decoders.reduce<Readable>((source, decoder) => pipeline(source, decoder, () => {}), res);
}

/**
 * The response body as a web stream, read as it is consumed. An abort of the request's signal
 * ends it with the signal's reason, as fetch does.
 */
function bodyStream(source: Readable, signal: AbortSignal): ReadableStream<Uint8Array> {
  const onAbort = () => source.destroy(signal.reason);
  const finish = () => signal.removeEventListener("abort", onAbort);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      signal.addEventListener("abort", onAbort, { once: true });
      source.on("data", (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 0) <= 0) source.pause();
      });
      source.once("end", () => {
        finish();
        controller.close();
      });
      source.once("error", (error) => {
        finish();
        controller.error(signal.aborted ? signal.reason : new TypeError("terminated", { cause: error }));
      });
    },
    pull() {
      source.resume();
    },
    cancel() {
      finish();
      source.destroy();
    },
  });
}

/**
 * The standard Response for `res`, its body streamed (and decoded) as it is read. `url` and
 * `redirected` are set as fetch sets them, although the constructor cannot.
 */
export function toResponse(
  res: IncomingMessage,
  hop: { url: URL; method: string; signal: AbortSignal },
  redirected: boolean,
): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
    } catch {
      // A value Headers refuses (Node's parser let it through) is left out rather than failing the response.
    }
  }
  const nullBody = hop.method === "HEAD" || NULL_BODY_STATUSES.has(status);
  if (nullBody) res.resume();
  const body = nullBody ? null : bodyStream(decoded(res), hop.signal);
  let response: Response;
  try {
    response = new Response(body, { status, statusText: res.statusMessage ?? "", headers });
  } catch {
    try {
      // Not every reason phrase is one Response accepts; the status alone will do.
      response = new Response(body, { status, headers });
    } catch (error) {
      res.destroy();
      throw fetchFailed(error);
    }
  }
  const url = new URL(hop.url);
  url.hash = "";
  Object.defineProperty(response, "url", { value: url.href });
  Object.defineProperty(response, "redirected", { value: redirected });
  return response;
}
