/**
 * The signed HTTP request: a JWS whose signature verifies with the public key it carries, whose
 * `kid` is that key's RFC 7638 thumbprint (checked against jose's own), with a fresh `ts` per call.
 */
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK } from "jose";
import { describe, expect, it } from "vitest";
import {
  inMemoryPopKeyStore,
  PopAuthScheme,
  popKeyFromKeyPair,
  signHttpRequest,
} from "../../../src/index.js";
import { generatePopKey, popRequestConfirmation } from "../../../src/pop/key-store.js";

const decodeJson = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

describe("signHttpRequest", () => {
  it("signs at, ts, m, u, p, nonce and cnf.jwk with RS256; the signature verifies with cnf.jwk", async () => {
    const key = await generatePopKey();
    const scheme = new PopAuthScheme(
      PopAuthScheme.HTTP_POST,
      "https://api.contoso.test:8443/orders/7?x=1",
      "n-1",
    );
    const shr = await signHttpRequest("the.access.token", scheme, key, 1_700_000_000);

    expect(decodeProtectedHeader(shr)).toEqual({ alg: "RS256", typ: "pop", kid: key.kid });
    const payload = decodeJson(shr.split(".")[1] as string);
    expect(payload).toEqual({
      at: "the.access.token",
      ts: 1_700_000_000,
      m: "POST",
      u: "api.contoso.test:8443",
      p: "/orders/7",
      nonce: "n-1",
      cnf: { jwk: { kty: "RSA", n: key.publicJwk.n, e: "AQAB" } },
    });
    const verified = await compactVerify(shr, await importJWK(payload.cnf.jwk, "RS256"));
    expect(verified.protectedHeader.alg).toBe("RS256");
    expect(Buffer.from(verified.payload).toString("utf8")).toBe(
      Buffer.from(shr.split(".")[1] as string, "base64url").toString("utf8"),
    );
  });

  it("the default port is left out of u, as URL.host writes it", async () => {
    const key = await generatePopKey();
    const shr = await signHttpRequest(
      "at",
      new PopAuthScheme("GET", "https://api.contoso.test:443/a", "n"),
      key,
    );
    expect(decodeJson(shr.split(".")[1] as string).u).toBe("api.contoso.test");
  });

  it("each call has its own ts", async () => {
    const key = await generatePopKey();
    const scheme = new PopAuthScheme("GET", "https://api.contoso.test/", "n");
    const first = decodeJson((await signHttpRequest("at", scheme, key, 100)).split(".")[1] as string);
    const second = decodeJson((await signHttpRequest("at", scheme, key)).split(".")[1] as string);
    expect(first.ts).toBe(100);
    expect(Math.abs(second.ts - Date.now() / 1000)).toBeLessThan(5);
  });

  it("a tampered payload no longer verifies", async () => {
    const key = await generatePopKey();
    const shr = await signHttpRequest("at", new PopAuthScheme("GET", "https://a.test/x", "n"), key);
    const [header, payload, signature] = shr.split(".") as [string, string, string];
    const changed = Buffer.from(JSON.stringify({ ...decodeJson(payload), m: "DELETE" })).toString(
      "base64url",
    );
    const jwk = await importJWK({ ...key.publicJwk }, "RS256");
    await expect(compactVerify(`${header}.${changed}.${signature}`, jwk)).rejects.toThrow(/signature/);
  });
});

describe("PoP keys", () => {
  it("kid is the RFC 7638 thumbprint jose computes; req_cnf is unpadded base64url of {kid}", async () => {
    const key = await generatePopKey();
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk, "sha256"));
    const reqCnf = popRequestConfirmation(key.kid);
    expect(reqCnf).not.toMatch(/[=+/]/);
    expect(decodeJson(reqCnf)).toEqual({ kid: key.kid });
  });

  it("the private key is RS256, 2048-bit and cannot be exported", async () => {
    const key = await generatePopKey();
    expect(key.privateKey.extractable).toBe(false);
    expect(key.privateKey.algorithm).toMatchObject({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048 });
    await expect(crypto.subtle.exportKey("jwk", key.privateKey)).rejects.toThrow();
  });

  it("the in-memory store gives one key to concurrent and later callers", async () => {
    const store = inMemoryPopKeyStore();
    const [a, b] = await Promise.all([store.getKey(), store.getKey()]);
    expect(a).toBe(b);
    expect(await store.getKey()).toBe(a);
    expect((await inMemoryPopKeyStore().getKey()).kid).not.toBe(a.kid);
  });

  it("popKeyFromKeyPair takes a key pair made elsewhere", async () => {
    const pair = (await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      false,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const key = await popKeyFromKeyPair(pair);
    expect(key.privateKey).toBe(pair.privateKey);
    const shr = await signHttpRequest("at", new PopAuthScheme("GET", "https://a.test/", "n"), key);
    await expect(compactVerify(shr, pair.publicKey)).resolves.toBeDefined();
  });
});
