/**
 * Property-based tests: valid PFX files and private keys written by the OpenSSL 3 command line,
 * damaged at random (bit flips, truncation, inserted bytes, overwritten bytes, length fields set
 * to huge or indefinite values), must either load or fail with a CredentialError whose code is
 * one of the documented ones: never another exception, never a hang. Files without a MAC are
 * included so that damage reaches the bags, attributes and encryption parameters inside (a MAC
 * would reject it first). Runs are bounded in number and in time.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialError, readPkcs12 } from "../../src/node/pkcs12.js";
import { normalisePrivateKey } from "../../src/node/private-key.js";

const CODES = [
  "private_key_passphrase_required",
  "private_key_wrong_passphrase",
  "private_key_malformed",
  "private_key_unsupported_algorithm",
  "private_key_limit_exceeded",
  "pfx_wrong_passphrase",
  "pfx_unsupported_algorithm",
  "pfx_no_private_key",
  "pfx_no_matching_certificate",
  "pfx_malformed",
  "pfx_limit_exceeded",
];

/** Per property: at most this many runs, and no new run after this many milliseconds. */
const RUNS = { numRuns: 300, interruptAfterTimeLimit: 5_000 };
/**
 * A single load may legitimately take a few seconds when damage turns an iteration count into
 * one near the 600,000 ceiling; a hang would take far longer.
 */
const ONE_LOAD_CEILING_MS = 5_000;

let dir = "";
const openssl = (...args: string[]) => execFileSync("/usr/bin/openssl", args, { cwd: dir, stdio: "pipe" });
const run = (command: string) => openssl(...command.split(" "));
const file = (name: string) => readFileSync(join(dir, name));

interface Sample {
  name: string;
  bytes: Buffer;
  passphrase: string | undefined;
  /** Every element, nested DER inside OCTET STRINGs included. */
  elements: Element[];
}

/** Where one element is: its identifier, its length field (`at`, `size`) and its end. */
interface Element {
  tag: number;
  start: number;
  at: number;
  size: number;
  end: number;
}
const pfxSamples: Sample[] = [];
const keySamples: Sample[] = [];

/**
 * The elements of the DER in `bytes[start, end)`, descending into constructed elements and into
 * OCTET STRINGs that hold DER. Written independently of src/node/der.ts, which is under test.
 */
function elementsOf(bytes: Uint8Array, start = 0, end = bytes.length, depth = 0): Element[] {
  const found: Element[] = [];
  let pos = start;
  while (pos < end && depth < 40) {
    const elementStart = pos;
    const first = bytes[pos++] ?? 0;
    if ((first & 0x1f) === 0x1f) while ((bytes[pos++] ?? 0) & 0x80 && pos < end);
    const at = pos;
    const lengthByte = bytes[pos++] ?? 0;
    let length = lengthByte;
    if (lengthByte === 0x80 || lengthByte > 0x84) return found;
    if (lengthByte > 0x80) {
      length = 0;
      for (let i = 0; i < (lengthByte & 0x7f); i++) length = length * 256 + (bytes[pos++] ?? 0);
    }
    if (pos + length > end) return found;
    found.push({ tag: first, start: elementStart, at, size: pos - at, end: pos + length });
    const constructed = (first & 0x20) !== 0;
    const holdsDer = first === 0x04 && bytes[pos] === 0x30;
    if (constructed || holdsDer) {
      const inner = elementsOf(bytes, pos, pos + length, depth + 1);
      // Random bytes that happen to start like a SEQUENCE are not DER: keep only what fills the string.
      if (constructed || inner.length > 0) found.push(...inner);
    }
    pos += length;
  }
  return found;
}

function sample(name: string, bytes: Buffer, passphrase: string | undefined): Sample {
  return { name, bytes, passphrase, elements: elementsOf(bytes) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "msal-ts-fuzz-"));
  run("req -x509 -nodes -subj /CN=fuzz -days 2 -newkey rsa:2048 -keyout k.pem -out c.pem");
  run(
    "req -x509 -nodes -subj /CN=fuzz-ec -days 2 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ec.pem -out ec-c.pem",
  );
  const pfx = (out: string, options: string, key = "k.pem", cert = "c.pem") =>
    run(`pkcs12 -export -inkey ${key} -in ${cert} -out ${out} -passout pass:secret ${options}`.trim());
  pfx("modern.pfx", "");
  pfx("legacy.pfx", "-legacy");
  pfx("modern-nomac.pfx", "-nomac");
  pfx("legacy-nomac.pfx", "-legacy -nomac");
  pfx("pbes2-rc2-nomac.pfx", "-legacy -nomac -certpbe RC2-CBC -keypbe AES-128-CBC");
  pfx("plain.pfx", "-nomac -keypbe NONE -certpbe NONE");
  pfx("ec.pfx", "", "ec.pem", "ec-c.pem");
  for (const name of ["modern", "legacy", "modern-nomac", "legacy-nomac", "pbes2-rc2-nomac", "plain", "ec"]) {
    pfxSamples.push(sample(`${name}.pfx`, file(`${name}.pfx`), "secret"));
  }

  const topk8 = "pkcs8 -topk8 -in k.pem -passout pass:secret -outform DER";
  run(`${topk8} -v2 aes-256-cbc -out pbes2.der`);
  run(`${topk8} -v1 PBE-SHA1-3DES -out pbe-3des.der`);
  run(`${topk8} -scrypt -scrypt_N 1024 -scrypt_r 8 -scrypt_p 1 -out scrypt.der`);
  run("pkcs8 -topk8 -nocrypt -in k.pem -outform DER -out k.der");
  run("rsa -in k.pem -traditional -outform DER -out pkcs1.der");
  run("ec -in ec.pem -outform DER -out sec1.der");
  keySamples.push(
    sample("pbes2.der", file("pbes2.der"), "secret"),
    sample("pbe-3des.der", file("pbe-3des.der"), "secret"),
    sample("scrypt.der", file("scrypt.der"), "secret"),
    sample("k.der", file("k.der"), undefined),
    sample("pkcs1.der", file("pkcs1.der"), undefined),
    sample("sec1.der", file("sec1.der"), undefined),
  );
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One kind of damage, as data so that fast-check can show and shrink it. */
type Mutation =
  | { kind: "flip"; index: number; bit: number }
  | { kind: "truncate"; index: number }
  | { kind: "insert"; index: number; bytes: Uint8Array }
  | { kind: "overwrite"; index: number; bytes: Uint8Array }
  | { kind: "length"; field: number; encoding: number[] }
  | { kind: "integer"; field: number; value: bigint };

const HUGE_LENGTHS = [
  [0x84, 0x7f, 0xff, 0xff, 0xff],
  [0x84, 0xff, 0xff, 0xff, 0xff],
  [0x84, 0x80, 0x00, 0x00, 0x00],
  [0x83, 0xff, 0xff, 0xff],
  [0x88, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff],
  [0x80],
  [0x7f],
  [0x00],
];

/**
 * Values an INTEGER (an iteration count, a key length, a version) is replaced with: none of them
 * costs time to honour, so a slow load can only mean a limit is missing.
 */
const INTEGERS = [0n, 1n, 600_001n, 10_000_000n, 2n ** 31n - 1n, 2n ** 32n + 1n, 2n ** 53n + 1n, 2n ** 64n];

const integerTlv = (value: bigint): Buffer => {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return Buffer.from([0x02, hex.length / 2, ...Buffer.from(hex, "hex")]);
};

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), index: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), index: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    index: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("overwrite" as const),
    index: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("length" as const),
    field: fc.nat(),
    encoding: fc.constantFrom(...HUGE_LENGTHS),
  }),
  fc.record({ kind: fc.constant("integer" as const), field: fc.nat(), value: fc.constantFrom(...INTEGERS) }),
);

const lengthField = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from([0x80 | (hex.length / 2), ...Buffer.from(hex, "hex")]);
};

/**
 * The undamaged file with one small INTEGER (a count, a length or a version, not a modulus or a
 * serial number) replaced, and every enclosing length fixed so that the file still parses.
 */
function withInteger(input: Sample, which: number, value: bigint): Buffer {
  const integers = input.elements.filter((e) => e.tag === 0x02 && e.end - e.at - e.size <= 4);
  const field = integers[which % Math.max(1, integers.length)];
  if (!field) return Buffer.from(input.bytes);
  const replacement = integerTlv(value);
  let bytes = Buffer.concat([
    input.bytes.subarray(0, field.start),
    replacement,
    input.bytes.subarray(field.end),
  ]);
  let growth = replacement.length - (field.end - field.start);
  // Innermost first: each rewrite is at a lower offset than the ones already done.
  const enclosing = input.elements
    .filter((e) => e.start < field.start && e.end >= field.end)
    .sort((x, y) => y.start - x.start);
  for (const e of enclosing) {
    const length = lengthField(e.end - e.at - e.size + growth);
    bytes = Buffer.concat([bytes.subarray(0, e.at), length, bytes.subarray(e.at + e.size)]);
    growth += length.length - e.size;
  }
  return bytes;
}

function damage(input: Sample, mutations: Mutation[]): Buffer {
  let bytes: Buffer = Buffer.from(input.bytes);
  for (const m of mutations) {
    const index = bytes.length === 0 ? 0 : ("index" in m ? m.index : 0) % bytes.length;
    if (m.kind === "flip" && bytes.length > 0) bytes[index] = (bytes[index] ?? 0) ^ (1 << m.bit);
    else if (m.kind === "truncate") bytes = bytes.subarray(0, index);
    else if (m.kind === "insert")
      bytes = Buffer.concat([bytes.subarray(0, index), m.bytes, bytes.subarray(index)]);
    else if (m.kind === "overwrite") bytes.set(m.bytes.subarray(0, bytes.length - index), index);
    else if (m.kind === "length") {
      // Positions are those of the undamaged file; an earlier mutation may have moved them.
      const field = input.elements[m.field % Math.max(1, input.elements.length)];
      if (!field || field.at + field.size > bytes.length) continue;
      const head = bytes.subarray(0, field.at);
      bytes = Buffer.concat([head, Buffer.from(m.encoding), bytes.subarray(field.at + field.size)]);
    } else if (m.kind === "integer" && bytes.equals(input.bytes)) {
      bytes = withInteger(input, m.field, m.value);
    }
  }
  return bytes;
}

/** Loads `load()`, accepting a result or a documented CredentialError and nothing else. */
function loadsOrRefuses(load: () => unknown): void {
  const start = performance.now();
  try {
    load();
  } catch (e) {
    if (!(e instanceof CredentialError)) throw e;
    expect(CODES).toContain(e.code);
    expect(e.message.length).toBeGreaterThan(40);
  }
  expect(performance.now() - start).toBeLessThan(ONE_LOAD_CEILING_MS);
}

const damagedSample = (samples: () => Sample[]) =>
  fc.tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([which, mutations]) => {
    const list = samples();
    const input = list[which % list.length] as Sample;
    return { name: input.name, passphrase: input.passphrase, bytes: damage(input, mutations) };
  });

const pem = (label: string, der: Uint8Array) =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? []
  ).join("\n")}\n-----END ${label}-----\n`;

const LABELS: Record<string, string> = {
  "pbes2.der": "ENCRYPTED PRIVATE KEY",
  "pbe-3des.der": "ENCRYPTED PRIVATE KEY",
  "scrypt.der": "ENCRYPTED PRIVATE KEY",
  "k.der": "PRIVATE KEY",
  "pkcs1.der": "RSA PRIVATE KEY",
  "sec1.der": "EC PRIVATE KEY",
};

describe("damaged credentials load or fail with a CredentialError", () => {
  it("the undamaged files load (so damage starts from a file that works)", () => {
    expect(pfxSamples.map((s) => s.elements.length).every((n) => n > 10)).toBe(true);
    for (const { bytes, passphrase } of pfxSamples) {
      expect(readPkcs12(bytes, passphrase).privateKeyPem).toContain("BEGIN PRIVATE KEY");
    }
    for (const { name, bytes, passphrase } of keySamples) {
      expect(normalisePrivateKey(bytes, passphrase).pkcs8Pem).toContain("BEGIN PRIVATE KEY");
      expect(normalisePrivateKey(pem(LABELS[name] ?? "", bytes), passphrase).pkcs8Pem).toContain(
        "BEGIN PRIVATE KEY",
      );
    }
  });

  it("PFX files (OpenSSL 3 default, -legacy, without MAC, unencrypted, EC)", () => {
    fc.assert(
      fc.property(
        damagedSample(() => pfxSamples),
        ({ bytes, passphrase }) => {
          loadsOrRefuses(() => readPkcs12(bytes, passphrase));
        },
      ),
      RUNS,
    );
  }, 60_000);

  it("private keys as DER and as PEM (PKCS#8 plain and encrypted with PBES2, 3DES and scrypt; PKCS#1; SEC 1)", () => {
    fc.assert(
      fc.property(
        damagedSample(() => keySamples),
        fc.boolean(),
        ({ name, bytes, passphrase }, asPem) => {
          const input = asPem ? pem(LABELS[name] ?? "PRIVATE KEY", bytes) : bytes;
          loadsOrRefuses(() => normalisePrivateKey(input, passphrase));
        },
      ),
      RUNS,
    );
  }, 60_000);

  it("PEM text damaged as text", () => {
    const texts = () =>
      keySamples.map((s) => ({ ...s, bytes: Buffer.from(pem(LABELS[s.name] ?? "", s.bytes)), elements: [] }));
    fc.assert(
      fc.property(damagedSample(texts), ({ bytes, passphrase }) => {
        loadsOrRefuses(() => normalisePrivateKey(bytes.toString("latin1"), passphrase));
        loadsOrRefuses(() => normalisePrivateKey(bytes, passphrase));
      }),
      RUNS,
    );
  }, 60_000);
});
