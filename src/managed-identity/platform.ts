/**
 * What managed identity needs from the runtime: the environment variables a host sets, whether the
 * Azure Arc agent is installed, its key files, the machine's name (the cache's environment) and
 * transports, one of them checking Service Fabric's certificate by thumbprint. The portable default
 * sees no environment; the Node entry installs the process environment, the file system and undici
 * (src/node/managed-identity.ts).
 */
import type { FetchLike } from "../http/types.js";

/** A key file as read: its text, or only its size when it is larger than asked for. */
export type KeyFileContents =
  | {
      /** The file's text. */
      text: string;
    }
  | {
      /** The file's size in bytes, when larger than asked for. */
      tooLarge: number;
    };

/**
 * What a {@link ManagedIdentityClient} needs of its runtime: environment variables, files (Azure Arc's key
 * file), the host name and transports. The Node entry installs its own.
 */
export interface ManagedIdentityPlatform {
  /**
   * The environment variables that say which source the app runs on (`IDENTITY_ENDPOINT`, `MSI_ENDPOINT`...).
   */
  env(): Record<string, string | undefined>;
  /** The operating system as Node names it (`linux`, `win32`, `darwin`, ...). */
  os: string;
  /** Whether a file exists (the Azure Arc agent's executable). */
  fileExists(path: string): boolean;
  /**
   * Reads a file as text, unless it is larger than `maxBytes`: then only its size. Rejects when it
   * cannot be read.
   */
  readKeyFile(path: string, maxBytes: number): Promise<KeyFileContents>;
  /** The machine's name: the cache's `environment` for managed identity tokens. */
  hostname(): string;
  /** A transport to the managed identity endpoint (never through a proxy: these endpoints are local). */
  createFetch(options: { timeoutMs?: number }): FetchLike;
  /**
   * A transport that accepts only a server certificate with this SHA-1 (or SHA-256) thumbprint, for
   * Service Fabric, whose endpoint has a self-signed certificate; absent where it cannot be made.
   */
  createPinnedFetch?(thumbprint: string, options: { timeoutMs?: number }): FetchLike;
}

const portable: ManagedIdentityPlatform = {
  env: () => ({}),
  os: "unknown",
  fileExists: () => false,
  readKeyFile: () => Promise.reject(new Error("this runtime cannot read files")),
  hostname: () => "localhost",
  createFetch: () => (url, init) => fetch(url, init),
};

let current: ManagedIdentityPlatform = portable;

/** The platform managed identity uses when none is given; the Node entry sets it when imported. */
export function defaultManagedIdentityPlatform(): ManagedIdentityPlatform {
  return current;
}

export function setDefaultManagedIdentityPlatform(platform: ManagedIdentityPlatform): void {
  current = platform;
}
