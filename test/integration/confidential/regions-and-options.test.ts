/**
 * Regional token endpoints (spec section 7), the HTTP cache shared across apps, and options
 * refused at construction. Regional hosts (`<region>.localhost`) do not resolve here, so a
 * recording `fetch` notes the URL msal-ts chose and forwards the request to the emulator; the
 * instance metadata service is answered by that `fetch` too, so nothing leaves this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import {
  ATTEMPT_REGION_DISCOVERY,
  type AzureRegionOption,
  ConfidentialClientApplication,
  ConfigurationError,
  nodePlatform,
} from "../../../src/node/index.js";
import { app, startTestEmulator } from "../../support/emulator.js";
import { success } from "./helpers.js";

const GRAPH = ["https://graph.microsoft.com/.default"];
const IMDS = "http://169.254.169.254/metadata/instance/compute/location?format=text&api-version=2021-01-01";

let emulator: Emulator;
let host: string;
beforeAll(async () => {
  emulator = await startTestEmulator();
  host = new URL(emulator.url).host;
});
afterAll(() => emulator?.stop());

interface Recorder {
  urls: string[];
  fetch: (url: string, init: RequestInit) => Promise<Response>;
}

function recorder(imdsRegion?: string): Recorder {
  const urls: string[] = [];
  return {
    urls,
    fetch: async (url, init) => {
      urls.push(url);
      if (url === IMDS)
        return imdsRegion ? new Response(imdsRegion, { status: 200 }) : new Response("", { status: 404 });
      const target = new URL(url);
      if (target.host.endsWith(`.${host}`)) target.host = host;
      return fetch(target, init);
    },
  };
}

function daemon(azureRegion: AzureRegionOption, rec: Recorder, env: Record<string, string> = {}) {
  const d = app(emulator, "daemon");
  return new ConfidentialClientApplication(
    d.clientId,
    {
      authority: `${emulator.url}/${d.tenant}`,
      validateAuthority: false,
      clientCredential: d.secret as string,
      azureRegion,
      fetch: rec.fetch,
    },
    { ...nodePlatform, env: () => env },
  );
}

const tokenUrls = (rec: Recorder) => rec.urls.filter((u) => u.endsWith("/oauth2/v2.0/token"));

describe("regional endpoints for client credentials", () => {
  it("a named region sends the token request to <region>.<host>, and caches under the central host", async () => {
    const rec = recorder();
    const cca = daemon("westus", rec);
    const first = await cca.acquireTokenForClient(GRAPH);
    const second = await cca.acquireTokenForClient(GRAPH);
    expect(success(first).token_source).toBe("identity_provider");
    expect(success(second).token_source).toBe("cache");
    expect(tokenUrls(rec)).toEqual([
      `https://westus.${host}/${app(emulator, "daemon").tenant}/oauth2/v2.0/token`,
    ]);
    const [entry] = [...cca.tokenCache.entries("AccessToken")].map(([, at]) => at);
    // The environment is the host name without the port, as MSAL Python writes it.
    expect(entry?.environment).toBe(new URL(emulator.url).hostname);
  });

  it("ATTEMPT_REGION_DISCOVERY takes REGION_NAME (spaces removed, lower-cased) without asking IMDS", async () => {
    const rec = recorder("should-not-be-used");
    await daemon(ATTEMPT_REGION_DISCOVERY, rec, { REGION_NAME: "East US 2" }).acquireTokenForClient(GRAPH);
    expect(rec.urls).not.toContain(IMDS);
    expect(tokenUrls(rec)[0]).toMatch(new RegExp(`^https://eastus2\\.${host.replace(".", "\\.")}/`));
  });

  it("ATTEMPT_REGION_DISCOVERY without REGION_NAME asks the instance metadata service; a failure means the global endpoint", async () => {
    const found = recorder("westeurope");
    await daemon(ATTEMPT_REGION_DISCOVERY, found).acquireTokenForClient(GRAPH);
    expect(found.urls).toContain(IMDS);
    expect(tokenUrls(found)[0]).toMatch(/^https:\/\/westeurope\./);
    const missing = recorder();
    await daemon(ATTEMPT_REGION_DISCOVERY, missing).acquireTokenForClient(GRAPH);
    expect(tokenUrls(missing)[0]).toMatch(/^https:\/\/localhost:/);
  });

  it("MSAL_FORCE_REGION applies when azureRegion is not set, and azureRegion: false turns it off", async () => {
    const forced = recorder();
    await daemon(undefined, forced, { MSAL_FORCE_REGION: "eastus" }).acquireTokenForClient(GRAPH);
    expect(tokenUrls(forced)[0]).toMatch(/^https:\/\/eastus\./);
    const off = recorder();
    await daemon(false, off, { MSAL_FORCE_REGION: "eastus" }).acquireTokenForClient(GRAPH);
    expect(tokenUrls(off)[0]).toMatch(/^https:\/\/localhost:/);
    expect(off.urls).not.toContain(IMDS);
  });
});

describe("the HTTP cache", () => {
  it("a second app given the same httpCache makes no discovery request", async () => {
    const httpCache = new Map<string, unknown>();
    const d = app(emulator, "daemon");
    const options = {
      authority: `${emulator.url}/${d.tenant}`,
      validateAuthority: false,
      clientCredential: d.secret as string,
      httpCache,
    };
    emulator.clearRequests();
    await new ConfidentialClientApplication(d.clientId, options).acquireTokenForClient(GRAPH);
    await new ConfidentialClientApplication(d.clientId, options).acquireTokenForClient(GRAPH);
    expect(emulator.requests("discovery")).toHaveLength(1);
    expect(emulator.requests("token")).toHaveLength(2);
    expect(
      [...httpCache.keys()].some((k) => k.startsWith("GET ") && k.includes("openid-configuration")),
    ).toBe(true);
  });
});

describe("options refused at construction, before any I/O", () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      "an http authority",
      { authority: "http://login.example.com/t" },
      "authority",
      /^authority must use https/,
    ],
    [
      "an authority without a tenant",
      { authority: "https://login.microsoftonline.com/" },
      "authority",
      /has no tenant/,
    ],
    [
      "authority and oidcAuthority",
      { authority: "https://a.example/t", oidcAuthority: "https://b.example" },
      "oidcAuthority",
      /either authority .* or oidcAuthority/,
    ],
    [
      "a negative timeout",
      { timeout: -1 },
      "timeout",
      /^timeout must be a positive number of milliseconds, got -1\./,
    ],
    [
      "openid in excludeScopes",
      { excludeScopes: ["openid"] },
      "excludeScopes",
      /^excludeScopes cannot contain openid/,
    ],
    [
      "proxy with a custom fetch",
      { fetch: globalThis.fetch, proxy: "http://proxy:8080" },
      "proxy",
      /^proxy and ca configure the built-in transport/,
    ],
  ];
  for (const [name, options, option, message] of cases) {
    it(`${name}: ConfigurationError naming ${option}`, () => {
      const requests = emulator.requests().length;
      let thrown: unknown;
      try {
        new ConfidentialClientApplication("client", { clientCredential: "secret", ...options });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      expect((thrown as ConfigurationError).option).toBe(option);
      expect((thrown as Error).message).toMatch(message);
      expect(emulator.requests().length).toBe(requests);
    });
  }
});
