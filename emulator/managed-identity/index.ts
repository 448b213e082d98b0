/**
 * Managed identity in the emulator: the token endpoints of every host that gives apps a managed
 * identity (App Service, Service Fabric, Azure Arc, Cloud Shell, Azure Machine Learning, IMDS).
 *
 * API summary:
 * - `startEmulator({ managedIdentity: true })` (or `{ managedIdentity: ManagedIdentityOptions }`:
 *   `port`, `serviceFabricPort`, `arcKeyDirectory`, `identities`, `resources`, `cloudShellUser`,
 *   `settings: { lifetimes: { imds: 86400, ... }, sourceCache: true, arcKeyLength: 64 }`) starts a
 *   plain-HTTP listener on 127.0.0.1 for five sources and an HTTPS one for Service Fabric, and
 *   returns `emulator.managedIdentity`:
 *   - `environment(source)`: the environment variables an app on that source sees, for source
 *     `"appService" | "serviceFabric" | "azureArc" | "cloudShell" | "machineLearning" | "imds"`:
 *     appService `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`; serviceFabric `IDENTITY_ENDPOINT`
 *     (https), `IDENTITY_HEADER`, `IDENTITY_SERVER_THUMBPRINT`, `IDENTITY_API_VERSION`; azureArc
 *     `IDENTITY_ENDPOINT`, `IMDS_ENDPOINT`; cloudShell `MSI_ENDPOINT`, `AZUREPS_HOST_ENVIRONMENT`;
 *     machineLearning `MSI_ENDPOINT`, `MSI_SECRET`, `DEFAULT_IDENTITY_CLIENT_ID`; imds
 *     `AZURE_POD_IDENTITY_AUTHORITY_HOST` (the token path `/metadata/identity/oauth2/token` is
 *     appended to it).
 *   - `endpoints[source]`: each token URL; `identities.systemAssigned[source]` and
 *     `identities.userAssigned[]`, each `{ name, clientId, objectId, resourceId }`.
 *   - `arcKeyDirectory`; `serviceFabric.{ thumbprint, certificatePem, caPem, caFile }`.
 *   - `configure({ lifetimes, sourceCache, arcKeyLength })`, `reset()`.
 * - Requests are in the emulator's request log (`emulator.requests("imds")`) under the endpoint
 *   names `imds`, `app-service`, `service-fabric`, `azure-arc`, `cloud-shell`, `machine-learning`,
 *   and faults target them the same way: `emulator.injectFault({ endpoint: "imds", status: 503,
 *   times: 2 })`.
 * - Sources keep the token they issued and hand it out again (with a smaller `expires_in`) until
 *   five minutes before it expires, as real hosts do; `settings.sourceCache: false` issues a new
 *   token on every request. App Service and Service Fabric issue a new one when
 *   `token_sha256_to_refresh` is the hex SHA-256 of the kept token, and put `xms_cc=cp1,...` in the
 *   token's `xms_cc` claim.
 * - User-assigned identities: IMDS `client_id` / `object_id` / `msi_res_id`; App Service
 *   `client_id` / `principal_id` (or `object_id`) / `mi_res_id`; Machine Learning `clientid` only
 *   (others are refused). Service Fabric, Azure Arc and Cloud Shell ignore identity parameters.
 *
 * The wire facts of each source are in its file and in docs/emulator.md.
 * @packageDocumentation
 */
export type { ManagedIdentityCatalog, ManagedIdentityRecord, ManagedIdentitySource } from "./identities.js";
export { MANAGED_IDENTITY_SOURCES, seedManagedIdentities, userAssignedIdentity } from "./identities.js";
export {
  type ManagedIdentityEmulator,
  type ManagedIdentityOptions,
  type ManagedIdentitySettingsInput,
  startManagedIdentity,
} from "./listeners.js";
export { CLOUD_SHELL_APP_ID, type ManagedIdentitySettings, tokenHash } from "./tokens.js";
