/**
 * Secrets never reach the logger: through successful and failing client credential, certificate and
 * on-behalf-of calls (and retries and throttling), at the most detailed level, with PII logging off
 * and on, no line holds a client secret, a token, an assertion, a PFX passphrase or a password.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import type { TokenResult } from "../../../src/node/index.js";
import { app, startTestEmulator, user } from "../../support/emulator.js";
import {
  capturingLogger,
  confidentialApp,
  daemonCertificate,
  GRAPH_DEFAULT,
  middleTierAssertion,
  success,
  tokenRequests,
  Workspace,
} from "./helpers.js";

const PFX_PASSPHRASE = "pfx-Log-Passphrase-7";
const WRONG_SECRET = "wrong-secret-value-that-must-not-be-logged";

describe("logging never shows secrets", () => {
  let emulator: Emulator;
  const workspace = new Workspace();

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
    workspace.remove();
  });

  /** Every secret-bearing string a run of calls produced or used. */
  function secretsOf(results: TokenResult[], extra: string[]): string[] {
    const values = new Set(extra);
    for (const result of results) {
      if (result.error) continue;
      for (const value of [result.access_token, result.refresh_token, result.id_token])
        if (value !== undefined) values.add(value);
    }
    for (const request of tokenRequests(emulator)) {
      for (const field of ["client_assertion", "assertion"]) {
        const value = request.form?.[field];
        if (value) values.add(value);
      }
    }
    return [...values].filter((v) => v.length >= 8);
  }

  for (const enablePiiLog of [false, true]) {
    it(`with enablePiiLog: ${enablePiiLog}, no line holds a secret, token, assertion, passphrase or password`, async () => {
      emulator.reset();
      const { lines, logger } = capturingLogger();
      const options = { logger, enablePiiLog };
      const daemon = app(emulator, "daemon");
      const middleTier = app(emulator, "middle-tier");
      const alice = user(emulator, "managed");
      const certificate = daemonCertificate(emulator);
      const results: TokenResult[] = [];

      // A secret: success, cache hit, a 500 retried, a 429 that holds the next call back.
      const bySecret = confidentialApp(emulator, daemon, daemon.secret as string, options);
      results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT));
      results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT));
      emulator.injectFault({ endpoint: "token", status: 500, body: { error: "server_error" } });
      results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
      emulator.injectFault({
        endpoint: "token",
        status: 429,
        headers: { "Retry-After": "30" },
        body: { error: "temporarily_unavailable" },
      });
      results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
      results.push(await bySecret.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));

      // A wrong secret.
      const wrong = await confidentialApp(emulator, daemon, WRONG_SECRET, options).acquireTokenForClient(
        GRAPH_DEFAULT,
      );
      expect(wrong).toMatchObject({ error: "invalid_client" });

      // A certificate: a PFX with a passphrase, and an unregistered one that is refused.
      const pfx = workspace.pfx(
        `log-${enablePiiLog}`,
        certificate.privateKey,
        certificate.certificate,
        PFX_PASSPHRASE,
        false,
      );
      const byPfx = confidentialApp(emulator, daemon, { pfx, passphrase: PFX_PASSPHRASE }, options);
      results.push(success(await byPfx.acquireTokenForClient(GRAPH_DEFAULT)));
      const stranger = workspace.issuedByTestCa(`stranger-${enablePiiLog}`, "CN=stranger.contoso.test");
      const refused = await confidentialApp(
        emulator,
        daemon,
        { privateKey: stranger.keyPem, publicCertificate: stranger.certificatePem },
        options,
      ).acquireTokenForClient(GRAPH_DEFAULT);
      expect(refused).toMatchObject({ error: "invalid_client" });

      // On-behalf-of: success, cache hit, and an assertion made for another API (refused).
      const assertion = await middleTierAssertion(emulator, alice);
      const obo = confidentialApp(emulator, middleTier, middleTier.secret as string, options);
      results.push(
        success(await obo.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"])),
      );
      results.push(await obo.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]));
      const [first] = results;
      if (!first || first.error) throw new Error("The first on-behalf-of call gave no token.");
      const graphToken = first.access_token;
      const misdirected = await obo.acquireTokenOnBehalfOf(graphToken, [
        "https://graph.microsoft.com/User.Read",
      ]);
      expect(misdirected).toMatchObject({ error: "invalid_grant" });

      const secrets = secretsOf(results, [
        daemon.secret as string,
        middleTier.secret as string,
        WRONG_SECRET,
        PFX_PASSPHRASE,
        alice.password,
        assertion,
        ...emulator.directory.users.map((u) => u.password),
      ]);
      // The run did go through each kind of secret.
      expect(secrets).toContain(assertion);
      expect(secrets.some((s) => s.split(".").length === 3 && s !== assertion)).toBe(true);

      expect(lines.length).toBeGreaterThan(5);
      expect(lines.some((l) => l.startsWith("[verbose]"))).toBe(true);
      expect(lines.some((l) => l.includes("retrying once"))).toBe(true);
      expect(lines.some((l) => l.includes("Token request failed: invalid_client"))).toBe(true);
      for (const line of lines) {
        for (const secret of secrets) {
          expect(line.includes(secret), `a log line holds a secret: ${line}`).toBe(false);
          // Nor any JWT's signature on its own.
          const signature = secret.split(".")[2];
          if (signature)
            expect(line.includes(signature), `a log line holds a signature: ${line}`).toBe(false);
        }
      }
    });
  }
});
