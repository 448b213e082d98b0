/**
 * parseWwwAuthenticate reads a header a server (or whoever sits between) controls: for any string up
 * to the length cap it returns challenges within the count caps and throws nothing; longer input is
 * refused with ArgumentError. Headers built from valid challenges parse back to what built them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  MAX_CHALLENGE_PARAMETERS,
  MAX_CHALLENGES,
  MAX_WWW_AUTHENTICATE_LENGTH,
  parseWwwAuthenticate,
} from "../../src/index.js";

const pieces = fc.constantFrom(
  "Bearer",
  "PoP",
  " ",
  ",",
  "=",
  '"',
  "\\",
  "\t",
  "nonce",
  "claims",
  "error=",
  'x="y"',
  "abc==",
  "__proto__",
  "constructor",
);
const hostile = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.array(pieces, { maxLength: 200 }).map((p) => p.join("")),
  fc.string({ unit: "binary", maxLength: 200 }),
);

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/);
const quotedValue = fc.string({ maxLength: 30 }).filter((s) => !/[\r\n]/.test(s));
const challenge = fc.record({
  scheme: token,
  params: fc.uniqueArray(
    fc.tuple(
      token.map((t) => t.toLowerCase()),
      quotedValue,
    ),
    {
      maxLength: 6,
      selector: ([name]) => name,
    },
  ),
});

const quote = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

describe("parseWwwAuthenticate under fuzzing", () => {
  it("never throws below the cap and stays within the counts", () => {
    fc.assert(
      fc.property(hostile, (header) => {
        const parsed = parseWwwAuthenticate(header);
        expect(parsed.length).toBeLessThanOrEqual(MAX_CHALLENGES);
        for (const c of parsed) {
          expect(Object.keys(c.params).length).toBeLessThanOrEqual(MAX_CHALLENGE_PARAMETERS);
          expect(c.scheme).not.toBe("");
        }
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 4000 },
    );
  });

  it("a header at the cap parses in bounded time; one past it is refused", () => {
    const big = `Bearer ${Array.from({ length: 2000 }, (_, i) => `p${i}="v\\"${i}"`).join(", ")}`.slice(
      0,
      MAX_WWW_AUTHENTICATE_LENGTH,
    );
    const started = performance.now();
    expect(parseWwwAuthenticate(big)[0]?.scheme).toBe("Bearer");
    expect(performance.now() - started).toBeLessThan(1000);
    expect(() => parseWwwAuthenticate(`${big}x`)).toThrow(ArgumentError);
    expect(() => parseWwwAuthenticate(",".repeat(MAX_WWW_AUTHENTICATE_LENGTH))).not.toThrow();
  });

  it("well-formed challenges round-trip", () => {
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 5 }), (challenges) => {
        const header = challenges
          .map((c) => [c.scheme, c.params.map(([n, v]) => `${n}=${quote(v)}`).join(", ")].join(" ").trim())
          .join(", ");
        const parsed = parseWwwAuthenticate(header);
        expect(parsed.map((c) => [c.scheme, Object.entries(c.params)])).toEqual(
          challenges.map((c) => [c.scheme, c.params]),
        );
      }),
      { numRuns: 500, interruptAfterTimeLimit: 4000 },
    );
  });
});
