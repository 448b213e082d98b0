/**
 * Mistakes people make when they first configure an app, each refused with an error that names the
 * option and says what to write instead (issue 14, Build 5). Nothing here reaches a real server: the
 * options are refused in the constructor, and the one failure that needs a request meets a host
 * under `.invalid` (RFC 2606: it never resolves) or a transport that fails as DNS does.
 */
import { describe, expect, it } from "vitest";
import {
  ConfidentialClientApplication,
  ConfigurationError,
  createNodeFetch,
  NetworkError,
  PublicClientApplication,
} from "../../src/node/index.js";

const SCOPES = ["https://graph.microsoft.com/.default"];
const PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2\n-----END CERTIFICATE-----\n";

/** What the constructor (or call) threw, checked to be a ConfigurationError. */
function configurationError(make: () => unknown): ConfigurationError {
  let thrown: unknown;
  try {
    make();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  expect(thrown).toMatchObject({ code: "invalid_configuration" });
  return thrown as ConfigurationError;
}

/** A transport that fails every request as a host that does not resolve does, and counts them. */
function unresolvable(): { fetch: typeof globalThis.fetch; urls: string[] } {
  const urls: string[] = [];
  const fetch = async (input: RequestInfo | URL) => {
    const url = String(input);
    urls.push(url);
    const host = new URL(url).hostname;
    const cause = Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), {
      code: "ENOTFOUND",
      hostname: host,
    });
    throw new TypeError("fetch failed", { cause });
  };
  return { fetch: fetch as typeof globalThis.fetch, urls };
}

describe("a non-Microsoft authority without validateAuthority: false", () => {
  it("instance discovery that cannot be reached says to pass oidcAuthority or validateAuthority: false, not only that login.microsoftonline.com did not resolve", async () => {
    const transport = unresolvable();
    const app = new ConfidentialClientApplication("client", {
      authority: "https://login.example.com/tenant",
      clientCredential: "secret",
      fetch: transport.fetch,
    });
    const error = await app.acquireTokenForClient(SCOPES).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: "invalid_configuration", option: "authority" });
    const message = (error as Error).message;
    expect(message).toContain("login.example.com is not a Microsoft Entra ID host");
    expect(message).toContain("pass its issuer as oidcAuthority");
    expect(message).toContain("add validateAuthority: false");
    expect(message).toContain(
      "instance discovery at https://login.microsoftonline.com/common/discovery/instance",
    );
    expect(message).toContain("could not be resolved");
    expect((error as Error).cause).toBeInstanceOf(NetworkError);
    // Only the check was attempted: no request went to the authority, none to its token endpoint.
    expect(transport.urls.length).toBeGreaterThan(0);
    expect(
      transport.urls.every((u) =>
        u.startsWith("https://login.microsoftonline.com/common/discovery/instance?"),
      ),
    ).toBe(true);
  });

  it("the same through the Node transport and a custom instance discovery endpoint that does not resolve", async () => {
    const app = new PublicClientApplication("client", {
      authority: "https://idp.example.com/realm",
      instanceDiscovery: "https://instance-discovery.invalid/common/discovery/instance",
      timeout: 10_000,
    });
    const error = await app.initiateDeviceFlow(["User.Read"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: "invalid_configuration", option: "authority" });
    expect((error as Error).message).toContain("idp.example.com is not a Microsoft Entra ID host");
    expect((error as Error).message).toContain(
      "https://instance-discovery.invalid/common/discovery/instance",
    );
    expect((error as Error).message).toContain("oidcAuthority");
    expect((error as NetworkError).cause).toMatchObject({ code: "network_error", kind: "dns" });
  });
});

describe("ca given a file path instead of PEM text", () => {
  it('ca: a path is refused at construction, saying ca takes PEM text read with readFileSync(path, "utf8")', () => {
    const error = configurationError(
      () =>
        new ConfidentialClientApplication("client", { clientCredential: "secret", ca: "/path/to/ca.pem" }),
    );
    expect(error.option).toBe("ca");
    expect(error.message).toBe(
      'ca takes the CA certificate\'s PEM text, not a file path ("/path/to/ca.pem"): write ca: readFileSync(path, "utf8").',
    );
  });

  it("a path among PEM entries of a ca array is refused, naming the entry", () => {
    const error = configurationError(
      () => new PublicClientApplication("client", { ca: [PEM, "certs/proxy.crt"] }),
    );
    expect(error.option).toBe("ca");
    expect(error.message).toMatch(
      /^ca\[1\] takes the CA certificate's PEM text, not a file path \("certs\/proxy\.crt"\)/,
    );
  });

  it("ca: a Buffer or a private key is refused at construction", () => {
    const bytes = new TextEncoder().encode(PEM) as unknown as string;
    const asBytes = configurationError(() => new PublicClientApplication("client", { ca: bytes }));
    expect(asBytes.message).toContain("got bytes (a Buffer or Uint8Array)");
    expect(asBytes.message).toContain('readFileSync("ca.pem", "utf8")');
    const key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
    const asKey = configurationError(() => new PublicClientApplication("client", { ca: key }));
    expect(asKey.message).toMatch(/^ca holds no PEM certificate \(-----BEGIN CERTIFICATE-----\)/);
  });

  it("createNodeFetch({ ca: path }) is refused when it is made, not at the first TLS handshake", () => {
    const error = configurationError(() => createNodeFetch({ ca: "/etc/ssl/corp.pem" }));
    expect(error.option).toBe("ca");
    expect(error.message).toContain("not a file path");
  });
});

describe("msal-node's configuration object", () => {
  it("new ConfidentialClientApplication({ auth }) says how to write it with the client id first, not that clientCredential is missing", () => {
    const config = {
      auth: {
        clientId: "id",
        authority: "https://login.microsoftonline.com/t",
        clientSecret: "s3cr3t-value",
      },
    };
    const error = configurationError(
      () => new ConfidentialClientApplication(config as unknown as string, undefined as never),
    );
    expect(error.option).toBe("clientId");
    expect(error.message).toContain("not msal-node's { auth: { clientId, ... } } object");
    expect(error.message).toContain(
      "Write new ConfidentialClientApplication(auth.clientId, { authority: auth.authority, clientCredential: auth.clientSecret }).",
    );
    expect(error.message).not.toContain("s3cr3t-value");
  });

  it("new PublicClientApplication({ auth, system }) says the same for a public client", () => {
    const config = {
      auth: { clientId: "id", knownAuthorities: ["idp.example"] },
      system: { proxyUrl: "http://p:1" },
    };
    const error = configurationError(() => new PublicClientApplication(config as unknown as string));
    expect(error.option).toBe("clientId");
    expect(error.message).toContain(
      "Write new PublicClientApplication(auth.clientId, { validateAuthority: false, proxy: system.proxyUrl }).",
    );
  });

  it("msal-node's auth section passed as the options names the section and the flat options", () => {
    const options = { auth: { clientSecret: "s" } } as never;
    const error = configurationError(() => new ConfidentialClientApplication("id", options));
    expect(error.option).toBe("auth");
    expect(error.message).toMatch(
      /^auth is a section of msal-node's configuration; msal-ts takes flat options/,
    );
  });

  it("MSAL Python's positional credential (a string as the options) says to pass { clientCredential }", () => {
    const error = configurationError(() => new ConfidentialClientApplication("id", "secret" as never));
    expect(error.option).toBe("options");
    expect(error.message).toContain(
      "new ConfidentialClientApplication(clientId, { clientCredential: secret, authority })",
    );
  });
});

describe("options of the wrong shape", () => {
  const unknown: Array<[string, string]> = [
    ["clientSecret", "did you mean clientCredential (the secret string)?"],
    ["authorityUrl", "did you mean authority?"],
    ["cache", "did you mean tokenCache?"],
    ["validate_authority", "did you mean validateAuthority?"],
    ["autority", "did you mean authority?"],
    ["timout", "did you mean timeout?"],
    ["knownAuthorities", "did you mean validateAuthority: false?"],
  ];
  for (const [name, hint] of unknown) {
    it(`an unknown option ${name} is refused with "${hint}"`, () => {
      const options = { clientCredential: "secret", [name]: "x" } as never;
      const error = configurationError(() => new ConfidentialClientApplication("id", options));
      expect(error.option).toBe(name);
      expect(error.message).toContain(`ConfidentialClientApplication has no option ${name}: ${hint}`);
    });
  }

  const wrong: Array<[string, unknown, string]> = [
    ["appName", 5, "appName must be a string, got 5."],
    ["validateAuthority", "false", "validateAuthority must be true or false, got a string."],
    ["timeout", "5000", "timeout must be a positive number of milliseconds, got a string."],
    ["tokenCache", {}, "tokenCache must be a TokenCache"],
    [
      "httpCache",
      [],
      "httpCache must be a Map, or an object with get, set and delete methods, got an array.",
    ],
    ["authority", 42, "authority must be a URL string"],
    [
      "instanceDiscovery",
      null,
      "instanceDiscovery must be true, false, or the URL (a string) of an instance discovery endpoint, got null. Leave it out for the default.",
    ],
    [
      "logger",
      { level: "debug", log() {} },
      'logger must be an object { level?: "error" | "warning" | "info" | "verbose"',
    ],
  ];
  for (const [name, value, message] of wrong) {
    it(`${name}: ${JSON.stringify(value)} is refused naming ${name} and the type it takes`, () => {
      const options = { [name]: value } as never;
      const error = configurationError(() => new PublicClientApplication("id", options));
      expect(error.option).toBe(name);
      expect(error.message).toContain(message);
    });
  }

  it("azureRegion on a public client is refused: it applies to client credentials only", () => {
    const error = configurationError(
      () => new PublicClientApplication("id", { azureRegion: "westus" } as never),
    );
    expect(error.option).toBe("azureRegion");
    expect(error.message).toBe(
      "azureRegion applies to client credentials, in ConfidentialClientApplication only.",
    );
  });
});
