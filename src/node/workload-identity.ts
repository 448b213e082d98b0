/**
 * Workload identity federation on Node: a confidential client whose credential is a token another
 * issuer wrote to a file, such as the service-account token the AKS workload identity webhook
 * projects into a pod (`AZURE_FEDERATED_TOKEN_FILE`). Entra exchanges it for an app token when one
 * of the app's federated identity credentials names its issuer, subject and audience.
 * https://learn.microsoft.com/azure/aks/workload-identity-overview
 */
import { ConfidentialClientApplication } from "../app/confidential-client.js";
import type { ConfidentialClientOptions } from "../app/options.js";
import type { AssertionCredential } from "../credentials/types.js";
import { ConfigurationError } from "../errors.js";
import { decodePart } from "../protocol/jwt.js";
import { nodeFsPromises } from "./builtins.js";

/**
 * How {@link federatedTokenFileAssertion} rereads its file.
 *
 * @example
 * ```ts
 * const options: FederatedTokenFileOptions = { maxAgeMs: 30_000 };
 * ```
 */
export interface FederatedTokenFileOptions {
  /**
   * The longest a read is reused, in milliseconds, even when the file looks unchanged (a clock with
   * coarse modification times could hide a rewrite). Default 60000. The file's own `exp` ends
   * reuse sooner.
   */
  maxAgeMs?: number;
}

/**
 * The callback `clientCredential: { clientAssertion }` takes: it returns the assertion to send.
 *
 * @example
 * ```ts
 * const fromFile: ClientAssertionCallback = () => readFile(tokenFile, "utf8");
 * ```
 */
export type ClientAssertionCallback = Extract<
  AssertionCredential["clientAssertion"],
  (...args: never[]) => unknown
>;

const DEFAULT_MAX_AGE_MS = 60_000;

interface CachedRead {
  token: string;
  /** Modification time, size and inode: a kubelet rotation swaps a symlink, which changes all three. */
  stamp: string;
  readAt: number;
  /** The token's `exp` in milliseconds, when it has one. */
  expiresAt?: number;
}

function expiryOf(token: string): number | undefined {
  try {
    const exp = decodePart(token.split(".")[1] ?? "").exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    // An opaque token: Entra decides; the file's stamp and maxAgeMs still bound reuse.
    return undefined;
  }
}

/**
 * A `clientAssertion` callback that returns the token in a file, read again whenever the file
 * changes (its modification time, size or inode), when the last read is older than `maxAgeMs`, or
 * once the token it holds has expired: AKS rotates the projected service-account token before it
 * expires, and the app picks up the new one on its next token request.
 *
 * A file that cannot be read, or is empty, throws a `ConfigurationError` (`option` is
 * `"AZURE_FEDERATED_TOKEN_FILE"`) from the token request. An expired token is still sent: Entra's
 * answer (AADSTS700024) comes back as the result's `error`, as every server error does.
 *
 * @example
 * ```ts
 * import { ConfidentialClientApplication, federatedTokenFileAssertion } from "msal-ts";
 *
 * const app = new ConfidentialClientApplication(process.env.AZURE_CLIENT_ID!, {
 *   authority: `https://login.microsoftonline.com/${process.env.AZURE_TENANT_ID}`,
 *   clientCredential: { clientAssertion: federatedTokenFileAssertion("/var/run/secrets/azure/tokens/azure-identity-token") },
 * });
 * ```
 */
export function federatedTokenFileAssertion(
  path: string,
  options: FederatedTokenFileOptions = {},
): ClientAssertionCallback {
  if (typeof path !== "string" || path === "")
    throw new ConfigurationError(
      "AZURE_FEDERATED_TOKEN_FILE",
      "federatedTokenFileAssertion needs the path of the token file (AZURE_FEDERATED_TOKEN_FILE).",
    );
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  if (!(Number.isFinite(maxAgeMs) && maxAgeMs >= 0))
    throw new ConfigurationError("maxAgeMs", "maxAgeMs must be a number of milliseconds, 0 or more.");
  let cached: CachedRead | undefined;
  const unreadable = (cause: unknown, what: string) =>
    new ConfigurationError(
      "AZURE_FEDERATED_TOKEN_FILE",
      `The federated token file ${path} ${what}. On AKS, check that the pod's service account has the azure.workload.identity/client-id annotation and the pod the azure.workload.identity/use: "true" label, so the webhook mounts the token.`,
      cause === undefined ? undefined : { cause },
    );
  return async () => {
    const fs = nodeFsPromises();
    let stamp: string;
    try {
      const stat = await fs.stat(path);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch (cause) {
      throw unreadable(cause, "cannot be read");
    }
    const now = Date.now();
    if (
      cached &&
      cached.stamp === stamp &&
      now - cached.readAt < maxAgeMs &&
      (cached.expiresAt === undefined || now < cached.expiresAt)
    )
      return cached.token;
    let token: string;
    try {
      token = (await fs.readFile(path, "utf8")).trim();
    } catch (cause) {
      throw unreadable(cause, "cannot be read");
    }
    if (token === "") throw unreadable(undefined, "is empty");
    const expiresAt = expiryOf(token);
    cached = { token, stamp, readAt: now, ...(expiresAt === undefined ? {} : { expiresAt }) };
    return token;
  };
}

/**
 * What {@link workloadIdentity} takes: each of the four settings overrides its environment
 * variable, and every other option goes to the {@link ConfidentialClientApplication}.
 *
 * @example
 * ```ts
 * const options: WorkloadIdentityOptions = { tokenCache: cache, tokenFilePath: "/var/run/secrets/azure/tokens/azure-identity-token" };
 * ```
 */
export interface WorkloadIdentityOptions extends Omit<ConfidentialClientOptions, "clientCredential"> {
  /** The app (or user-assigned managed identity) client id. Default: `AZURE_CLIENT_ID`. */
  clientId?: string;
  /** The tenant id. Default: `AZURE_TENANT_ID`. Not needed when `authority` is given. */
  tenantId?: string;
  /**
   * The Entra host, e.g. `https://login.microsoftonline.us`. Default: `AZURE_AUTHORITY_HOST`, else
   * `https://login.microsoftonline.com`. Not used when `authority` is given.
   */
  authorityHost?: string;
  /** The federated token file. Default: `AZURE_FEDERATED_TOKEN_FILE`. */
  tokenFilePath?: string;
  /** How the token file is reread. */
  tokenFile?: FederatedTokenFileOptions;
  /** The environment to read the four variables from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";

function setting(
  given: string | undefined,
  env: Record<string, string | undefined>,
  variable: string,
  option: string,
  what: string,
): string {
  const value = given ?? env[variable];
  if (value === undefined || value.trim() === "")
    throw new ConfigurationError(
      variable,
      `workloadIdentity() needs ${what}: set ${variable} or pass { ${option} }. On AKS the workload identity webhook sets ${variable} in pods labelled azure.workload.identity/use: "true".`,
    );
  return value.trim();
}

/**
 * A {@link ConfidentialClientApplication} for workload identity federation, configured the way
 * AKS configures a pod: `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST` and
 * `AZURE_FEDERATED_TOKEN_FILE`, each overridable by an option. A missing one throws a
 * `ConfigurationError` whose `option` is the variable's name.
 *
 * It returns the application rather than its options because the client id, the authority and the
 * credential must agree (the token's subject is trusted by that client id in that tenant), and
 * `new ConfidentialClientApplication(clientId, options)` takes the client id apart from the
 * options; the application's other options (cache, logger, transport) pass through.
 *
 * @example
 * ```ts
 * import { workloadIdentity } from "msal-ts";
 *
 * const app = workloadIdentity();
 * const result = await app.acquireTokenForClient(["https://vault.azure.net/.default"]);
 * if ("error" in result) console.error(result.error, result.error_codes);
 * ```
 */
export function workloadIdentity(options: WorkloadIdentityOptions = {}): ConfidentialClientApplication {
  const { clientId, tenantId, authorityHost, tokenFilePath, tokenFile, env = process.env, ...rest } = options;
  const id = setting(clientId, env, "AZURE_CLIENT_ID", "clientId", "the app's client id");
  const file = setting(
    tokenFilePath,
    env,
    "AZURE_FEDERATED_TOKEN_FILE",
    "tokenFilePath",
    "the token file's path",
  );
  let authority = rest.authority;
  if (authority === undefined) {
    const tenant = setting(tenantId, env, "AZURE_TENANT_ID", "tenantId", "the tenant id");
    const host = (authorityHost ?? env.AZURE_AUTHORITY_HOST ?? "").trim() || DEFAULT_AUTHORITY_HOST;
    if (!/^https:\/\/[^/]/.test(host))
      throw new ConfigurationError(
        authorityHost === undefined ? "AZURE_AUTHORITY_HOST" : "authorityHost",
        `The authority host "${host}" is not an https:// URL, e.g. https://login.microsoftonline.com.`,
      );
    authority = `${host.replace(/\/+$/, "")}/${tenant}`;
  }
  return new ConfidentialClientApplication(id, {
    ...rest,
    authority,
    clientCredential: { clientAssertion: federatedTokenFileAssertion(file, tokenFile) },
  });
}
