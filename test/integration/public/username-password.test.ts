/**
 * Username and password (ROPC) for a public client against the emulator: a managed user straight at
 * the token endpoint; a federated user through user realm discovery, MEX and WS-Trust 1.3 or 2005
 * at the emulator's ADFS, then the SAML bearer grant; a wrong federated password (the STS's SOAP
 * fault); and an MFA user (interaction_required with the claims challenge). The emulator's request
 * log shows what went over the wire.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator, LoggedRequest } from "../../../emulator/index.js";
import {
  MsalError,
  PublicClientApplication,
  type TokenFailure,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, startTestEmulator, user } from "../../support/emulator.js";

const SCOPES = ["User.Read"];
const SAML2_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer";
const SAML1_GRANT = "urn:ietf:params:oauth:grant-type:saml1_1-bearer";

let emulator: Emulator;
type Seeded = { username: string; password: string; tenant: string };
let managed: Seeded;
let federated: Seeded;
let mfa: Seeded;

beforeAll(async () => {
  emulator = await startTestEmulator();
  managed = user(emulator, "managed");
  federated = user(emulator, "federated");
  mfa = user(emulator, "mfa");
});
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

/** A fresh app each time: discovery, user realm and MEX answers are cached per app. */
function client(): PublicClientApplication {
  return new PublicClientApplication(app(emulator, "public").clientId, {
    authority: `${emulator.url}/organizations`,
    validateAuthority: false,
  });
}

/** The endpoints the sign-in touched, in order, leaving out discovery. */
const trail = () =>
  emulator
    .requests()
    .filter((r) => !["discovery", "instance", "jwks"].includes(r.endpoint))
    .map((r) => `${r.method} ${r.endpoint} ${r.path}`);

const only = (endpoint: string): LoggedRequest => {
  const found = emulator.requests(endpoint);
  expect(found).toHaveLength(1);
  return found[0] as LoggedRequest;
};

async function signIn(pca: PublicClientApplication, who: Seeded): Promise<TokenSuccess> {
  const result = await pca.acquireTokenByUsernamePassword(who.username, who.password, SCOPES);
  if ("error" in result) throw new Error(`sign-in failed: ${JSON.stringify(result)}`);
  return result as TokenSuccess;
}

async function expectAccount(pca: PublicClientApplication, who: Seeded, token: TokenSuccess) {
  expect(token.token_source).toBe("identity_provider");
  expect(token.id_token_claims?.preferred_username).toBe(who.username);
  expect(token.id_token_claims?.tid).toBe(who.tenant);
  const accounts = await pca.getAccounts();
  expect(accounts.map((a) => a.username)).toEqual([who.username]);
  expect(await pca.getAccounts({ username: who.username })).toEqual(accounts);
  const cached = await pca.acquireTokenSilent(SCOPES, accounts[0]);
  expect(cached?.token_source).toBe("cache");
  expect(cached?.access_token).toBe(token.access_token);
}

describe("username and password", () => {
  it("a managed user: user realm says Managed, then grant_type=password with X-AnchorMailbox upn:<user>", async () => {
    const pca = client();
    const token = await signIn(pca, managed);
    expect(trail()).toEqual([
      `GET userrealm /common/userrealm/${encodeURIComponent(managed.username)}`,
      "POST token /organizations/oauth2/v2.0/token",
    ]);
    expect(only("userrealm").query).toEqual({ "api-version": "1.0" });
    const sent = only("token");
    expect(sent.form).toEqual({
      client_id: pca.clientId,
      grant_type: "password",
      username: managed.username,
      password: "[redacted]",
      scope: "User.Read offline_access openid profile",
      client_info: "1",
    });
    expect(sent.headers["x-anchormailbox"]).toBe(`upn:${managed.username}`);
    await expectAccount(pca, managed, token);
  });

  it("a federated user over WS-Trust 1.3: user realm, MEX, /trust/13/usernamemixed, then saml2-bearer", async () => {
    emulator.configure({ mexOffers: ["13"] });
    const pca = client();
    const token = await signIn(pca, federated);
    expect(trail()).toEqual([
      `GET userrealm /common/userrealm/${encodeURIComponent(federated.username)}`,
      "GET mex /adfs/services/trust/mex",
      "POST wstrust /adfs/services/trust/13/usernamemixed",
      "POST token /organizations/oauth2/v2.0/token",
    ]);
    const wstrust = only("wstrust");
    expect(wstrust.status).toBe(200);
    expect(wstrust.headers.soapaction).toBe("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue");
    expect(wstrust.headers["content-type"]).toBe("application/soap+xml; charset=utf-8");
    const form = only("token").form ?? {};
    expect(form.grant_type).toBe(SAML2_GRANT);
    expect(form.username).toBeUndefined();
    expect(form.password).toBeUndefined();
    const assertion = Buffer.from(form.assertion ?? "", "base64url").toString("utf8");
    expect(assertion).toMatch(
      /^<Assertion ID="_[0-9a-f-]+" [^>]*xmlns="urn:oasis:names:tc:SAML:2\.0:assertion">/,
    );
    expect(assertion).toContain(`<AttributeValue>${federated.username}</AttributeValue>`);
    await expectAccount(pca, federated, token);
  });

  it("a federated user over WS-Trust 2005 when the MEX offers only 2005: saml1_1-bearer", async () => {
    emulator.configure({ mexOffers: ["2005"] });
    const pca = client();
    const token = await signIn(pca, federated);
    expect(trail()).toEqual([
      `GET userrealm /common/userrealm/${encodeURIComponent(federated.username)}`,
      "GET mex /adfs/services/trust/mex",
      "POST wstrust /adfs/services/trust/2005/usernamemixed",
      "POST token /organizations/oauth2/v2.0/token",
    ]);
    expect(only("wstrust").headers.soapaction).toBe("http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue");
    const form = only("token").form ?? {};
    expect(form.grant_type).toBe(SAML1_GRANT);
    const assertion = Buffer.from(form.assertion ?? "", "base64url").toString("utf8");
    expect(assertion).toMatch(/^<saml:Assertion MajorVersion="1" MinorVersion="1" /);
    await expectAccount(pca, federated, token);
  });

  it("with both versions offered, WS-Trust 1.3 is used", async () => {
    emulator.configure({ mexOffers: ["2005", "13"] });
    await signIn(client(), federated);
    expect(only("wstrust").path).toBe("/adfs/services/trust/13/usernamemixed");
    expect(only("token").form?.grant_type).toBe(SAML2_GRANT);
  });

  it("a federated user with a wrong password: MsalError wstrust_fault with the STS's reason; nothing reaches the token endpoint", async () => {
    emulator.configure({ mexOffers: ["13"] });
    const error = await client()
      .acquireTokenByUsernamePassword(federated.username, "not-the-password", SCOPES)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MsalError);
    expect(error).toMatchObject({
      code: "wstrust_fault",
      message:
        "The federated STS refused the sign-in: MSIS7068: Access denied. (a:FailedAuthentication). Check the username and password.",
    });
    expect(emulator.requests("wstrust").map((r) => r.status)).toEqual([500]);
    expect(emulator.requests("token")).toEqual([]);
  });

  it("a wrong federated password is sent once (no retry towards lockout), and the right one works at once after it", async () => {
    emulator.configure({ mexOffers: ["13"] });
    const pca = client();
    await pca
      .acquireTokenByUsernamePassword(federated.username, "not-the-password", SCOPES)
      .catch(() => undefined);
    const token = await signIn(pca, federated);
    expect(token.id_token_claims?.preferred_username).toBe(federated.username);
    expect(emulator.requests("wstrust").map((r) => r.status)).toEqual([500, 200]);
  });

  it("a user who must do MFA: interaction_required with the claims challenge, no account cached", async () => {
    const pca = client();
    const result = (await pca.acquireTokenByUsernamePassword(
      mfa.username,
      mfa.password,
      SCOPES,
    )) as TokenFailure;
    expect(result).toMatchObject({
      error: "interaction_required",
      suberror: "basic_action",
      error_codes: [50076],
      claims: JSON.stringify({
        access_token: { capolids: { essential: true, values: ["5a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"] } },
      }),
    });
    expect(result.error_description).toMatch(
      /^AADSTS50076: Due to a configuration change made by your administrator/,
    );
    expect(await pca.getAccounts()).toEqual([]);
  });

  it("a managed user with a wrong password: invalid_grant AADSTS50126 as the result", async () => {
    const result = (await client().acquireTokenByUsernamePassword(
      managed.username,
      "wrong",
      SCOPES,
    )) as TokenFailure;
    expect(result).toMatchObject({ error: "invalid_grant", error_codes: [50126] });
  });

  it("a managed user's password grant that meets a 503 is sent once (no retry towards lockout)", async () => {
    emulator.injectFault({ endpoint: "token", status: 503, body: '{"error":"temporarily_unavailable"}' });
    const result = (await client().acquireTokenByUsernamePassword(
      managed.username,
      managed.password,
      SCOPES,
    )) as TokenFailure;
    expect(result).toMatchObject({ error: "temporarily_unavailable", status: 503 });
    expect(emulator.requests("token").map((r) => r.form?.grant_type)).toEqual(["password"]);
  });
});
