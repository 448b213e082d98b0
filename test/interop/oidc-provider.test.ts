/**
 * Generic OpenID Connect against an independent, certified OpenID Provider: panva's oidc-provider
 * (v9), run in the test as a plain OP over HTTPS with a certificate from the run's shared test CA.
 * msal-ts is configured with `oidcAuthority` only, so everything it knows about the OP comes from
 * `<issuer>/.well-known/openid-configuration`: the auth code flow with PKCE (the OP's own login and
 * consent pages, submitted over HTTP), id_token validation against the OP's issuer, a silent refresh
 * through the OP's refresh token, and client credentials for a resource indicated by the OP's
 * default resource (RFC 8707).
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";
import type { Account, ProviderContext, ResourceServerInfo } from "oidc-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServerCertificate, type GeneratedCertificate } from "../../emulator/x509.js";
import {
  ConfidentialClientApplication,
  PublicClientApplication,
  type TokenResult,
  type TokenSuccess,
} from "../../src/node/index.js";
import { parseForm } from "../support/sign-in.js";

const API = "urn:example:api";
const API_SCOPES = "api:read api:write";
const WEB = {
  clientId: "msal-ts-web",
  secret: randomBytes(24).toString("base64url"),
  redirectUri: "https://app.example/cb",
};
const NATIVE = { clientId: "msal-ts-native", redirectUri: "http://127.0.0.1:8400/cb" };

const ACCOUNTS: Record<string, Record<string, unknown>> = {
  "alice-0001": {
    name: "Alice Example",
    preferred_username: "alice@example.test",
    email: "alice@example.test",
    email_verified: true,
  },
};

/** The shared test CA (test/global-setup.ts) in the shape `createServerCertificate` wants. */
function sharedCa(): GeneratedCertificate {
  const certFile = process.env.MSAL_TS_TEST_CA_CERT;
  const keyFile = process.env.MSAL_TS_TEST_CA_KEY;
  if (!certFile || !keyFile)
    throw new Error("Run the tests through vitest: test/global-setup.ts makes the CA.");
  const certificatePem = readFileSync(certFile, "utf8");
  const privateKeyPem = readFileSync(keyFile, "utf8");
  const cert = new X509Certificate(certificatePem);
  return {
    certificatePem,
    privateKeyPem,
    certificateDer: cert.raw,
    privateKey: createPrivateKey(privateKeyPem),
    thumbprintSha1: cert.fingerprint.replace(/:/g, ""),
    thumbprintSha256: cert.fingerprint256.replace(/:/g, ""),
    subject: cert.subject.split("\n").join(", "),
  };
}

/** What the OP saw at its token endpoint, from its own `grant.success` / `grant.error` events. */
interface Grant {
  outcome: "success" | "error";
  grant_type: unknown;
  client_id: unknown;
  refresh_token: unknown;
  scope: unknown;
  resource: unknown;
}

/** A browser for the OP's interaction pages: keeps cookies (by path, until cleared), follows no redirects itself. */
class Browser {
  readonly #cookies = new Map<string, { value: string; path: string }>();

  async open(url: string, init: RequestInit = {}): Promise<Response> {
    const path = new URL(url).pathname;
    const cookie = [...this.#cookies]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join("; ");
    const headers = new Headers(init.headers);
    if (cookie) headers.set("cookie", cookie);
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((p) => p.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const attr = (n: string) =>
        attributes.find((a) => a.toLowerCase().startsWith(`${n}=`))?.slice(n.length + 1);
      const expires = attr("expires");
      const gone = attr("max-age") === "0" || (expires !== undefined && Date.parse(expires) <= Date.now());
      if (gone) this.#cookies.delete(name);
      else this.#cookies.set(name, { value: pair.slice(eq + 1), path: attr("path") ?? "/" });
    }
    return res;
  }

  /**
   * Opens the authorize URL and does what a person does: signs in on the login page, confirms on
   * the consent page, following every redirect until the OP sends the browser to `redirectUri`.
   * Returns that redirect and the names of the pages submitted on the way.
   */
  async signIn(authorizeUrl: string, redirectUri: string, login: string) {
    const pages: string[] = [];
    let url = authorizeUrl;
    let init: RequestInit = {};
    for (let hop = 0; hop < 20; hop++) {
      const res = await this.open(url, init);
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, url);
        if (next.href.startsWith(redirectUri)) return { redirect: next, pages };
        url = next.href;
        init = {};
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}:\n${html.slice(0, 2000)}`);
      const form = parseForm(html);
      const page = form.fields.prompt ?? "?";
      pages.push(page);
      const filled: Record<string, string> =
        page === "login" ? { login, password: "any password: the dev login takes any" } : {};
      url = new URL(form.action, url).href;
      init = { method: "POST", body: new URLSearchParams({ ...form.fields, ...filled }) };
    }
    throw new Error(`Too many redirects from ${authorizeUrl}`);
  }
}

function success(result: TokenResult | null): TokenSuccess {
  if (!result) throw new Error("Expected a token, got null.");
  if ("error" in result)
    throw new Error(`Expected a token, got ${String(result.error)}: ${String(result.error_description)}`);
  return result;
}

/** Runs `work` with oidc-provider's own console warnings ("oidc-provider WARNING: ...") left out. */
async function quietly<T>(work: () => T | Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("oidc-provider WARNING")) warn(...args);
  };
  try {
    return await work();
  } finally {
    console.warn = warn;
  }
}

describe("generic OpenID Connect against oidc-provider (a certified OP)", () => {
  let server: Server;
  let issuer: string;
  const grants: Grant[] = [];
  const resourceIndicators: Array<{ route: string | undefined; resource: string }> = [];

  beforeAll(async () => {
    const tls = createServerCertificate(sharedCa(), { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    let handler: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void =
      (_req, res) => res.writeHead(503).end();
    server = createServer({ key: tls.privateKeyPem, cert: tls.certificatePem }, (req, res) =>
      handler(req, res),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    issuer = `https://localhost:${(server.address() as AddressInfo).port}`;

    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const signingKey = {
      ...privateKey.export({ format: "jwk" }),
      kid: "test-signing-key",
      use: "sig",
      alg: "RS256",
    };
    // oidc-provider warns on console that Node 20 is not its LTS and that its quick-start adapter
    // and interactions are for development: both are what this test means to use, so the lines are
    // kept out of the test output (any other warning still shows).
    const { default: Provider, errors } = await quietly(() => import("oidc-provider"));
    const provider = await quietly(
      () =>
        new Provider(issuer, {
          clients: [
            {
              client_id: WEB.clientId,
              client_secret: WEB.secret,
              token_endpoint_auth_method: "client_secret_post",
              grant_types: ["authorization_code", "refresh_token", "client_credentials"],
              response_types: ["code"],
              redirect_uris: [WEB.redirectUri],
            },
            {
              client_id: NATIVE.clientId,
              application_type: "native",
              token_endpoint_auth_method: "none",
              grant_types: ["authorization_code", "refresh_token"],
              response_types: ["code"],
              redirect_uris: [NATIVE.redirectUri],
            },
          ],
          jwks: { keys: [signingKey] },
          cookies: { keys: [randomBytes(32).toString("base64url")] },
          claims: {
            openid: ["sub"],
            profile: ["name", "preferred_username"],
            email: ["email", "email_verified"],
          },
          findAccount: async (_ctx: ProviderContext, id: string): Promise<Account | undefined> => {
            const profile = ACCOUNTS[id];
            return profile && { accountId: id, claims: () => ({ sub: id, ...profile }) };
          },
          pkce: { required: () => true },
          issueRefreshToken: async () => true,
          features: {
            devInteractions: { enabled: true },
            clientCredentials: { enabled: true },
            resourceIndicators: {
              enabled: true,
              // Requests without a resource parameter (MSAL sends none) are for the one API.
              defaultResource: async (_ctx: ProviderContext, _client: unknown, oneOf?: string[]) =>
                oneOf ?? API,
              // Tokens redeemed from a code or refresh token are for the API the user consented to.
              useGrantedResource: async () => true,
              getResourceServerInfo: async (
                ctx: ProviderContext,
                resource: string,
              ): Promise<ResourceServerInfo> => {
                resourceIndicators.push({ route: ctx.oidc.route, resource });
                if (resource !== API) throw new errors.InvalidTarget();
                return { scope: API_SCOPES, audience: API, accessTokenFormat: "jwt", accessTokenTTL: 3600 };
              },
            },
          },
        }),
    );
    const record = (outcome: Grant["outcome"]) => (ctx: ProviderContext) => {
      const p = ctx.oidc.params ?? {};
      grants.push({
        outcome,
        grant_type: p.grant_type,
        client_id: ctx.oidc.client?.clientId,
        refresh_token: p.refresh_token,
        scope: p.scope,
        resource: p.resource,
      });
    };
    provider.on("grant.success", record("success"));
    provider.on("grant.error", record("error"));
    handler = provider.callback();
  });
  afterAll(async () => {
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const webApp = () =>
    new ConfidentialClientApplication(WEB.clientId, { oidcAuthority: issuer, clientCredential: WEB.secret });

  it("serves a discovery document msal-ts reads: issuer, endpoints, PKCE S256, client_secret_post", async () => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      code_challenge_methods_supported: ["S256"],
      grant_types_supported: expect.arrayContaining([
        "authorization_code",
        "refresh_token",
        "client_credentials",
      ]),
      token_endpoint_auth_methods_supported: expect.arrayContaining(["client_secret_post"]),
    });
  });

  it("confidential client: auth code flow with PKCE through the OP's login and consent pages, then a silent refresh", async () => {
    const cca = webApp();
    grants.length = 0;
    // OpenID Connect Core 11: offline_access needs prompt=consent, else the OP drops it (see below).
    const flow = await cca.initiateAuthCodeFlow(["api:read"], {
      redirectUri: WEB.redirectUri,
      prompt: "consent",
    });
    const auth = new URL(flow.auth_uri);
    expect(auth.origin + auth.pathname).toBe(`${issuer}/auth`);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({
      client_id: WEB.clientId,
      response_type: "code",
      code_challenge_method: "S256",
      scope: "api:read offline_access openid profile",
      client_info: "1",
      redirect_uri: WEB.redirectUri,
      prompt: "consent",
    });

    const { redirect, pages } = await new Browser().signIn(flow.auth_uri, WEB.redirectUri, "alice-0001");
    expect(pages).toEqual(["login", "consent"]);
    // RFC 9207: the OP names itself in the response; msal-ts passes the parameters through unread.
    expect(redirect.searchParams.get("iss")).toBe(issuer);
    expect(redirect.searchParams.get("state")).toBe(flow.state);

    const signedIn = success(
      await cca.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(redirect.searchParams)),
    );
    expect(signedIn.token_source).toBe("identity_provider");
    expect(signedIn.id_token_claims).toMatchObject({
      iss: issuer,
      sub: "alice-0001",
      aud: WEB.clientId,
      preferred_username: "alice@example.test",
      name: "Alice Example",
      // The OP echoes the nonce the authorize request carried (MSAL sends the SHA-256 hex of its own).
      nonce: auth.searchParams.get("nonce"),
    });
    expect(signedIn.refresh_token).toEqual(expect.any(String));
    // The access token is the OP's JWT for the API the default resource named.
    expect(decodeJwt(signedIn.access_token)).toMatchObject({
      iss: issuer,
      aud: API,
      sub: "alice-0001",
      client_id: WEB.clientId,
      scope: "api:read",
    });
    expect(grants).toEqual([
      expect.objectContaining({
        outcome: "success",
        grant_type: "authorization_code",
        client_id: WEB.clientId,
      }),
    ]);

    const [account, ...others] = await cca.getAccounts();
    expect(others).toEqual([]);
    expect(account).toMatchObject({
      // No client_info from a generic OP: the home account is the id_token's sub.
      home_account_id: "alice-0001",
      environment: new URL(issuer).hostname,
      username: "alice@example.test",
    });
    if (!account) throw new Error("no account");

    grants.length = 0;
    const cached = success(await cca.acquireTokenSilent(["api:read"], account));
    expect(cached).toMatchObject({ token_source: "cache", access_token: signedIn.access_token });
    expect(grants).toEqual([]);

    const refreshed = success(await cca.acquireTokenSilent(["api:read"], account, { forceRefresh: true }));
    expect(refreshed.token_source).toBe("identity_provider");
    expect(refreshed.access_token).not.toBe(signedIn.access_token);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({
      aud: API,
      sub: "alice-0001",
      scope: "api:read",
    });
    expect(refreshed.id_token_claims).toMatchObject({ iss: issuer, sub: "alice-0001", aud: WEB.clientId });
    expect(grants).toEqual([
      {
        outcome: "success",
        grant_type: "refresh_token",
        client_id: WEB.clientId,
        refresh_token: signedIn.refresh_token,
        scope: "api:read offline_access openid profile",
        // MSAL sends no resource: the OP uses the one granted (useGrantedResource), as the aud shows.
        resource: undefined,
      },
    ]);
    // The refreshed token is what the cache serves now.
    const again = success(await cca.acquireTokenSilent(["api:read"], account));
    expect(again).toMatchObject({ token_source: "cache", access_token: refreshed.access_token });
  });

  it("public client: auth code flow with PKCE (no secret) and a rotated refresh token", async () => {
    const pca = new PublicClientApplication(NATIVE.clientId, { oidcAuthority: issuer });
    const flow = await pca.initiateAuthCodeFlow(["api:read"], {
      redirectUri: NATIVE.redirectUri,
      prompt: "consent",
    });
    const { redirect, pages } = await new Browser().signIn(flow.auth_uri, NATIVE.redirectUri, "alice-0001");
    expect(pages).toEqual(["login", "consent"]);
    const signedIn = success(
      await pca.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(redirect.searchParams)),
    );
    expect(signedIn.id_token_claims).toMatchObject({ iss: issuer, sub: "alice-0001", aud: NATIVE.clientId });

    const [account] = await pca.getAccounts();
    if (!account) throw new Error("no account");
    grants.length = 0;
    const refreshed = success(await pca.acquireTokenSilent(["api:read"], account, { forceRefresh: true }));
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    // Public clients' refresh tokens rotate at oidc-provider: the cache holds the new one.
    expect(refreshed.refresh_token).not.toBe(signedIn.refresh_token);
    const twice = success(await pca.acquireTokenSilent(["api:read"], account, { forceRefresh: true }));
    expect(twice.access_token).not.toBe(refreshed.access_token);
    expect(grants.map((g) => [g.outcome, g.grant_type, g.refresh_token])).toEqual([
      ["success", "refresh_token", signedIn.refresh_token],
      ["success", "refresh_token", refreshed.refresh_token],
    ]);
  });

  it("without prompt=consent the OP drops offline_access (OIDC Core 11): the refresh, which asks for it, is refused", async () => {
    const cca = webApp();
    const flow = await cca.initiateAuthCodeFlow(["api:read"], { redirectUri: WEB.redirectUri });
    const { redirect, pages } = await new Browser().signIn(flow.auth_uri, WEB.redirectUri, "alice-0001");
    expect(pages).toEqual(["login", "consent"]);
    const signedIn = success(
      await cca.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(redirect.searchParams)),
    );
    // This OP is configured to issue refresh tokens regardless (issueRefreshToken); its default would not.
    expect(signedIn.refresh_token).toEqual(expect.any(String));
    const [account] = await cca.getAccounts();
    if (!account) throw new Error("no account");
    const refreshed = await cca.acquireTokenSilentWithError(["api:read"], account, { forceRefresh: true });
    expect(refreshed).toMatchObject({
      error: "invalid_scope",
      error_description: "refresh token missing requested scope",
      // RFC 6749 has no `scope` on an error: a field msal-ts does not know is kept under additional_fields.
      additional_fields: { scope: "offline_access" },
      requires_interaction: false,
    });
  });

  it("client credentials: a JWT for the default resource, then the same token from the cache", async () => {
    const cca = webApp();
    grants.length = 0;
    const first = success(await cca.acquireTokenForClient(["api:read"]));
    expect(first.token_source).toBe("identity_provider");
    expect(decodeJwt(first.access_token)).toMatchObject({
      iss: issuer,
      aud: API,
      client_id: WEB.clientId,
      scope: "api:read",
    });
    expect(decodeJwt(first.access_token).sub).toBe(WEB.clientId);
    const second = success(await cca.acquireTokenForClient(["api:read"]));
    expect(second).toMatchObject({ token_source: "cache", access_token: first.access_token });
    expect(grants).toEqual([
      {
        outcome: "success",
        grant_type: "client_credentials",
        client_id: WEB.clientId,
        refresh_token: undefined,
        scope: "api:read",
        resource: API,
      },
    ]);
  });

  it("a wrong client secret comes back as the OP's invalid_client", async () => {
    const cca = new ConfidentialClientApplication(WEB.clientId, {
      oidcAuthority: issuer,
      clientCredential: "not-the-secret",
    });
    const result = await cca.acquireTokenForClient(["api:read"]);
    expect(result).toMatchObject({ error: "invalid_client" });
  });
});
