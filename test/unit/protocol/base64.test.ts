import { describe, expect, it } from "vitest";
import { decodeBase64, decodeBase64ToString } from "../../../src/protocol/base64.js";

const encode = (text: string, url: boolean) => Buffer.from(text).toString(url ? "base64url" : "base64");

describe("decodeBase64ToString", () => {
  it("decodes ASCII and UTF-8 JSON, base64url or standard, padded or not", () => {
    for (const text of [
      '{"name":"Ada","tid":"7e4a"}',
      '{"name":"Zoë Ångström 日本 😀"}',
      "\u0000\u007f",
      "",
      "\uFEFFbom",
    ]) {
      for (const url of [true, false]) {
        const encoded = encode(text, url);
        expect(decodeBase64ToString(encoded)).toBe(new TextDecoder().decode(Buffer.from(text)));
        expect(decodeBase64ToString(encoded.replace(/=+$/, ""))).toBe(
          new TextDecoder().decode(Buffer.from(text)),
        );
      }
    }
  });

  it("refuses what is not base64", () => {
    expect(() => decodeBase64ToString("abcde")).toThrow(TypeError);
    expect(() => decodeBase64ToString("ab$d")).toThrow();
  });

  it("gives the bytes of decodeBase64 as they are", () => {
    expect([...decodeBase64("/+8A")]).toEqual([0xff, 0xef, 0x00]);
  });
});
