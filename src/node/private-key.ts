/**
 * Private keys and certificates for confidential clients that authenticate with a certificate:
 * reading the key the user gives (PEM or DER, encrypted or not) into one form, and the values a
 * client assertion needs from the certificate (thumbprints for `x5t` / `x5t#S256`, the DER for
 * `x5c`). Everything here uses `node:crypto`; PKCS#12 / PFX files are read by `./pkcs12.ts`.
 */

import type { KeyObject, X509Certificate } from "node:crypto";
import { MsalError } from "../errors.js";
import { nodeCrypto } from "./builtins.js";
import { DerError, parseDer, sequence, Tag, TagClass } from "./der.js";

/** The stable codes of {@link CredentialError}. */
export type CredentialErrorCode =
  | "private_key_passphrase_required"
  | "private_key_wrong_passphrase"
  | "private_key_malformed"
  | "private_key_unsupported_algorithm"
  | "certificate_malformed"
  | "pfx_wrong_passphrase"
  | "pfx_unsupported_algorithm"
  | "pfx_no_private_key"
  | "pfx_no_matching_certificate"
  | "pfx_malformed";

/**
 * A private key, certificate or PKCS#12 / PFX file could not be read: wrong or missing
 * passphrase, damaged input, or an algorithm msal-ts does not implement. `code` says which; the
 * message says what to do.
 *
 * @example
 * ```ts
 * try {
 *   readPkcs12(pfx, passphrase);
 * } catch (e) {
 *   if (e instanceof CredentialError && e.code === "pfx_wrong_passphrase") askAgain();
 * }
 * ```
 */
export class CredentialError extends MsalError {
  declare readonly code: CredentialErrorCode;

  constructor(code: CredentialErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A private key in the one form the rest of msal-ts uses. */
export interface NormalisedPrivateKey {
  /** Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  pkcs8Pem: string;
  /** `rsa` (signs RS256 / PS256) or `ec` (P-256, P-384 or P-521: ES256, ES384, ES512). */
  publicKeyAlgorithm: "rsa" | "ec";
}

const MESSAGES = {
  passphraseRequired:
    "The private key is encrypted and no passphrase was given: pass the passphrase it was encrypted with.",
  wrongPassphrase:
    "The private key could not be decrypted with the passphrase given: the passphrase is wrong. Pass the passphrase the key was encrypted with.",
  malformed:
    'The private key could not be read: give a PEM private key (PKCS#8 "PRIVATE KEY" or "ENCRYPTED PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY") or its DER bytes.',
  certificateMalformed:
    'The certificate could not be read: give a PEM certificate ("-----BEGIN CERTIFICATE-----").',
} as const;

const SUPPORTED_CURVES = new Set(["prime256v1", "secp384r1", "secp521r1"]);

type KeyInput =
  | { key: string; format: "pem" }
  | { key: Buffer; format: "der"; type: "pkcs8" | "pkcs1" | "sec1" };

/** Decodes a Uint8Array that holds PEM text, or returns undefined for DER. */
function pemText(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 64)).toString("latin1");
  return /^(\uFEFF|\u00EF\u00BB\u00BF)?\s*-----BEGIN /.test(head)
    ? Buffer.from(bytes).toString("utf8")
    : undefined;
}

/** Candidate decodings of DER bytes, and whether the key in them is encrypted. */
function derInputs(bytes: Uint8Array): { inputs: KeyInput[]; encrypted: boolean } {
  let first: ReturnType<typeof sequence>[number] | undefined;
  try {
    first = sequence(parseDer(bytes), "private key")[0];
  } catch (e) {
    if (e instanceof DerError)
      throw new CredentialError("private_key_malformed", MESSAGES.malformed, { cause: e });
    throw e;
  }
  const key = Buffer.from(bytes);
  // EncryptedPrivateKeyInfo starts with an AlgorithmIdentifier; the others start with a version.
  if (first?.tagClass === TagClass.universal && first.tag === Tag.sequence) {
    return { inputs: [{ key, format: "der", type: "pkcs8" }], encrypted: true };
  }
  const types = ["pkcs8", "pkcs1", "sec1"] as const;
  return { inputs: types.map((type) => ({ key, format: "der", type })), encrypted: false };
}

function load(inputs: KeyInput[], encrypted: boolean, passphrase: string | undefined): KeyObject {
  if (encrypted) {
    const [input] = inputs;
    if (!input) throw new CredentialError("private_key_malformed", MESSAGES.malformed);
    if (!passphrase) {
      // An empty passphrase is a passphrase too (`-passout pass:`); try it before asking for one.
      try {
        return nodeCrypto().createPrivateKey({ ...input, passphrase: "" });
      } catch (e) {
        throw new CredentialError("private_key_passphrase_required", MESSAGES.passphraseRequired, {
          cause: e,
        });
      }
    }
    try {
      return nodeCrypto().createPrivateKey({ ...input, passphrase });
    } catch (e) {
      throw new CredentialError("private_key_wrong_passphrase", MESSAGES.wrongPassphrase, { cause: e });
    }
  }
  let cause: unknown;
  for (const input of inputs) {
    try {
      return nodeCrypto().createPrivateKey(input);
    } catch (e) {
      cause = e;
    }
  }
  throw new CredentialError("private_key_malformed", MESSAGES.malformed, { cause });
}

/**
 * Checks that a key can sign client assertions (RSA, or EC on P-256 / P-384 / P-521) and gives
 * its algorithm family.
 *
 * @example
 * ```ts
 * const algorithm = signingKeyAlgorithm(nodeCrypto().createPrivateKey(pem)); // "rsa"
 * ```
 */
export function signingKeyAlgorithm(key: KeyObject): "rsa" | "ec" {
  const type = key.asymmetricKeyType;
  if (type === "rsa") return "rsa";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === "ec" && curve && SUPPORTED_CURVES.has(curve)) return "ec";
  const what =
    type === "ec" ? `an EC key on curve ${curve ?? "(unnamed)"}` : `a key of type ${type ?? "(none)"}`;
  throw new CredentialError(
    "private_key_unsupported_algorithm",
    `The private key is ${what}; client assertions are signed with RSA keys or EC keys on P-256, P-384 or P-521: use one of those.`,
  );
}

/**
 * Reads a private key, decrypting it if needed, and gives it back as unencrypted PKCS#8 PEM.
 *
 * Accepts PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 or the PKCS#12
 * 3DES PBE), PKCS#1 (`RSA PRIVATE KEY`, including OpenSSL's `Proc-Type: 4,ENCRYPTED` form) and
 * SEC 1 (`EC PRIVATE KEY`), as PEM text or as the DER bytes. A PEM file may hold certificates too.
 * The passphrase is ignored for a key that is not encrypted; an empty one counts as absent.
 *
 * @throws {@link CredentialError} `private_key_passphrase_required`, `private_key_wrong_passphrase`,
 * `private_key_malformed` or `private_key_unsupported_algorithm`.
 *
 * @example
 * ```ts
 * const { pkcs8Pem, publicKeyAlgorithm } = normalisePrivateKey(readFileSync("key.pem", "utf8"), "secret");
 * ```
 */
export function normalisePrivateKey(pem: string | Uint8Array, passphrase?: string): NormalisedPrivateKey {
  const text = typeof pem === "string" ? pem : pemText(pem);
  let inputs: KeyInput[];
  let encrypted: boolean;
  if (text === undefined) {
    ({ inputs, encrypted } = derInputs(pem as Uint8Array));
  } else {
    if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
      throw new CredentialError("private_key_malformed", MESSAGES.malformed);
    }
    inputs = [{ key: text, format: "pem" }];
    encrypted =
      /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /Proc-Type:\s*4\s*,\s*ENCRYPTED/.test(text);
  }
  const key = load(inputs, encrypted, passphrase);
  const publicKeyAlgorithm = signingKeyAlgorithm(key);
  return { pkcs8Pem: key.export({ type: "pkcs8", format: "pem" }).toString(), publicKeyAlgorithm };
}

function certificate(pem: string): X509Certificate {
  try {
    return new (nodeCrypto().X509Certificate)(pem);
  } catch (e) {
    throw new CredentialError("certificate_malformed", MESSAGES.certificateMalformed, { cause: e });
  }
}

/**
 * The SHA-1 and SHA-256 thumbprints of a certificate: upper-case hex digests of its DER, as the
 * Entra admin center shows them and as `x5t` / `x5t#S256` carry them (base64url of the same
 * bytes). With several certificates in the PEM, the first one counts.
 *
 * @throws {@link CredentialError} `certificate_malformed`.
 *
 * @example
 * ```ts
 * const { sha1, sha256 } = certificateThumbprints(readFileSync("cert.pem", "utf8"));
 * // sha1: "5AB7AC8E2890878FF82FFADC51F3267A64CACFDD"
 * ```
 */
export function certificateThumbprints(certPem: string): { sha1: string; sha256: string } {
  const der = certificate(certPem).raw;
  const hex = (algorithm: string) =>
    nodeCrypto().createHash(algorithm).update(der).digest("hex").toUpperCase();
  return { sha1: hex("sha1"), sha256: hex("sha256") };
}

/**
 * A certificate's DER as one base64 string (no line breaks, no PEM armour), the form of an `x5c`
 * entry. With several certificates in the PEM, the first one counts.
 *
 * @throws {@link CredentialError} `certificate_malformed`.
 *
 * @example
 * ```ts
 * const x5c = chainPem.map(certificateDerBase64);
 * ```
 */
export function certificateDerBase64(certPem: string): string {
  return certificate(certPem).raw.toString("base64");
}
