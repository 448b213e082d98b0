/**
 * The Node transport through an HTTP CONNECT proxy: from the `proxy` option (one tunnel, kept
 * alive, for all of an app's requests), and from the platform's environment (HTTPS_PROXY), except
 * for hosts listed in NO_PROXY.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { createNodeFetch } from "../../../src/node/fetch.js";
import { ConfidentialClientApplication, nodePlatform, type Platform } from "../../../src/node/index.js";
import { app, authority, startTestEmulator } from "../../support/emulator.js";
import {
  daemonWithSecret,
  GRAPH_DEFAULT,
  startTunnelProxy,
  success,
  type TunnelProxy,
  tokenRequests,
} from "./helpers.js";

describe("client credentials through a proxy", () => {
  let emulator: Emulator;
  let proxy: TunnelProxy;

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(() => emulator?.stop());
  beforeEach(async () => {
    emulator.clearRequests();
    proxy = await startTunnelProxy();
  });
  afterEach(() => proxy?.close());

  /** A platform whose environment is `env`, as the Node platform's is `process.env`. */
  const platformWithEnv = (env: Record<string, string>): Platform => ({
    ...nodePlatform,
    env: () => env,
    createFetch: (options) => createNodeFetch({ ...options, env }),
  });

  const daemonOn = (platform: Platform) => {
    const daemon = app(emulator, "daemon");
    return new ConfidentialClientApplication(
      daemon.clientId,
      { authority: authority(emulator), validateAuthority: false, clientCredential: daemon.secret as string },
      platform,
    );
  };

  it("the proxy option sends discovery and the token request through the proxy's tunnel", async () => {
    const cca = daemonWithSecret(emulator, { proxy: proxy.url });
    expect(proxy.tunnels).toBe(0);
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(proxy.tunnels).toBeGreaterThan(0);
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("one kept-alive tunnel carries discovery and the token requests, one after the other", async () => {
    const cca = daemonWithSecret(emulator, { proxy: proxy.url });
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
    expect(tokenRequests(emulator)).toHaveLength(2);
    expect(proxy.tunnels).toBe(1);
  });

  it("HTTPS_PROXY in the platform's environment sends requests through the proxy", async () => {
    const cca = daemonOn(platformWithEnv({ HTTPS_PROXY: proxy.url }));
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(proxy.tunnels).toBeGreaterThan(0);
    const before = proxy.tunnels;
    // A second app (its own connections) through the same environment tunnels again.
    success(await daemonOn(platformWithEnv({ HTTPS_PROXY: proxy.url })).acquireTokenForClient(GRAPH_DEFAULT));
    expect(proxy.tunnels).toBeGreaterThan(before);
    expect(tokenRequests(emulator)).toHaveLength(2);
  });

  it("NO_PROXY=localhost goes straight to the emulator although HTTPS_PROXY is set", async () => {
    const cca = daemonOn(platformWithEnv({ HTTPS_PROXY: proxy.url, NO_PROXY: "localhost" }));
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(proxy.tunnels).toBe(0);
    expect(tokenRequests(emulator)).toHaveLength(1);
  });
});
