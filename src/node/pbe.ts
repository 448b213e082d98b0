/**
 * Password-based decryption for PKCS#12 (RFC 7292) and PKCS#5 (RFC 8018): the PKCS#12 key
 * derivation function, its SHA-1 PBEs (3-key and 2-key 3DES, 128-bit and 40-bit RC2), and PBES2
 * with PBKDF2 (HMAC-SHA-1/SHA-2) and AES-128/192/256-CBC, DES-EDE3-CBC or RC2-CBC. Used by
 * `./pkcs12.ts`; its errors are {@link CredentialError}s about a PFX file.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7292#appendix-B
 * @see https://www.rfc-editor.org/rfc/rfc8018#section-6.2
 */

import { nodeCrypto } from "./builtins.js";
import { type DerNode, integer, octets, oid, sequence, Tag, TagClass } from "./der.js";
import { CREDENTIAL_LIMITS, CredentialError } from "./private-key.js";
import { rc2CbcDecrypt } from "./rc2.js";

const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  rc2Cbc: "1.2.840.113549.3.2",
} as const;

/** Names of algorithms and content types this reader refuses, for its error messages. */
const UNSUPPORTED: Record<string, string> = {
  "1.2.840.113549.3.2": "RC2-CBC",
  "1.2.840.113549.1.7.2": "signedData (public-key integrity mode)",
  "1.2.840.113549.1.7.3": "envelopedData (public-key privacy mode)",
  "1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
  "1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
  "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
  "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC",
  "1.2.840.113549.1.5.14": "PBMAC1",
  "1.3.14.3.2.7": "desCBC",
  "1.3.6.1.4.1.11591.4.11": "scrypt",
};

/**
 * Digests for the PFX MAC and the PKCS#12 KDF, by OID: Node's name, output bytes `u` and block
 * bytes `v`.
 *
 * @example
 * ```ts
 * HASHES["2.16.840.1.101.3.4.2.1"]; // { name: "sha256", u: 32, v: 64 }
 * ```
 */
export const HASHES: Record<string, { name: string; u: number; v: number }> = {
  "1.3.14.3.2.26": { name: "sha1", u: 20, v: 64 },
  "2.16.840.1.101.3.4.2.4": { name: "sha224", u: 28, v: 64 },
  "2.16.840.1.101.3.4.2.1": { name: "sha256", u: 32, v: 64 },
  "2.16.840.1.101.3.4.2.2": { name: "sha384", u: 48, v: 128 },
  "2.16.840.1.101.3.4.2.3": { name: "sha512", u: 64, v: 128 },
  "2.16.840.1.101.3.4.2.5": { name: "sha512-224", u: 28, v: 128 },
  "2.16.840.1.101.3.4.2.6": { name: "sha512-256", u: 32, v: 128 },
  "1.2.840.113549.2.5": { name: "md5", u: 16, v: 64 },
};
const SHA1 = { name: "sha1", u: 20, v: 64 };

/** PBKDF2 pseudo-random functions (RFC 8018 appendix B.1). */
const PRFS: Record<string, { name: string; u: number }> = {
  "1.2.840.113549.2.7": { name: "sha1", u: 20 },
  "1.2.840.113549.2.8": { name: "sha224", u: 28 },
  "1.2.840.113549.2.9": { name: "sha256", u: 32 },
  "1.2.840.113549.2.10": { name: "sha384", u: 48 },
  "1.2.840.113549.2.11": { name: "sha512", u: 64 },
  "1.2.840.113549.2.12": { name: "sha512-224", u: 28 },
  "1.2.840.113549.2.13": { name: "sha512-256", u: 32 },
};

/** PBES2 encryption schemes OpenSSL provides without its legacy provider; the IV is one block. */
const PBES2_CIPHERS: Record<string, { name: string; keyLength: number; block: number }> = {
  "2.16.840.1.101.3.4.1.2": { name: "aes-128-cbc", keyLength: 16, block: 16 },
  "2.16.840.1.101.3.4.1.22": { name: "aes-192-cbc", keyLength: 24, block: 16 },
  "2.16.840.1.101.3.4.1.42": { name: "aes-256-cbc", keyLength: 32, block: 16 },
  "1.2.840.113549.3.7": { name: "des-ede3-cbc", keyLength: 24, block: 8 },
};

/** RC2 keys are 1 to 128 bytes (RFC 2268 section 2). */
const RC2_MAX_KEY_BYTES = 128;

/** The PKCS#12 PBEs (RFC 7292 appendix C), all with SHA-1. `rc2Bits` marks RC2. */
const PKCS12_PBES: Record<string, { name: string; keyLength: number; rc2Bits?: number }> = {
  "1.2.840.113549.1.12.1.3": { name: "des-ede3-cbc", keyLength: 24 },
  "1.2.840.113549.1.12.1.4": { name: "des-ede-cbc", keyLength: 16 },
  "1.2.840.113549.1.12.1.5": { name: "rc2", keyLength: 16, rc2Bits: 128 },
  "1.2.840.113549.1.12.1.6": { name: "rc2", keyLength: 5, rc2Bits: 40 },
};

/** RC2-CBC parameter versions of RFC 8018 B.2.3 for the usual effective key bits (40, 64, 128). */
const RC2_VERSIONS: Record<number, number> = { 160: 40, 120: 64, 58: 128 };

/** Iteration counts above this are refused rather than computed (see `CREDENTIAL_LIMITS`). */
export const MAX_ITERATIONS = CREDENTIAL_LIMITS.maxIterations;

/**
 * What one PFX may still spend on key derivation: iterations times hash blocks derived, summed
 * over every derivation, so that many encrypted bags cannot multiply the cost of one.
 *
 * @example
 * ```ts
 * const budget: DerivationBudget = { remaining: CREDENTIAL_LIMITS.maxDerivationWork };
 * ```
 */
export interface DerivationBudget {
  remaining: number;
}

function spend(budget: DerivationBudget, iterations: number, length: number, hashBytes: number): void {
  const work = iterations * Math.ceil(length / hashBytes);
  if (work > budget.remaining) {
    throw pfxLimit(
      `deriving its keys takes more than ${CREDENTIAL_LIMITS.maxDerivationWork} hash iterations in all`,
    );
  }
  budget.remaining -= work;
}

const REEXPORT_HINT =
  "Export it again with OpenSSL 3's defaults: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx";

/** A passphrase in the two encodings PKCS#12 uses: UTF-8 for PBES2, BMPString for its own KDF. */
export interface Secret {
  utf8: Buffer;
  bmp: Buffer;
}

/**
 * The ways to read a passphrase. A non-empty one has one; an empty one is either an empty
 * BMPString (two zero bytes, what OpenSSL writes for `-passout pass:`) or no bytes at all.
 *
 * @example
 * ```ts
 * secrets("secret")[0].bmp; // 00 73 00 65 00 63 00 72 00 65 00 74 00 00
 * ```
 */
export function secrets(passphrase: string): Secret[] {
  const utf8 = Buffer.from(passphrase, "utf8");
  if (passphrase === "")
    return [
      { utf8, bmp: Buffer.alloc(2) },
      { utf8, bmp: Buffer.alloc(0) },
    ];
  const bmp = Buffer.concat([Buffer.from(passphrase, "utf16le").swap16(), Buffer.alloc(2)]);
  return [{ utf8, bmp }];
}

/**
 * The `pfx_malformed` error, with what was wrong in parentheses.
 *
 * @example
 * ```ts
 * throw pfxMalformed("version 2, expected 3");
 * ```
 */
export function pfxMalformed(detail: string, cause?: unknown): CredentialError {
  return new CredentialError(
    "pfx_malformed",
    `The PFX / PKCS#12 file could not be read: it is damaged or not a PKCS#12 file (${detail}). ${REEXPORT_HINT}.`,
    { cause },
  );
}

/**
 * The `pfx_limit_exceeded` error: the file asks for more work or memory than any real one needs;
 * `detail` says which limit it broke.
 *
 * @example
 * ```ts
 * throw pfxLimit("the iteration count is 10000000, above the limit of 600000");
 * ```
 */
export function pfxLimit(detail: string, cause?: unknown): CredentialError {
  return new CredentialError(
    "pfx_limit_exceeded",
    `The PFX / PKCS#12 file was refused before reading it: ${detail}. It is damaged or made to exhaust the machine that reads it; if it is yours, export it again with OpenSSL 3's defaults: openssl pkcs12 -export -inkey key.pem -in cert.pem -out app.pfx.`,
    { cause },
  );
}

/**
 * A salt, refused when longer than `CREDENTIAL_LIMITS.maxSaltBytes`.
 *
 * @example
 * ```ts
 * const salt = saltOf(params[0], "MAC salt");
 * ```
 */
export function saltOf(node: DerNode | undefined, what: string): Uint8Array {
  const salt = octets(node, what);
  if (salt.length > CREDENTIAL_LIMITS.maxSaltBytes) {
    throw pfxLimit(
      `the ${what} is ${salt.length} bytes, above the limit of ${CREDENTIAL_LIMITS.maxSaltBytes}`,
    );
  }
  return salt;
}

/**
 * The `pfx_unsupported_algorithm` error, naming the algorithm and its OID.
 *
 * @example
 * ```ts
 * throw pfxUnsupported("1.2.840.113549.1.12.1.1", "encryption"); // pbeWithSHAAnd128BitRC4
 * ```
 */
export function pfxUnsupported(algorithm: string, where: string): CredentialError {
  const name = UNSUPPORTED[algorithm] ?? HASHES[algorithm]?.name ?? "an unknown algorithm";
  return new CredentialError(
    "pfx_unsupported_algorithm",
    `The PFX / PKCS#12 file uses ${name} (OID ${algorithm}) for its ${where}, which msal-ts cannot read. ${REEXPORT_HINT}.`,
  );
}

/**
 * An iteration count, refused above {@link MAX_ITERATIONS} (as a `DerLimitError`) rather than
 * computed.
 *
 * @example
 * ```ts
 * const iterations = iterationCount(params[1]);
 * ```
 */
export function iterationCount(node: DerNode | undefined): number {
  const n = integer(node, "the iteration count", MAX_ITERATIONS);
  if (n < 1) throw pfxMalformed(`iteration count ${n} is out of range`);
  return n;
}

/**
 * The PKCS#12 key derivation function (RFC 7292 appendix B.2). `id` is 1 for a key, 2 for an IV,
 * 3 for a MAC key; `password` is the BMPString form. Its cost is taken from `budget` first.
 *
 * @example
 * ```ts
 * const budget = { remaining: CREDENTIAL_LIMITS.maxDerivationWork };
 * const macKey = pkcs12Kdf(HASHES["1.3.14.3.2.26"], secret.bmp, salt, 3, 2048, 20, budget);
 * ```
 */
export function pkcs12Kdf(
  hash: { name: string; u: number; v: number },
  password: Uint8Array,
  salt: Uint8Array,
  id: number,
  iterations: number,
  length: number,
  budget: DerivationBudget,
): Buffer {
  spend(budget, iterations, length, hash.u);
  const { v } = hash;
  const stretch = (src: Uint8Array, size: number): Buffer => {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = src[i % src.length] ?? 0;
    return out;
  };
  const block = (src: Uint8Array) => stretch(src, v * Math.ceil(src.length / v));
  const d = Buffer.alloc(v, id);
  const input = Buffer.concat([block(salt), block(password)]);
  const out = Buffer.alloc(length);
  const { createHash, hash: oneShot } = nodeCrypto();
  for (let produced = 0; ; ) {
    let a = createHash(hash.name).update(d).update(input).digest();
    // The one-shot hash (Node 20.12) is about twice as fast as createHash for these short inputs.
    for (let r = 1; r < iterations; r++) a = oneShot(hash.name, a, "buffer");
    produced += a.copy(out, produced);
    if (produced >= length) return out;
    const b = stretch(a, v);
    for (let j = 0; j < input.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        carry += (input[j + k] ?? 0) + (b[k] ?? 0);
        input[j + k] = carry & 0xff;
        carry >>>= 8;
      }
    }
  }
}

/** Node's CBC decryption with PKCS#7 padding; undefined when the padding is wrong (wrong key). */
function decipher(name: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer | undefined {
  try {
    const d = nodeCrypto().createDecipheriv(name, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    return undefined;
  }
}

function unpad(padded: Buffer, block: number): Buffer | undefined {
  const n = padded[padded.length - 1] ?? 0;
  if (n < 1 || n > block || n > padded.length) return undefined;
  for (let i = padded.length - n; i < padded.length; i++) if (padded[i] !== n) return undefined;
  return padded.subarray(0, padded.length - n);
}

function checkBlocks(data: Uint8Array, block: number): void {
  if (data.length === 0 || data.length % block !== 0)
    throw pfxMalformed("encrypted data is not whole cipher blocks");
}

function ivOf(node: DerNode | undefined, block: number): Uint8Array {
  const iv = octets(node, "IV");
  if (iv.length !== block) throw pfxMalformed(`an IV is ${iv.length} bytes, the cipher's block is ${block}`);
  return iv;
}

/**
 * PBES2 (RFC 8018 section 6.2). Every parameter is checked before the key is derived: the
 * iteration count and salt against `CREDENTIAL_LIMITS`, PBKDF2's key length against the cipher's
 * (RFC 8018 A.2 lets it be given; it must then be the cipher's), and the IV against its block.
 */
function decryptPbes2(
  params: DerNode | undefined,
  data: Uint8Array,
  secret: Secret,
  budget: DerivationBudget,
): Buffer | undefined {
  const [kdf, scheme] = sequence(params, "PBES2-params");
  const [kdfId, kdfParams] = sequence(kdf, "keyDerivationFunc");
  const kdfOid = oid(kdfId);
  if (kdfOid !== OID.pbkdf2) throw pfxUnsupported(kdfOid, "key derivation");
  const fields = sequence(kdfParams, "PBKDF2-params");
  const salt = saltOf(fields[0], "PBKDF2 salt");
  const iterations = iterationCount(fields[1]);
  let rest = fields.slice(2);
  let keyLength: number | undefined;
  if (rest[0]?.tagClass === TagClass.universal && rest[0].tag === Tag.integer) {
    keyLength = integer(rest[0], "PBKDF2 keyLength");
    rest = rest.slice(1);
  }
  const prfOid = rest[0] ? oid(sequence(rest[0], "PBKDF2 prf")[0]) : "1.2.840.113549.2.7";
  const prf = PRFS[prfOid];
  if (!prf) throw pfxUnsupported(prfOid, "PBKDF2 pseudo-random function");
  const [schemeId, schemeParams] = sequence(scheme, "encryptionScheme");
  const schemeOid = oid(schemeId);
  const derive = (length: number) => {
    spend(budget, iterations, length, prf.u);
    return nodeCrypto().pbkdf2Sync(secret.utf8, salt, iterations, length, prf.name);
  };
  if (schemeOid === OID.rc2Cbc) {
    const rc2 = sequence(schemeParams, "RC2-CBC-Parameter");
    const version = rc2.length > 1 ? integer(rc2[0], "rc2ParameterVersion") : undefined;
    const bits = version === undefined ? 32 : version >= 256 ? version : RC2_VERSIONS[version];
    if (bits === undefined || bits > 1024)
      throw pfxUnsupported(`${OID.rc2Cbc}`, `RC2 parameter version ${version}`);
    const length = keyLength ?? 16;
    if (length < 1 || length > RC2_MAX_KEY_BYTES)
      throw pfxMalformed(
        `PBKDF2 asks for a ${length}-byte key; RC2 keys are 1 to ${RC2_MAX_KEY_BYTES} bytes`,
      );
    checkBlocks(data, 8);
    const iv = ivOf(rc2[rc2.length - 1], 8);
    return unpad(rc2CbcDecrypt(derive(length), bits, iv, data), 8);
  }
  const cipher = PBES2_CIPHERS[schemeOid];
  if (!cipher) throw pfxUnsupported(schemeOid, "encryption scheme");
  if (keyLength !== undefined && keyLength !== cipher.keyLength) {
    const name = cipher.name.toUpperCase();
    throw pfxMalformed(`PBKDF2 asks for a ${keyLength}-byte key; ${name} keys are ${cipher.keyLength} bytes`);
  }
  checkBlocks(data, cipher.block);
  const iv = ivOf(schemeParams, cipher.block);
  return decipher(cipher.name, derive(cipher.keyLength), iv, data);
}

/**
 * Decrypts `data` encrypted with `algorithm` (an AlgorithmIdentifier) and one passphrase reading.
 * Gives undefined when the padding is wrong, which means a wrong passphrase (or, 1 time in about
 * 256, it passes anyway: the caller checks the result). Throws `pfx_unsupported_algorithm` and
 * `pfx_malformed`.
 *
 * @example
 * ```ts
 * const budget = { remaining: CREDENTIAL_LIMITS.maxDerivationWork };
 * const pkcs8 = pbeDecrypt(encryptedPrivateKeyInfo[0], encrypted, secrets("secret")[0], budget);
 * ```
 */
export function pbeDecrypt(
  algorithm: DerNode,
  data: Uint8Array,
  secret: Secret,
  budget: DerivationBudget,
): Buffer | undefined {
  const [id, params] = sequence(algorithm, "AlgorithmIdentifier");
  const algorithmOid = oid(id);
  if (algorithmOid === OID.pbes2) return decryptPbes2(params, data, secret, budget);
  const pbe = PKCS12_PBES[algorithmOid];
  if (!pbe) throw pfxUnsupported(algorithmOid, "encryption");
  const [saltNode, iterationsNode] = sequence(params, "pkcs-12PbeParams");
  const salt = saltOf(saltNode, "PBE salt");
  const iterations = iterationCount(iterationsNode);
  checkBlocks(data, 8);
  const key = pkcs12Kdf(SHA1, secret.bmp, salt, 1, iterations, pbe.keyLength, budget);
  const iv = pkcs12Kdf(SHA1, secret.bmp, salt, 2, iterations, 8, budget);
  if (pbe.rc2Bits !== undefined) return unpad(rc2CbcDecrypt(key, pbe.rc2Bits, iv, data), 8);
  return decipher(pbe.name, key, iv, data);
}
