/**
 * Azure Arc-enabled servers: `IDENTITY_ENDPOINT` and `IMDS_ENDPOINT`, or the Connected Machine
 * agent installed (spec section 3.14). The agent answers a first request with a challenge naming a
 * key file only a local administrator (or the `himds` group) can read; its contents, sent back as
 * Basic credentials, prove the caller runs on the machine.
 * https://learn.microsoft.com/azure/azure-arc/servers/managed-identity-authentication
 *
 * The challenge's path is trusted only inside the agent's key directory and with a `.key`
 * extension (as msal-node checks), and the file read is one msal-ts names in that directory: a
 * process that answers on the agent's port cannot make the client read, and send away, another file.
 */
import type { HttpResponse } from "../http/types.js";
import type { TokenFailure } from "../protocol/token-result.js";
import { ArcPlatformNotSupportedError, ManagedIdentityError } from "./errors.js";
import type { KeyFileContents } from "./platform.js";
import { type SourceCall, type SourceResult, succeeded, tokenFromResponse, withQuery } from "./response.js";

export const ARC_API_VERSION = "2020-06-01";
/** The largest key file the agent writes is far smaller; a larger one is refused unread. */
export const ARC_MAX_KEY_FILE_BYTES = 4096;

/** What the challenge step reads besides the network. */
export interface ArcFiles {
  os: string;
  env: Record<string, string | undefined>;
  /** For tests only: the key directory instead of the platform's (see `ManagedIdentityClientOptions`). */
  keyDirectory?: string;
  readKeyFile(path: string, maxBytes: number): Promise<KeyFileContents>;
}

/** The agent's key directory on this platform. */
export function arcKeyDirectory(files: ArcFiles): string {
  if (files.keyDirectory !== undefined) return files.keyDirectory;
  if (files.os === "linux") return "/var/opt/azcmagent/tokens";
  if (files.os === "win32")
    return `${files.env.ProgramData ?? "C:\\ProgramData"}\\AzureConnectedMachineAgent\\Tokens`;
  throw new ArcPlatformNotSupportedError(files.os);
}

/** The challenge's path, from `Basic realm=<path>`; anything else is refused. */
export function challengePath(header: string | undefined): string {
  const parts = header?.split("=") ?? [];
  const [scheme, path] = parts;
  if (parts.length !== 2 || scheme?.trim().toLowerCase() !== "basic realm" || !path?.trim()) {
    throw new ManagedIdentityError(
      "arc_challenge_invalid",
      `The Azure Arc endpoint's WWW-Authenticate header is not "Basic realm=<key file path>" (it is ${header === undefined ? "missing" : JSON.stringify(header.slice(0, 200))}). Check that IDENTITY_ENDPOINT points at the Azure Connected Machine agent (himds) and that the agent is running (azcmagent show).`,
    );
  }
  return path.trim();
}

/**
 * The key file to read for a challenge path: the path must name a `.key` file directly in the key
 * directory (Windows paths compared case-insensitively, with either slash).
 */
export function keyFilePath(challenge: string, directory: string, os: string): string {
  const windows = os === "win32";
  const separators = windows ? /[/\\]/ : /\//;
  const normal = (path: string) => {
    // A leading separator is kept: a relative path is not inside an absolute directory.
    const joined = `${separators.test(path.charAt(0)) ? "/" : ""}${path.split(separators).filter(Boolean).join("/")}`;
    return windows ? joined.toLowerCase() : joined;
  };
  const segments = challenge.split(separators);
  const name = segments.pop() ?? "";
  const inside = segments.length > 0 && normal(segments.join("/")) === normal(directory);
  if (!inside || !/^[^/\\]+\.key$/i.test(name) || name === ".key" || segments.includes("..")) {
    throw new ManagedIdentityError(
      "arc_key_file_invalid",
      `The Azure Arc endpoint's challenge names ${JSON.stringify(challenge)}, which is not a .key file in the agent's key directory ${directory}. Only the Azure Connected Machine agent writes there; check that IDENTITY_ENDPOINT points at it and not at another process.`,
    );
  }
  return `${directory.replace(/[/\\]+$/, "")}${windows ? "\\" : "/"}${name}`;
}

async function readKey(files: ArcFiles, path: string): Promise<string> {
  let contents: KeyFileContents;
  try {
    contents = await files.readKeyFile(path, ARC_MAX_KEY_FILE_BYTES);
  } catch (error) {
    throw new ManagedIdentityError(
      "arc_key_file_unreadable",
      `Could not read the Azure Arc key file ${path} (${error instanceof Error ? error.message : String(error)}). Run the app as a user in the "himds" group on Linux, or as an administrator on Windows.`,
      { cause: error },
    );
  }
  if ("tooLarge" in contents) {
    throw new ManagedIdentityError(
      "arc_key_file_too_large",
      `The Azure Arc key file ${path} is ${contents.tooLarge} bytes; the agent's key files are at most ${ARC_MAX_KEY_FILE_BYTES}. Something other than the agent wrote it: do not use this machine's identity until you know what did.`,
    );
  }
  return contents.text;
}

export async function azureArcToken(call: SourceCall, files: ArcFiles): Promise<SourceResult> {
  if (call.identity.idType !== "SystemAssigned") {
    throw new ManagedIdentityError(
      "user_assigned_not_supported",
      "Azure Arc-enabled servers have only a system-assigned managed identity. Use new SystemAssignedManagedIdentity() on Arc.",
    );
  }
  const url = withQuery(call.detected.endpoint, { "api-version": ARC_API_VERSION, resource: call.resource });
  const challenge = await call.send({ method: "GET", url, headers: { Metadata: "true" } });
  const header = challenge.headers["www-authenticate"];
  // An error without a challenge (a bad resource, say) is the endpoint's answer, not a broken challenge.
  if (header === undefined && challenge.status >= 400) return arcError(challenge);
  const path = challengePath(header);
  const directory = arcKeyDirectory(files);
  const key = await readKey(files, keyFilePath(path, directory, files.os));
  const response = await call.send({
    method: "GET",
    url,
    headers: { Metadata: "true", Authorization: `Basic ${key}` },
  });
  if (succeeded(response))
    return tokenFromResponse("AzureArc", response, call.now(), { lifetime: "expires_in" });
  return arcError(response);
}

/** Every Arc error is `invalid_request` with the body as its description (MSAL Python's mapping). */
export function arcError(response: HttpResponse): TokenFailure {
  return { error: "invalid_request", error_description: response.body, status: response.status };
}
