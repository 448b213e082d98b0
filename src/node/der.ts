/**
 * A small reader for ASN.1 DER (ITU-T X.690), with the parts of BER that PKCS#12 files use:
 * indefinite lengths and constructed OCTET STRINGs. It reads; it does not write. Every function
 * throws {@link DerError} on input that does not have the expected shape, and never reads outside
 * the buffer it was given.
 *
 * @example
 * ```ts
 * const [version, authSafe] = sequence(parseDer(pfxBytes), "PFX");
 * integer(version); // 3
 * ```
 */

/** The input is not the ASN.1 the caller expected. Callers turn it into their own error. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/** Tag classes (the two top bits of the identifier octet). */
export const TagClass = { universal: 0, application: 1, context: 2, private: 3 } as const;

/** Universal tag numbers this reader knows by name. */
export const Tag = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  null: 5,
  oid: 6,
  utf8String: 12,
  sequence: 16,
  set: 17,
  bmpString: 30,
} as const;

/**
 * One ASN.1 element.
 *
 * @example
 * ```ts
 * const node = parseDer(bytes);
 * if (node.tagClass === TagClass.universal && node.tag === Tag.sequence) children(node);
 * ```
 */
export interface DerNode {
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tag: number;
  /** Content octets. For an indefinite length: the contents before the end-of-contents octets. */
  readonly value: Uint8Array;
  /** The whole element, identifier and length octets included. */
  readonly encoded: Uint8Array;
}

/** Deeper nesting than this is refused, so hostile input cannot exhaust the stack. */
const MAX_DEPTH = 48;

function readElement(bytes: Uint8Array, start: number, depth: number): { node: DerNode; end: number } {
  if (depth > MAX_DEPTH) throw new DerError("ASN.1 nesting is too deep");
  let pos = start;
  const at = (i: number): number => {
    const b = bytes[i];
    if (b === undefined) throw new DerError("ASN.1 element is truncated");
    return b;
  };
  const first = at(pos++);
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let b = at(pos++); ; b = at(pos++)) {
      if (tag > 0xffffff) throw new DerError("ASN.1 tag number is too large");
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  const lengthByte = at(pos++);
  if (lengthByte === 0x80) {
    if (!constructed) throw new DerError("indefinite length on a primitive ASN.1 element");
    const contentStart = pos;
    while (true) {
      if (at(pos) === 0 && at(pos + 1) === 0) break;
      pos = readElement(bytes, pos, depth + 1).end;
    }
    const end = pos + 2;
    const node = {
      tagClass,
      constructed,
      tag,
      value: bytes.subarray(contentStart, pos),
      encoded: bytes.subarray(start, end),
    };
    return { node, end };
  }
  let length = lengthByte;
  if (lengthByte > 0x80) {
    const count = lengthByte & 0x7f;
    if (count > 4) throw new DerError("ASN.1 length is too large");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + at(pos++);
  }
  const end = pos + length;
  if (end > bytes.length) throw new DerError("ASN.1 element is truncated");
  const node = {
    tagClass,
    constructed,
    tag,
    value: bytes.subarray(pos, end),
    encoded: bytes.subarray(start, end),
  };
  return { node, end };
}

/**
 * Reads one element that must fill `bytes` exactly.
 *
 * @example
 * ```ts
 * const pfx = parseDer(readFileSync("app.pfx"));
 * ```
 */
export function parseDer(bytes: Uint8Array): DerNode {
  const { node, end } = readElement(bytes, 0, 0);
  if (end !== bytes.length) throw new DerError("unexpected bytes after the ASN.1 element");
  return node;
}

/**
 * The elements inside a constructed element, in order.
 *
 * @example
 * ```ts
 * for (const bag of children(safeContents)) readBag(bag);
 * ```
 */
export function children(node: DerNode): DerNode[] {
  if (!node.constructed) throw new DerError("expected a constructed ASN.1 element");
  const out: DerNode[] = [];
  for (let pos = 0; pos < node.value.length; ) {
    const { node: child, end } = readElement(node.value, pos, 1);
    out.push(child);
    pos = end;
  }
  return out;
}

function expectUniversal(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tagClass !== TagClass.universal || node.tag !== tag) {
    throw new DerError(`${what}: unexpected ASN.1 element`);
  }
  return node;
}

/**
 * The children of a SEQUENCE; `what` names the structure in error messages.
 *
 * @example
 * ```ts
 * const [algorithm, digest] = sequence(digestInfo, "DigestInfo");
 * ```
 */
export function sequence(node: DerNode | undefined, what: string): DerNode[] {
  const n = expectUniversal(node, Tag.sequence, what);
  if (!n.constructed) throw new DerError(`${what}: SEQUENCE must be constructed`);
  return children(n);
}

/**
 * The children of a SET.
 *
 * @example
 * ```ts
 * const values = set(attributeValues, "Attribute values");
 * ```
 */
export function set(node: DerNode | undefined, what: string): DerNode[] {
  const n = expectUniversal(node, Tag.set, what);
  if (!n.constructed) throw new DerError(`${what}: SET must be constructed`);
  return children(n);
}

/**
 * A non-negative INTEGER small enough for a JavaScript number (versions, iteration counts).
 *
 * @example
 * ```ts
 * const iterations = integer(params[1], "iterationCount");
 * ```
 */
export function integer(node: DerNode | undefined, what = "INTEGER"): number {
  const { value } = expectUniversal(node, Tag.integer, what);
  if (value.length === 0) throw new DerError(`${what}: empty INTEGER`);
  if ((value[0] ?? 0) & 0x80) throw new DerError(`${what}: negative INTEGER`);
  let n = 0;
  for (const b of value) {
    n = n * 256 + b;
    if (n > Number.MAX_SAFE_INTEGER) throw new DerError(`${what}: INTEGER is too large`);
  }
  return n;
}

/**
 * An OBJECT IDENTIFIER in dotted form.
 *
 * @example
 * ```ts
 * oid(contentType) === "1.2.840.113549.1.7.1"; // data
 * ```
 */
export function oid(node: DerNode | undefined, what = "OBJECT IDENTIFIER"): string {
  const { value } = expectUniversal(node, Tag.oid, what);
  if (value.length === 0 || (value[value.length - 1] ?? 0) & 0x80) throw new DerError(`${what}: bad OID`);
  const arcs: number[] = [];
  let n = 0;
  for (const b of value) {
    if (n === 0 && b === 0x80) throw new DerError(`${what}: bad OID`);
    n = n * 128 + (b & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER) throw new DerError(`${what}: OID arc is too large`);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else arcs.push(n);
      n = 0;
    }
  }
  return arcs.join(".");
}

/**
 * The bytes of an OCTET STRING, joining the pieces of a constructed (BER) one. With
 * `anyTag: true` the identifier is not checked, for `[n] IMPLICIT OCTET STRING` fields.
 *
 * @example
 * ```ts
 * const salt = octets(params[0], "salt");
 * ```
 */
export function octets(node: DerNode | undefined, what = "OCTET STRING", anyTag = false): Uint8Array {
  const n = anyTag ? node : expectUniversal(node, Tag.octetString, what);
  if (!n) throw new DerError(`${what}: missing`);
  if (!n.constructed) return n.value;
  const parts = children(n).map((child) => octets(child, what));
  return Buffer.concat(parts);
}

/**
 * A BMPString (UTF-16BE), as in the PKCS#12 `friendlyName` attribute.
 *
 * @example
 * ```ts
 * const name = bmpString(values[0], "friendlyName");
 * ```
 */
export function bmpString(node: DerNode | undefined, what = "BMPString"): string {
  const { value } = expectUniversal(node, Tag.bmpString, what);
  if (value.length % 2 !== 0) throw new DerError(`${what}: odd length`);
  return Buffer.from(value).swap16().toString("utf16le");
}

/**
 * The single element inside `[n] EXPLICIT`.
 *
 * @example
 * ```ts
 * const content = explicit(contentInfo[1], 0, "ContentInfo.content");
 * ```
 */
export function explicit(node: DerNode | undefined, n: number, what: string): DerNode {
  if (!node || node.tagClass !== TagClass.context || node.tag !== n || !node.constructed) {
    throw new DerError(`${what}: expected [${n}] EXPLICIT`);
  }
  const inner = children(node);
  if (inner.length !== 1 || !inner[0]) throw new DerError(`${what}: [${n}] must hold one element`);
  return inner[0];
}

/**
 * Whether `node` is a context-specific `[n]` element (either form).
 *
 * @example
 * ```ts
 * const content = fields.find((f) => isContext(f, 0));
 * ```
 */
export function isContext(node: DerNode | undefined, n: number): node is DerNode {
  return node !== undefined && node.tagClass === TagClass.context && node.tag === n;
}
