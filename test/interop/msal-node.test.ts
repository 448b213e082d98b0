/**
 * Real @azure/msal-node against the emulator, trusting its CA through NODE_EXTRA_CA_CERTS (set by
 * test/global-setup.ts before the test workers start).
 */

import { createHash, randomBytes } from "node:crypto";
import {
  ConfidentialClientApplication,
  InteractionRequiredAuthError,
  PublicClientApplication,
  ServerError,
} from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import { signInOverHttp } from "../support/sign-in.js";

const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];

describe("@azure/msal-node against the emulator", () => {
  let emulator: Emulator;
  let host: string;
  beforeAll(async () => {
    emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
    host = new URL(emulator.url).host;
  });
  afterAll(() => emulator?.stop());

  const auth = (clientId: string) => ({ clientId, authority: authority(emulator), knownAuthorities: [host] });

  it("gets an app token with a client secret, then from its cache", async () => {
    const daemon = app(emulator, "daemon");
    const cca = new ConfidentialClientApplication({
      auth: { ...auth(daemon.clientId), clientSecret: daemon.secret as string },
    });
    emulator.clearRequests();
    const first = await cca.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
    const second = await cca.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
    expect(first?.fromCache).toBe(false);
    expect(second?.fromCache).toBe(true);
    expect(second?.accessToken).toBe(first?.accessToken);
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("gets an app token with a certificate (x5t#S256, PS256)", async () => {
    const daemon = app(emulator, "daemon");
    const cert = daemon.certificate as NonNullable<typeof daemon.certificate>;
    const cca = new ConfidentialClientApplication({
      auth: {
        ...auth(daemon.clientId),
        clientCertificate: { thumbprintSha256: cert.thumbprintSha256 as string, privateKey: cert.privateKey },
      },
    });
    emulator.clearRequests();
    const result = await cca.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
    expect(result?.accessToken).toMatch(/^ey/);
    const assertion = String(emulator.requests("token")[0]?.form?.client_assertion);
    expect(JSON.parse(Buffer.from(assertion.split(".")[0] as string, "base64url").toString())).toMatchObject({
      alg: "PS256",
      "x5t#S256": expect.any(String),
    });
  });

  it("gets an app token with a certificate sent as x5c (subject name and issuer)", async () => {
    const daemon = app(emulator, "daemon");
    const cert = daemon.certificate as NonNullable<typeof daemon.certificate>;
    // A thumbprint that is not registered: only the chain in x5c can identify the certificate.
    const cca = new ConfidentialClientApplication({
      auth: {
        ...auth(daemon.clientId),
        clientCertificate: {
          thumbprintSha256: "00".repeat(32),
          privateKey: cert.privateKey,
          x5c: cert.certificate,
        },
      },
    });
    const result = await cca.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
    expect(result?.accessToken).toMatch(/^ey/);
  });

  it("signs the managed user in with username and password and refreshes through its cache", async () => {
    const alice = user(emulator, "managed");
    const pca = new PublicClientApplication({ auth: auth(app(emulator, "public").clientId) });
    emulator.clearRequests();
    const first = await pca.acquireTokenByUsernamePassword({
      scopes: ["User.Read"],
      username: alice.username,
      password: alice.password,
    });
    expect(first?.account?.username).toBe(alice.username);
    expect(first?.idTokenClaims).toMatchObject({ preferred_username: alice.username, tid: alice.tenant });
    const [account] = await pca.getTokenCache().getAllAccounts();
    const refreshed = await pca.acquireTokenSilent({
      scopes: ["User.Read"],
      account: account as NonNullable<typeof account>,
      forceRefresh: true,
    });
    expect(refreshed.fromCache).toBe(false);
    expect(refreshed.accessToken).not.toBe(first?.accessToken);
    expect(emulator.requests("token").map((r) => r.form?.grant_type)).toEqual(["password", "refresh_token"]);
  });

  it("completes the device code flow when the code is approved through the control API", async () => {
    const alice = user(emulator, "managed");
    const pca = new PublicClientApplication({ auth: auth(app(emulator, "public").clientId) });
    let message = "";
    const result = await pca.acquireTokenByDeviceCode({
      scopes: ["User.Read"],
      deviceCodeCallback: (response) => {
        message = response.message;
        // Approved over HTTP through the control API while msal-node polls, as a person would on the page.
        setTimeout(() => {
          void fetch(`${emulator.url}/_emulator/device/approve`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ user_code: response.userCode, username: alice.username }),
          });
        }, 1200);
      },
    });
    expect(message).toMatch(
      /^To sign in, use a web browser to open the page https:\/\/localhost:\d+\/devicelogin and enter the code [A-Z0-9]{9} to authenticate\.$/,
    );
    expect(result?.account?.username).toBe(alice.username);
  });

  it("gets a Graph token on behalf of the user who called the middle-tier API", async () => {
    const alice = user(emulator, "managed");
    const api = app(emulator, "middle-tier");
    const pca = new PublicClientApplication({ auth: auth(app(emulator, "public").clientId) });
    const userToken = await pca.acquireTokenByUsernamePassword({
      scopes: api.scopes as string[],
      username: alice.username,
      password: alice.password,
    });
    const middleTier = new ConfidentialClientApplication({
      auth: { ...auth(api.clientId), clientSecret: api.secret as string },
    });
    const result = await middleTier.acquireTokenOnBehalfOf({
      oboAssertion: userToken?.accessToken as string,
      scopes: ["https://graph.microsoft.com/User.Read"],
    });
    expect(result?.account?.username).toBe(alice.username);
    expect(result?.scopes).toContain("https://graph.microsoft.com/User.Read");
  });

  it("completes the auth code flow with PKCE by fetching the sign-in page and submitting its form", async () => {
    const web = app(emulator, "confidential");
    const alice = user(emulator, "managed");
    const cca = new ConfidentialClientApplication({
      auth: { ...auth(web.clientId), clientSecret: web.secret as string },
    });
    const verifier = randomBytes(32).toString("base64url");
    const redirectUri = web.redirectUris?.[0] as string;
    const url = await cca.getAuthCodeUrl({
      scopes: ["User.Read"],
      redirectUri,
      state: "state-123",
      codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
      codeChallengeMethod: "S256",
    });
    const { params } = await signInOverHttp(url, alice.username, alice.password);
    expect(params.get("state")).toBe("state-123");
    const result = await cca.acquireTokenByCode({
      code: params.get("code") as string,
      redirectUri,
      scopes: ["User.Read"],
      codeVerifier: verifier,
    });
    expect(result.account?.username).toBe(alice.username);
    expect(result.idTokenClaims).toMatchObject({ aud: web.clientId });
  });

  describe("negative cases", () => {
    it("wrong client secret: invalid_client, AADSTS7000215", async () => {
      const cca = new ConfidentialClientApplication({
        auth: { ...auth(app(emulator, "daemon").clientId), clientSecret: "wrong" },
      });
      const error = await cca
        .acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServerError);
      expect((error as ServerError).errorCode).toBe("invalid_client");
      expect((error as ServerError).errorMessage).toContain(
        "Description: AADSTS7000215: Invalid client secret provided.",
      );
    });

    it("unknown client: unauthorized_client, AADSTS700016", async () => {
      const cca = new ConfidentialClientApplication({
        auth: { ...auth("00000000-0000-4000-8000-000000000000"), clientSecret: "x" },
      });
      const error = (await cca
        .acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT })
        .catch((e: unknown) => e)) as ServerError;
      expect(error.errorCode).toBe("unauthorized_client");
      expect(error.errorMessage).toContain(
        "Description: AADSTS700016: Application with identifier '00000000-0000-4000-8000-000000000000' was not found",
      );
    });

    it("redirect URI not registered: the sign-in page refuses with AADSTS50011", async () => {
      const pca = new PublicClientApplication({ auth: auth(app(emulator, "public").clientId) });
      const url = await pca.getAuthCodeUrl({
        scopes: ["User.Read"],
        redirectUri: "https://evil.example/callback",
      });
      const page = await fetch(url, { redirect: "manual" });
      expect(page.status).toBe(400);
      expect(await page.text()).toContain(
        "AADSTS50011: The redirect URI &#39;https://evil.example/callback&#39; specified in the request does not match",
      );
    });

    it("MFA user with username and password: interaction_required, AADSTS50076, with claims", async () => {
      const mfa = user(emulator, "mfa");
      const pca = new PublicClientApplication({ auth: auth(app(emulator, "public").clientId) });
      const error = (await pca
        .acquireTokenByUsernamePassword({
          scopes: ["User.Read"],
          username: mfa.username,
          password: mfa.password,
        })
        .catch((e: unknown) => e)) as InteractionRequiredAuthError;
      expect(error).toBeInstanceOf(InteractionRequiredAuthError);
      expect(error.errorCode).toBe("interaction_required");
      expect(error.errorMessage).toMatch(/^AADSTS50076: Due to a configuration change/);
      expect(JSON.parse(error.claims)).toEqual({
        access_token: { capolids: { essential: true, values: [expect.any(String)] } },
      });
    });
  });
});
