/**
 * The Node.js entry of msal-ts: the same names as the portable entry, with the undici transport (proxy
 * from HTTPS_PROXY/NO_PROXY or `proxy`, extra CAs with `ca`, keep-alive) and certificate loading
 * (PFX, encrypted PEM) installed as the defaults.
 * @module msal-ts
 */
import { setDefaultPlatform } from "../app/platform.js";
import { setDefaultManagedIdentityPlatform } from "../managed-identity/platform.js";
import { nodeManagedIdentityPlatform } from "./managed-identity.js";
import { nodePlatform } from "./platform.js";

setDefaultPlatform(nodePlatform);
setDefaultManagedIdentityPlatform(nodeManagedIdentityPlatform);

export { PersistedTokenCache } from "../cache/persisted-token-cache.js";
export * from "../index.js";
export {
  decryptCacheFile,
  EncryptedCacheFileError,
  type EncryptedCacheFileProblem,
  EncryptedFilePersistence,
  type EncryptedFilePersistenceOptions,
  encryptCacheFile,
} from "./encrypted-file-persistence.js";
export { createNodeFetch, type NodeFetch, type NodeFetchOptions } from "./fetch.js";
export { CacheLockTimeoutError, FilePersistence, type FilePersistenceOptions } from "./file-persistence.js";
export {
  DEFAULT_KEYRING_SERVICE,
  KeyringPersistence,
  type KeyringPersistenceOptions,
  KeyringUnavailableError,
  keyringAccountOf,
  type SecurePersistence,
  type SecurePersistenceOptions,
  securePersistence,
} from "./keyring-persistence.js";
export { CredentialError } from "./private-key.js";
export {
  type ClientAssertionCallback,
  type FederatedTokenFileOptions,
  federatedTokenFileAssertion,
  type WorkloadIdentityOptions,
  workloadIdentity,
} from "./workload-identity.js";
export { nodeManagedIdentityPlatform, nodePlatform };
