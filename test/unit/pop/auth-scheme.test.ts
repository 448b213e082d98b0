/** PopAuthScheme: MSAL Python's constants and argument checks, with its exact messages. */
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  ConfidentialClientApplication,
  isPopSupported,
  PopAuthScheme,
} from "../../../src/index.js";

function thrown(make: () => unknown): ArgumentError {
  try {
    make();
  } catch (error) {
    if (error instanceof ArgumentError) return error;
    throw error;
  }
  throw new Error("expected an ArgumentError");
}

describe("PopAuthScheme", () => {
  it("has MSAL Python's five method constants", () => {
    expect([
      PopAuthScheme.HTTP_GET,
      PopAuthScheme.HTTP_POST,
      PopAuthScheme.HTTP_PUT,
      PopAuthScheme.HTTP_DELETE,
      PopAuthScheme.HTTP_PATCH,
    ]).toEqual(["GET", "POST", "PUT", "DELETE", "PATCH"]);
  });

  it("keeps the method, the parsed URL and the nonce", () => {
    const scheme = new PopAuthScheme("PATCH", "https://api.contoso.test:8443/items/1?q=2", "abc");
    expect(scheme.httpMethod).toBe("PATCH");
    expect(scheme.url.host).toBe("api.contoso.test:8443");
    expect(scheme.url.pathname).toBe("/items/1");
    expect(scheme.nonce).toBe("abc");
  });

  it.each([
    ["", "https://a.test/", "n"],
    ["GET", "", "n"],
    ["GET", "https://a.test/", ""],
  ])("a missing argument (%j, %j, %j) is refused with MSAL Python's message", (method, url, nonce) => {
    const error = thrown(() => new PopAuthScheme(method, url, nonce));
    expect(error.code).toBe("invalid_argument");
    expect(error.argument).toBe("authScheme");
    expect(error.message).toBe("All http_method, url and nonce are required parameters");
  });

  it.each(["get", "HEAD", "OPTIONS"])("method %s is refused with MSAL Python's message", (method) => {
    const error = thrown(() => new PopAuthScheme(method, "https://a.test/", "n"));
    expect(error.argument).toBe("httpMethod");
    expect(error.message).toBe(
      "http_method must be uppercase, according to https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-semantics-14#section-9.1",
    );
  });

  it("a relative URL is refused", () => {
    const error = thrown(() => new PopAuthScheme("GET", "/orders", "n"));
    expect(error.argument).toBe("url");
    expect(error.message).toBe(
      "url must be an absolute URL such as https://api.contoso.com/orders (got /orders).",
    );
  });

  it("an acquire call refuses an authScheme that is not a PopAuthScheme, before any request", async () => {
    const app = new ConfidentialClientApplication("client-id", {
      authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
      clientCredential: "secret",
      fetch: () => Promise.reject(new Error("no request may be sent")),
    });
    const lookAlike = { httpMethod: "GET", url: "https://a.test/", nonce: "n" } as unknown as PopAuthScheme;
    const error = await app
      .acquireTokenForClient(["api://x/.default"], { authScheme: lookAlike })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe("authScheme");
    expect((error as ArgumentError).message).toBe(
      "authScheme must be a PopAuthScheme: new PopAuthScheme(method, url, nonce).",
    );
  });

  it("isPopSupported() is true without a broker", () => {
    expect(isPopSupported()).toBe(true);
  });
});
