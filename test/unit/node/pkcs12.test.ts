/**
 * The PKCS#12 reader against files written by the OpenSSL 3 command line (modern defaults,
 * `-legacy`, empty passphrase, no MAC, chains, EC, unencrypted bags), a BER re-encoding of one,
 * damaged input, and RC2 against RFC 2268's vectors and OpenSSL's own RC2-CBC.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explicit, octets, parseDer, sequence } from "../../../src/node/der.js";
import { CredentialError, type Pkcs12Contents, readPkcs12 } from "../../../src/node/pkcs12.js";
import { certificateThumbprints } from "../../../src/node/private-key.js";
import { opensslHasRc2, rc2CbcDecrypt, rc2DecryptBlock, rc2ExpandKey } from "../../../src/node/rc2.js";

let dir = "";
const openssl = (...args: string[]) => execFileSync("/usr/bin/openssl", args, { cwd: dir, stdio: "pipe" });
const file = (name: string) => readFileSync(join(dir, name));
const text = (name: string) => readFileSync(join(dir, name), "utf8");
/** Runs openssl with the words of `command` (split on spaces) and then `more` as arguments. */
const run = (command: string, ...more: string[]) => openssl(...command.split(" "), ...more);
const exportPfx = (out: string, options = "", key = "k.pem", cert = "c.pem") =>
  run(`pkcs12 -export -inkey ${key} -in ${cert} -out ${out} -passout pass:secret ${options}`.trim());

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "msal-ts-pkcs12-"));
  const selfSigned = (key: string, cert: string, cn: string, newKey: string, ...more: string[]) =>
    run(`req -x509 ${newKey} -nodes -keyout ${key} -out ${cert} -days 2 -subj`, `/CN=${cn}`, ...more);
  selfSigned("k.pem", "c.pem", "test", "-newkey rsa:2048");
  exportPfx("modern.pfx");
  exportPfx("legacy.pfx", "-legacy");
  exportPfx("empty.pfx", "-passout pass:");
  exportPfx("empty-legacy.pfx", "-legacy -passout pass:");
  exportPfx("nomac.pfx", "-nomac");
  exportPfx("plain.pfx", "-keypbe NONE -certpbe NONE");
  exportPfx("rc2-128.pfx", "-legacy -keypbe PBE-SHA1-RC2-128 -certpbe PBE-SHA1-2DES");
  exportPfx("pbes2-rc2.pfx", "-legacy -certpbe RC2-CBC -keypbe DES-EDE3-CBC");
  exportPfx("aes128.pfx", "-keypbe AES-128-CBC -certpbe AES-192-CBC -macalg sha512");
  exportPfx("rc4.pfx", "-legacy -keypbe PBE-SHA1-RC4-128");
  run("pkcs12 -export -nokeys -in c.pem -out certs-only.pfx -passout pass:secret");
  run("pkcs12 -export -nocerts -inkey k.pem -out key-only.pfx -passout pass:secret");

  selfSigned("ec-k.pem", "ec-c.pem", "ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256");
  exportPfx("ec.pfx", "", "ec-k.pem", "ec-c.pem");

  // root -> intermediate -> leaf; -certfile lists root first, so the file order is leaf, root, intermediate.
  const caExtensions = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
  writeFileSync(join(dir, "ca.ext"), caExtensions);
  const [basic, usage] = caExtensions.trim().split("\n") as [string, string];
  selfSigned("root-k.pem", "root.pem", "test root", "-newkey rsa:2048", "-addext", basic, "-addext", usage);
  const issue = (name: string, issuer: string, extensions = "") => {
    run(`req -new -newkey rsa:2048 -nodes -keyout ${name}-k.pem -out ${name}.csr -subj`, `/CN=test ${name}`);
    const ca = `-CA ${issuer}.pem -CAkey ${issuer}-k.pem -CAcreateserial ${extensions}`.trim();
    run(`x509 -req -in ${name}.csr ${ca} -out ${name}.pem -days 2`);
  };
  issue("inter", "root", "-extfile ca.ext");
  issue("leaf", "inter");
  writeFileSync(join(dir, "cas.pem"), text("root.pem") + text("inter.pem"));
  exportPfx("chain.pfx", "-certfile cas.pem", "leaf-k.pem", "leaf.pem");
  exportPfx("iter-ceiling.pfx", "-iter 600000");
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The extracted key is the original key: same public key, and its signatures verify with the cert. */
function expectKeyPair(contents: Pkcs12Contents, keyFile: string, certFile: string): void {
  expect(contents.privateKeyPem).toMatch(
    /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/,
  );
  const spki = (k: string) => createPublicKey(k).export({ type: "spki", format: "der" });
  expect(spki(contents.privateKeyPem).equals(spki(text(keyFile)))).toBe(true);
  expect(contents.certificatePem).toBe(text(certFile));
  const data = Buffer.from("client assertion");
  const signature = sign("sha256", data, contents.privateKeyPem);
  expect(verify("sha256", data, new X509Certificate(contents.certificatePem).publicKey, signature)).toBe(
    true,
  );
}

function thrown(fn: () => unknown): CredentialError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CredentialError);
    return e as CredentialError;
  }
  throw new Error("expected a CredentialError");
}

const WRONG =
  "The PFX / PKCS#12 file could not be opened with the passphrase given: the passphrase is wrong. Pass the passphrase the file was exported with.";
const NONE_GIVEN =
  "The PFX / PKCS#12 file is protected by a passphrase and none was given. Pass the passphrase the file was exported with.";
const malformedMessage = (detail: string) =>
  `The PFX / PKCS#12 file could not be read: it is damaged or not a PKCS#12 file (${detail}). Export it again with OpenSSL 3's defaults: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx.`;

describe("readPkcs12", () => {
  it.each([
    ["modern.pfx", "OpenSSL 3 defaults: PBES2, AES-256-CBC, SHA-256 MAC"],
    ["legacy.pfx", "-legacy: 3DES key, 40-bit RC2 certificates, SHA-1 MAC"],
    ["nomac.pfx", "no MAC"],
    ["plain.pfx", "unencrypted keyBag and certificates"],
    ["rc2-128.pfx", "128-bit RC2 key, 2-key 3DES certificates"],
    ["pbes2-rc2.pfx", "PBES2 with RC2-CBC and with DES-EDE3-CBC"],
    ["aes128.pfx", "PBES2 with AES-128 and AES-192, SHA-512 MAC"],
  ])("reads %s (%s)", (name) => {
    const contents = readPkcs12(file(name), "secret");
    expectKeyPair(contents, "k.pem", "c.pem");
    expect(contents.chainPem).toEqual([text("c.pem")]);
  });

  it("reads a file exported with an empty passphrase, given as empty or left out", () => {
    for (const name of ["empty.pfx", "empty-legacy.pfx"]) {
      expectKeyPair(readPkcs12(file(name)), "k.pem", "c.pem");
      expectKeyPair(readPkcs12(file(name), ""), "k.pem", "c.pem");
    }
  });

  it("reads an EC key", () => {
    const contents = readPkcs12(file("ec.pfx"), "secret");
    expectKeyPair(contents, "ec-k.pem", "ec-c.pem");
    expect(createPrivateKey(contents.privateKeyPem).asymmetricKeyType).toBe("ec");
  });

  it("gives the whole chain, leaf first and each certificate followed by its issuer", () => {
    const contents = readPkcs12(file("chain.pfx"), "secret");
    expectKeyPair(contents, "leaf-k.pem", "leaf.pem");
    expect(contents.chainPem).toEqual([text("leaf.pem"), text("inter.pem"), text("root.pem")]);
  });

  it("reads BER: indefinite lengths and a constructed OCTET STRING", () => {
    const der = file("modern.pfx");
    const [version, authSafe, macData] = sequence(parseDer(der), "PFX");
    const [type, content] = sequence(authSafe, "authSafe");
    const data = octets(explicit(content, 0, "content"));
    const length = (n: number) => (n < 128 ? [n] : [0x82, n >> 8, n & 0xff]);
    const tlv = (tag: number, value: Uint8Array) =>
      Buffer.concat([Buffer.from([tag, ...length(value.length)]), value]);
    const indefinite = (tag: number, ...parts: Uint8Array[]) =>
      Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.alloc(2)]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 500) chunks.push(tlv(0x04, data.subarray(i, i + 500)));
    const ber = indefinite(
      0x30,
      (version as { encoded: Uint8Array }).encoded,
      indefinite(
        0x30,
        (type as { encoded: Uint8Array }).encoded,
        indefinite(0xa0, indefinite(0x24, ...chunks)),
      ),
      (macData as { encoded: Uint8Array }).encoded,
    );
    expect(ber.equals(der)).toBe(false);
    expectKeyPair(readPkcs12(ber, "secret"), "k.pem", "c.pem");
  });

  it("says the passphrase is wrong when the MAC does not match", () => {
    for (const name of ["modern.pfx", "legacy.pfx", "empty.pfx"]) {
      const error = thrown(() => readPkcs12(file(name), "wrong"));
      expect(error.code).toBe("pfx_wrong_passphrase");
      expect(error.message).toBe(WRONG);
    }
    const error = thrown(() => readPkcs12(file("modern.pfx")));
    expect(error.code).toBe("pfx_wrong_passphrase");
    expect(error.message).toBe(NONE_GIVEN);
  });

  it("says the passphrase is wrong when there is no MAC and nothing decrypts", () => {
    const error = thrown(() => readPkcs12(file("nomac.pfx"), "wrong"));
    expect(error.code).toBe("pfx_wrong_passphrase");
    expect(error.message).toBe(WRONG);
  });

  it("reports damaged files as pfx_malformed", () => {
    const pfx = file("modern.pfx");
    let error = thrown(() => readPkcs12(pfx.subarray(0, pfx.length - 100), "secret"));
    expect(error.code).toBe("pfx_malformed");
    expect(error.message).toBe(malformedMessage("ASN.1 element is truncated"));

    error = thrown(() => readPkcs12(Buffer.from(text("c.pem")), "secret"));
    expect(error.code).toBe("pfx_malformed");

    error = thrown(() => readPkcs12(new Uint8Array(0), "secret"));
    expect(error.code).toBe("pfx_malformed");

    const version2 = Buffer.from(pfx);
    expect(version2.subarray(4, 7).toString("hex")).toBe("020103");
    version2[6] = 2;
    error = thrown(() => readPkcs12(version2, "secret"));
    expect(error.code).toBe("pfx_malformed");
    expect(error.message).toBe(malformedMessage("version 2, expected 3"));
  });

  it("a changed byte under the MAC reads as a wrong passphrase (the MAC cannot tell them apart)", () => {
    const pfx = Buffer.from(file("modern.pfx"));
    pfx[200] = (pfx[200] ?? 0) ^ 1;
    expect(thrown(() => readPkcs12(pfx, "secret")).code).toBe("pfx_wrong_passphrase");
  });

  it("names the OID of an algorithm it cannot read", () => {
    const error = thrown(() => readPkcs12(file("rc4.pfx"), "secret"));
    expect(error.code).toBe("pfx_unsupported_algorithm");
    expect(error.message).toContain("pbeWithSHAAnd128BitRC4 (OID 1.2.840.113549.1.12.1.1)");
  });

  it("refuses a file without a private key", () => {
    const error = thrown(() => readPkcs12(file("certs-only.pfx"), "secret"));
    expect(error.code).toBe("pfx_no_private_key");
    expect(error.message).toBe(
      "The PFX / PKCS#12 file has no private key, only certificates. Export it again with the private key: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx.",
    );
  });

  it("refuses a file whose key has no certificate", () => {
    const error = thrown(() => readPkcs12(file("key-only.pfx"), "secret"));
    expect(error.code).toBe("pfx_no_matching_certificate");
    expect(error.message).toBe(
      "The PFX / PKCS#12 file has a private key but no certificate. Export it again with the key's certificate: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx.",
    );
  });

  it("gives thumbprints equal to openssl's fingerprints", () => {
    const { certificatePem } = readPkcs12(file("legacy.pfx"), "secret");
    const fingerprint = (digest: string) =>
      openssl("x509", "-in", "c.pem", "-noout", "-fingerprint", `-${digest}`)
        .toString()
        .trim()
        .replace(/^.*=/, "")
        .replaceAll(":", "");
    expect(certificateThumbprints(certificatePem)).toEqual({
      sha1: fingerprint("sha1"),
      sha256: fingerprint("sha256"),
    });
  });
});

describe("readPkcs12 limits", () => {
  const limitMessage = (detail: string) =>
    `The PFX / PKCS#12 file was refused before reading it: ${detail}. It is damaged or made to exhaust the machine that reads it; if it is yours, export it again with OpenSSL 3's defaults: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx.`;
  const hex = (h: string) => Buffer.from(h.replaceAll(" ", ""), "hex");
  /** DER with the length in three octets whenever it is 128 or more (valid BER, and what we read). */
  const tlv = (tag: number, ...parts: Uint8Array[]) => {
    const value = Buffer.concat(parts);
    const n = value.length;
    const length = n < 128 ? [n] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
    return Buffer.concat([Buffer.from([tag, ...length]), value]);
  };
  const seq = (...parts: Uint8Array[]) => tlv(0x30, ...parts);
  const DATA = hex("06 09 2a864886f70d010701");
  const SECRET_BAG = hex("06 0b 2a864886f70d010c0a0105");
  /** An unencrypted PFX without MAC: one `data` content (a SafeContents) per list of bags. */
  const pfxWithBags = (...contents: Buffer[][]) => {
    const infos = contents.map((bags) => tlv(0x30, DATA, tlv(0xa0, tlv(0x04, tlv(0x30, ...bags)))));
    return tlv(0x30, hex("020103"), tlv(0x30, DATA, tlv(0xa0, tlv(0x04, tlv(0x30, ...infos)))));
  };

  it("reads a file exported with 600,000 iterations, the most it allows", () => {
    expectKeyPair(readPkcs12(file("iter-ceiling.pfx"), "secret"), "k.pem", "c.pem");
  });

  it("refuses a MAC with 600,001 iterations before computing it", () => {
    const pfx = Buffer.from(file("iter-ceiling.pfx"));
    // MacData ends the file: ..., salt, iterations INTEGER 600000 (02 03 09 27 c0).
    expect(pfx.subarray(-5).toString("hex")).toBe("02030927c0");
    pfx[pfx.length - 1] = 0xc1;
    const start = performance.now();
    const error = thrown(() => readPkcs12(pfx, "secret"));
    expect(performance.now() - start).toBeLessThan(100);
    expect(error.code).toBe("pfx_limit_exceeded");
    expect(error.message).toBe(limitMessage("the iteration count is 600001, above the limit of 600000"));
  });

  it("refuses key derivation adding up to more than 1.8 million hash iterations, before running it", () => {
    // PBES2 with RC2-CBC and a 128-byte key: 600,000 PBKDF2-HMAC-SHA1 iterations for each of 7 blocks.
    const salt = tlv(0x04, Buffer.alloc(8));
    const pbkdf2 = seq(hex("06092a864886f70d01050c"), seq(salt, hex("02030927c0"), hex("02020080")));
    const rc2 = seq(hex("06082a864886f70d0302"), seq(hex("02013a"), tlv(0x04, Buffer.alloc(8))));
    const pbes2 = seq(hex("06092a864886f70d01050d"), seq(pbkdf2, rc2));
    const encryptedContentInfo = seq(DATA, pbes2, tlv(0x80, Buffer.alloc(16)));
    const encryptedData = seq(
      hex("06092a864886f70d010706"),
      tlv(0xa0, seq(hex("020100"), encryptedContentInfo)),
    );
    const pfx = seq(hex("020103"), seq(DATA, tlv(0xa0, tlv(0x04, seq(encryptedData)))));
    const start = performance.now();
    const error = thrown(() => readPkcs12(pfx, "secret"));
    expect(performance.now() - start).toBeLessThan(100);
    expect(error.code).toBe("pfx_limit_exceeded");
    expect(error.message).toBe(
      limitMessage("deriving its keys takes more than 1800000 hash iterations in all"),
    );
  });

  it("refuses BER whose indefinite lengths would be read over and over", () => {
    // Each of 44 nested indefinite-length OCTET STRINGs also holds 4000 NULLs; finding where one
    // ends means reading everything inside it, again at every level.
    const indefinite = (tag: string, ...parts: Buffer[]) =>
      Buffer.concat([hex(`${tag}80`), ...parts, hex("0000")]);
    const nulls = indefinite("30", ...Array(4000).fill(hex("0500")));
    let nested = hex("0400");
    for (let level = 0; level < 44; level++) nested = indefinite("24", nested, nulls);
    const pfx = tlv(0x30, hex("020103"), tlv(0x30, DATA, tlv(0xa0, nested)));
    const start = performance.now();
    const error = thrown(() => readPkcs12(pfx, "secret"));
    expect(performance.now() - start).toBeLessThan(500);
    expect(error.code).toBe("pfx_limit_exceeded");
    expect(error.message).toBe(limitMessage("reading it takes more than 131072 ASN.1 element reads"));
  });

  it("refuses a file over 1 MiB without parsing it", () => {
    const error = thrown(() => readPkcs12(Buffer.alloc(1024 * 1024 + 1, 0x30), "secret"));
    expect(error.code).toBe("pfx_limit_exceeded");
    expect(error.message).toBe(limitMessage("it is 1048577 bytes, above the limit of 1048576"));
  });

  it("refuses more than 256 bags", () => {
    const bag = tlv(0x30, SECRET_BAG, tlv(0xa0, hex("0500")));
    expect(thrown(() => readPkcs12(pfxWithBags(Array(256).fill(bag)), "secret")).code).toBe(
      "pfx_no_private_key",
    );
    const error = thrown(() => readPkcs12(pfxWithBags(Array(257).fill(bag)), "secret"));
    expect(error.code).toBe("pfx_limit_exceeded");
    expect(error.message).toBe(limitMessage("SafeContents holds more than 256 elements"));
    // The bound is on the whole file: two SafeContents of 200 bags each are refused too.
    const twice = pfxWithBags(Array(200).fill(bag), Array(200).fill(bag));
    const error2 = thrown(() => readPkcs12(twice, "secret"));
    expect(error2.code).toBe("pfx_limit_exceeded");
    expect(error2.message).toBe(limitMessage("it holds more than 256 bags in all"));
  });

  it("refuses a bag with more than 32 attributes", () => {
    const attribute = tlv(0x30, hex("06 09 2a864886f70d010915"), tlv(0x31, tlv(0x04, hex("01"))));
    const bag = tlv(0x30, SECRET_BAG, tlv(0xa0, hex("0500")), tlv(0x31, ...Array(33).fill(attribute)));
    const error = thrown(() => readPkcs12(pfxWithBags([bag]), "secret"));
    expect(error.code).toBe("pfx_limit_exceeded");
    expect(error.message).toBe(limitMessage("bagAttributes holds more than 32 elements"));
  });
});

describe("RC2 (RFC 2268)", () => {
  // RFC 2268 section 5: key, effective key bits, plaintext, ciphertext.
  const vectors: [string, number, string, string][] = [
    ["0000000000000000", 63, "0000000000000000", "ebb773f993278eff"],
    ["ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"],
    ["3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"],
    ["88", 64, "0000000000000000", "61a8a244adacccf0"],
    ["88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"],
    ["88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"],
    ["88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"],
    [
      "88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e",
      129,
      "0000000000000000",
      "5b78d3a43dfff1f1",
    ],
  ];

  it.each(vectors)("key %s, %i effective bits", (key, bits, plain, cipher) => {
    const block = Buffer.from(cipher, "hex");
    rc2DecryptBlock(rc2ExpandKey(Buffer.from(key, "hex"), bits), block, 0);
    expect(block.toString("hex")).toBe(plain);
    // One block of CBC with a zero IV is the same operation.
    expect(
      rc2CbcDecrypt(Buffer.from(key, "hex"), bits, Buffer.alloc(8), Buffer.from(cipher, "hex")).toString(
        "hex",
      ),
    ).toBe(plain);
  });

  it("decrypts what OpenSSL's RC2-CBC (legacy provider) encrypts", () => {
    const plain = Buffer.from("several blocks of text, padded by openssl enc");
    writeFileSync(join(dir, "rc2-plain.bin"), plain);
    const iv = "0001020304050607";
    for (const [cipher, key, bits] of [
      ["rc2-40-cbc", "0102030405", 40],
      ["rc2-64-cbc", "0102030405060708", 64],
      ["rc2-cbc", "000102030405060708090a0b0c0d0e0f", 128],
    ] as const) {
      const args = ["enc", `-${cipher}`, "-K", key, "-iv", iv, "-in", "rc2-plain.bin", "-provider", "legacy"];
      const encrypted = openssl(...args, "-provider", "default");
      const padded = rc2CbcDecrypt(Buffer.from(key, "hex"), bits, Buffer.from(iv, "hex"), encrypted);
      const pad = padded.length - plain.length;
      expect(padded.subarray(0, plain.length).equals(plain)).toBe(true);
      expect([...padded.subarray(plain.length)]).toEqual(Array(pad).fill(pad));
    }
  });

  it("is this file's RC2 when Node's OpenSSL has none", () => {
    // Node 20 with OpenSSL 3 and no legacy provider: no RC2 in crypto, so src/node/rc2.ts decrypts.
    expect(typeof opensslHasRc2()).toBe("boolean");
  });
});
