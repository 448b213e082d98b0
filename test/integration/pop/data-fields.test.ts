/**
 * What a token request may carry besides its grant, in every flow: `data` fields in the form,
 * `extraQueryParameters` on the token endpoint's URL and per-request `headers`, as the emulator's
 * request log shows them; and MSAL Python's checks on SSH certificate data, asserted exactly, which
 * stop the call before anything is sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator, LoggedRequest } from "../../../emulator/index.js";
import {
  ArgumentError,
  PublicClientApplication,
  type TokenRequestOptions,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, startTestEmulator } from "../../support/emulator.js";
import { signInOverHttp } from "../../support/sign-in.js";
import {
  confidentialApp,
  daemonWithSecret,
  directoryUser,
  middleTierAssertion,
  tokenRequests,
} from "../confidential/helpers.js";
import { authorize, seededUser, signIn, WEB_REDIRECT, webApp } from "../users/helpers.js";

const GRAPH = ["https://graph.microsoft.com/.default"];
const USER_READ = ["User.Read"];

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
});
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

function success(result: TokenResult | null): TokenSuccess {
  if (result === null || "error" in result)
    throw new Error(`Expected a token, got ${JSON.stringify(result)}`);
  return result;
}

/** The extras of one flow: a data field, a query parameter and a header, each naming the flow. */
function extras(flow: string): Required<TokenRequestOptions> {
  return {
    data: { x_flow_field: `data-${flow}` },
    extraQueryParameters: { x_flow_query: `query-${flow}` },
    headers: { "x-flow-header": `header-${flow}` },
  };
}

/** The one token request whose form carries this flow's data field, checked for all three extras. */
function expectExtrasReached(flow: string): LoggedRequest {
  const matching = tokenRequests(emulator).filter((r) => r.form?.x_flow_field === `data-${flow}`);
  expect(matching).toHaveLength(1);
  const request = matching[0] as LoggedRequest;
  expect(request.query.x_flow_query).toBe(`query-${flow}`);
  expect(request.headers["x-flow-header"]).toBe(`header-${flow}`);
  return request;
}

describe("data, extraQueryParameters and headers reach the token endpoint", () => {
  it("client credentials", async () => {
    success(await daemonWithSecret(emulator).acquireTokenForClient(GRAPH, extras("cc")));
    expect(expectExtrasReached("cc").form?.grant_type).toBe("client_credentials");
  });

  it("on-behalf-of", async () => {
    const middleTier = app(emulator, "middle-tier");
    const assertion = await middleTierAssertion(
      emulator,
      directoryUser(emulator, "alice@contoso.onmicrosoft.com"),
    );
    const cca = confidentialApp(emulator, middleTier, middleTier.secret as string);
    success(
      await cca.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"], extras("obo")),
    );
    expect(expectExtrasReached("obo").form?.requested_token_use).toBe("on_behalf_of");
  });

  it("auth code flow, then silent (refresh), then refresh-token migration", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const { flow, response } = await authorize(client, alice, { redirectUri: WEB_REDIRECT });
    const signed = success(await client.acquireTokenByAuthCodeFlow(flow, response, extras("authcodeflow")));
    expect(expectExtrasReached("authcodeflow").form?.grant_type).toBe("authorization_code");

    const account = signed.account;
    if (!account) throw new Error("no account");
    success(await client.acquireTokenSilent(USER_READ, account, { ...extras("silent"), forceRefresh: true }));
    expect(expectExtrasReached("silent").form?.grant_type).toBe("refresh_token");

    success(await client.acquireTokenByRefreshToken(signed.refresh_token as string, USER_READ, extras("rt")));
    expect(expectExtrasReached("rt").form?.grant_type).toBe("refresh_token");
  });

  it("authorization code (without a flow object)", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const url = await client.getAuthorizationRequestUrl(USER_READ, { redirectUri: WEB_REDIRECT });
    const { params } = await signInOverHttp(url, alice.username, alice.password);
    success(
      await client.acquireTokenByAuthorizationCode(params.get("code") as string, USER_READ, {
        redirectUri: WEB_REDIRECT,
        ...extras("code"),
      }),
    );
    expect(expectExtrasReached("code").form?.grant_type).toBe("authorization_code");
  });

  it("username and password", async () => {
    const pca = new PublicClientApplication(app(emulator, "public").clientId, {
      authority: `${emulator.url}/organizations`,
      validateAuthority: false,
    });
    const alice = seededUser(emulator, "alice");
    success(
      await pca.acquireTokenByUsernamePassword(alice.username, alice.password, USER_READ, extras("ropc")),
    );
    expect(expectExtrasReached("ropc").form?.grant_type).toBe("password");
  });

  it("device code", async () => {
    const pca = new PublicClientApplication(app(emulator, "public").clientId, {
      authority: `${emulator.url}/organizations`,
      validateAuthority: false,
    });
    const flow = await pca.initiateDeviceFlow(USER_READ);
    if ("error" in flow) throw new Error(JSON.stringify(flow));
    emulator.approveDeviceCode(flow.user_code, seededUser(emulator, "alice").username);
    // The facade's option type does not list the extras yet; the flow takes them (DeviceFlowRequest).
    const options = { ...extras("device"), signal: AbortSignal.timeout(30_000) };
    success(await pca.acquireTokenByDeviceFlow(flow, options));
    expect(expectExtrasReached("device").form?.grant_type).toBe(
      "urn:ietf:params:oauth:grant-type:device_code",
    );
  });

  it("interactive: the token request gets all three; extraQueryParameters go to the authorize URL too", async () => {
    const pca = new PublicClientApplication(app(emulator, "public").clientId, {
      authority: `${emulator.url}/organizations`,
      validateAuthority: false,
    });
    const alice = seededUser(emulator, "alice");
    let authorizeUrl = "";
    success(
      await pca.acquireTokenInteractive(USER_READ, {
        ...extras("interactive"),
        timeout: 10_000,
        openBrowser: async (url) => {
          authorizeUrl = url;
          const { location } = await signInOverHttp(url, alice.username, alice.password);
          await fetch(location);
        },
      }),
    );
    expect(new URL(authorizeUrl).searchParams.get("x_flow_query")).toBe("query-interactive");
    expect(new URL(authorizeUrl).searchParams.get("x_flow_field")).toBeNull();
    expect(expectExtrasReached("interactive").form?.grant_type).toBe("authorization_code");
  });

  it("data never replaces the client's authentication, and the library's own headers win", async () => {
    const daemon = app(emulator, "daemon");
    const result = await daemonWithSecret(emulator).acquireTokenForClient(GRAPH, {
      data: { client_secret: "not-the-secret", x_flow_field: "data-override" },
      headers: { "client-request-id": "mine" },
      correlationId: "11111111-2222-3333-4444-555555555555",
    });
    success(result);
    const [request] = tokenRequests(emulator);
    expect(request?.form).toMatchObject({ client_id: daemon.clientId, x_flow_field: "data-override" });
    expect(request?.headers["client-request-id"]).toBe("11111111-2222-3333-4444-555555555555");
  });
});

describe("SSH certificate data is checked before anything is sent (MSAL Python's rule)", () => {
  const REQ_CNF_MESSAGE =
    "When requesting an SSH certificate, you must include a string parameter named 'req_cnf' containing the public key in JWK format (https://tools.ietf.org/html/rfc7517).";
  const KEY_ID_MESSAGE =
    "When requesting an SSH certificate, you must include a string parameter named 'key_id' which identifies the key in the 'req_cnf' argument.";
  const SSH = ["https://pas.windows.net/CheckMyAccess/Linux/.default"];

  async function refusal(call: () => Promise<unknown>): Promise<ArgumentError> {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ArgumentError);
    return error as ArgumentError;
  }

  it.each([
    [{ token_type: "ssh-cert", key_id: "k" }, REQ_CNF_MESSAGE],
    [{ token_type: "ssh-cert", req_cnf: "{}" }, KEY_ID_MESSAGE],
    [{ token_type: "ssh-cert" }, REQ_CNF_MESSAGE],
    [{ token_type: "ssh-cert", key_id: "", req_cnf: "{}" }, KEY_ID_MESSAGE],
  ])("client credentials with %j", async (data, message) => {
    const error = await refusal(() => daemonWithSecret(emulator).acquireTokenForClient(SSH, { data }));
    expect(error).toMatchObject({ code: "invalid_argument", argument: "data", message });
    expect(tokenRequests(emulator)).toHaveLength(0);
  });

  it("silent, auth code flow and interactive refuse it the same way; interactive opens no browser", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const account = signed.result.account;
    if (!account) throw new Error("no account");
    emulator.clearRequests();
    const data = { token_type: "ssh-cert", req_cnf: "{}" };
    expect((await refusal(() => client.acquireTokenSilent(SSH, account, { data }))).message).toBe(
      KEY_ID_MESSAGE,
    );

    const { flow, response } = await authorize(client, alice, { redirectUri: WEB_REDIRECT });
    emulator.clearRequests();
    expect((await refusal(() => client.acquireTokenByAuthCodeFlow(flow, response, { data }))).message).toBe(
      KEY_ID_MESSAGE,
    );
    expect(tokenRequests(emulator)).toHaveLength(0);

    const pca = new PublicClientApplication(app(emulator, "public").clientId, {
      authority: `${emulator.url}/organizations`,
      validateAuthority: false,
    });
    let opened = false;
    const error = await refusal(() =>
      pca.acquireTokenInteractive(SSH, {
        data: { token_type: "ssh-cert", key_id: "k" },
        openBrowser: () => {
          opened = true;
        },
      }),
    );
    expect(error.message).toBe(REQ_CNF_MESSAGE);
    expect(opened).toBe(false);
    expect(emulator.requests()).toHaveLength(0);
  });
});
