/**
 * Source detection from the environment, in MSAL Python's order (spec section 3.14), with Cloud
 * Shell and the IMDS endpoint overrides.
 */
import { describe, expect, it } from "vitest";
import { detectSource, getManagedIdentitySource } from "../../../src/managed-identity/detect-source.js";
import type { ManagedIdentityPlatform } from "../../../src/managed-identity/platform.js";

function platform(
  env: Record<string, string>,
  options: { os?: string; files?: string[] } = {},
): ManagedIdentityPlatform {
  return {
    env: () => env,
    os: options.os ?? "linux",
    fileExists: (path) => (options.files ?? []).includes(path),
    readKeyFile: () => Promise.reject(new Error("unused")),
    hostname: () => "host",
    createFetch: () => fetch,
  };
}

const SF = {
  IDENTITY_ENDPOINT: "https://sf:2377/token",
  IDENTITY_HEADER: "h",
  IDENTITY_SERVER_THUMBPRINT: "AB",
};

describe("getManagedIdentitySource", () => {
  it.each([
    [SF, "ServiceFabric"],
    [{ IDENTITY_ENDPOINT: "http://a/t", IDENTITY_HEADER: "h" }, "AppService"],
    [{ MSI_ENDPOINT: "http://ml/t", MSI_SECRET: "s" }, "MachineLearning"],
    [{ IDENTITY_ENDPOINT: "http://arc/t", IMDS_ENDPOINT: "http://arc" }, "AzureArc"],
    [{ MSI_ENDPOINT: "http://localhost:50342/oauth2/token" }, "CloudShell"],
    [{ AZUREPS_HOST_ENVIRONMENT: "cloud-shell/1.0" }, "CloudShell"],
    [{ MSAL_MANAGED_IDENTITY_ENDPOINT: "http://imds/t" }, "Imds"],
    [{ AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://imds/" }, "Imds"],
    [{}, "DefaultToImds"],
  ])("%j is %s", (env, source) => {
    expect(getManagedIdentitySource(platform(env))).toBe(source);
  });

  it("checks the sources in MSAL Python's order", () => {
    const all = {
      ...SF,
      MSI_ENDPOINT: "http://ml/t",
      MSI_SECRET: "s",
      IMDS_ENDPOINT: "http://arc",
      AZUREPS_HOST_ENVIRONMENT: "cloud-shell",
    };
    expect(getManagedIdentitySource(platform(all))).toBe("ServiceFabric");
    const { IDENTITY_SERVER_THUMBPRINT: _, ...noThumbprint } = all;
    expect(getManagedIdentitySource(platform(noThumbprint))).toBe("AppService");
    const { IDENTITY_HEADER: __, ...noHeader } = noThumbprint;
    expect(getManagedIdentitySource(platform(noHeader))).toBe("MachineLearning");
    const { MSI_SECRET: ___, ...noSecret } = noHeader;
    expect(getManagedIdentitySource(platform(noSecret))).toBe("AzureArc");
  });

  it("finds Azure Arc by its agent on Linux and Windows, with the agent's endpoint", () => {
    const linux = platform({}, { files: ["/var/opt/azcmagent/bin/himds"] });
    expect(detectSource(linux)).toEqual({
      source: "AzureArc",
      endpoint: "http://localhost:40342/metadata/identity/oauth2/token",
    });
    const windows = platform(
      { ProgramFiles: "D:\\Programs" },
      { os: "win32", files: ["D:\\Programs\\AzureConnectedMachineAgent\\himds.exe"] },
    );
    expect(getManagedIdentitySource(windows)).toBe("AzureArc");
    expect(
      getManagedIdentitySource(platform({}, { os: "darwin", files: ["/var/opt/azcmagent/bin/himds"] })),
    ).toBe("DefaultToImds");
  });

  it("gives each source what its requests need", () => {
    expect(detectSource(platform(SF))).toEqual({
      source: "ServiceFabric",
      endpoint: SF.IDENTITY_ENDPOINT,
      secret: "h",
      thumbprint: "AB",
    });
    expect(
      detectSource(
        platform({ MSI_ENDPOINT: "http://ml/t", MSI_SECRET: "s", DEFAULT_IDENTITY_CLIENT_ID: "d" }),
      ),
    ).toEqual({ source: "MachineLearning", endpoint: "http://ml/t", secret: "s", defaultClientId: "d" });
    expect(
      detectSource(platform({ AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://10.0.0.1:8080/" })).endpoint,
    ).toBe("http://10.0.0.1:8080/metadata/identity/oauth2/token");
    expect(detectSource(platform({ AZUREPS_HOST_ENVIRONMENT: "cloud-shell" })).endpoint).toBe(
      "http://localhost:50342/oauth2/token",
    );
    expect(detectSource(platform({})).endpoint).toBe("http://169.254.169.254/metadata/identity/oauth2/token");
  });
});
