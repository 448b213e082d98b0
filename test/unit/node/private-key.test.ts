/**
 * normalisePrivateKey, certificateThumbprints and certificateDerBase64 against keys and
 * certificates written by the OpenSSL 3 command line: PKCS#8, encrypted PKCS#8, PKCS#1 and SEC 1,
 * with OpenSSL's "Proc-Type: 4,ENCRYPTED" form, as PEM and as DER.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MsalError } from "../../../src/errors.js";
import {
  CredentialError,
  certificateDerBase64,
  certificateThumbprints,
  normalisePrivateKey,
} from "../../../src/node/private-key.js";

let dir = "";
const openssl = (...args: string[]) => execFileSync("/usr/bin/openssl", args, { cwd: dir, stdio: "pipe" });
const file = (name: string) => readFileSync(join(dir, name));
const text = (name: string) => readFileSync(join(dir, name), "utf8");

/** Runs openssl with the words of `command` (split on spaces) as arguments. */
const run = (command: string) => openssl(...command.split(" "));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "msal-ts-private-key-"));
  run("req -x509 -nodes -subj /CN=test -days 2 -newkey rsa:2048 -keyout k.pem -out c.pem");
  run("pkey -in k.pem -aes256 -passout pass:secret -out pkcs8-enc.pem");
  run("rsa -in k.pem -traditional -out pkcs1.pem");
  run("rsa -in k.pem -aes256 -traditional -passout pass:secret -out pkcs1-enc.pem");
  run("pkey -in k.pem -outform DER -out k.der");
  run("rsa -in k.pem -traditional -outform DER -out pkcs1.der");
  const topk8 = "pkcs8 -topk8 -in k.pem -passout pass:secret";
  run(`${topk8} -v2 aes-128-cbc -v2prf hmacWithSHA1 -outform DER -out pkcs8-enc.der`);
  run(`${topk8} -v1 PBE-SHA1-3DES -out pkcs8-pbe-3des.pem`);
  run(`${topk8} -iter 600000 -out iter-ceiling.pem`);
  run(`${topk8} -iter 600001 -out iter-over.pem`);
  run(`${topk8} -v1 PBE-SHA1-3DES -iter 600001 -out pbe-iter-over.pem`);
  run(`${topk8} -scrypt -scrypt_N 16384 -scrypt_r 8 -scrypt_p 9 -out scrypt-over.pem`);

  const ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
  run(`req -x509 -nodes -subj /CN=ec -days 2 ${ec} -keyout ec-k.pem -out ec-c.pem`);
  run("ec -in ec-k.pem -out sec1.pem");
  run("ec -in ec-k.pem -aes256 -passout pass:secret -out sec1-enc.pem");
  run("ec -in ec-k.pem -outform DER -out sec1.der");

  run("genpkey -algorithm ed25519 -out ed25519.pem");
  run("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out k1.pem");
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const spki = (key: string) => createPublicKey(key).export({ type: "spki", format: "der" });

function expectSameKey(pkcs8Pem: string, original: string, cert: string): void {
  expect(pkcs8Pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
  expect(spki(pkcs8Pem).equals(spki(text(original)))).toBe(true);
  const data = Buffer.from("client assertion");
  expect(
    verify("sha256", data, new X509Certificate(text(cert)).publicKey, sign("sha256", data, pkcs8Pem)),
  ).toBe(true);
}

function thrown(fn: () => unknown): CredentialError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CredentialError);
    expect(e).toBeInstanceOf(MsalError);
    return e as CredentialError;
  }
  throw new Error("expected a CredentialError");
}

const REQUIRED =
  "The private key is encrypted and no passphrase was given: pass the passphrase it was encrypted with.";
const WRONG =
  "The private key could not be decrypted with the passphrase given: the passphrase is wrong. Pass the passphrase the key was encrypted with.";
const MALFORMED =
  'The private key could not be read: give a PEM private key (PKCS#8 "PRIVATE KEY" or "ENCRYPTED PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY") or its DER bytes.';

describe("normalisePrivateKey", () => {
  it.each<[string, string | undefined, string]>([
    ["k.pem", undefined, "PKCS#8"],
    ["pkcs8-enc.pem", "secret", "encrypted PKCS#8 (PBES2, AES-256)"],
    ["pkcs8-pbe-3des.pem", "secret", "encrypted PKCS#8 (PKCS#12 3DES PBE)"],
    ["pkcs1.pem", undefined, "PKCS#1"],
    ["pkcs1-enc.pem", "secret", "PKCS#1 with Proc-Type: 4,ENCRYPTED"],
  ])("reads %s (%s) as an RSA key", (name, passphrase, _format) => {
    const result = normalisePrivateKey(text(name), passphrase);
    expect(result.publicKeyAlgorithm).toBe("rsa");
    expectSameKey(result.pkcs8Pem, "k.pem", "c.pem");
  });

  it("checks the fixtures are the formats they claim to be", () => {
    expect(text("pkcs8-enc.pem")).toContain("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    expect(text("pkcs1.pem")).toContain("-----BEGIN RSA PRIVATE KEY-----");
    expect(text("pkcs1-enc.pem")).toMatch(
      /-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,/,
    );
    expect(text("sec1-enc.pem")).toMatch(/-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n/);
  });

  it.each([
    ["ec-k.pem", undefined],
    ["sec1.pem", undefined],
    ["sec1-enc.pem", "secret"],
  ])("reads %s as an EC key", (name, passphrase) => {
    const result = normalisePrivateKey(text(name), passphrase);
    expect(result.publicKeyAlgorithm).toBe("ec");
    expectSameKey(result.pkcs8Pem, "ec-k.pem", "ec-c.pem");
  });

  it("reads DER bytes and PEM bytes", () => {
    expectSameKey(normalisePrivateKey(file("k.der")).pkcs8Pem, "k.pem", "c.pem");
    expectSameKey(normalisePrivateKey(file("pkcs1.der")).pkcs8Pem, "k.pem", "c.pem");
    expectSameKey(normalisePrivateKey(file("pkcs8-enc.der"), "secret").pkcs8Pem, "k.pem", "c.pem");
    expectSameKey(normalisePrivateKey(file("sec1.der")).pkcs8Pem, "ec-k.pem", "ec-c.pem");
    expectSameKey(normalisePrivateKey(file("pkcs1-enc.pem"), "secret").pkcs8Pem, "k.pem", "c.pem");
  });

  it("reads the key out of a PEM file that also holds the certificate", () => {
    expectSameKey(normalisePrivateKey(text("c.pem") + text("k.pem")).pkcs8Pem, "k.pem", "c.pem");
  });

  it("ignores a passphrase for a key that is not encrypted", () => {
    expectSameKey(normalisePrivateKey(text("k.pem"), "unused").pkcs8Pem, "k.pem", "c.pem");
  });

  it("asks for the passphrase of an encrypted key", () => {
    for (const name of ["pkcs8-enc.pem", "pkcs1-enc.pem", "sec1-enc.pem"]) {
      for (const passphrase of [undefined, ""]) {
        const error = thrown(() => normalisePrivateKey(text(name), passphrase));
        expect(error.code).toBe("private_key_passphrase_required");
        expect(error.message).toBe(REQUIRED);
      }
    }
    expect(thrown(() => normalisePrivateKey(file("pkcs8-enc.der"))).code).toBe(
      "private_key_passphrase_required",
    );
  });

  it("says the passphrase is wrong", () => {
    for (const name of ["pkcs8-enc.pem", "pkcs8-pbe-3des.pem", "pkcs1-enc.pem", "sec1-enc.pem"]) {
      const error = thrown(() => normalisePrivateKey(text(name), "wrong"));
      expect(error.code).toBe("private_key_wrong_passphrase");
      expect(error.message).toBe(WRONG);
    }
    expect(thrown(() => normalisePrivateKey(file("pkcs8-enc.der"), "wrong")).code).toBe(
      "private_key_wrong_passphrase",
    );
  });

  it("refuses what is not a private key", () => {
    for (const input of [
      "not a key",
      text("c.pem"),
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      Buffer.from([1, 2, 3]),
      Buffer.from("30030201", "hex"),
    ]) {
      const error = thrown(() => normalisePrivateKey(input));
      expect(error.code).toBe("private_key_malformed");
      expect(error.message).toBe(MALFORMED);
    }
  });

  it("refuses keys that cannot sign client assertions", () => {
    let error = thrown(() => normalisePrivateKey(text("ed25519.pem")));
    expect(error.code).toBe("private_key_unsupported_algorithm");
    expect(error.message).toBe(
      "The private key is a key of type ed25519; client assertions are signed with RSA keys or EC keys on P-256, P-384 or P-521: use one of those.",
    );
    error = thrown(() => normalisePrivateKey(text("k1.pem")));
    expect(error.code).toBe("private_key_unsupported_algorithm");
    expect(error.message).toContain("an EC key on curve secp256k1");
  });

  it("gives a key Node reads back as the same unencrypted key", () => {
    const { pkcs8Pem } = normalisePrivateKey(text("pkcs8-enc.pem"), "secret");
    expect(createPrivateKey(pkcs8Pem).export({ type: "pkcs8", format: "pem" })).toBe(text("k.pem"));
  });
});

describe("normalisePrivateKey limits", () => {
  const limitMessage = (detail: string) =>
    `The private key was refused before decrypting it: ${detail}. It is damaged or made to exhaust the machine that reads it; if it is yours, encrypt it again with OpenSSL 3's defaults: openssl pkcs8 -topk8 -in key.pem -out key-encrypted.pem.`;

  it("reads a key encrypted with 600,000 PBKDF2 iterations, the most it allows", () => {
    expectSameKey(normalisePrivateKey(text("iter-ceiling.pem"), "secret").pkcs8Pem, "k.pem", "c.pem");
  });

  it("refuses more iterations, or a costlier scrypt, before OpenSSL decrypts", () => {
    const cases: [string, string][] = [
      ["iter-over.pem", "the iteration count is 600001, above the limit of 600000"],
      ["pbe-iter-over.pem", "the iteration count is 600001, above the limit of 600000"],
      ["scrypt-over.pem", "scrypt's cost N × r × p is 1179648, above the limit of 1048576"],
    ];
    for (const [name, detail] of cases) {
      for (const passphrase of ["secret", undefined]) {
        const start = performance.now();
        const error = thrown(() => normalisePrivateKey(text(name), passphrase));
        expect(performance.now() - start).toBeLessThan(100);
        expect(error.code).toBe("private_key_limit_exceeded");
        expect(error.message).toBe(limitMessage(detail));
      }
    }
  });

  it("refuses input over 1 MiB without parsing it", () => {
    const padded = text("k.pem") + " ".repeat(1024 * 1024);
    const error = thrown(() => normalisePrivateKey(padded));
    expect(error.code).toBe("private_key_limit_exceeded");
    expect(error.message).toBe(limitMessage(`it is ${padded.length} bytes, above the limit of 1048576`));
    expect(thrown(() => normalisePrivateKey(Buffer.from(padded))).code).toBe("private_key_limit_exceeded");
  });
});

describe("certificate helpers", () => {
  const fingerprint = (cert: string, digest: string) =>
    openssl("x509", "-in", cert, "-noout", "-fingerprint", `-${digest}`)
      .toString()
      .trim()
      .replace(/^.*=/, "")
      .replaceAll(":", "");

  it("gives the thumbprints openssl gives", () => {
    for (const cert of ["c.pem", "ec-c.pem"]) {
      const thumbprints = certificateThumbprints(text(cert));
      expect(thumbprints).toEqual({ sha1: fingerprint(cert, "sha1"), sha256: fingerprint(cert, "sha256") });
      expect(thumbprints.sha1).toMatch(/^[0-9A-F]{40}$/);
      expect(thumbprints.sha256).toMatch(/^[0-9A-F]{64}$/);
    }
  });

  it("gives the DER as one base64 string", () => {
    const pem = text("c.pem");
    const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
    expect(certificateDerBase64(pem)).toBe(body);
    expect(
      Buffer.from(certificateDerBase64(pem), "base64").equals(
        openssl("x509", "-in", "c.pem", "-outform", "DER"),
      ),
    ).toBe(true);
  });

  it("refuses what is not a certificate", () => {
    for (const fn of [() => certificateThumbprints("nope"), () => certificateDerBase64(text("k.pem"))]) {
      const error = thrown(fn);
      expect(error.code).toBe("certificate_malformed");
      expect(error.message).toBe(
        'The certificate could not be read: give a PEM certificate ("-----BEGIN CERTIFICATE-----").',
      );
    }
  });
});
