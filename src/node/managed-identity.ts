/**
 * Managed identity on Node.js: the environment from `process.env`, the Azure Arc agent's files from
 * the file system, the machine's name from `os.hostname()`, and direct connections to the endpoint
 * (never through HTTPS_PROXY: the endpoints are on the machine or link-local, where no proxy
 * reaches). Service Fabric's transport checks the server certificate's thumbprint
 * (./managed-identity-tls.ts, loaded with undici on first use).
 */
import type { FetchLike } from "../http/types.js";
import type { KeyFileContents, ManagedIdentityPlatform } from "../managed-identity/platform.js";
import { nodeFs, nodeFsPromises } from "./builtins.js";
import { createNodeFetch } from "./fetch.js";

/**
 * Reads a key file through one open handle (its size and contents are of the same file), and no
 * more than `maxBytes` + 1 bytes of it, so a file that grows while it is read is still caught.
 */
async function readKeyFile(path: string, maxBytes: number): Promise<KeyFileContents> {
  const handle = await nodeFsPromises().open(path, "r");
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error("it is not a regular file");
    if (stat.size > maxBytes) return { tooLarge: stat.size };
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return { tooLarge: length };
    return { text: new TextDecoder().decode(buffer.subarray(0, length)) };
  } finally {
    await handle.close();
  }
}

/** The pinned transport's module, loaded when Service Fabric is first used. */
let tlsModule: Promise<typeof import("./managed-identity-tls.js")> | undefined;

function createPinnedFetch(thumbprint: string, options: { timeoutMs?: number }): FetchLike {
  let pinned: Promise<FetchLike> | undefined;
  return async (url, init) => {
    tlsModule ??= import("./managed-identity-tls.js");
    pinned ??= tlsModule.then((module) => module.createPinnedFetch(thumbprint, options));
    return (await pinned)(url, init);
  };
}

/**
 * The Node.js managed identity platform, installed as the default by the Node entry. Pass a copy
 * with other `env` or `os` to `ManagedIdentityClient` to test a source without its host.
 *
 * @example
 * ```ts
 * const env = { IDENTITY_ENDPOINT: "http://127.0.0.1:8081/msi/token", IDENTITY_HEADER: "test-header" };
 * const onAppService = { ...nodeManagedIdentityPlatform, env: () => env };
 * const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, onAppService);
 * ```
 */
export const nodeManagedIdentityPlatform: ManagedIdentityPlatform = {
  env: () => process.env,
  os: process.platform,
  fileExists: (path) => nodeFs().existsSync(path),
  readKeyFile,
  hostname: () => process.getBuiltinModule("node:os").hostname(),
  createFetch: ({ timeoutMs }) => createNodeFetch({ env: {}, ...(timeoutMs ? { timeoutMs } : {}) }),
  createPinnedFetch,
};
