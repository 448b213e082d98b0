/**
 * `tokenCredential` against the emulator, by client kind and `getToken` option: what the Azure SDK
 * receives (token, expiry, refresh time), what msal-ts sent (tenant, claims, resource), and the
 * errors by which `@azure/identity`'s `ChainedTokenCredential` decides to try its next credential.
 */
import { AggregateAuthenticationError, ChainedTokenCredential } from "@azure/identity";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EmulatorWithManagedIdentity, FABRIKAM_TENANT_ID } from "../../../emulator/index.js";
import {
  ArgumentError,
  AuthenticationError,
  ConfidentialClientApplication,
  CredentialUnavailableError,
  decodePart,
  PublicClientApplication,
  SystemAssignedManagedIdentity,
  tokenCredential,
} from "../../../src/node/index.js";
import { app, authority } from "../../support/emulator.js";
import { clientOn, hostOf, startManagedIdentityEmulator } from "../managed-identity/helpers.js";

const GRAPH_DEFAULT = "https://graph.microsoft.com/.default";
const VAULT = "https://vault.azure.net";

let emulator: EmulatorWithManagedIdentity;
beforeAll(async () => {
  emulator = await startManagedIdentityEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

function daemonClient(secret = app(emulator, "daemon").secret as string): ConfidentialClientApplication {
  return new ConfidentialClientApplication(app(emulator, "daemon").clientId, {
    authority: authority(emulator),
    validateAuthority: false,
    clientCredential: secret,
  });
}

function signedOutPublicClient(): PublicClientApplication {
  return new PublicClientApplication(app(emulator, "public").clientId, {
    authority: authority(emulator),
    validateAuthority: false,
  });
}

const claimsOf = (token: string) => decodePart(token.split(".")[1] as string);
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("tokenCredential of a confidential client", () => {
  it("gives the app's token with its expiry in epoch milliseconds, then serves it from the cache", async () => {
    const credential = tokenCredential(daemonClient());
    const before = Date.now();
    const token = await credential.getToken(GRAPH_DEFAULT);
    const again = await credential.getToken([GRAPH_DEFAULT]);

    expect(token.tokenType).toBe("Bearer");
    expect(claimsOf(token.token)).toMatchObject({ azp: app(emulator, "daemon").clientId, idtyp: "app" });
    // The emulator's default lifetime is one hour, with refresh_in at half of it for lifetimes of 2 h or more only.
    expect(token.expiresOnTimestamp).toBeGreaterThanOrEqual(before + 3_598_000);
    expect(token.expiresOnTimestamp).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(again.token).toBe(token.token);
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("tenantId sends the request to that tenant; claims are sent as the claims parameter and skip the cache", async () => {
    const credential = tokenCredential(daemonClient());
    await credential.getToken(GRAPH_DEFAULT);
    const claims = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';

    await credential.getToken(GRAPH_DEFAULT, { claims });
    const fabrikam = await credential.getToken(GRAPH_DEFAULT, { tenantId: FABRIKAM_TENANT_ID });

    const [first, challenged, other] = emulator.requests("token");
    expect(emulator.requests("token")).toHaveLength(3);
    expect(first?.form?.claims).toBeUndefined();
    expect(challenged?.form?.claims).toBe(claims);
    expect(other?.path).toBe(`/${FABRIKAM_TENANT_ID}/oauth2/v2.0/token`);
    expect(claimsOf(fabrikam.token).tid).toBe(FABRIKAM_TENANT_ID);
  });

  it("a refused secret is an AuthenticationError with the server's answer", async () => {
    const error = await rejection(tokenCredential(daemonClient("wrong-secret")).getToken(GRAPH_DEFAULT));

    expect(error).toBeInstanceOf(AuthenticationError);
    const failed = error as AuthenticationError;
    expect(failed.name).toBe("AuthenticationError");
    expect(failed.code).toBe("authentication_failed");
    expect(failed.result.error).toBe("invalid_client");
    expect(failed.statusCode).toBe(401);
    expect(failed.message).toContain("invalid_client: AADSTS7000215");
  });

  it("an AbortSignalLike that is not an AbortSignal, already aborted, stops the request before it is sent", async () => {
    const aborted = { aborted: true, addEventListener() {}, removeEventListener() {} };

    const error = await rejection(
      tokenCredential(daemonClient()).getToken(GRAPH_DEFAULT, { abortSignal: aborted }),
    );

    expect((error as Error).name).toBe("AbortError");
    expect(emulator.requests("token")).toHaveLength(0);
  });

  it("an AbortSignalLike that fires during the request aborts it", async () => {
    emulator.injectFault({ endpoint: "token", delayMs: 10_000 });
    const listeners = new Set<() => void>();
    const signal = {
      aborted: false,
      addEventListener: (_type: "abort", listener: () => void) => listeners.add(listener),
      removeEventListener: (_type: "abort", listener: () => void) => listeners.delete(listener),
    };
    const started = Date.now();
    const pending = rejection(
      tokenCredential(daemonClient()).getToken(GRAPH_DEFAULT, { abortSignal: signal }),
    );
    setTimeout(() => {
      signal.aborted = true;
      for (const listener of listeners) listener();
    }, 200);

    const error = await pending;

    expect((error as Error).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(5_000);
    // The credential removed its listener when the call ended.
    expect(listeners.size).toBe(0);
  });
});

describe("tokenCredential in @azure/identity's ChainedTokenCredential", () => {
  it("a public client with nobody signed in is unavailable, so the chain moves on to the next credential", async () => {
    const chain = new ChainedTokenCredential(
      tokenCredential(signedOutPublicClient()),
      tokenCredential(daemonClient()),
    );

    const token = await chain.getToken(GRAPH_DEFAULT);

    expect(token?.token).toBeTypeOf("string");
    expect(claimsOf(token?.token as string).azp).toBe(app(emulator, "daemon").clientId);
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("with no other credential the chain reports ours by name, with what to do", async () => {
    const error = await rejection(
      new ChainedTokenCredential(tokenCredential(signedOutPublicClient())).getToken(GRAPH_DEFAULT),
    );

    expect(error).toBeInstanceOf(AggregateAuthenticationError);
    const [ours, ...others] = (error as AggregateAuthenticationError).errors as Error[];
    expect(others).toEqual([]);
    expect(ours).toBeInstanceOf(CredentialUnavailableError);
    expect(ours?.name).toBe("CredentialUnavailableError");
    expect(ours?.message).toMatch(/^No user is signed in to this app: sign one in first/);
    expect(emulator.requests("token")).toHaveLength(0);
  });
});

describe("tokenCredential of a client with signed-in users", () => {
  const users = () => emulator.directory.users.filter((u) => /^(alice|bob)@/.test(u.username));

  it("a public client with two signed-in users needs { account }, then gives that user's token from the cache", async () => {
    const client = signedOutPublicClient();
    for (const user of users())
      expect(
        (await client.acquireTokenByUsernamePassword(user.username, user.password as string, ["User.Read"]))
          .error,
      ).toBeUndefined();
    const [, bob] = users();
    const [bobsAccount] = await client.getAccounts({ username: bob?.username as string });
    emulator.clearRequests();

    const error = await rejection(tokenCredential(client).getToken("User.Read"));
    const token = await tokenCredential(client, { account: bobsAccount }).getToken("User.Read");

    expect(error).toBeInstanceOf(CredentialUnavailableError);
    expect((error as Error).message).toMatch(
      /^2 users are signed in to this app: choose one with tokenCredential\(app, \{ account \}\)/,
    );
    expect(claimsOf(token.token)).toMatchObject({ preferred_username: bob?.username, scp: "User.Read" });
    expect(emulator.requests("token")).toHaveLength(0);
  });

  it("a confidential client given { account } gives that user's token, not an app token", async () => {
    const web = app(emulator, "confidential");
    const client = new ConfidentialClientApplication(web.clientId, {
      authority: authority(emulator),
      validateAuthority: false,
      clientCredential: web.secret as string,
    });
    const [alice] = users();
    const signed = await client.acquireTokenByUsernamePassword(
      alice?.username as string,
      alice?.password as string,
      ["User.Read"],
    );
    if (signed.error) throw new Error(signed.error);
    const account = signed.account;
    emulator.clearRequests();

    const token = await tokenCredential(client, { account }).getToken(["User.Read"]);

    expect(token.token).toBe(signed.access_token);
    expect(claimsOf(token.token)).toMatchObject({ preferred_username: alice?.username, azp: web.clientId });
    expect(claimsOf(token.token)).not.toHaveProperty("idtyp");
    expect(emulator.requests("token")).toHaveLength(0);
  });
});

describe("tokenCredential of a managed identity client", () => {
  it("asks the source for the scope's resource, without /.default, and passes refresh_on on", async () => {
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());

    const token = await tokenCredential(client).getToken(`${VAULT}/.default`);

    const [request, ...others] = emulator.requests("app-service");
    expect(others).toEqual([]);
    expect(request?.query).toMatchObject({ resource: VAULT });
    expect(claimsOf(token.token).aud).toBe(VAULT);
    // 24-hour tokens, renewed after 12 hours.
    expect(token.expiresOnTimestamp - Date.now()).toBeGreaterThan(86_000_000);
    expect(token.refreshAfterTimestamp).toBeDefined();
    expect(Math.abs((token.refreshAfterTimestamp as number) - (Date.now() + 43_200_000))).toBeLessThan(5_000);
  });

  it("scopes of two resources are refused with ArgumentError before any request", async () => {
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity());

    const error = await rejection(tokenCredential(client).getToken([`${VAULT}/.default`, GRAPH_DEFAULT]));

    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe("scopes");
    expect(emulator.requests("app-service")).toHaveLength(0);
  });

  it("an endpoint that refuses connections makes the credential unavailable, for the chain's next one", async () => {
    const platform = hostOf(emulator, "appService", { IDENTITY_ENDPOINT: "http://127.0.0.1:9/msi/token" });
    const client = clientOn(emulator, "appService", new SystemAssignedManagedIdentity(), {}, platform);

    const error = await rejection(tokenCredential(client).getToken(`${VAULT}/.default`));

    expect(error).toBeInstanceOf(CredentialUnavailableError);
    expect((error as CredentialUnavailableError).message).toMatch(/^No managed identity is available here/);
    expect((error as CredentialUnavailableError).cause).toMatchObject({ code: "network_error" });
  });
});
