/**
 * Base64 decoding that takes both the standard and the URL-safe alphabet, padded or not: MSAL's
 * `client_info` and id_token parts arrive in every form (MSAL Python's cache tests use standard
 * base64). Portable: `atob` and `TextDecoder` only.
 */

const decoder = new TextDecoder();

/** The decoded bytes as a "binary string" (one character per byte), as `atob` gives them. */
function decodeToBinary(input: string): string {
  let text = input.trim().replace(/-/g, "+").replace(/_/g, "/");
  const remainder = text.length % 4;
  if (remainder === 1) throw new TypeError("not base64: impossible length");
  if (remainder > 0) text += "=".repeat(4 - remainder);
  return atob(text);
}

function binaryToBytes(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Decodes base64 or base64url text to bytes; throws `TypeError` when it is not base64. */
export function decodeBase64(input: string): Uint8Array<ArrayBuffer> {
  return binaryToBytes(decodeToBinary(input));
}

/** A byte of 0x80 or more: without one, the UTF-8 text is the binary string itself. */
const NON_ASCII = /[\x80-\xff]/;

/**
 * Decodes base64 or base64url text as UTF-8. JSON claims are nearly always ASCII, whose text is
 * `atob`'s output as it is: copying it into bytes and decoding them took seven times as long (an
 * id_token and a client_info on every sign-in and refresh).
 */
export function decodeBase64ToString(input: string): string {
  const binary = decodeToBinary(input);
  return NON_ASCII.test(binary) ? decoder.decode(binaryToBytes(binary)) : binary;
}

/** Encodes bytes as base64url without padding (RFC 7515 section 2). */
export function encodeBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
