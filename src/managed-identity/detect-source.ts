/**
 * Which managed identity source the host offers, from its environment variables, in MSAL Python's
 * order (spec section 3.14): Service Fabric, App Service (and Functions, Automation), Azure Machine
 * Learning, Azure Arc, Cloud Shell, and the VM's instance metadata service (IMDS) otherwise.
 */
import { defaultManagedIdentityPlatform, type ManagedIdentityPlatform } from "./platform.js";

/**
 * Where a managed identity's tokens come from. `DefaultToImds`: nothing in the environment names a
 * source, so the VM's instance metadata service is tried (as on a VM, a VM scale set or AKS).
 */
export type ManagedIdentitySource =
  | "ServiceFabric"
  | "AppService"
  | "MachineLearning"
  | "AzureArc"
  | "CloudShell"
  | "Imds"
  | "DefaultToImds";

/** A detected source and what its requests need from the environment. */
export interface DetectedSource {
  source: ManagedIdentitySource;
  /** The token endpoint (without the query the request adds). */
  endpoint: string;
  /** `IDENTITY_HEADER` or `MSI_SECRET`: the header that proves the caller runs on the host. */
  secret?: string;
  /** Service Fabric: `IDENTITY_SERVER_THUMBPRINT`. */
  thumbprint?: string;
  /** Azure Machine Learning: `DEFAULT_IDENTITY_CLIENT_ID`, the system-assigned identity's client id. */
  defaultClientId?: string;
}

export const IMDS_ENDPOINT = "http://169.254.169.254/metadata/identity/oauth2/token";
export const ARC_DEFAULT_ENDPOINT = "http://localhost:40342/metadata/identity/oauth2/token";
export const CLOUD_SHELL_DEFAULT_ENDPOINT = "http://localhost:50342/oauth2/token";

/** Where the Azure Connected Machine agent is installed, by platform: its presence means Arc. */
function arcAgentPath(platform: ManagedIdentityPlatform, env: Record<string, string | undefined>) {
  if (platform.os === "linux") return "/var/opt/azcmagent/bin/himds";
  if (platform.os === "win32")
    return `${env.ProgramFiles ?? "C:\\Program Files"}\\AzureConnectedMachineAgent\\himds.exe`;
  return undefined;
}

/** The source the environment names, with its endpoint and secrets. */
export function detectSource(platform: ManagedIdentityPlatform): DetectedSource {
  const env = platform.env();
  const identityEndpoint = env.IDENTITY_ENDPOINT;
  const identityHeader = env.IDENTITY_HEADER;
  if (identityEndpoint && identityHeader) {
    const thumbprint = env.IDENTITY_SERVER_THUMBPRINT;
    if (thumbprint)
      return { source: "ServiceFabric", endpoint: identityEndpoint, secret: identityHeader, thumbprint };
    return { source: "AppService", endpoint: identityEndpoint, secret: identityHeader };
  }
  if (env.MSI_ENDPOINT && env.MSI_SECRET) {
    const detected: DetectedSource = {
      source: "MachineLearning",
      endpoint: env.MSI_ENDPOINT,
      secret: env.MSI_SECRET,
    };
    if (env.DEFAULT_IDENTITY_CLIENT_ID) detected.defaultClientId = env.DEFAULT_IDENTITY_CLIENT_ID;
    return detected;
  }
  if (identityEndpoint && env.IMDS_ENDPOINT) return { source: "AzureArc", endpoint: identityEndpoint };
  const agent = arcAgentPath(platform, env);
  if (agent && platform.fileExists(agent)) return { source: "AzureArc", endpoint: ARC_DEFAULT_ENDPOINT };
  // Cloud Shell sets MSI_ENDPOINT without MSI_SECRET (msal-node's test) and AZUREPS_HOST_ENVIRONMENT (MSAL Python's).
  if (env.MSI_ENDPOINT || env.AZUREPS_HOST_ENVIRONMENT?.startsWith("cloud-shell"))
    return { source: "CloudShell", endpoint: env.MSI_ENDPOINT || CLOUD_SHELL_DEFAULT_ENDPOINT };
  // MSAL Python's override of the whole endpoint, then the Azure SDKs' override of its host.
  if (env.MSAL_MANAGED_IDENTITY_ENDPOINT)
    return { source: "Imds", endpoint: env.MSAL_MANAGED_IDENTITY_ENDPOINT };
  if (env.AZURE_POD_IDENTITY_AUTHORITY_HOST) {
    const host = env.AZURE_POD_IDENTITY_AUTHORITY_HOST.replace(/\/+$/, "");
    return { source: "Imds", endpoint: `${host}/metadata/identity/oauth2/token` };
  }
  return { source: "DefaultToImds", endpoint: IMDS_ENDPOINT };
}

/**
 * The managed identity source this host offers, read from its environment variables (and, for
 * Azure Arc, whether the agent is installed): see docs/azure.md for which variables mean which.
 * `DefaultToImds` when none is named: a VM, a scale set or AKS, or a machine with no managed identity.
 *
 * @example
 * ```ts
 * import { getManagedIdentitySource } from "msal-ts";
 *
 * if (getManagedIdentitySource() === "DefaultToImds") console.log("Trying the VM's instance metadata service.");
 * ```
 */
export function getManagedIdentitySource(
  platform: ManagedIdentityPlatform = defaultManagedIdentityPlatform(),
): ManagedIdentitySource {
  return detectSource(platform).source;
}
