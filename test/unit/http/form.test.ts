import { describe, expect, it } from "vitest";
import { encodeForm } from "../../../src/http/form.js";

describe("encodeForm", () => {
  it("writes what URLSearchParams writes, byte for byte", () => {
    const forms: Array<Record<string, string>> = [
      {},
      { grant_type: "client_credentials", scope: "https://graph.microsoft.com/.default offline_access" },
      { "a key": "spaces, +plus+ & ampersand = equals", "!'()~*-._": "!'()~*-._" },
      { unicode: "é€😀 日本", empty: "", percent: "100%25", slash: "a/b?c#d" },
      { lone: "x\ud800y", tail: "\udc00" },
      { claims: '{"access_token":{"xms_cc":{"values":["cp1"]}}}' },
    ];
    for (const form of forms) expect(encodeForm(form)).toBe(new URLSearchParams(form).toString());
  });

  it("keeps the order of the fields", () => {
    expect(encodeForm({ b: "2", a: "1", c: "3 4" })).toBe("b=2&a=1&c=3+4");
  });
});
