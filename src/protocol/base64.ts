/**
 * Base64 decoding that takes both the standard and the URL-safe alphabet, padded or not: MSAL's
 * `client_info` and id_token parts arrive in every form (MSAL Python's cache tests use standard
 * base64). Portable: `atob` and `TextDecoder` only.
 */

const decoder = new TextDecoder();

/** Decodes base64 or base64url text to bytes; throws `TypeError` when it is not base64. */
export function decodeBase64(input: string): Uint8Array<ArrayBuffer> {
  let text = input.trim().replace(/-/g, "+").replace(/_/g, "/");
  const remainder = text.length % 4;
  if (remainder === 1) throw new TypeError("not base64: impossible length");
  if (remainder > 0) text += "=".repeat(4 - remainder);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function decodeBase64ToString(input: string): string {
  return decoder.decode(decodeBase64(input));
}

/** Encodes bytes as base64url without padding (RFC 7515 section 2). */
export function encodeBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
