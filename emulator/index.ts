/**
 * The msal-ts Entra ID emulator: a local identity provider that behaves like Microsoft Entra ID
 * closely enough that unmodified MSAL clients (msal-ts, MSAL Python, msal-node) work against it.
 *
 * @example
 * ```ts
 * import { startEmulator } from "msal-ts/emulator";
 *
 * const emulator = await startEmulator();
 * const daemon = emulator.directory.apps.find((a) => a.kind === "daemon");
 * const tenant = emulator.directory.tenants[0].id;
 * // Trust emulator.caFile (NODE_EXTRA_CA_CERTS) and use `${emulator.url}/${tenant}` as the authority.
 * await emulator.stop();
 * ```
 * @module msal-ts/emulator
 */

export { runEmulatorCommand } from "./cli.js";
export type { ControlOperations, FaultInput, ResetOptions, RevokeRequest } from "./control.js";
export type { PublicDirectory } from "./describe.js";
export type { DeviceDecision } from "./device.js";
export {
  type App,
  type AppCertificate,
  type AppInput,
  type AppKind,
  AZURE_CLI_APP_ID,
  CONSUMERS_TENANT_ID,
  CONTOSO_TENANT_ID,
  DAEMON_APP_ID,
  type Directory,
  type DirectoryInput,
  FABRIKAM_TENANT_ID,
  type FederatedIdentityCredential,
  FOCI_APP_A_ID,
  FOCI_APP_B_ID,
  MIDDLE_TIER_APP_ID,
  PUBLIC_APP_ID,
  SEEDED_SERVICE_ACCOUNT,
  type Tenant,
  TOKEN_EXCHANGE_AUDIENCE,
  type User,
  type UserInput,
  type UserKind,
  WEB_APP_ID,
  WORKLOAD_ISSUERS_PATH,
} from "./directory.js";
export { DirectoryError, type DirectoryMode } from "./directory-edit.js";
export {
  CLOUD_SHELL_APP_ID,
  MANAGED_IDENTITY_SOURCES,
  type ManagedIdentityCatalog,
  type ManagedIdentityEmulator,
  type ManagedIdentityOptions,
  type ManagedIdentityRecord,
  type ManagedIdentitySettings,
  type ManagedIdentitySettingsInput,
  type ManagedIdentitySource,
  seedManagedIdentities,
  tokenHash,
  userAssignedIdentity,
} from "./managed-identity/index.js";
export { ARM_RESOURCES } from "./scopes.js";
export {
  type Emulator,
  type EmulatorOptions,
  type EmulatorWithManagedIdentity,
  startEmulator,
} from "./server.js";
export { SSH_CERT_SCOPE, sshCaPublicKey } from "./ssh.js";
export { STORAGE_RESOURCE, storageEmulatorCertificate } from "./storage.js";
export type { EmulatorSettings, Fault, LoggedRequest } from "./world.js";
