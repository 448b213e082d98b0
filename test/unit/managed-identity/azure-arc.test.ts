/**
 * Azure Arc's challenge, the pure parts: the WWW-Authenticate header, the key directory by platform,
 * and which challenge paths name a key file msal-ts will read (inside the directory, `.key`).
 */
import { describe, expect, it } from "vitest";
import { arcKeyDirectory, challengePath, keyFilePath } from "../../../src/managed-identity/azure-arc.js";
import { ArcPlatformNotSupportedError, ManagedIdentityError } from "../../../src/managed-identity/errors.js";

const files = (os: string, env: Record<string, string> = {}) => ({
  os,
  env,
  readKeyFile: () => Promise.reject(new Error("unused")),
});

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ManagedIdentityError);
    return (error as ManagedIdentityError).code;
  }
  return "none";
}

describe("Azure Arc challenge", () => {
  it("reads the path of Basic realm=<path>, the scheme in any case", () => {
    expect(challengePath("Basic realm=/var/opt/azcmagent/tokens/a.key")).toBe(
      "/var/opt/azcmagent/tokens/a.key",
    );
    expect(challengePath("basic REALM=C:\\ProgramData\\x.key")).toBe("C:\\ProgramData\\x.key");
  });

  it.each([
    undefined,
    "",
    "Bearer realm=/x.key",
    "Basic realm=/a=b.key",
    "Basic realm=",
    "Basic /var/opt/azcmagent/tokens/a.key",
  ])("refuses the header %j with arc_challenge_invalid", (header) => {
    expect(codeOf(() => challengePath(header))).toBe("arc_challenge_invalid");
  });

  it("knows the agent's key directory on Linux and Windows, and no other platform", () => {
    expect(arcKeyDirectory(files("linux"))).toBe("/var/opt/azcmagent/tokens");
    expect(arcKeyDirectory(files("win32", { ProgramData: "D:\\Data" }))).toBe(
      "D:\\Data\\AzureConnectedMachineAgent\\Tokens",
    );
    expect(() => arcKeyDirectory(files("darwin"))).toThrow(ArcPlatformNotSupportedError);
    const error = (() => {
      try {
        arcKeyDirectory(files("freebsd"));
      } catch (e) {
        return e as ArcPlatformNotSupportedError;
      }
    })();
    expect(error?.code).toBe("arc_platform_not_supported");
    expect(error).toBeInstanceOf(ManagedIdentityError);
    expect(arcKeyDirectory({ ...files("darwin"), keyDirectory: "/tmp/keys" })).toBe("/tmp/keys");
  });

  it("reads a .key file directly in the key directory", () => {
    expect(keyFilePath("/var/opt/azcmagent/tokens/abc.key", "/var/opt/azcmagent/tokens", "linux")).toBe(
      "/var/opt/azcmagent/tokens/abc.key",
    );
    expect(keyFilePath("/tmp/keys//abc.key", "/tmp/keys/", "linux")).toBe("/tmp/keys/abc.key");
    expect(
      keyFilePath(
        "c:/programdata/azureconnectedmachineagent/tokens/ABC.KEY",
        "C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens",
        "win32",
      ),
    ).toBe("C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens\\ABC.KEY");
  });

  it.each([
    ["/etc/shadow", "/var/opt/azcmagent/tokens"],
    ["/var/opt/azcmagent/tokens/abc.txt", "/var/opt/azcmagent/tokens"],
    ["/var/opt/azcmagent/tokens/abc", "/var/opt/azcmagent/tokens"],
    ["/var/opt/azcmagent/tokens/.key", "/var/opt/azcmagent/tokens"],
    ["/var/opt/azcmagent/tokens/sub/abc.key", "/var/opt/azcmagent/tokens"],
    ["/var/opt/azcmagent/tokens/../abc.key", "/var/opt/azcmagent/tokens"],
    ["/var/opt/azcmagent/tokens2/abc.key", "/var/opt/azcmagent/tokens"],
    ["var/opt/azcmagent/tokens/abc.key", "/var/opt/azcmagent/tokens"],
    ["/tmp/foo", "/var/opt/azcmagent/tokens"],
    ["C:\\Windows\\abc.key", "C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens"],
  ])("refuses the challenge path %s (key directory %s)", (path, directory) => {
    const os = directory.includes("\\") ? "win32" : "linux";
    expect(codeOf(() => keyFilePath(path, directory, os))).toBe("arc_key_file_invalid");
  });
});
