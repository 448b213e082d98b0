/**
 * What tools such as the Azure CLI need from the emulator: apps and users registered at run time,
 * a `--directory` that adds to the seeded one and a ready-line directory that can be fed back,
 * Azure Resource Manager as a built-in resource, `.default` granting an API's own permissions,
 * `reset` keeping CAE revocation events unless asked, and idle connections kept long enough for
 * pooling clients.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, type PublicDirectory, runEmulatorCommand } from "../../emulator/index.js";
import { PublicClientApplication } from "../../src/node/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";
import {
  CONTOSO,
  claims,
  control,
  expectEntraError,
  getJson,
  passwordGrant,
  postToken,
  sleep,
} from "./helpers.js";

const AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const ARM_CLI_SCOPE = "https://management.core.windows.net//.default";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator?.stop());

describe("Azure Resource Manager is a built-in resource", () => {
  it("the Azure CLI's scope (management.core.windows.net//.default): aud as asked, scp user_impersonation", async () => {
    const alice = user(emulator, "managed");
    const answer = await passwordGrant(
      emulator,
      AZURE_CLI,
      alice,
      `${ARM_CLI_SCOPE} offline_access openid profile`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe(`${ARM_CLI_SCOPE} openid profile email`);
    expect(claims(answer.body.access_token)).toMatchObject({
      aud: "https://management.core.windows.net/",
      scp: "user_impersonation",
      azp: AZURE_CLI,
      preferred_username: alice.username,
    });
    expect(answer.body.refresh_token).toEqual(expect.any(String));
  });

  it("management.azure.com/user_impersonation for a user, management.azure.com/.default for a daemon", async () => {
    const alice = user(emulator, "managed");
    const delegated = await passwordGrant(
      emulator,
      app(emulator, "public").clientId,
      alice,
      "https://management.azure.com/user_impersonation",
    );
    expect(delegated.status).toBe(200);
    expect(claims(delegated.body.access_token)).toMatchObject({
      aud: "https://management.azure.com",
      scp: "user_impersonation",
    });
    const daemon = app(emulator, "daemon");
    const appOnly = await postToken(emulator, {
      grant_type: "client_credentials",
      client_id: daemon.clientId,
      client_secret: daemon.secret as string,
      scope: "https://management.azure.com/.default",
    });
    expect(appOnly.status).toBe(200);
    expect(claims(appOnly.body.access_token)).toMatchObject({
      aud: "https://management.azure.com",
      idtyp: "app",
    });
  });

  it("GET /_emulator/arm/tenants and /subscriptions (what az login lists) answer an ARM token, and refuse others", async () => {
    const alice = user(emulator, "managed");
    const arm = await passwordGrant(emulator, AZURE_CLI, alice, ARM_CLI_SCOPE);
    const graph = await passwordGrant(emulator, AZURE_CLI, alice, "User.Read");
    const get = (path: string, token?: unknown) =>
      getJson(`${emulator.url}/_emulator/arm/${path}?api-version=2022-12-01`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    const tenants = await get("tenants", arm.body.access_token);
    expect(tenants).toMatchObject({
      status: 200,
      body: { value: [{ tenantId: CONTOSO, defaultDomain: "contoso.onmicrosoft.com" }] },
    });
    const subscriptions = await get("subscriptions", arm.body.access_token);
    expect(subscriptions.status).toBe(200);
    expect(subscriptions.body.value).toEqual([
      expect.objectContaining({
        tenantId: CONTOSO,
        state: "Enabled",
        displayName: "Contoso emulator subscription",
      }),
    ]);
    const graphAnswer = await get("subscriptions", graph.body.access_token);
    expect({ status: graphAnswer.status, code: (graphAnswer.body.error as { code: string }).code }).toEqual({
      status: 401,
      code: "InvalidAuthenticationTokenAudience",
    });
    expect((await get("tenants")).status).toBe(401);
    expect(emulator.requests("arm").map((r) => r.status)).toEqual([200, 200, 401, 401]);
  });

  it("a permission ARM does not expose: invalid_client AADSTS65005", async () => {
    expectEntraError(
      await passwordGrant(
        emulator,
        AZURE_CLI,
        user(emulator, "managed"),
        "https://management.azure.com/Directory.Read",
      ),
      401,
      "invalid_client",
      65005,
    );
  });
});

describe(".default on a custom API", () => {
  it("grants the API's own exposed permissions in scp, not User.Read", async () => {
    const middleTier = app(emulator, "middle-tier");
    const answer = await passwordGrant(
      emulator,
      app(emulator, "public").clientId,
      user(emulator, "managed"),
      `api://${middleTier.clientId}/.default`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe(`api://${middleTier.clientId}/.default`);
    expect(claims(answer.body.access_token)).toMatchObject({
      aud: middleTier.clientId,
      scp: "access_as_user",
    });
  });
});

describe("registering apps and users at run time", () => {
  const TOOL = "0a0a0a0a-0000-4000-8000-000000000001";
  const erin = { username: "erin@contoso.onmicrosoft.com", password: "erin-P@ss1" };

  it("POST /_emulator/apps and /_emulator/users: the new public client signs the new user in with msal-ts", async () => {
    const before = await passwordGrant(emulator, TOOL, erin, "User.Read");
    expectEntraError(before, 400, "unauthorized_client", 700016);

    const registered = await control(emulator, "POST", "apps", {
      clientId: TOOL,
      kind: "public",
      displayName: "A tool",
      redirectUris: ["http://localhost"],
    });
    expect(registered).toEqual({
      status: 201,
      body: {
        clientId: TOOL,
        kind: "public",
        tenant: CONTOSO,
        displayName: "A tool",
        redirectUris: ["http://localhost"],
      },
    });
    const added = await control(emulator, "POST", "users", erin);
    expect(added).toEqual({ status: 201, body: { ...erin, tenant: CONTOSO, kind: "managed" } });

    const client = new PublicClientApplication(TOOL, {
      authority: `${emulator.url}/organizations`,
      validateAuthority: false,
    });
    const result = await client.acquireTokenByUsernamePassword(erin.username, erin.password, ["User.Read"]);
    expect(result).toMatchObject({ token_source: "identity_provider" });
    expect(claims((result as { access_token: string }).access_token)).toMatchObject({
      azp: TOOL,
      preferred_username: erin.username,
      tid: CONTOSO,
    });
    expect((await client.getAccounts()).map((a) => a.username)).toEqual([erin.username]);
    expect(emulator.directory.apps.filter((a) => a.clientId === TOOL)).toHaveLength(1);
    expect((await control(emulator, "GET", "directory")).body).toEqual(emulator.directory);

    // Registrations are part of the directory: reset keeps them.
    emulator.reset();
    expect((await passwordGrant(emulator, TOOL, erin, "User.Read")).status).toBe(200);
  });

  it("the Emulator object's registerApp and registerUser do the same; a client id registered again is replaced", async () => {
    const id = "0a0a0a0a-0000-4000-8000-000000000002";
    const first = emulator.registerApp({ clientId: id, kind: "daemon", secret: "first-secret" });
    expect(first).toEqual({ clientId: id, kind: "daemon", tenant: CONTOSO, secret: "first-secret" });
    emulator.registerApp({
      clientId: id,
      kind: "daemon",
      secret: "second-secret",
      tenant: "fabrikam.onmicrosoft.com",
    });
    expect(emulator.directory.apps.filter((a) => a.clientId === id)).toEqual([
      { clientId: id, kind: "daemon", tenant: emulator.directory.tenants[1]?.id, secret: "second-secret" },
    ]);
    const appToken = (secret: string) =>
      postToken(emulator, {
        grant_type: "client_credentials",
        client_id: id,
        client_secret: secret,
        scope: "https://graph.microsoft.com/.default",
      });
    expectEntraError(await appToken("first-secret"), 401, "invalid_client", 7000215);
    expect((await appToken("second-secret")).status).toBe(200);

    const frank = emulator.registerUser({
      username: "frank@fabrikam.onmicrosoft.com",
      password: "frank-P@ss1",
      kind: "mfa",
    });
    expect(frank).toEqual({
      username: "frank@fabrikam.onmicrosoft.com",
      password: "frank-P@ss1",
      tenant: emulator.directory.tenants[1]?.id,
      kind: "mfa",
    });
  });

  it("a registration with mistakes: 400 naming each one and the fix, and the directory is unchanged", async () => {
    const before = emulator.directory;
    const bad = await control(emulator, "POST", "apps", {
      clientId: "0a0a0a0a-0000-4000-8000-000000000003",
      kind: "daemon",
      redirectUris: "http://localhost",
      tenant: "nowhere.test",
    });
    expect(bad).toEqual({
      status: 400,
      body: {
        error:
          'The app registration is not usable: The app (0a0a0a0a-0000-4000-8000-000000000003) names unknown tenant "nowhere.test"; The app (0a0a0a0a-0000-4000-8000-000000000003): "redirectUris" must be an array of strings; The app (0a0a0a0a-0000-4000-8000-000000000003) is daemon but has no secret or certificate.',
        problems: [
          'The app (0a0a0a0a-0000-4000-8000-000000000003) names unknown tenant "nowhere.test"',
          'The app (0a0a0a0a-0000-4000-8000-000000000003): "redirectUris" must be an array of strings',
          "The app (0a0a0a0a-0000-4000-8000-000000000003) is daemon but has no secret or certificate",
        ],
      },
    });
    expect((await control(emulator, "POST", "apps", { kind: "public" })).body).toMatchObject({
      problems: ['The app needs a string "clientId"'],
    });
    expect(
      (await control(emulator, "POST", "users", { username: "gina@elsewhere.test", password: "x" })).body,
    ).toMatchObject({
      problems: [
        `The user (gina@elsewhere.test) has no "tenant" and no tenant owns its domain; name a tenant's id or domain`,
      ],
    });
    expect(() => emulator.registerApp({ clientId: "x", kind: "web" as "public" })).toThrow(
      'The app registration is not usable: The app (x) has kind "web"; use public, confidential, daemon, middle-tier or foci.',
    );
    const formPost = await fetch(`${emulator.url}/_emulator/apps`, {
      method: "POST",
      body: new URLSearchParams({ clientId: "x", kind: "public" }),
    });
    expect(formPost.status).toBe(415);
    expect(emulator.directory).toEqual(before);
  });
});

/** Runs `msal-ts emulator` in this process and returns its ready line and a way to stop it. */
async function runCommand(args: string[]): Promise<{
  ready: { url: string; directory: PublicDirectory };
  stop: () => Promise<number>;
}> {
  const out = new PassThrough();
  const stop = new AbortController();
  let text = "";
  const line = new Promise<string>((resolve) =>
    out.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) resolve(text.slice(0, text.indexOf("\n")));
    }),
  );
  const exit = runEmulatorCommand(args, out, new PassThrough(), stop.signal);
  const ready = JSON.parse(await Promise.race([line, exit.then((code) => `exited ${code}`)]));
  return {
    ready,
    stop: () => {
      stop.abort();
      return exit;
    },
  };
}

describe("--directory adds to the seeded directory, and the ready line's directory can be fed back", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "msal-ts-tools-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it("the printed directory, given back with --directory (adding or replacing), gives the same tenants, users and apps", async () => {
    const first = await runCommand(["--port", "0"]);
    await first.stop();
    const printed = first.ready.directory;
    expect(printed.tenants[0]).toEqual({
      id: CONTOSO,
      domain: "contoso.onmicrosoft.com",
      domains: ["contoso.test"],
      federatedDomains: ["federated.contoso.test"],
      name: "Contoso",
    });
    expect(printed.apps.find((a) => a.kind === "daemon")?.trustedCertificateSubject).toBe(
      "CN=daemon.contoso.test",
    );
    const file = write("printed.json", printed);
    for (const mode of [[], ["--directory-mode", "replace"]]) {
      const again = await runCommand(["--port", "0", "--directory", file, ...mode]);
      await again.stop();
      expect(again.ready.directory).toEqual(printed);
    }
  }, 90_000);

  it("a file with one app adds it to the seeded directory; --directory-mode replace uses only the file", async () => {
    const seeded = await runCommand(["--port", "0"]);
    await seeded.stop();
    const tool = {
      clientId: "0a0a0a0a-0000-4000-8000-000000000004",
      kind: "public",
      redirectUris: ["http://localhost"],
    };
    const file = write("one-app.json", { apps: [tool] });
    const added = await runCommand(["--port", "0", "--directory", file]);
    await added.stop();
    expect(added.ready.directory.tenants).toEqual(seeded.ready.directory.tenants);
    expect(added.ready.directory.users).toEqual(seeded.ready.directory.users);
    expect(added.ready.directory.apps.map((a) => a.clientId)).toEqual([
      ...seeded.ready.directory.apps.map((a) => a.clientId),
      tool.clientId,
    ]);
    await expect(
      runCommand(["--port", "0", "--directory", file, "--directory-mode", "replace"]),
    ).rejects.toThrow(
      'The emulator directory is not usable: "tenants" must be an array; "users" must be an array.',
    );
    await expect(runCommand(["--directory-mode", "merge", "--directory", file])).rejects.toThrow(
      '--directory-mode must be add or replace, got "merge".',
    );
    await expect(runCommand(["--directory-mode", "replace"])).rejects.toThrow(
      "--directory-mode needs --directory FILE.",
    );
  }, 90_000);

  it("an emulator started with another's directory signs in its users and its daemon's certificate", async () => {
    const second = await startTestEmulator({ directory: emulator.directory, directoryMode: "replace" });
    try {
      expect(second.directory).toEqual(emulator.directory);
      const alice = user(emulator, "managed");
      const [here, there] = await Promise.all(
        [emulator, second].map((e) => passwordGrant(e, app(e, "public").clientId, alice, "openid")),
      );
      expect(claims(there?.body.id_token).oid).toBe(claims(here?.body.id_token).oid);
      const daemon = app(emulator, "daemon");
      const { ConfidentialClientApplication } = await import("../../src/node/index.js");
      const cca = new ConfidentialClientApplication(daemon.clientId, {
        authority: `${second.url}/${CONTOSO}`,
        validateAuthority: false,
        clientCredential: {
          privateKey: daemon.certificate?.privateKey as string,
          publicCertificate: daemon.certificate?.certificate as string,
        },
      });
      const result = await cca.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
      expect(claims((result as { access_token: string }).access_token)).toMatchObject({
        azp: daemon.clientId,
      });
      const config = await getJson(`${second.url}/contoso.test/v2.0/.well-known/openid-configuration`);
      expect(config.body.issuer).toBe(`${second.url}/${CONTOSO}/v2.0`);
    } finally {
      await second.stop();
    }
  });
});

describe("reset and CAE revocation events", () => {
  const resource = (token: string) =>
    fetch(`${emulator.url}/_emulator/resource`, { headers: { authorization: `Bearer ${token}` } });

  it("reset keeps revocation events; reset with revocations: true forgets them", async () => {
    const alice = user(emulator, "managed");
    const answer = await passwordGrant(emulator, app(emulator, "public").clientId, alice, "User.Read");
    const token = answer.body.access_token as string;
    // Events are whole seconds: a token issued in the event's second is still accepted.
    await sleep(1100);
    expect((await control(emulator, "POST", "cae-event", { username: alice.username })).status).toBe(200);
    expect((await resource(token)).status).toBe(401);

    expect(await control(emulator, "POST", "reset", {})).toEqual({ status: 200, body: { reset: true } });
    const kept = await resource(token);
    expect(kept.status).toBe(401);
    expect(kept.headers.get("www-authenticate")).toContain('error="insufficient_claims"');

    expect(await control(emulator, "POST", "reset", { revocations: "yes" })).toEqual({
      status: 400,
      body: { error: '"revocations" must be true or false.' },
    });
    expect(await control(emulator, "POST", "reset", { revocations: true })).toEqual({
      status: 200,
      body: { reset: true },
    });
    expect((await resource(token)).status).toBe(200);
  });
});

describe("idle kept-alive connections", () => {
  it("the server keeps idle connections at least 65 s and says so in Keep-Alive", async () => {
    const res = await fetch(`${emulator.url}/${CONTOSO}/v2.0/.well-known/openid-configuration`);
    await res.arrayBuffer();
    // Node's server announces its keepAliveTimeout, in seconds.
    const seconds = Number(/^timeout=(\d+)$/.exec(res.headers.get("keep-alive") ?? "")?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(65);
  });

  it("a connection idle for longer than Node's default 5 s is reused for the next POST", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: emulator.caPem });
    const post = () =>
      new Promise<{ status: number; reused: boolean; port: number }>((resolve, reject) => {
        const req = request(
          `${emulator.url}/${CONTOSO}/oauth2/v2.0/token`,
          { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded" } },
          (res) => {
            const port = res.socket.localPort ?? 0;
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, port }));
          },
        );
        req.on("error", reject);
        req.end("grant_type=client_credentials");
      });
    try {
      const first = await post();
      await sleep(6000);
      const second = await post();
      expect([first.status, second.status]).toEqual([400, 400]);
      expect(second).toMatchObject({ reused: true, port: first.port });
    } finally {
      agent.destroy();
    }
  }, 15_000);
});
