/**
 * SSH certificate request data from the public key formats people have: an OpenSSH line made by
 * ssh-keygen, a PEM SPKI and a PEM PKCS#1 (made by node:crypto); all give the key's JWK.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { ArgumentError, publicKeyToJwk, sshCertificateRequestData } from "../../../src/index.js";

const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = publicKey.export({ format: "jwk" }) as { kty: string; n: string; e: string };
const spki = publicKey.export({ format: "pem", type: "spki" }) as string;
const pkcs1 = publicKey.export({ format: "pem", type: "pkcs1" }) as string;

const dir = mkdtempSync(join(tmpdir(), "msal-ts-ssh-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("publicKeyToJwk", () => {
  it("reads a PEM SPKI and a PEM PKCS#1 public key", async () => {
    expect(await publicKeyToJwk(spki)).toEqual({ kty: "RSA", n: jwk.n, e: jwk.e });
    expect(await publicKeyToJwk(pkcs1)).toEqual({ kty: "RSA", n: jwk.n, e: jwk.e });
  });

  it.skipIf(!existsSync("/usr/bin/ssh-keygen"))("reads the OpenSSH line ssh-keygen writes", async () => {
    const file = join(dir, "id_rsa");
    execFileSync("/usr/bin/ssh-keygen", [
      "-q",
      "-t",
      "rsa",
      "-b",
      "2048",
      "-N",
      "",
      "-C",
      "me@host",
      "-f",
      file,
    ]);
    const line = readFileSync(`${file}.pub`, "utf8");
    const pem = execFileSync("/usr/bin/ssh-keygen", ["-e", "-m", "PKCS8", "-f", `${file}.pub`], {
      encoding: "utf8",
    });
    const fromLine = await publicKeyToJwk(line);
    expect(fromLine).toEqual(await publicKeyToJwk(pem));
    expect(fromLine.e).toBe("AQAB");
    expect(Buffer.from(fromLine.n, "base64url").length).toBe(256);
  });

  it.each([
    [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8n3o7R7oJ0rU5c5n8Y0c0r0d3G4w3f3pOqg5m0J3k1 me",
      /ssh-ed25519; Entra signs ssh-rsa keys only/,
    ],
    ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB/////w== x", /a length field points past the key blob/],
    ["ssh-rsa !!! x", /not base64/],
    ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", /not an RSA public key/],
    ["x".repeat(20_000), /at most 16384 characters/],
  ])("refuses %#", async (text, why) => {
    const error = await publicKeyToJwk(text).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe("publicKey");
    expect((error as ArgumentError).message).toMatch(why);
  });
});

describe("sshCertificateRequestData", () => {
  it("gives token_type, key_id (the thumbprint by default) and req_cnf naming it", async () => {
    const data = await sshCertificateRequestData(spki);
    const kid = await calculateJwkThumbprint({ kty: "RSA", n: jwk.n, e: jwk.e }, "sha256");
    expect(data).toEqual({
      token_type: "ssh-cert",
      key_id: kid,
      req_cnf: JSON.stringify({ kty: "RSA", n: jwk.n, e: jwk.e, kid }),
    });
    expect((await sshCertificateRequestData(spki, "my-key")).key_id).toBe("my-key");
  });
});
