/**
 * RC2 decryption (RFC 2268), for the certificates in PKCS#12 files written by
 * `openssl pkcs12 -export -legacy`, Windows and older tools (`pbeWithSHAAnd40BitRC2-CBC`). OpenSSL 3
 * only offers RC2 through its legacy provider, which Node does not load, so it is done here.
 *
 * RC2 is broken as a cipher; this exists only to read files that already use it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc2268
 */

import { nodeCrypto } from "./builtins.js";

/** PITABLE of RFC 2268 section 2: a permutation of 0..255 derived from the digits of pi. */
const PITABLE = Uint8Array.from(
  Buffer.from(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2179a59f587b34f1361456d8d09817d32" +
      "bd8f40eb86b77b0bf09521225c6b4e8254d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626" +
      "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed708e8eade8052eef784aa72ac354d6a2a" +
      "961ad2715a1549744b9fd05e0418a4ecc2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731" +
      "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a90d38341bab33ffb0bb480c5fb9b1cd2e" +
      "c5f3db47e5a59c770aa62068fe7fc1ad",
    "hex",
  ),
);

/**
 * The 64 sixteen-bit words K[0..63] of RFC 2268 section 2, from a key of 1 to 128 bytes and
 * the effective key length in bits (1 to 1024). `pbeWithSHAAnd40BitRC2-CBC` uses a 5-byte key
 * with 40 effective bits; RC2-CBC in PBES2 names its effective bits in its parameters.
 *
 * @example
 * ```ts
 * const k = rc2ExpandKey(Buffer.from("88", "hex"), 64);
 * ```
 */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  if (key.length < 1 || key.length > 128) throw new RangeError("RC2 key must be 1 to 128 bytes");
  if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > 1024) {
    throw new RangeError("RC2 effective key bits must be 1 to 1024");
  }
  const l = new Uint8Array(128);
  l.set(key);
  const t = key.length;
  const pi = (i: number): number => PITABLE[i & 0xff] ?? 0;
  for (let i = t; i < 128; i++) l[i] = pi((l[i - 1] ?? 0) + (l[i - t] ?? 0));
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  l[128 - t8] = pi((l[128 - t8] ?? 0) & tm);
  for (let i = 127 - t8; i >= 0; i--) l[i] = pi((l[i + 1] ?? 0) ^ (l[i + t8] ?? 0));
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i++) k[i] = (l[2 * i] ?? 0) | ((l[2 * i + 1] ?? 0) << 8);
  return k;
}

/** Rotation amounts s[0..3] of the mixing step. */
const SHIFT = [1, 2, 3, 5] as const;

/**
 * Decrypts one 8-byte block in place: five mixing rounds, a mashing round, six mixing rounds, a
 * mashing round and five mixing rounds, each undone in reverse (RFC 2268 section 4).
 *
 * @example
 * ```ts
 * const block = Buffer.from("2269552ab0f85ca6", "hex");
 * rc2DecryptBlock(rc2ExpandKey(key, 128), block, 0); // block is now all zeros
 * ```
 */
export function rc2DecryptBlock(k: Uint16Array, block: Uint8Array, offset: number): void {
  const r = new Uint16Array(4);
  for (let i = 0; i < 4; i++) r[i] = (block[offset + 2 * i] ?? 0) | ((block[offset + 2 * i + 1] ?? 0) << 8);
  const word = (i: number): number => r[i & 3] ?? 0;
  const key = (i: number): number => k[i] ?? 0;
  let j = 63;
  const mixRound = () => {
    for (let i = 3; i >= 0; i--) {
      const s = SHIFT[i] ?? 0;
      const x = word(i);
      const rotated = ((x >>> s) | (x << (16 - s))) & 0xffff;
      r[i] = rotated - key(j) - (word(i - 1) & word(i - 2)) - (~word(i - 1) & word(i - 3));
      j--;
    }
  };
  const mashRound = () => {
    for (let i = 3; i >= 0; i--) r[i] = word(i) - key(word(i - 1) & 63);
  };
  for (let n = 0; n < 5; n++) mixRound();
  mashRound();
  for (let n = 0; n < 6; n++) mixRound();
  mashRound();
  for (let n = 0; n < 5; n++) mixRound();
  for (let i = 0; i < 4; i++) {
    block[offset + 2 * i] = word(i) & 0xff;
    block[offset + 2 * i + 1] = word(i) >>> 8;
  }
}

/** OpenSSL names of RC2-CBC by effective key bits; OpenSSL's key length follows the key given. */
const OPENSSL_RC2: Record<number, string> = { 40: "rc2-40-cbc", 64: "rc2-64-cbc", 128: "rc2-cbc" };

let nativeRc2: boolean | undefined;

/**
 * Whether Node's OpenSSL can decrypt RC2: it must list the cipher and decrypt the RFC 2268
 * 128-bit test vector. With OpenSSL 3 and no legacy provider (Node 20's default) it cannot.
 *
 * @example
 * ```ts
 * if (!opensslHasRc2()) console.log("RC2 comes from msal-ts");
 * ```
 */
export function opensslHasRc2(): boolean {
  if (nativeRc2 === undefined) {
    nativeRc2 = false;
    if (nodeCrypto().getCiphers().includes("rc2-cbc")) {
      try {
        const decipher = nodeCrypto()
          .createDecipheriv(
            "rc2-cbc",
            Buffer.from("88bca90e90875a7f0f79c384627bafb2", "hex"),
            Buffer.alloc(8),
          )
          .setAutoPadding(false);
        const plain = Buffer.concat([
          decipher.update(Buffer.from("2269552ab0f85ca6", "hex")),
          decipher.final(),
        ]);
        nativeRc2 = plain.equals(Buffer.alloc(8));
      } catch {
        nativeRc2 = false;
      }
    }
  }
  return nativeRc2;
}

/**
 * RC2 in CBC mode, decrypting. Padding is left in place: the caller checks and removes it.
 * Uses OpenSSL's RC2 when {@link opensslHasRc2} says it works (and for 40, 64 or 128 effective
 * bits, the ones OpenSSL names), this file's otherwise.
 *
 * @example
 * ```ts
 * const padded = rc2CbcDecrypt(key40, 40, iv, encrypted);
 * ```
 */
export function rc2CbcDecrypt(
  key: Uint8Array,
  effectiveBits: number,
  iv: Uint8Array,
  data: Uint8Array,
): Buffer {
  if (iv.length !== 8) throw new RangeError("RC2-CBC needs an 8-byte IV");
  if (data.length % 8 !== 0) throw new RangeError("RC2-CBC data is not a whole number of blocks");
  const name = OPENSSL_RC2[effectiveBits];
  if (name && opensslHasRc2()) {
    try {
      const decipher = nodeCrypto().createDecipheriv(name, key, iv).setAutoPadding(false);
      return Buffer.concat([decipher.update(data), decipher.final()]);
    } catch {
      // This key length is refused by OpenSSL: fall through to the implementation below.
    }
  }
  const k = rc2ExpandKey(key, effectiveBits);
  const out = Buffer.from(data);
  let previous = Uint8Array.from(iv);
  for (let offset = 0; offset < out.length; offset += 8) {
    const saved = Uint8Array.from(out.subarray(offset, offset + 8));
    rc2DecryptBlock(k, out, offset);
    for (let i = 0; i < 8; i++) out[offset + i] = (out[offset + i] ?? 0) ^ (previous[i] ?? 0);
    previous = saved;
  }
  return out;
}
