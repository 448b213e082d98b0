/**
 * Every form of confidential client credential gets an app token from the emulator, and the
 * emulator's request log shows the client authentication each one sends: a secret in the body,
 * or a `private_key_jwt` assertion with the algorithm and certificate headers it calls for.
 */
import { createPrivateKey } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, type Emulator, type LoggedRequest } from "../../../emulator/index.js";
import {
  type ClientCredential,
  ConfidentialClientApplication,
  ConfigurationError,
} from "../../../src/node/index.js";
import { CredentialError } from "../../../src/node/private-key.js";
import { app, authority, startTestEmulator } from "../../support/emulator.js";
import {
  confidentialApp,
  type DirectoryApp,
  daemonCertificate,
  derBase64,
  form,
  GRAPH_DEFAULT,
  jwtClaims,
  jwtHeader,
  onlyTokenRequest,
  success,
  thumbprintOf,
  tokenRequests,
  Workspace,
} from "./helpers.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

describe("confidential client credentials against the emulator", () => {
  let emulator: Emulator;
  let daemon: DirectoryApp;
  let cert: ReturnType<typeof daemonCertificate>;
  let tokenEndpoint: string;
  const workspace = new Workspace();

  beforeAll(async () => {
    emulator = await startTestEmulator();
    daemon = app(emulator, "daemon");
    cert = daemonCertificate(emulator);
    tokenEndpoint = `${authority(emulator)}/oauth2/v2.0/token`;
    workspace.write("daemon.key.pem", cert.privateKey);
  });
  afterAll(async () => {
    await emulator?.stop();
    workspace.remove();
  });
  beforeEach(() => emulator.clearRequests());

  /** Gets an app token with `credential` and returns the token request the emulator logged. */
  async function appTokenWith(credential: ClientCredential): Promise<LoggedRequest> {
    const result = success(
      await confidentialApp(emulator, daemon, credential).acquireTokenForClient(GRAPH_DEFAULT),
    );
    expect(result.token_source).toBe("identity_provider");
    expect(jwtClaims(result.access_token)).toMatchObject({
      aud: "https://graph.microsoft.com",
      azp: daemon.clientId,
      idtyp: "app",
      tid: CONTOSO_TENANT_ID,
    });
    const request = onlyTokenRequest(emulator);
    expect(request.status).toBe(200);
    expect(form(request)).toMatchObject({ client_id: daemon.clientId, grant_type: "client_credentials" });
    return request;
  }

  /** The client assertion of a logged request, checked for what every assertion must carry. */
  function assertionOf(request: LoggedRequest): { header: Record<string, unknown>; jwt: string } {
    const fields = form(request);
    expect(fields.client_secret).toBeUndefined();
    expect(fields.client_assertion_type).toBe(JWT_BEARER);
    const jwt = fields.client_assertion as string;
    const claims = jwtClaims(jwt);
    expect(claims).toMatchObject({ aud: tokenEndpoint, iss: daemon.clientId, sub: daemon.clientId });
    expect(claims.exp as number).toBeGreaterThan(claims.iat as number);
    return { header: jwtHeader(jwt), jwt };
  }

  const rs256WithX5t = () => ({ alg: "RS256", typ: "JWT", x5t: thumbprintOf(cert.certificate, "sha1") });
  const ps256WithX5c = () => ({
    alg: "PS256",
    typ: "JWT",
    "x5t#S256": thumbprintOf(cert.certificate, "sha256"),
    x5c: [derBase64(cert.certificate)],
  });

  it("a client secret goes in the body (the log shows it redacted), with no assertion", async () => {
    const fields = form(await appTokenWith(daemon.secret as string));
    expect(fields.client_secret).toBe("[redacted]");
    expect(fields.client_assertion).toBeUndefined();
    expect(fields.client_assertion_type).toBeUndefined();
  });

  it("a PEM private key with its SHA-1 thumbprint signs RS256 with x5t", async () => {
    const request = await appTokenWith({ privateKey: cert.privateKey, thumbprint: cert.thumbprint });
    expect(assertionOf(request).header).toEqual(rs256WithX5t());
  });

  it("a PEM private key with its certificate derives the thumbprints: PS256 with x5t#S256 and x5c", async () => {
    const request = await appTokenWith({ privateKey: cert.privateKey, publicCertificate: cert.certificate });
    expect(assertionOf(request).header).toEqual(ps256WithX5c());
  });

  it("an encrypted PKCS#8 PEM (PBES2, AES-256) opens with its passphrase", async () => {
    workspace.openssl(
      "pkcs8",
      "-topk8",
      "-v2",
      "aes256",
      "-in",
      "daemon.key.pem",
      "-out",
      "daemon.enc.pem",
      "-passout",
      "pass:enc-Passphrase-1",
    );
    const encrypted = workspace.read("daemon.enc.pem");
    expect(encrypted).toContain("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    const request = await appTokenWith({
      privateKey: encrypted,
      passphrase: "enc-Passphrase-1",
      publicCertificate: cert.certificate,
    });
    expect(assertionOf(request).header).toEqual(ps256WithX5c());
  });

  it("a PKCS#1 (traditional RSA PRIVATE KEY) PEM signs too", async () => {
    workspace.openssl("rsa", "-in", "daemon.key.pem", "-traditional", "-out", "daemon.pkcs1.pem");
    const pkcs1 = workspace.read("daemon.pkcs1.pem");
    expect(pkcs1).toContain("-----BEGIN RSA PRIVATE KEY-----");
    const request = await appTokenWith({ privateKey: pkcs1, thumbprint: cert.thumbprint });
    expect(assertionOf(request).header).toEqual(rs256WithX5t());
  });

  for (const legacy of [false, true]) {
    const kind = legacy
      ? "OpenSSL -legacy (RC2/3DES, SHA-1 MAC)"
      : "OpenSSL 3 defaults (AES-256, SHA-256 MAC)";

    it(`a PFX of the registered certificate made with ${kind}: PS256 with x5t#S256, no x5c`, async () => {
      const pfx = workspace.pfx(
        `registered-${legacy}`,
        cert.privateKey,
        cert.certificate,
        "pfx-Pass-1",
        legacy,
      );
      const request = await appTokenWith({ pfx, passphrase: "pfx-Pass-1" });
      expect(assertionOf(request).header).toEqual({
        alg: "PS256",
        typ: "JWT",
        "x5t#S256": thumbprintOf(cert.certificate, "sha256"),
      });
    });

    it(`a PFX with ${kind} of an unregistered certificate authenticates by subject name + issuer with sendX5c`, async () => {
      const sni = workspace.issuedByTestCa(`sni-${legacy}`, "CN=daemon.contoso.test");
      expect(thumbprintOf(sni.certificatePem, "sha1")).not.toBe(thumbprintOf(cert.certificate, "sha1"));
      const pfx = workspace.pfx(`sni-${legacy}`, sni.keyPem, sni.certificatePem, "sni-Pass-1", legacy);

      // Without x5c the emulator cannot tell the certificate: its thumbprint is not registered.
      const refused = await confidentialApp(emulator, daemon, {
        pfx,
        passphrase: "sni-Pass-1",
      }).acquireTokenForClient(GRAPH_DEFAULT);
      expect(refused).toMatchObject({ error: "invalid_client", error_codes: [700027] });
      emulator.clearRequests();

      const request = await appTokenWith({ pfx, passphrase: "sni-Pass-1", sendX5c: true });
      expect(assertionOf(request).header).toEqual({
        alg: "PS256",
        typ: "JWT",
        "x5t#S256": thumbprintOf(sni.certificatePem, "sha256"),
        x5c: [derBase64(sni.certificatePem)],
      });
    });
  }

  /** An assertion signed here, as a workload identity federation token would be: RS256, x5t, far exp. */
  async function signedAssertion(lifetimeSeconds = 3600): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", x5t: thumbprintOf(cert.certificate, "sha1") })
      .setIssuer(daemon.clientId)
      .setSubject(daemon.clientId)
      .setAudience(tokenEndpoint)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetimeSeconds)
      .sign(createPrivateKey(cert.privateKey));
  }

  it("a clientAssertion string is sent as it is", async () => {
    const assertion = await signedAssertion();
    const request = await appTokenWith({ clientAssertion: assertion });
    expect(assertionOf(request).jwt).toBe(assertion);
  });

  for (const flavour of ["sync", "async"] as const) {
    it(`a ${flavour} clientAssertion callback gets { clientId, tokenEndpoint }; its JWT is reused while far from exp`, async () => {
      const assertion = await signedAssertion();
      const calls: unknown[] = [];
      const clientAssertion =
        flavour === "sync"
          ? (context: { clientId: string; tokenEndpoint: string }) => {
              calls.push(context);
              return assertion;
            }
          : async (context: { clientId: string; tokenEndpoint: string }) => {
              calls.push(context);
              await new Promise((resolve) => setTimeout(resolve, 1));
              return assertion;
            };
      const cca = confidentialApp(emulator, daemon, { clientAssertion });
      const first = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
      const second = success(await cca.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
      expect([first.token_source, second.token_source]).toEqual(["identity_provider", "identity_provider"]);
      expect(second.access_token).not.toBe(first.access_token);
      expect(calls).toEqual([{ clientId: daemon.clientId, tokenEndpoint }]);
      const sent = tokenRequests(emulator).map((r) => form(r).client_assertion);
      expect(sent).toEqual([assertion, assertion]);
    });
  }

  it("a wrong secret: the result is invalid_client AADSTS7000215 (not an exception)", async () => {
    const result = await confidentialApp(emulator, daemon, "not-the-secret").acquireTokenForClient(
      GRAPH_DEFAULT,
    );
    expect(result).toMatchObject({ error: "invalid_client", error_codes: [7000215], status: 401 });
    expect(String(result.error_description)).toMatch(/^AADSTS7000215: /);
  });

  it("a wrong PFX passphrase throws CredentialError pfx_wrong_passphrase from the constructor", () => {
    const pfx = workspace.pfx("wrong-pass", cert.privateKey, cert.certificate, "right-Pass-1", false);
    let thrown: unknown;
    try {
      new ConfidentialClientApplication(daemon.clientId, {
        authority: authority(emulator),
        validateAuthority: false,
        clientCredential: { pfx, passphrase: "wrong-Pass-1" },
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CredentialError);
    expect((thrown as CredentialError).code).toBe("pfx_wrong_passphrase");
    expect(tokenRequests(emulator)).toHaveLength(0);
  });

  it("an empty secret throws a ConfigurationError naming clientCredential", () => {
    let thrown: unknown;
    try {
      new ConfidentialClientApplication(daemon.clientId, {
        authority: authority(emulator),
        validateAuthority: false,
        clientCredential: "",
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).option).toBe("clientCredential");
    expect((thrown as ConfigurationError).message).toContain("clientCredential");
  });
});
