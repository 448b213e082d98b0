/**
 * msal-ts: the Microsoft Authentication Library for TypeScript. This is the portable entry (any
 * runtime with `fetch` and Web Crypto); on Node.js, `msal-ts` resolves to the Node entry, which
 * adds proxy and CA support, PFX and encrypted PEM certificates.
 * @packageDocumentation
 */
export { ClientApplication } from "./app/client-application.js";
export { ConfidentialClientApplication } from "./app/confidential-client.js";
export type { ClientApplicationOptions, ConfidentialClientOptions } from "./app/options.js";
export type { Platform, TransportOptions } from "./app/platform.js";
export { Prompt, PublicClientApplication } from "./app/public-client.js";
export { canonicalEnvironment, environmentAliases, registerAliasGroup } from "./authority/aliases.js";
export { AuthorityBuilder, AZURE_CHINA, AZURE_PUBLIC, AZURE_US_GOVERNMENT } from "./authority/authority.js";
export { ATTEMPT_REGION_DISCOVERY, type AzureRegionOption } from "./authority/region.js";
export {
  AuthenticationError,
  AuthenticationRequiredError,
  type AzureCredentialErrorCode,
  CredentialUnavailableError,
} from "./azure/errors.js";
export {
  type AzureAbortSignalLike,
  type AzureAccessToken,
  type AzureGetTokenOptions,
  type MsalTokenCredential,
  type TokenCredentialClient,
  type TokenCredentialOptions,
  tokenCredential,
} from "./azure/token-credential.js";
export {
  DistributedTokenCache,
  type DistributedTokenCacheOptions,
  type PartitionStore,
  type StoredPartition,
} from "./cache/distributed-token-cache.js";
export type { CacheEntities, TokenCacheEvent } from "./cache/event.js";
export { FilePersistence } from "./cache/file-persistence-portable.js";
export { type PartitionContents, partitionContents, replacePartition } from "./cache/partition.js";
export {
  appPartition,
  type CacheAccessContext,
  type CachePlugin,
  type CoordinatedRequest,
  oboPartition,
  userPartition,
  withCacheAccess,
} from "./cache/plugin.js";
export {
  REDIS_COMPARE_AND_SET_SCRIPT,
  REDIS_RELEASE_LEASE_SCRIPT,
  type RedisPartitionClient,
  type RedisScriptArguments,
  redisPartitionStore,
} from "./cache/redis-partition-store.js";
export type {
  AccessTokenEntity,
  AccountEntity,
  AppMetadataEntity,
  EntityOf,
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
  type AccessTokenHit,
  type AccessTokenQuery,
  type AccessTokenSlot,
  type RefreshTokenQuery,
  TokenCache,
  type TokenCacheOptions,
} from "./cache/token-cache.js";
export { extractCerts } from "./credentials/certificate.js";
export type { CertificatePreparer } from "./credentials/client-auth.js";
export type {
  AssertionCredential,
  CertificateCredential,
  ClientCredential,
  PfxCredential,
  PreparedCertificate,
} from "./credentials/types.js";
export {
  ArgumentError,
  AuthFlowError,
  type AuthFlowErrorCode,
  BrowserInteractionTimeoutError,
  BrowserUnavailableError,
  CacheDeserializationError,
  ConfigurationError,
  type CredentialErrorCode,
  type GeneralErrorCode,
  IdTokenError,
  type IdTokenErrorCode,
  MsalError,
  type MsalErrorCode,
} from "./errors.js";
export type { Account } from "./flows/accounts.js";
export type {
  AuthCodeFlow,
  AuthCodeFlowRequest,
  AuthResponse,
  RedeemRequest,
  ResponseMode,
} from "./flows/auth-code.js";
export type { AuthorizationCodeRequest, AuthorizationUrlRequest } from "./flows/authorization-code.js";
export type { ClientCredentialRequest } from "./flows/client-credentials.js";
export type { AuthorityOverride } from "./flows/common.js";
export type { DeviceFlow, DeviceFlowRequest } from "./flows/device-code.js";
export type { InteractiveRequest, LoopbackListener, LoopbackOptions } from "./flows/interactive.js";
export type { OnBehalfOfRequest } from "./flows/on-behalf-of.js";
export type { RefreshTokenRequest } from "./flows/refresh-token.js";
export type { AccountRef, SilentRequest } from "./flows/silent.js";
export type { PopRequestOptions, TokenRequestOptions } from "./flows/token-extras.js";
export type { UsernamePasswordRequest } from "./flows/username-password.js";
export { NetworkError, type NetworkFailureKind } from "./http/network-error.js";
export type { FetchLike, HttpCacheStore } from "./http/types.js";
export type { Logger, LogLevel } from "./logging.js";
export {
  ManagedIdentityClient,
  type ManagedIdentityClientOptions,
  type ManagedIdentityRequest,
} from "./managed-identity/client.js";
export { getManagedIdentitySource, type ManagedIdentitySource } from "./managed-identity/detect-source.js";
export {
  ArcPlatformNotSupportedError,
  ManagedIdentityError,
  type ManagedIdentityErrorCode,
} from "./managed-identity/errors.js";
export {
  type ManagedIdentity,
  type ManagedIdentityIdType,
  SystemAssignedManagedIdentity,
  type UserAssignedId,
  UserAssignedManagedIdentity,
} from "./managed-identity/identity.js";
export type { ImdsRetryPolicy } from "./managed-identity/imds.js";
export type { KeyFileContents, ManagedIdentityPlatform } from "./managed-identity/platform.js";
export { isPopSupported, PopAuthScheme, type PopHttpMethod } from "./pop/auth-scheme.js";
export {
  inMemoryPopKeyStore,
  jwkThumbprint,
  type PopKey,
  type PopKeyStore,
  type PopPublicJwk,
  popKeyFromKeyPair,
} from "./pop/key-store.js";
export { type ShrPayload, signHttpRequest } from "./pop/shr.js";
export { publicKeyToJwk, type SshCertificateData, sshCertificateRequestData } from "./pop/ssh-key.js";
export { decodeIdToken, decodePart, type IdTokenClaims } from "./protocol/jwt.js";
export {
  isTokenError,
  type OAuthErrorCode,
  type TokenFailure,
  type TokenResult,
  type TokenSuccess,
} from "./protocol/token-result.js";
export {
  type AuthChallenge,
  MAX_CHALLENGE_PARAMETERS,
  MAX_CHALLENGES,
  MAX_WWW_AUTHENTICATE_LENGTH,
  parseWwwAuthenticate,
} from "./protocol/www-authenticate.js";
export { VERSION } from "./version.js";
