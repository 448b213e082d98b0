/**
 * Can @azure/msal-node 7.2.1 be the real peer that proves the emulator's proof-of-possession side?
 * No: without a native broker (msal-node-extensions, Windows only) it cannot ask for a PoP token in Node.
 * What its dist shows, and this file asserts against the emulator:
 * - `ClientApplication.initializeBaseRequest` resets every request's `authenticationScheme` to
 *   "Bearer", logging "Authentication Scheme 'pop' is not supported yet" when "pop" was asked for, so
 *   the token request carries no `token_type=pop` or `req_cnf` and the token is a plain Bearer token;
 * - its public request types omit `resourceRequestMethod` and `resourceRequestUri` (the SHR's `m`
 *   and `u`/`p`) on every acquire call;
 * - its `CryptoProvider.signTokenBindingJwt`, which would sign an SHR, throws `method_not_implemented`.
 * So the emulator's PoP tokens and SHR checks are proven by jose-built requests
 * (test/integration/emulator-pop.test.ts) and by msal-ts, not by msal-node.
 */
import { ClientAuthError, ConfidentialClientApplication, CryptoProvider, LogLevel } from "@azure/msal-node";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, authority, startTestEmulator } from "../support/emulator.js";

const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];

describe("@azure/msal-node 7.2.1 and proof-of-possession without a broker", () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(() => emulator?.stop());

  it("turns a PoP request into a Bearer one: no token_type=pop or req_cnf reaches the token endpoint", async () => {
    const daemon = app(emulator, "daemon");
    const logged: string[] = [];
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: daemon.clientId,
        authority: authority(emulator),
        knownAuthorities: [new URL(emulator.url).host],
        clientSecret: daemon.secret as string,
      },
      system: {
        loggerOptions: {
          logLevel: LogLevel.Verbose,
          piiLoggingEnabled: false,
          loggerCallback: (_level, message) => logged.push(message),
        },
      },
    });
    const resource = `${emulator.url}/_emulator/resource`;
    // The typed request has no resourceRequestMethod/resourceRequestUri; send them as PoP callers would.
    const popRequest = {
      scopes: GRAPH_DEFAULT,
      authenticationScheme: "pop",
      resourceRequestMethod: "GET",
      resourceRequestUri: resource,
    } as unknown as Parameters<typeof cca.acquireTokenByClientCredential>[0];
    emulator.clearRequests();
    const result = await cca.acquireTokenByClientCredential(popRequest);

    expect(result?.tokenType).toBe("Bearer");
    expect(decodeJwt(String(result?.accessToken)).cnf).toBeUndefined();
    const tokenRequests = emulator.requests("token");
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.form?.token_type).toBeUndefined();
    expect(tokenRequests[0]?.form?.req_cnf).toBeUndefined();
    expect(logged.some((m) => m.includes("Authentication Scheme 'pop' is not supported yet"))).toBe(true);
    // What it got is an ordinary Bearer token, which the resource takes as such.
    const res = await fetch(resource, { headers: { authorization: `Bearer ${result?.accessToken}` } });
    expect(res.status).toBe(200);
  });

  it("cannot sign a signed HTTP request: CryptoProvider.signTokenBindingJwt throws method_not_implemented", async () => {
    const crypto = new CryptoProvider();
    let thrown: unknown;
    try {
      await crypto.signTokenBindingJwt({ typ: "pop" }, { m: "GET" }, "kid", "correlation-id");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ClientAuthError);
    expect((thrown as ClientAuthError).errorCode).toBe("method_not_implemented");
  });
});
