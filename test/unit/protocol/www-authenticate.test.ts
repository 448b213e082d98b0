/** parseWwwAuthenticate: RFC 9110 challenges as Entra's resources send them, and malformed ones. */
import { describe, expect, it } from "vitest";
import { ArgumentError, parseWwwAuthenticate } from "../../../src/index.js";

const claims = '{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}';
const b64 = Buffer.from(claims).toString("base64");

describe("parseWwwAuthenticate", () => {
  it("a CAE Bearer challenge: claims base64-decoded, error, error_description", () => {
    const header = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", error_description="Continuous access evaluation resulted in challenge", claims="${b64}"`;
    expect(parseWwwAuthenticate(header)).toEqual([
      {
        scheme: "Bearer",
        params: {
          realm: "",
          authorization_uri: "https://login.microsoftonline.com/common/oauth2/authorize",
          error: "insufficient_claims",
          error_description: "Continuous access evaluation resulted in challenge",
          claims: b64,
        },
        claims,
        error: "insufficient_claims",
        error_description: "Continuous access evaluation resulted in challenge",
      },
    ]);
  });

  it("several challenges in one header, token and quoted values, escapes, case-insensitive names", () => {
    const header =
      'PoP nonce="abc\\"d\\\\e", Bearer Realm=contoso, Error="invalid_token",Negotiate YWJj==, Basic realm="x, y"';
    const parsed = parseWwwAuthenticate(header);
    expect(parsed.map((c) => c.scheme)).toEqual(["PoP", "Bearer", "Negotiate", "Basic"]);
    expect(parsed[0]).toEqual({ scheme: "PoP", params: { nonce: 'abc"d\\e' }, nonce: 'abc"d\\e' });
    expect(parsed[1]).toEqual({
      scheme: "Bearer",
      params: { realm: "contoso", error: "invalid_token" },
      error: "invalid_token",
    });
    expect(parsed[2]).toEqual({ scheme: "Negotiate", params: {}, token68: "YWJj==" });
    expect(parsed[3]).toEqual({ scheme: "Basic", params: { realm: "x, y" } });
  });

  it("claims already JSON are kept; claims that decode to no JSON are left out (the raw value stays in params)", () => {
    expect(parseWwwAuthenticate(`Bearer claims="${claims.replace(/"/g, '\\"')}"`)[0]?.claims).toBe(claims);
    const odd = parseWwwAuthenticate('Bearer claims="bm90IGpzb24="')[0];
    expect(odd?.claims).toBeUndefined();
    expect(odd?.params.claims).toBe("bm90IGpzb24=");
  });

  it("a scheme alone, an empty header and stray commas", () => {
    expect(parseWwwAuthenticate("PoP")).toEqual([{ scheme: "PoP", params: {} }]);
    expect(parseWwwAuthenticate("")).toEqual([]);
    expect(parseWwwAuthenticate(" , ,Bearer , ")).toEqual([{ scheme: "Bearer", params: {} }]);
  });

  it("malformed parts are skipped and the rest kept; an unterminated quote runs to the end", () => {
    expect(parseWwwAuthenticate('=x, Bearer error="a", ="b", PoP nonce="n')).toEqual([
      { scheme: "Bearer", params: { error: "a" }, error: "a" },
      { scheme: "PoP", params: { nonce: "n" }, nonce: "n" },
    ]);
  });

  it("the first of a repeated parameter wins; names like __proto__ are plain data", () => {
    const [c] = parseWwwAuthenticate('Bearer error="first", error="second", __proto__="x"');
    expect(c?.error).toBe("first");
    expect(Object.getPrototypeOf(c?.params)).toBe(Object.prototype);
    expect(Object.keys(c?.params ?? {})).toEqual(["error", "__proto__"]);
  });

  it("counts are bounded: 16 challenges, 32 parameters each", () => {
    expect(parseWwwAuthenticate(Array.from({ length: 40 }, (_, i) => `S${i} a=1`).join(", "))).toHaveLength(
      16,
    );
    const many = Array.from({ length: 50 }, (_, i) => `p${i}=${i}`).join(", ");
    expect(Object.keys(parseWwwAuthenticate(`Bearer ${many}`)[0]?.params ?? {})).toHaveLength(32);
  });

  it("a header over 16384 characters is refused with ArgumentError", () => {
    const error = (() => {
      try {
        parseWwwAuthenticate(`Bearer x="${"a".repeat(16_400)}"`);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe("header");
  });
});
