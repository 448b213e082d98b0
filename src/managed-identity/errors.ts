/**
 * Errors of managed identity: mistakes on the client side (an identity the source cannot use, an
 * Azure Arc challenge that does not hold up, a Service Fabric server that is not the one the host
 * named). What a managed identity endpoint answers with an error status is a result, never one of
 * these (DESIGN principle 3).
 */
import { MsalError } from "../errors.js";

/** The stable codes of {@link ManagedIdentityError}; docs/errors.md says what to do for each. */
export type ManagedIdentityErrorCode =
  | "invalid_managed_identity"
  | "user_assigned_not_supported"
  | "arc_challenge_invalid"
  | "arc_key_file_invalid"
  | "arc_key_file_too_large"
  | "arc_key_file_unreadable"
  | "service_fabric_certificate_mismatch"
  | "service_fabric_certificate_unverifiable"
  | "managed_identity_unavailable"
  | "arc_platform_not_supported";

/**
 * A managed identity could not be used: it was given wrongly, the source does not support it, or
 * the source's endpoint did something a real one never does (an Azure Arc challenge outside the
 * agent's key directory, a Service Fabric certificate with another thumbprint). `code` says which;
 * the message says what to do.
 *
 * @example
 * ```ts
 * const client = new ManagedIdentityClient(new UserAssignedManagedIdentity({ clientId: "9f1c2d3e-0000-4000-8000-000000000001" }));
 * try {
 *   await client.acquireTokenForClient({ resource: "https://vault.azure.net" });
 * } catch (e) {
 *   if (e instanceof ManagedIdentityError && e.code === "user_assigned_not_supported")
 *     console.error("This host has only a system-assigned identity: use new SystemAssignedManagedIdentity().");
 *   else throw e;
 * }
 * ```
 */
export class ManagedIdentityError extends MsalError {
  declare readonly code: ManagedIdentityErrorCode;
  constructor(code: ManagedIdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Azure Arc was detected on an operating system its agent does not run on (it runs on Linux and
 * Windows): msal-ts does not know where the agent keeps its key files there.
 *
 * @example
 * ```ts
 * const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity());
 * try {
 *   await client.acquireTokenForClient({ resource: "https://management.azure.com" });
 * } catch (e) {
 *   if (e instanceof ArcPlatformNotSupportedError) console.error(e.message);
 * }
 * ```
 */
export class ArcPlatformNotSupportedError extends ManagedIdentityError {
  constructor(platform: string) {
    super(
      "arc_platform_not_supported",
      `Azure Arc was detected (IDENTITY_ENDPOINT and IMDS_ENDPOINT are set, or the Arc agent is installed), but this platform is "${platform}" and the Azure Connected Machine agent runs only on Linux and Windows. Run the app on an Arc-enabled Linux or Windows server, or unset IDENTITY_ENDPOINT and IMDS_ENDPOINT if they do not come from the agent.`,
    );
  }
}
