/**
 * msal-ts: the Microsoft Authentication Library for TypeScript.
 * @packageDocumentation
 */
export { canonicalEnvironment, environmentAliases, registerAliasGroup } from "./authority/aliases.js";
export type { CacheEntities, TokenCacheEvent } from "./cache/event.js";
export type {
  AccessTokenEntity,
  AccountEntity,
  AppMetadataEntity,
  IdTokenEntity,
  RefreshTokenEntity,
  Section,
} from "./cache/schema.js";
export {
  accessTokenKey,
  accountKey,
  appMetadataKey,
  idTokenKey,
  refreshTokenKey,
  scopesToTarget,
} from "./cache/schema.js";
export { SerializableTokenCache } from "./cache/serializable-token-cache.js";
export {
  type AccessTokenQuery,
  type RefreshTokenQuery,
  TokenCache,
  type TokenCacheOptions,
} from "./cache/token-cache.js";
export { CacheDeserializationError, IdTokenError, MsalError } from "./errors.js";
export { decodeIdToken, decodePart, type IdTokenClaims } from "./protocol/jwt.js";

export const VERSION = "0.1.0";
