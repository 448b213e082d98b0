/**
 * The key a proof-of-possession token is bound to: an RSA key pair made with Web Crypto (RS256,
 * 2048-bit, private key not extractable), named by its RFC 7638 JWK thumbprint. A key store hands
 * out the key to use; the default keeps one per application in memory. A process that lives long,
 * or a fleet that shares tokens, supplies its own store so that tokens bound to its key stay usable.
 */
import { encodeBase64Url } from "../protocol/base64.js";

/** The public half of a PoP key as a JWK (RFC 7517), as the SHR's `cnf.jwk` carries it. */
export interface PopPublicJwk {
  /** Always `RSA`. */
  kty: "RSA";
  /** The modulus, base64url. */
  n: string;
  /** The public exponent, base64url (`AQAB`). */
  e: string;
}

/** A PoP key as the library uses it: the private key signs, `kid` names the key to the server. */
export interface PopKey {
  /** base64url SHA-256 JWK thumbprint of the public key (RFC 7638): what `req_cnf` and the token's `cnf` name. */
  kid: string;
  /** The public key, sent in every SHR so the resource can check the signature. */
  publicJwk: PopPublicJwk;
  /** An RSASSA-PKCS1-v1_5 SHA-256 private key (RS256). */
  privateKey: CryptoKey;
}

/**
 * Where the PoP key comes from. Tokens are cached under the key's `kid`: a store that hands out
 * another key makes the next call fetch a token bound to it.
 *
 * @example
 * ```ts
 * const pair = await crypto.subtle.generateKey(
 *   { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
 *   false, ["sign", "verify"]); // or the key pair your fleet shares
 * const shared = await popKeyFromKeyPair(pair);
 * const store: PopKeyStore = { getKey: async () => shared };
 * const authScheme = new PopAuthScheme("GET", "https://api.contoso.com/orders", "nonce");
 * await app.acquireTokenForClient(["api://orders/.default"], { authScheme, popKeyStore: store });
 * ```
 */
export interface PopKeyStore {
  /** The key to bind new tokens to and to sign with. */
  getKey(): Promise<PopKey>;
}

const RS256: RsaHashedKeyGenParams = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};

/**
 * The RFC 7638 thumbprint of an RSA public key: SHA-256 of the required members in lexicographic
 * order, without whitespace, base64url.
 *
 * @example
 * ```ts
 * const { publicJwk } = await inMemoryPopKeyStore().getKey();
 * const kid = await jwkThumbprint(publicJwk); // the same as the key's own kid
 * ```
 */
export async function jwkThumbprint(jwk: PopPublicJwk): Promise<string> {
  const canonical = JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return encodeBase64Url(new Uint8Array(digest));
}

/**
 * A PoP key from a key pair made elsewhere (RSASSA-PKCS1-v1_5 with SHA-256); its public key must be
 * extractable, as Web Crypto makes every public key.
 *
 * @example
 * ```ts
 * const pair = await crypto.subtle.generateKey(
 *   { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
 *   false, ["sign", "verify"]);
 * const key = await popKeyFromKeyPair(pair);
 * ```
 */
export async function popKeyFromKeyPair(pair: CryptoKeyPair): Promise<PopKey> {
  const exported = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const publicJwk: PopPublicJwk = { kty: "RSA", n: String(exported.n), e: String(exported.e) };
  return { kid: await jwkThumbprint(publicJwk), publicJwk, privateKey: pair.privateKey };
}

/** A new RS256 key pair whose private key cannot be exported. */
export async function generatePopKey(): Promise<PopKey> {
  const pair = (await crypto.subtle.generateKey(RS256, false, ["sign", "verify"])) as CryptoKeyPair;
  return popKeyFromKeyPair(pair);
}

/**
 * A store that makes one key on first use and keeps it in memory for its lifetime (the default,
 * one per application). Concurrent first calls share one key.
 *
 * @example
 * ```ts
 * const store = inMemoryPopKeyStore(); // share it between apps to share the key
 * const { kid } = await store.getKey();
 * ```
 */
export function inMemoryPopKeyStore(): PopKeyStore {
  let key: Promise<PopKey> | undefined;
  return {
    getKey() {
      key ??= generatePopKey();
      // A failed generation is not remembered: the next call tries again.
      key.catch(() => {
        key = undefined;
      });
      return key;
    },
  };
}

const defaultStores = new WeakMap<object, PopKeyStore>();

/** The in-memory store of one application (keyed by its context object). */
export function defaultPopKeyStore(owner: object): PopKeyStore {
  let store = defaultStores.get(owner);
  if (store === undefined) {
    store = inMemoryPopKeyStore();
    defaultStores.set(owner, store);
  }
  return store;
}

/** `req_cnf` for a PoP token request: base64url, unpadded, of `{"kid": kid}`. */
export function popRequestConfirmation(kid: string): string {
  return encodeBase64Url(new TextEncoder().encode(JSON.stringify({ kid })));
}
