/**
 * X.509 certificates for the emulator, built with `node:crypto` alone (no openssl, no dependencies).
 *
 * The emulator needs, at start, a CA, a TLS certificate for `localhost` issued by it, and client
 * ("app") certificates. Certificates are RFC 5280 v3 profiles strict enough for OpenSSL 3 with
 * `X509_V_FLAG_X509_STRICT` (Python 3.13+ `ssl` default), Node's TLS stack and Chromium.
 *
 * Keys are RSA 2048, signatures sha256WithRSAEncryption. DER is written by the small encoder below
 * (ITU-T X.690), which covers only what a certificate needs.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5280
 */

import type { KeyObject } from "node:crypto";
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";

/** A certificate with its private key, in the forms the emulator and its callers need. */
export interface GeneratedCertificate {
  /** PEM certificate (`-----BEGIN CERTIFICATE-----`). */
  certificatePem: string;
  /** PEM PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`). */
  privateKeyPem: string;
  /** DER certificate. */
  certificateDer: Buffer;
  /** The RSA private key. */
  privateKey: KeyObject;
  /** Upper-case hex SHA-1 of the DER certificate, as the Entra portal shows it. */
  thumbprintSha1: string;
  /** Upper-case hex SHA-256 of the DER certificate. */
  thumbprintSha256: string;
  /** Subject distinguished name, e.g. `CN=msal-ts emulator CA`. */
  subject: string;
}

/** Options common to every certificate. */
export interface ValidityOptions {
  /** Days from now until `notAfter`. `notBefore` is always one hour ago, to absorb clock skew. */
  validityDays?: number;
}

/** Names the server certificate is valid for (subjectAltName). */
export interface ServerCertificateOptions extends ValidityOptions {
  /** DNS names; default `["localhost"]`. */
  dnsNames?: string[];
  /** IPv4 or IPv6 addresses; default `["127.0.0.1", "::1"]`. */
  ipAddresses?: string[];
}

/**
 * A client-authentication certificate: give either a `commonName` or a full `subject`
 * (`"CN=daemon.contoso.test, O=Contoso"`; attributes CN, O, OU, L, ST, C, in encoding order, as
 * Node's `X509Certificate.subject` lists them). Self-signed when there is no `issuer`.
 */
export type ClientCertificateOptions = ValidityOptions & {
  /** Issuing CA, created by {@link createCertificateAuthority}. */
  issuer?: GeneratedCertificate;
} & ({ commonName: string; subject?: never } | { subject: string; commonName?: never });

type Attribute = readonly [type: string, value: string];

const DAY_MS = 86_400_000;
const CLOCK_SKEW_MS = 3_600_000;

const OID = {
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** Supported name attributes, by their arc under id-at (2.5.4, X.520). */
const ATTRIBUTE_TYPES: Record<string, number> = { CN: 3, C: 6, L: 7, ST: 8, O: 10, OU: 11 };

/** KeyUsage bit positions (RFC 5280 §4.2.1.3). */
const KU = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

// DER encoder (X.690 §8 and §10)

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const length: number[] = [];
  for (let n = body.length; n > 0; n = Math.floor(n / 256)) length.unshift(n & 0xff);
  // Short form below 128 bytes, otherwise long form; DER requires the shortest (X.690 §10.1).
  const header = body.length < 0x80 ? [tag, body.length] : [tag, 0x80 | length.length, ...length];
  return Buffer.concat([Buffer.from(header), body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
const nul = () => tlv(0x05);
const octets = (value: Buffer) => tlv(0x04, value);
const utf8 = (value: string) => tlv(0x0c, Buffer.from(value, "utf8"));
const printable = (value: string) => tlv(0x13, Buffer.from(value, "ascii"));
/** Context-specific constructed `[n]`, i.e. EXPLICIT tagging. */
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);
/** Context-specific primitive `[n]`, i.e. IMPLICIT tagging of a primitive type. */
const implicit = (n: number, content: Buffer) => tlv(0x80 | n, content);
/** BIT STRING whose length is a multiple of 8 (signatures): zero unused bits. */
const bitString = (value: Buffer) => tlv(0x03, Buffer.from([0]), value);

/** Unsigned big-endian magnitude as a (positive) INTEGER: minimal octets, 0x00 prefix if the top bit is set. */
function integer(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude.readUInt8(start) === 0) start++;
  const bytes = magnitude.subarray(start);
  return tlv(0x02, (bytes.readUInt8(0) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always Zulu, whole seconds. */
function time(date: Date): Buffer {
  const digits = `${date.toISOString().slice(0, 19).replace(/[-:T]/g, "")}Z`;
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? tlv(0x17, Buffer.from(digits.slice(2), "ascii"))
    : tlv(0x18, Buffer.from(digits, "ascii"));
}

/** Named BIT STRING: DER drops trailing zero bits and counts them as unused (X.690 §11.2.2). */
function namedBits(bits: number[]): Buffer {
  const bytes = Buffer.alloc((Math.max(...bits) >> 3) + 1);
  for (const bit of bits) bytes.writeUInt8(bytes.readUInt8(bit >> 3) | (0x80 >> (bit & 7)), bit >> 3);
  const last = bytes.readUInt8(bytes.length - 1);
  let unused = 0;
  while (unused < 7 && ((last >> unused) & 1) === 0) unused++;
  return tlv(0x03, Buffer.from([unused]), bytes);
}

// DER reader: just enough to copy the issuer's subject Name verbatim into the child's issuer field
// (RFC 5280 §7.1: chains are built by comparing names, so byte equality is the safe choice).

type Element = { tag: number; raw: Buffer; content: Buffer };

function children(der: Buffer): Element[] {
  const out: Element[] = [];
  for (let p = 0; p < der.length; ) {
    const tag = der.readUInt8(p);
    let length = der.readUInt8(p + 1);
    let header = 2;
    if (length & 0x80) {
      header += length & 0x7f;
      length = 0;
      for (let i = 2; i < header; i++) length = length * 256 + der.readUInt8(p + i);
    }
    const end = p + header + length;
    out.push({ tag, raw: der.subarray(p, end), content: der.subarray(p + header, end) });
    p = end;
  }
  return out;
}

function subjectNameOf(certificateDer: Buffer): Buffer {
  const tbs = children(children(certificateDer)[0]?.content ?? Buffer.alloc(0))[0];
  const fields = children(tbs?.content ?? Buffer.alloc(0));
  // TBSCertificate: [version], serialNumber, signature, issuer, validity, subject, ...
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (!subject) throw new Error("Issuer certificate is not a DER X.509 certificate");
  return subject.raw;
}

// Certificate building blocks

/** RFC 4055 §5: the parameters of sha256WithRSAEncryption are present and NULL. */
const SHA256_WITH_RSA = seq(oid(OID.sha256WithRSAEncryption), nul());

function parseSubject(dn: string): Attribute[] {
  // Split only on commas that start another `TYPE=`, so a CN such as "Doe, Jane" stays whole.
  return dn.split(/,(?=\s*[A-Za-z]+\s*=)/).map((part) => {
    const eq = part.indexOf("=");
    const type = part.slice(0, eq).trim().toUpperCase();
    const value = part.slice(eq + 1).trim();
    if (eq < 0 || ATTRIBUTE_TYPES[type] === undefined || value === "")
      throw new Error(`Unsupported subject: ${dn}`);
    return [type, value] as const;
  });
}

/** Name ::= RDNSequence, one attribute per RDN (RFC 5280 §4.1.2.4); UTF8String except countryName. */
function encodeName(attributes: Attribute[]): Buffer {
  return seq(
    ...attributes.map(([type, value]) =>
      set(seq(oid(`2.5.4.${ATTRIBUTE_TYPES[type]}`), type === "C" ? printable(value) : utf8(value))),
    ),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // `critical` is DEFAULT FALSE, and DER omits default values (X.690 §11.5).
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/**
 * Key identifier per RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value,
 * which for RSA is exactly the PKCS#1 RSAPublicKey DER.
 */
const digest = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest();

function keyIdentifier(publicKey: KeyObject): Buffer {
  return digest("sha1", publicKey.export({ type: "pkcs1", format: "der" }));
}

function generalName(name: string, kind: "dns" | "ip"): Buffer {
  // GeneralName (RFC 5280 §4.2.1.6): dNSName [2] IA5String, iPAddress [7] OCTET STRING.
  return kind === "dns" ? implicit(2, Buffer.from(name, "ascii")) : implicit(7, ipBytes(name));
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  if (!isIPv6(ip) || ip.includes("%")) throw new Error(`Not an IP address: ${ip}`);
  const words = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = "", tail] = ip.split("::");
  const before = words(head);
  const after = tail === undefined ? [] : words(tail);
  const all = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  const out = Buffer.alloc(16);
  for (const [i, word] of all.entries()) out.writeUInt16BE(word, i * 2);
  return out;
}

function toPem(der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

interface Profile {
  subject: Attribute[];
  validityDays: number;
  /** Extensions other than the key identifiers, which {@link issue} adds. */
  extensions: Buffer[];
  issuer: GeneratedCertificate | undefined;
}

function issue(profile: Profile): GeneratedCertificate {
  if (!Number.isFinite(profile.validityDays) || profile.validityDays <= 0) {
    throw new Error(`validityDays must be positive, got ${profile.validityDays}`);
  }
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const subjectName = encodeName(profile.subject);
  const subjectKeyId = keyIdentifier(publicKey);

  let issuerName = subjectName;
  let authorityKeyId = subjectKeyId;
  let signingKey = privateKey;
  if (profile.issuer) {
    const issuerCert = new X509Certificate(profile.issuer.certificateDer);
    if (!issuerCert.ca) throw new Error(`Issuer ${profile.issuer.subject} is not a CA certificate`);
    if (profile.issuer.privateKey.asymmetricKeyType !== "rsa") throw new Error("Issuer key must be RSA");
    issuerName = subjectNameOf(profile.issuer.certificateDer);
    authorityKeyId = keyIdentifier(issuerCert.publicKey);
    signingKey = profile.issuer.privateKey;
  }

  // RFC 5280 §4.1.2.2: positive, at most 20 octets, unpredictable. 0x40 keeps it 16 octets and positive.
  const serial = randomBytes(16);
  serial.writeUInt8((serial.readUInt8(0) & 0x7f) | 0x40, 0);

  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3, required for extensions (§4.1.2.1)
    integer(serial),
    SHA256_WITH_RSA,
    issuerName,
    seq(time(new Date(now - CLOCK_SKEW_MS)), time(new Date(now + profile.validityDays * DAY_MS))),
    subjectName,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(
      3,
      seq(
        ...profile.extensions,
        // SKI is required on CAs and recommended on end entities; AKI is required on all but
        // self-signed roots (§4.2.1.1, §4.2.1.2). OpenSSL's strict mode checks both; self-signed
        // certificates carry an AKI too, pointing at themselves, like `openssl req -x509` does.
        extension(OID.subjectKeyIdentifier, false, octets(subjectKeyId)),
        extension(OID.authorityKeyIdentifier, false, seq(implicit(0, authorityKeyId))),
      ),
    ),
  );
  const certificateDer = seq(tbs, SHA256_WITH_RSA, bitString(sign("sha256", tbs, signingKey)));

  return {
    certificatePem: toPem(certificateDer),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certificateDer,
    privateKey,
    thumbprintSha1: digest("sha1", certificateDer).toString("hex").toUpperCase(),
    thumbprintSha256: digest("sha256", certificateDer).toString("hex").toUpperCase(),
    subject: profile.subject.map(([type, value]) => `${type}=${value}`).join(", "),
  };
}

const endEntityConstraints = () => extension(OID.basicConstraints, true, seq());

// Public API

/**
 * Creates a self-signed root CA: basicConstraints CA:TRUE and keyUsage keyCertSign, cRLSign, both
 * critical (RFC 5280 §4.2.1.9, §4.2.1.3).
 *
 * @param commonName - the CA's CN, e.g. `msal-ts emulator CA`.
 * @param options - `validityDays` defaults to 3650.
 */
export function createCertificateAuthority(
  commonName: string,
  options: ValidityOptions = {},
): GeneratedCertificate {
  return issue({
    subject: [["CN", commonName]],
    validityDays: options.validityDays ?? 3650,
    issuer: undefined,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true))),
      extension(OID.keyUsage, true, namedBits([KU.keyCertSign, KU.cRLSign])),
    ],
  });
}

/**
 * Creates a TLS server certificate issued by `ca`, with the names in subjectAltName (which is what
 * clients match; the CN is informational), extendedKeyUsage serverAuth, keyUsage digitalSignature
 * and keyEncipherment, basicConstraints CA:FALSE.
 *
 * @param ca - issuer, from {@link createCertificateAuthority}.
 * @param options - names default to `localhost`, `127.0.0.1`, `::1`; `validityDays` defaults to
 *   397, within the 398-day limit browsers enforce on server certificates.
 */
export function createServerCertificate(
  ca: GeneratedCertificate,
  options: ServerCertificateOptions = {},
): GeneratedCertificate {
  const dnsNames = options.dnsNames ?? ["localhost"];
  const ipAddresses = options.ipAddresses ?? ["127.0.0.1", "::1"];
  const commonName = dnsNames[0] ?? ipAddresses[0];
  if (commonName === undefined) throw new Error("A server certificate needs at least one name");
  return issue({
    subject: [["CN", commonName]],
    validityDays: options.validityDays ?? 397,
    issuer: ca,
    extensions: [
      endEntityConstraints(),
      extension(OID.keyUsage, true, namedBits([KU.digitalSignature, KU.keyEncipherment])),
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(
        OID.subjectAltName,
        false,
        seq(...dnsNames.map((n) => generalName(n, "dns")), ...ipAddresses.map((ip) => generalName(ip, "ip"))),
      ),
    ],
  });
}

/**
 * Creates a client-authentication certificate (extendedKeyUsage clientAuth, keyUsage
 * digitalSignature, CA:FALSE), such as an app registration's credential: self-signed, or issued by
 * `options.issuer`.
 */
export function createClientCertificate(options: ClientCertificateOptions): GeneratedCertificate {
  const subject =
    options.commonName !== undefined ? [["CN", options.commonName] as const] : parseSubject(options.subject);
  return issue({
    subject,
    validityDays: options.validityDays ?? 365,
    issuer: options.issuer,
    extensions: [
      endEntityConstraints(),
      extension(OID.keyUsage, true, namedBits([KU.digitalSignature])),
      extension(OID.extKeyUsage, false, seq(oid(OID.clientAuth))),
    ],
  });
}
