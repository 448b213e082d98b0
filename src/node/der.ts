/**
 * A small reader for ASN.1 DER (ITU-T X.690), with the parts of BER that PKCS#12 files use:
 * indefinite lengths and constructed OCTET STRINGs. It reads; it does not write. Every function
 * throws {@link DerError} on input that does not have the expected shape, and never reads outside
 * the buffer it was given.
 *
 * Its input may be hostile, so its work is bounded by the input's size and these limits, checked
 * before the element they concern is read: nesting depth ({@link DER_LIMITS}, counted across
 * every call on the same tree, so no recursion is unbounded), the number of elements a
 * constructed element or a constructed OCTET STRING may hold, and the element reads one tree
 * may take in all (an indefinite length is found by reading what it holds, and reading it again
 * element by element must not multiply that). Breaking one throws {@link DerLimitError}.
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

/**
 * A bound was exceeded ({@link DER_LIMITS}, or the most elements or the largest INTEGER a
 * caller allows): the input is not necessarily malformed, but no credential file needs that
 * much, so it is refused before the work is done.
 *
 * @example
 * ```ts
 * try {
 *   integer(node, "the iteration count", 600_000);
 * } catch (e) {
 *   if (e instanceof DerLimitError) refuse(e.message); // "the iteration count is 10000000, above ..."
 * }
 * ```
 */
export class DerLimitError extends DerError {
  constructor(message: string) {
    super(message);
    this.name = "DerLimitError";
  }
}

/**
 * Bounds on what one parse may hold. PKCS#12 files nest about 12 levels deep (a PBES2
 * AlgorithmIdentifier inside an EncryptedData inside a ContentInfo) and BER encoders split an
 * OCTET STRING into chunks of about 1000 bytes, so a 1 MiB file needs about 1,100; nodes are
 * objects of about 200 bytes, so 4096 of them keep one call's memory near 1 MB. A PKCS#12 tree
 * takes a few thousand reads; 131,072 take 10 to 100 ms (warm or cold JIT).
 *
 * @example
 * ```ts
 * if (depth > DER_LIMITS.maxDepth) refuse();
 * ```
 */
export const DER_LIMITS = {
  /** Nesting depth of elements from the outermost one (at depth 0). */
  maxDepth: 48,
  /** Elements directly inside one constructed element, and pieces of one constructed OCTET STRING. */
  maxElements: 4096,
  /** Element reads for one tree (from one {@link parseDer} call), re-reads included. */
  maxReads: 131_072,
} as const;

/** Element reads left for one tree, shared by all its nodes. */
interface ReadBudget {
  remaining: number;
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
  /** How deep it is in the element {@link parseDer} read (0 for that one). */
  readonly depth: number;
  /** Element reads left for the tree it belongs to (shared by every node of that tree). */
  readonly reads: ReadBudget;
}

function readElement(
  bytes: Uint8Array,
  start: number,
  depth: number,
  reads: ReadBudget,
): { node: DerNode; end: number } {
  if (--reads.remaining < 0)
    throw new DerLimitError(`reading it takes more than ${DER_LIMITS.maxReads} ASN.1 element reads`);
  if (depth > DER_LIMITS.maxDepth)
    throw new DerLimitError(`ASN.1 elements are nested more than ${DER_LIMITS.maxDepth} deep`);
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
    for (let count = 0; ; count++) {
      if (at(pos) === 0 && at(pos + 1) === 0) break;
      if (count === DER_LIMITS.maxElements) throw tooMany();
      pos = readElement(bytes, pos, depth + 1, reads).end;
    }
    const end = pos + 2;
    const node = {
      tagClass,
      constructed,
      tag,
      value: bytes.subarray(contentStart, pos),
      encoded: bytes.subarray(start, end),
      depth,
      reads,
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
    depth,
    reads,
  };
  return { node, end };
}

function tooMany(): DerLimitError {
  return new DerLimitError(`an ASN.1 element holds more than ${DER_LIMITS.maxElements} elements`);
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
  const { node, end } = readElement(bytes, 0, 0, { remaining: DER_LIMITS.maxReads });
  if (end !== bytes.length) throw new DerError("unexpected bytes after the ASN.1 element");
  return node;
}

/**
 * The elements inside a constructed element, in order; more than `max` is refused with
 * {@link DerLimitError} before the next one is read.
 *
 * @example
 * ```ts
 * for (const bag of children(safeContents, 256)) readBag(bag);
 * ```
 */
export function children(
  node: DerNode,
  max: number = DER_LIMITS.maxElements,
  what = "an ASN.1 element",
): DerNode[] {
  if (!node.constructed) throw new DerError("expected a constructed ASN.1 element");
  const out: DerNode[] = [];
  for (let pos = 0; pos < node.value.length; ) {
    if (out.length === max) throw new DerLimitError(`${what} holds more than ${max} elements`);
    const { node: child, end } = readElement(node.value, pos, node.depth + 1, node.reads);
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
 * Elements a SEQUENCE or SET may hold unless the caller says otherwise: enough for every
 * fixed-shape structure PKCS#12 and PKCS#8 use (an RSA key has 9 or 10 fields).
 */
const FIXED_SHAPE_MAX = 16;

/**
 * The children of a SEQUENCE; `what` names the structure in error messages. Lists (SEQUENCE OF)
 * pass their own `max`; fixed-shape structures keep the default of 16.
 *
 * @example
 * ```ts
 * const [algorithm, digest] = sequence(digestInfo, "DigestInfo");
 * const bags = sequence(safeContents, "SafeContents", 256);
 * ```
 */
export function sequence(node: DerNode | undefined, what: string, max = FIXED_SHAPE_MAX): DerNode[] {
  const n = expectUniversal(node, Tag.sequence, what);
  if (!n.constructed) throw new DerError(`${what}: SEQUENCE must be constructed`);
  return children(n, max, what);
}

/**
 * The children of a SET, at most `max` (16 unless given).
 *
 * @example
 * ```ts
 * const values = set(attributeValues, "Attribute values");
 * ```
 */
export function set(node: DerNode | undefined, what: string, max = FIXED_SHAPE_MAX): DerNode[] {
  const n = expectUniversal(node, Tag.set, what);
  if (!n.constructed) throw new DerError(`${what}: SET must be constructed`);
  return children(n, max, what);
}

/**
 * A non-negative INTEGER small enough for a JavaScript number (versions, iteration counts). Above
 * `max` it throws {@link DerLimitError} ("`what` is N, above the limit of `max`"), read no further
 * than needed to tell.
 *
 * @example
 * ```ts
 * const iterations = integer(params[1], "the iteration count", 600_000);
 * ```
 */
export function integer(node: DerNode | undefined, what = "INTEGER", max = Number.MAX_SAFE_INTEGER): number {
  const { value } = expectUniversal(node, Tag.integer, what);
  if (value.length === 0) throw new DerError(`${what}: empty INTEGER`);
  if ((value[0] ?? 0) & 0x80) throw new DerError(`${what}: negative INTEGER`);
  let n = 0;
  for (const b of value) {
    n = n * 256 + b;
    if (n <= Number.MAX_SAFE_INTEGER) continue;
    if (max < Number.MAX_SAFE_INTEGER) throw new DerLimitError(`${what} is above the limit of ${max}`);
    throw new DerError(`${what}: INTEGER is too large`);
  }
  if (n > max) throw new DerLimitError(`${what} is ${n}, above the limit of ${max}`);
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
 * Pieces are walked with an explicit stack, one element at a time, so neither the call stack
 * nor the memory grows with how the pieces nest; more than {@link DER_LIMITS}' `maxElements`
 * pieces in all is refused.
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
  const parts: Uint8Array[] = [];
  let elements = 0;
  const stack = [{ value: n.value, pos: 0, depth: n.depth + 1 }];
  for (let frame = stack.at(-1); frame; frame = stack.at(-1)) {
    if (frame.pos >= frame.value.length) {
      stack.pop();
      continue;
    }
    if (++elements > DER_LIMITS.maxElements) throw tooMany();
    const { node: piece, end } = readElement(frame.value, frame.pos, frame.depth, n.reads);
    frame.pos = end;
    expectUniversal(piece, Tag.octetString, what);
    if (piece.constructed) stack.push({ value: piece.value, pos: 0, depth: piece.depth + 1 });
    else parts.push(piece.value);
  }
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
