/**
 * Managed identity endpoints that misbehave, over real sockets: an endless body, an endpoint that
 * never answers, a key file that is a directory, and, property-based, Azure Arc challenge paths
 * that must never lead the client to read outside the agent's key directory.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { keyFilePath } from "../../src/managed-identity/azure-arc.js";
import { ManagedIdentityError } from "../../src/managed-identity/errors.js";
import {
  ManagedIdentityClient,
  NetworkError,
  nodeManagedIdentityPlatform,
  SystemAssignedManagedIdentity,
} from "../../src/node/index.js";
import { failure, tcpServer } from "../support/tcp.js";

const onImds = (endpoint: string) => ({
  ...nodeManagedIdentityPlatform,
  env: () => ({ MSAL_MANAGED_IDENTITY_ENDPOINT: endpoint }),
});

const directory = mkdtempSync(join(tmpdir(), "msal-ts-arc-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("managed identity faults", () => {
  it("an endpoint that sends an endless body is cut off at 64 KiB, and nothing is cached", async () => {
    let written = 0;
    const server = await tcpServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n");
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (!socket.destroyed && written < 64 * 1024 * 1024 && socket.write(chunk))
          written += chunk.length;
      };
      socket.on("drain", pump);
      pump();
    });
    try {
      const client = new ManagedIdentityClient(
        new SystemAssignedManagedIdentity(),
        {},
        onImds(`http://127.0.0.1:${server.port}/token`),
      );
      const error = await failure(client.acquireTokenForClient({ resource: "https://management.azure.com" }));
      expect(error).toBeInstanceOf(NetworkError);
      expect(error).toMatchObject({ kind: "response_too_large" });
      expect(written).toBeLessThan(16 * 1024 * 1024);
      expect(client.tokenCache.counts().AccessToken).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("an endpoint that never answers times out after `timeout`", async () => {
    const server = await tcpServer();
    try {
      const client = new ManagedIdentityClient(
        new SystemAssignedManagedIdentity(),
        { timeout: 300, imdsRetry: { maxRetries: 0 } },
        onImds(`http://127.0.0.1:${server.port}/token`),
      );
      const started = Date.now();
      const error = await failure(client.acquireTokenForClient({ resource: "https://management.azure.com" }));
      expect(error).toMatchObject({ name: "NetworkError", kind: "timeout" });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });

  it("a key file that is a directory is refused as unreadable", async () => {
    const folder = join(directory, "folder.key");
    mkdirSync(folder, { recursive: true });
    await expect(nodeManagedIdentityPlatform.readKeyFile(folder, 4096)).rejects.toThrow("not a regular file");
  });

  it("no challenge path makes the client read outside the key directory or a file that is not .key", () => {
    const accepted = new Set<string>();
    const segment = fc.constantFrom(
      "tokens",
      "..",
      ".",
      "",
      "a.key",
      "b",
      "x.KEY",
      "c.txt",
      "%2e%2e",
      "tokens.key",
    );
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 3 }),
        fc.constantFrom("/", "\\"),
        fc.boolean(),
        (parts, separator, underRoot) => {
          for (const os of ["linux", "win32"]) {
            const root = os === "win32" ? "C:\\agent\\Tokens" : "/var/opt/azcmagent/tokens";
            const prefix =
              os === "win32" ? ["C:", "agent", "tokens"] : ["", "var", "opt", "azcmagent", "tokens"];
            const path = [...(underRoot ? prefix : []), ...parts].join(separator);
            let read: string;
            try {
              read = keyFilePath(path, root, os);
            } catch (error) {
              expect(error).toBeInstanceOf(ManagedIdentityError);
              continue;
            }
            const name = read.slice(root.length + 1);
            expect(read.startsWith(`${root}${os === "win32" ? "\\" : "/"}`)).toBe(true);
            expect(name).toMatch(/^[^/\\]+\.key$/i);
            expect(name).not.toBe(".key");
            accepted.add(os);
          }
        },
      ),
      { numRuns: 2000 },
    );
    // Not vacuous: well-formed paths were accepted on both platforms.
    expect(accepted).toEqual(new Set(["linux", "win32"]));
  });
});
