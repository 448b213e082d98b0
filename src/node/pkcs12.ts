/**
 * A PKCS#12 / PFX reader (RFC 7292) on `node:crypto`, which cannot read PKCS#12 itself. It gives
 * the private key and its certificate from files written by `openssl pkcs12 -export` (OpenSSL 3
 * defaults: PBES2 with AES-256-CBC, SHA-256 MAC), `-legacy` (3DES keys, 40-bit RC2 certificates,
 * SHA-1 MAC) and other tools that write the same algorithms (Windows' certificate export, Java's
 * keytool, .NET), including BER's indefinite lengths.
 *
 * Supported: password integrity (HMAC with the PKCS#12 KDF: SHA-1, SHA-2, MD5) or none (`-nomac`);
 * `data` and `encryptedData` contents; key bags, shrouded key bags, X.509 certificate bags and
 * nested safe-contents bags; PBES2 (PBKDF2 with HMAC-SHA-1/SHA-2; AES-128/192/256-CBC,
 * DES-EDE3-CBC, RC2-CBC) and the PKCS#12 PBEs with SHA-1 (3-key and 2-key 3DES, 128-bit and 40-bit
 * RC2). Not supported, with an error naming the OID: public-key privacy and integrity modes,
 * RC4, single DES, scrypt and PBMAC1.
 *
 * The file may be hostile, so what it asks for is checked before it is done: its size, the
 * iteration counts and total key-derivation work (`CREDENTIAL_LIMITS` in `./private-key.ts`),
 * key, IV and MAC lengths against their algorithms, how many bags, attributes and contents it
 * holds, and how deep it nests (`./der.ts`). Breaking a limit is `pfx_limit_exceeded`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7292
 * @see https://www.rfc-editor.org/rfc/rfc8018
 */

import type { KeyObject, X509Certificate } from "node:crypto";
import { nodeCrypto } from "./builtins.js";
import {
  DerLimitError,
  type DerNode,
  explicit,
  integer,
  isContext,
  octets,
  oid,
  parseDer,
  sequence,
  set,
} from "./der.js";
import {
  type DerivationBudget,
  HASHES,
  iterationCount,
  pbeDecrypt,
  pfxLimit,
  pfxMalformed,
  pfxUnsupported,
  pkcs12Kdf,
  type Secret,
  saltOf,
  secrets,
} from "./pbe.js";
import { CREDENTIAL_LIMITS, CredentialError } from "./private-key.js";

export { CredentialError, type CredentialErrorCode } from "./private-key.js";

/** What {@link readPkcs12} found in a PFX file. */
export interface Pkcs12Contents {
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted. */
  privateKeyPem: string;
  /** The certificate that matches the key, PEM. */
  certificatePem: string;
  /** Every certificate in the file, leaf first (the matching one), PEM. */
  chainPem: string[];
}

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  safeContentsBag: "1.2.840.113549.1.12.10.1.6",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  localKeyId: "1.2.840.113549.1.9.21",
} as const;

function wrongPassphrase(passphrase: string): CredentialError {
  const what =
    passphrase === ""
      ? "is protected by a passphrase and none was given"
      : "could not be opened with the passphrase given: the passphrase is wrong";
  return new CredentialError(
    "pfx_wrong_passphrase",
    `The PFX / PKCS#12 file ${what}. Pass the passphrase the file was exported with.`,
  );
}

/**
 * How many of each thing one file may hold. Files from OpenSSL, Windows and Java hold 2
 * contents, one key and its chain (a handful of certificates); pairing keys with certificates
 * and ordering the chain cost keys × certificates and certificates², so both are bounded.
 */
const PFX_LIMITS = {
  /** ContentInfos in the AuthenticatedSafe. */
  contents: 64,
  /** Bags in the whole file, nested ones included. */
  bags: 256,
  /** Private keys in the whole file. */
  keys: 16,
  /** Attributes of one bag (OpenSSL writes 2, Windows up to 4). */
  attributes: 32,
  /** SafeContents nested in safeContentsBags. */
  safeContentsDepth: 4,
} as const;

/** The state of one read: passphrase readings (the MAC-verified one first) and what was found. */
interface Reader {
  passphrase: string;
  secrets: Secret[];
  keys: { key: KeyObject; localKeyId: Buffer | undefined }[];
  certs: { cert: X509Certificate; localKeyId: Buffer | undefined }[];
  bags: number;
  budget: DerivationBudget;
}

/** Decrypts to DER, trying each passphrase reading; a wrong key fails the padding or the DER. */
function decrypt(reader: Reader, algorithm: DerNode, data: Uint8Array): Buffer {
  for (const secret of reader.secrets) {
    const plain = pbeDecrypt(algorithm, data, secret, reader.budget);
    if (!plain) continue;
    try {
      parseDer(plain);
      return plain;
    } catch (e) {
      if (e instanceof DerLimitError) throw e;
    }
  }
  throw wrongPassphrase(reader.passphrase);
}

function verifyMac(reader: Reader, macData: DerNode, content: Uint8Array): void {
  const [digestInfo, saltNode, iterationsNode] = sequence(macData, "MacData");
  const [algorithm, digestNode] = sequence(digestInfo, "DigestInfo");
  const algorithmOid = oid(sequence(algorithm, "digestAlgorithm")[0]);
  const hash = HASHES[algorithmOid];
  if (!hash) throw pfxUnsupported(algorithmOid, "integrity check (MAC)");
  const expected = octets(digestNode, "MAC digest");
  if (expected.length !== hash.u) {
    throw pfxMalformed(`its ${hash.name} MAC is ${expected.length} bytes, not ${hash.u}`);
  }
  const salt = saltOf(saltNode, "MAC salt");
  const iterations = iterationsNode ? iterationCount(iterationsNode) : 1;
  for (const secret of reader.secrets) {
    const key = pkcs12Kdf(hash, secret.bmp, salt, 3, iterations, hash.u, reader.budget);
    const mac = nodeCrypto().createHmac(hash.name, key).update(content).digest();
    if (mac.length === expected.length && nodeCrypto().timingSafeEqual(mac, expected)) {
      reader.secrets = [secret, ...reader.secrets.filter((s) => s !== secret)];
      return;
    }
  }
  throw wrongPassphrase(reader.passphrase);
}

function localKeyId(attributes: DerNode | undefined): Buffer | undefined {
  if (!attributes) return undefined;
  for (const attribute of set(attributes, "bagAttributes", PFX_LIMITS.attributes)) {
    const [id, values] = sequence(attribute, "Attribute");
    if (oid(id) === OID.localKeyId) {
      const [value] = set(values, "localKeyId values");
      return Buffer.from(octets(value, "localKeyId"));
    }
  }
  return undefined;
}

function privateKey(pkcs8: Uint8Array): KeyObject {
  try {
    return nodeCrypto().createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  } catch (e) {
    throw pfxMalformed("a private key in it is not a valid PKCS#8 key", e);
  }
}

function readSafeContents(reader: Reader, safeContents: DerNode, depth: number): void {
  if (depth > PFX_LIMITS.safeContentsDepth) {
    throw pfxLimit(`safe contents are nested more than ${PFX_LIMITS.safeContentsDepth} deep`);
  }
  const bags = sequence(safeContents, "SafeContents", PFX_LIMITS.bags);
  reader.bags += bags.length;
  if (reader.bags > PFX_LIMITS.bags) throw pfxLimit(`it holds more than ${PFX_LIMITS.bags} bags in all`);
  for (const bag of bags) {
    const [idNode, valueNode, attributes] = sequence(bag, "SafeBag");
    const id = oid(idNode);
    const value = explicit(valueNode, 0, "SafeBag.bagValue");
    const keyId = localKeyId(attributes);
    const isKey = id === OID.keyBag || id === OID.shroudedKeyBag;
    if (isKey && reader.keys.length === PFX_LIMITS.keys) {
      throw pfxLimit(`it holds more than ${PFX_LIMITS.keys} private keys`);
    }
    if (id === OID.keyBag) {
      reader.keys.push({ key: privateKey(value.encoded), localKeyId: keyId });
    } else if (id === OID.shroudedKeyBag) {
      const [algorithm, encrypted] = sequence(value, "EncryptedPrivateKeyInfo");
      if (!algorithm) throw pfxMalformed("EncryptedPrivateKeyInfo is empty");
      const pkcs8 = decrypt(reader, algorithm, octets(encrypted, "encryptedData"));
      reader.keys.push({ key: privateKey(pkcs8), localKeyId: keyId });
    } else if (id === OID.certBag) {
      const [certId, certValue] = sequence(value, "CertBag");
      if (oid(certId) !== OID.x509Certificate) continue;
      const der = octets(explicit(certValue, 0, "CertBag.certValue"), "x509Certificate");
      let cert: X509Certificate;
      try {
        cert = new (nodeCrypto().X509Certificate)(Buffer.from(der));
      } catch (e) {
        throw pfxMalformed("a certificate in it cannot be parsed", e);
      }
      reader.certs.push({ cert, localKeyId: keyId });
    } else if (id === OID.safeContentsBag) {
      readSafeContents(reader, value, depth + 1);
    }
  }
}

function readContentInfo(reader: Reader, contentInfo: DerNode): void {
  const [typeNode, contentNode] = sequence(contentInfo, "ContentInfo");
  const type = oid(typeNode);
  let safeContents: Uint8Array;
  if (type === OID.data) {
    safeContents = octets(explicit(contentNode, 0, "ContentInfo.content"), "data");
  } else if (type === OID.encryptedData) {
    const [, encryptedContentInfo] = sequence(
      explicit(contentNode, 0, "ContentInfo.content"),
      "EncryptedData",
    );
    const [, algorithm, encrypted] = sequence(encryptedContentInfo, "EncryptedContentInfo");
    if (!algorithm) throw pfxMalformed("EncryptedContentInfo has no algorithm");
    if (!isContext(encrypted, 0)) return;
    safeContents = decrypt(reader, algorithm, octets(encrypted, "encryptedContent", true));
  } else {
    throw pfxUnsupported(type, "content");
  }
  readSafeContents(reader, parseDer(safeContents), 0);
}

function toPem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The key to use and its certificate: public keys must match; a matching `localKeyId` wins ties. */
function pair(reader: Reader): { key: KeyObject; cert: X509Certificate } {
  for (const { key, localKeyId: keyId } of reader.keys) {
    const matching = reader.certs.filter(({ cert }) => cert.checkPrivateKey(key));
    const best = matching.find((c) => keyId && c.localKeyId?.equals(keyId)) ?? matching[0];
    if (best) return { key, cert: best.cert };
  }
  throw new CredentialError(
    "pfx_no_matching_certificate",
    `The PFX / PKCS#12 file has a private key but ${reader.certs.length === 0 ? "no certificate" : "no certificate for it"}. Export it again with the key's certificate: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx.`,
  );
}

/** Orders certificates leaf first, then each one's issuer when the file has it, then the rest. */
function chain(leaf: X509Certificate, all: X509Certificate[]): X509Certificate[] {
  const rest = all.filter(
    (c, i) => !c.raw.equals(leaf.raw) && all.findIndex((d) => d.raw.equals(c.raw)) === i,
  );
  const ordered = [leaf];
  for (let current = leaf; ; ) {
    const index = rest.findIndex((c) => current.checkIssued(c) && !c.raw.equals(current.raw));
    const issuer = rest[index];
    if (!issuer) break;
    ordered.push(issuer);
    rest.splice(index, 1);
    current = issuer;
  }
  return [...ordered, ...rest];
}

/**
 * Reads a PKCS#12 / PFX file: checks its MAC with the passphrase, decrypts it, and gives the
 * private key, the certificate whose public key matches it, and every certificate in the file.
 * An absent passphrase and an empty one are the same (`openssl pkcs12 -export -passout pass:`).
 * When the file holds several keys, the first that has a certificate is used.
 *
 * A file that asks for more than a real one needs (over 1 MiB, more than 600,000 iterations,
 * deeper nesting or more bags than any tool writes: see `CREDENTIAL_LIMITS`) is refused before
 * that work is done.
 *
 * @throws {@link CredentialError} `pfx_wrong_passphrase` (the MAC does not match or nothing
 * decrypts), `pfx_unsupported_algorithm` (the message names the OID), `pfx_no_private_key`,
 * `pfx_no_matching_certificate`, `pfx_malformed` (including key, IV or MAC lengths that do not
 * fit their algorithm) or `pfx_limit_exceeded` (the message names the limit).
 *
 * @example
 * ```ts
 * const { privateKeyPem, certificatePem, chainPem } = readPkcs12(readFileSync("app.pfx"), "secret");
 * ```
 */
export function readPkcs12(pfx: Uint8Array, passphrase?: string): Pkcs12Contents {
  const reader: Reader = {
    passphrase: passphrase ?? "",
    secrets: secrets(passphrase ?? ""),
    keys: [],
    certs: [],
    bags: 0,
    budget: { remaining: CREDENTIAL_LIMITS.maxDerivationWork },
  };
  if (pfx.length > CREDENTIAL_LIMITS.maxInputBytes) {
    throw pfxLimit(`it is ${pfx.length} bytes, above the limit of ${CREDENTIAL_LIMITS.maxInputBytes}`);
  }
  try {
    const [versionNode, authSafe, macData] = sequence(parseDer(pfx), "PFX");
    const version = integer(versionNode, "PFX version");
    if (version !== 3) throw pfxMalformed(`version ${version}, expected 3`);
    const [typeNode, contentNode] = sequence(authSafe, "authSafe");
    const type = oid(typeNode);
    if (type !== OID.data) throw pfxUnsupported(type, "integrity mode");
    const content = octets(explicit(contentNode, 0, "authSafe.content"), "authSafe data");
    if (macData) verifyMac(reader, macData, content);
    for (const contentInfo of sequence(parseDer(content), "AuthenticatedSafe", PFX_LIMITS.contents))
      readContentInfo(reader, contentInfo);
  } catch (e) {
    if (e instanceof CredentialError) throw e;
    if (e instanceof DerLimitError) throw pfxLimit(e.message, e);
    throw pfxMalformed(e instanceof Error ? e.message : String(e), e);
  }
  if (reader.keys.length === 0) {
    throw new CredentialError(
      "pfx_no_private_key",
      `The PFX / PKCS#12 file has no private key${reader.certs.length > 0 ? ", only certificates" : ""}. Export it again with the private key: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx.`,
    );
  }
  const { key, cert } = pair(reader);
  const certs = chain(
    cert,
    reader.certs.map((c) => c.cert),
  );
  return {
    privateKeyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
    certificatePem: toPem("CERTIFICATE", cert.raw),
    chainPem: certs.map((c) => toPem("CERTIFICATE", c.raw)),
  };
}
