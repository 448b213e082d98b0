/**
 * The `msal-ts emulator` command, run from the build (`dist/`) as a child process: the ready line,
 * serving HTTPS with the CA it prints, stopping on SIGTERM, help and bad arguments. Also
 * `startEmulator({ directory })` with a directory from a JSON file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator, PublicDirectory } from "../../emulator/index.js";
import { createNodeFetch } from "../../src/node/index.js";
import { CLI, ensureBuilt, ROOT } from "../support/build.js";
import { startTestEmulator } from "../support/emulator.js";
import { claims, expectEntraError, getJson, passwordGrant } from "./helpers.js";

const MAIN = CLI;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** The first line the process prints on stdout, or a rejection after `ms` or if it exits first. */
function firstLine(run: Run, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`No stdout line within ${ms} ms. stderr: ${run.stderr()}`)),
      ms,
    );
    const check = () => {
      const newline = run.stdout().indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      run.child.stdout?.off("data", check);
      resolve(run.stdout().slice(0, newline));
    };
    run.child.stdout?.on("data", check);
    run.exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`The emulator exited (${code}) before it was ready. stderr: ${run.stderr()}`));
    });
  });
}

interface ReadyLine {
  event: string;
  url: string;
  caFile: string;
  directory: PublicDirectory;
}

describe("msal-ts emulator (the CLI)", () => {
  let run: Run;
  let line: string;
  let ready: ReadyLine;
  beforeAll(async () => {
    ensureBuilt();
    run = runCli(["emulator", "--port", "0"]);
    line = await firstLine(run);
    ready = JSON.parse(line) as ReadyLine;
  });
  afterAll(() => {
    if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
  });

  it("prints one JSON ready line with the url, an existing absolute caFile and the directory", () => {
    expect(Object.keys(ready).sort()).toEqual(["caFile", "directory", "event", "url"]);
    expect(ready.event).toBe("ready");
    expect(ready.url).toMatch(/^https:\/\/localhost:[1-9]\d*$/);
    expect(isAbsolute(ready.caFile)).toBe(true);
    expect(existsSync(ready.caFile)).toBe(true);
    expect(readFileSync(ready.caFile, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(Object.keys(ready.directory).sort()).toEqual(["apps", "tenants", "users"]);
  });

  it("describes tenants (with their domains), users (username/password/tenant/kind/name) and apps with their credentials", () => {
    const { tenants, users, apps } = ready.directory;
    const tenantIds = tenants.map((t) => t.id);
    expect(tenants).toContainEqual({
      id: "8c9d7f3a-1b2e-4c5d-9e6f-0a1b2c3d4e5f",
      domain: "contoso.onmicrosoft.com",
      domains: ["contoso.test"],
      federatedDomains: ["federated.contoso.test"],
      name: "Contoso",
    });
    for (const u of users) {
      expect(u).toEqual({
        username: expect.any(String),
        password: expect.any(String),
        tenant: expect.any(String),
        kind: expect.stringMatching(/^(managed|mfa|federated)$/),
        name: expect.any(String),
      });
      expect(tenantIds).toContain(u.tenant);
    }
    for (const a of apps) {
      expect(a).toMatchObject({
        clientId: expect.any(String),
        kind: expect.any(String),
        tenant: expect.any(String),
      });
      expect(tenantIds).toContain(a.tenant);
    }
    const byKind = (kind: string) => apps.filter((a) => a.kind === kind);
    expect(byKind("public")[0]).toMatchObject({ redirectUris: ["http://localhost"] });
    expect(byKind("public")[0]).not.toHaveProperty("secret");
    expect(byKind("foci").map((a) => a.familyId)).toEqual(["1", "1"]);
    const middleTier = byKind("middle-tier")[0];
    expect(middleTier).toMatchObject({
      secret: expect.any(String),
      scopes: [`api://${middleTier?.clientId}/access_as_user`],
    });
    for (const kind of ["confidential", "daemon"]) {
      expect(byKind(kind)[0]).toMatchObject({
        secret: expect.any(String),
        certificate: {
          privateKey: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----/),
          certificate: expect.stringMatching(/^-----BEGIN CERTIFICATE-----/),
          thumbprint: expect.stringMatching(/^[0-9A-F]{40}$/),
        },
      });
    }
  });

  it("serves HTTPS trusted through the printed caFile (and not without it)", async () => {
    const tenant = ready.directory.tenants[0]?.id;
    const discovery = `${ready.url}/${tenant}/v2.0/.well-known/openid-configuration`;
    const trusting = createNodeFetch({ ca: readFileSync(ready.caFile, "utf8"), env: {} });
    try {
      const res = await trusting(discovery);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { issuer: string }).issuer).toBe(`${ready.url}/${tenant}/v2.0`);
      const daemon = ready.directory.apps.find((a) => a.kind === "daemon");
      const token = await trusting(`${ready.url}/${tenant}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: daemon?.clientId as string,
          client_secret: daemon?.secret as string,
          scope: "https://graph.microsoft.com/.default",
        }),
      });
      expect(token.status).toBe(200);
    } finally {
      await trusting.close();
    }
    // This worker trusts only the test run's CA: the CLI made its own.
    await expect(fetch(discovery)).rejects.toThrow("fetch failed");
  });

  it("on SIGTERM exits 0, having printed nothing else, and removes its CA directory", async () => {
    run.child.kill("SIGTERM");
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toBe(`${line}\n`);
    expect(existsSync(dirname(ready.caFile))).toBe(false);
  });

  it("--help exits 0 and prints the usage", async () => {
    const help = runCli(["emulator", "--help"]);
    expect((await help.exit).code).toBe(0);
    expect(help.stdout()).toMatch(/^Usage: msal-ts emulator \[options\]/);
    expect(help.stdout()).toContain("--port N");
    expect(help.stdout()).toContain("--directory FILE");
    expect(help.stderr()).toBe("");
  });

  it.each([
    [["--port", "abc"], 'msal-ts: --port must be a port number from 0 to 65535, got "abc".\n'],
    [["--port", "70000"], "msal-ts: --port must be between 0 and 65535, got 70000.\n"],
    [
      ["--device-code-interval", "1.5"],
      'msal-ts: --device-code-interval must be a whole number of seconds, got "1.5".\n',
    ],
    [["--bogus"], "msal-ts: Unknown option '--bogus'"],
  ])("bad arguments %j: exits non-zero with a clear message on stderr", async (args, message) => {
    const bad = runCli(["emulator", ...args]);
    const { code } = await bad.exit;
    expect(code).not.toBe(0);
    expect(bad.stderr()).toContain(message);
    expect(bad.stdout()).toBe("");
  });
});

describe('startEmulator({ directory: <JSON file>, directoryMode: "replace" })', () => {
  const NORTHWIND = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  const CLIENT = "77777777-7777-4777-8777-777777777777";
  const directory = {
    tenants: [{ id: NORTHWIND, domain: "northwind.test", name: "Northwind" }],
    users: [
      { username: "erin@northwind.test", password: "erin-P@ss1", tenant: "northwind.test", kind: "managed" },
    ],
    apps: [
      { clientId: CLIENT, kind: "public", tenant: "northwind.test", redirectUris: ["http://localhost"] },
    ],
  };
  let dir: string;
  let emulator: Emulator;
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "msal-ts-directory-"));
    emulator = await startTestEmulator({
      directory: write("directory.json", directory),
      directoryMode: "replace",
    });
  });
  afterAll(async () => {
    await emulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses the file's tenants, users and apps instead of the seeded ones", async () => {
    expect(emulator.directory).toEqual({
      tenants: [{ id: NORTHWIND, domain: "northwind.test", name: "Northwind" }],
      users: [
        { username: "erin@northwind.test", password: "erin-P@ss1", tenant: NORTHWIND, kind: "managed" },
      ],
      apps: [{ clientId: CLIENT, kind: "public", tenant: NORTHWIND, redirectUris: ["http://localhost"] }],
    });
    const config = await getJson(`${emulator.url}/northwind.test/v2.0/.well-known/openid-configuration`);
    expect(config.body.issuer).toBe(`${emulator.url}/${NORTHWIND}/v2.0`);
    expectEntraError(
      await getJson(`${emulator.url}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`),
      400,
      "invalid_tenant",
      90002,
    );
    const erin = directory.users[0] as (typeof directory.users)[0];
    const tokens = await passwordGrant(emulator, CLIENT, erin, "openid", "northwind.test");
    expect(tokens.status).toBe(200);
    expect(claims(tokens.body.id_token)).toMatchObject({ tid: NORTHWIND, preferred_username: erin.username });
    // The seeded tenants are gone.
    expectEntraError(await passwordGrant(emulator, CLIENT, erin, "openid"), 400, "invalid_request", 90002);
  });

  it.each([
    [
      "a user in an unknown tenant",
      { ...directory, users: [{ ...directory.users[0], tenant: "nowhere.test" }] },
      'The emulator directory is not usable: users[0] (erin@northwind.test) names unknown tenant "nowhere.test".',
    ],
    [
      "a daemon app without a secret or certificate",
      {
        tenants: directory.tenants,
        users: [],
        apps: [{ clientId: CLIENT, kind: "daemon", tenant: NORTHWIND }],
      },
      `The emulator directory is not usable: apps[0] (${CLIENT}) is daemon but has no secret or certificate.`,
    ],
    [
      "missing sections",
      { tenants: [] },
      'The emulator directory is not usable: "users" must be an array; "apps" must be an array.',
    ],
  ])("a bad directory (%s) throws an error naming the problem", async (_, content, message) => {
    await expect(
      startTestEmulator({ directory: write("bad.json", content), directoryMode: "replace" }),
    ).rejects.toThrow(message);
  });

  it("a file that does not exist or is not JSON: the error says so", async () => {
    const missing = join(dir, "missing.json");
    await expect(startTestEmulator({ directory: missing })).rejects.toThrow(
      `no such file or directory, open '${missing}'`,
    );
    await expect(startTestEmulator({ directory: write("broken.json", "{ not json") })).rejects.toThrow(
      /JSON/,
    );
  });
});
