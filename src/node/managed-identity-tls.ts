/**
 * Service Fabric's transport: its managed identity endpoint serves a self-signed certificate whose
 * thumbprint the host puts in IDENTITY_SERVER_THUMBPRINT. The chain cannot be verified, so the
 * certificate itself is: a connection is used only when the server's leaf certificate has that
 * SHA-1 thumbprint (or SHA-256, when 64 hex digits are given), and is closed before any request is
 * written otherwise. MSAL Python does not check it; msal-node and the Azure SDKs do.
 * https://learn.microsoft.com/azure/service-fabric/how-to-managed-identity-service-fabric-app-code
 */
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector, fetch as undiciFetch } from "undici";
import type { FetchLike } from "../http/types.js";
import { ManagedIdentityError } from "../managed-identity/errors.js";

const hex = (thumbprint: string | undefined): string =>
  (thumbprint ?? "").replace(/[:\s]/g, "").toUpperCase();

/** A `fetch` whose connections are accepted only with a server certificate of this thumbprint. */
export function createPinnedFetch(thumbprint: string, options: { timeoutMs?: number }): FetchLike {
  const expected = hex(thumbprint);
  if (!/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/.test(expected)) {
    throw new ManagedIdentityError(
      "service_fabric_certificate_unverifiable",
      "IDENTITY_SERVER_THUMBPRINT is not a certificate thumbprint (40 hex digits for SHA-1, 64 for SHA-256). Service Fabric sets it for the application; check the environment the app runs in.",
    );
  }
  // No session reuse: a resumed session skips the handshake whose certificate is checked here.
  const connect = buildConnector({
    rejectUnauthorized: false,
    maxCachedSessions: 0,
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  });
  const agent = new Agent({
    connect: (connectOptions, callback) => {
      if (connectOptions.protocol !== "https:") {
        callback(
          new ManagedIdentityError(
            "service_fabric_certificate_unverifiable",
            `Service Fabric's IDENTITY_ENDPOINT must be an https URL (its certificate is checked against IDENTITY_SERVER_THUMBPRINT), and it is ${connectOptions.protocol}//${connectOptions.hostname}. Check the environment the app runs in.`,
          ),
          null,
        );
        return;
      }
      connect(connectOptions, (error, socket) => {
        if (error || !socket) return callback(error ?? new Error("no connection"), null);
        const certificate = (socket as TLSSocket).getPeerCertificate();
        const actual = hex(expected.length === 40 ? certificate.fingerprint : certificate.fingerprint256);
        if (actual === expected) return callback(null, socket);
        socket.destroy();
        callback(
          new ManagedIdentityError(
            "service_fabric_certificate_mismatch",
            `The Service Fabric managed identity endpoint ${connectOptions.hostname}:${connectOptions.port} presented a certificate with thumbprint ${actual || "(none)"}, not IDENTITY_SERVER_THUMBPRINT ${expected}; nothing was sent to it. Another process may be answering on the endpoint's port: check what listens there.`,
          ),
          null,
        );
      });
    },
  });
  return (url, init) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
}
