/** The small public helpers: decodePart, decodeIdToken, extractCerts, isTokenError. */
import { describe, expect, it } from "vitest";
import {
  ConfigurationError,
  decodeIdToken,
  decodePart,
  extractCerts,
  IdTokenError,
  isTokenError,
} from "../../../src/index.js";

const part = (value: unknown, encoding: BufferEncoding) =>
  Buffer.from(JSON.stringify(value)).toString(encoding);

describe("decodePart", () => {
  it("reads base64url and standard base64, padded or not", () => {
    const value = { uid: "a?>b", utid: "t~" };
    expect(decodePart(part(value, "base64url"))).toEqual(value);
    expect(decodePart(part(value, "base64"))).toEqual(value);
    expect(decodePart(part(value, "base64").replace(/=+$/, ""))).toEqual(value);
  });

  it("refuses what is not a base64 JSON object, with IdTokenError invalid_jwt_part", () => {
    expect(() => decodePart("%%%")).toThrowError(
      expect.objectContaining({
        code: "invalid_jwt_part",
        message: "The token part is not base64-encoded JSON.",
      }),
    );
    expect(() => decodePart(part([1, 2], "base64url"))).toThrowError(
      expect.objectContaining({ code: "invalid_jwt_part", message: "The token part is not a JSON object." }),
    );
  });
});

describe("decodeIdToken", () => {
  const token = (claims: Record<string, unknown>) => `e30.${part(claims, "base64url")}.sig`;

  it("returns the claims, checking the audience when a client id is given", () => {
    expect(decodeIdToken(token({ aud: "me", sub: "s" }), { clientId: "me" })).toEqual({
      aud: "me",
      sub: "s",
    });
    expect(decodeIdToken(token({ aud: ["x", "me"] }), { clientId: "me" }).aud).toEqual(["x", "me"]);
  });

  it("an id_token for another app: IdTokenError id_token_audience_mismatch", () => {
    let thrown: unknown;
    try {
      decodeIdToken(token({ aud: "other" }), { clientId: "me" });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(IdTokenError);
    expect(thrown).toMatchObject({
      code: "id_token_audience_mismatch",
      message:
        'The id_token is for audience "other", not this app (me). Check the client id the app was configured with.',
    });
  });

  it("not a JWT: IdTokenError invalid_id_token", () => {
    expect(() => decodeIdToken("not-a-jwt")).toThrowError(
      expect.objectContaining({ code: "invalid_id_token" }),
    );
  });
});

describe("extractCerts", () => {
  it("returns each certificate body of a chain as one base64 string", () => {
    const pem =
      "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n";
    expect(extractCerts(pem)).toEqual(["AAAABBBB", "CCCC"]);
  });

  it("takes a bare base64 body as the one certificate, and refuses a private key", () => {
    expect(extractCerts("  MIIB\nxyz  ")).toEqual(["MIIBxyz"]);
    expect(() => extractCerts("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")).toThrowError(
      ConfigurationError,
    );
  });
});

describe("isTokenError", () => {
  it("tells failures from successes", () => {
    expect(isTokenError({ error: "invalid_grant" })).toBe(true);
    expect(
      isTokenError({ access_token: "x", token_type: "Bearer", expires_in: 1, token_source: "cache" }),
    ).toBe(false);
    expect(isTokenError(null)).toBe(false);
  });
});
