import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { ensureBuilt, ROOT } from "../../support/build.js";
import { app, startTestEmulator, user } from "../../support/emulator.js";
import { approveDeviceCode, startCli, waitFor } from "./helpers.js";

let emulator: Emulator;
let dir: string;
let env: NodeJS.ProcessEnv;
let tenantAuthority: string;

function start(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}) {
  return startCli(args, {
    env: options.env ?? env,
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
  });
}

const run = (args: string[], options?: { env?: NodeJS.ProcessEnv; stdin?: string }) =>
  start(args, options).done;

const approve = (userCode: string, username: string) => approveDeviceCode(emulator, userCode, username);

/** Every key in a JSON value, at any depth. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]);
  return [];
}

/** The option names a help text lists. */
const listedOptions = (help: string) => [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]);

const USER_CODE = /enter the code ([A-Z0-9]+) to authenticate/;
const daemon = () => app(emulator, "daemon");
const appArgs = () => ["--client-id", daemon().clientId, "--authority", tenantAuthority];

beforeAll(async () => {
  ensureBuilt();
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
  dir = mkdtempSync(join(tmpdir(), "msal-ts-cli-usability-"));
  tenantAuthority = `${emulator.url}/${emulator.directory.tenants[0]?.id}`;
  env = {
    ...process.env,
    MSAL_CLIENT_ID: app(emulator, "public").clientId,
    MSAL_AUTHORITY: `${emulator.url}/organizations`,
    MSAL_CACHE_FILE: join(dir, "cache.json"),
    NO_COLOR: "1",
  };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  delete env.BROWSER;
});

afterAll(async () => {
  await emulator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("--version", () => {
  it("--version and -V print the package's version; --json prints it as JSON", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"])
      expect(await run([flag])).toEqual({ code: 0, stdout: `msal-ts ${version}\n`, stderr: "" });
    expect(await run(["--version", "--json"])).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ version })}\n`,
      stderr: "",
    });
  });
});

describe("help", () => {
  it("`help <command>` prints the same text as `<command> --help`, with only that command's options", async () => {
    const expected: Record<string, string[]> = {
      login: [
        "--device-code",
        "--browser",
        "--service-principal",
        "--client-secret-stdin",
        "--certificate",
        "--certificate-password-stdin",
        "--use-cert-sn-issuer",
        "--client-id",
        "--authority",
        "--tenant",
        "--scope",
        "--cache-file",
        "--ca",
        "--json",
        "--verbose",
        "--help",
      ],
      token: [
        "--app",
        "--client-secret-stdin",
        "--certificate",
        "--certificate-password-stdin",
        "--use-cert-sn-issuer",
        "--client-id",
        "--authority",
        "--tenant",
        "--scope",
        "--username",
        "--cache-file",
        "--ca",
        "--json",
        "--verbose",
        "--help",
      ],
      accounts: ["--client-id", "--authority", "--tenant", "--username", "--cache-file", "--json", "--help"],
      logout: [
        "--service-principal",
        "--client-id",
        "--authority",
        "--tenant",
        "--username",
        "--cache-file",
        "--json",
        "--help",
      ],
      cache: ["--cache-file", "--json", "--help"],
    };
    for (const [command, options] of Object.entries(expected)) {
      const viaHelp = await run(["help", command]);
      const viaFlag = await run([command, "--help"]);
      expect(viaHelp.code, command).toBe(0);
      expect(viaHelp.stderr, command).toBe("");
      expect(viaHelp.stdout, command).toMatch(new RegExp(`^Usage: msal-ts ${command} `));
      expect(viaFlag, command).toEqual(viaHelp);
      expect(listedOptions(viaHelp.stdout), command).toEqual(options);
    }
    for (const command of ["emulator", "demo"]) {
      const viaHelp = await run(["help", command]);
      expect(viaHelp.code, command).toBe(0);
      expect(viaHelp, command).toEqual(await run([command, "--help"]));
      expect(viaHelp.stdout, command).toMatch(new RegExp(`^Usage: msal-ts ${command}`));
    }
  });

  it("the global help lists the commands and no command's options", async () => {
    const help = await run(["help"]);
    expect(help.code).toBe(0);
    expect(await run(["--help"])).toEqual(help);
    for (const command of ["login", "token", "accounts", "logout", "cache", "emulator", "demo", "help"])
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, "m"));
    expect(listedOptions(help.stdout)).toEqual(["--version", "--help"]);
  });

  it("`help` of an unknown command suggests the nearest one, exit code 2", async () => {
    expect(await run(["help", "acounts"])).toEqual({
      code: 2,
      stdout: "",
      stderr:
        'msal-ts: unknown command "acounts".\nhint: did you mean `msal-ts accounts`? Run `msal-ts --help` for the list.\n',
    });
  });
});

describe("--ca FILE", () => {
  // Without NODE_EXTRA_CA_CERTS (which the test run sets) the emulator's CA is trusted only through --ca.
  const withoutTestCa = () => {
    const plain = { ...env };
    delete plain.NODE_EXTRA_CA_CERTS;
    return plain;
  };
  const secret = () => daemon().secret as string;

  it("trusts the CA in the PEM file, which the command does not trust without it", async () => {
    const args = [
      "token",
      "--app",
      ...appArgs(),
      "--client-secret-stdin",
      "--cache-file",
      join(dir, "ca.json"),
    ];
    const untrusted = await run(args, { env: withoutTestCa(), stdin: secret() });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toBe("");
    expect(untrusted.stderr).toMatch(/^msal-ts: .*certificate/i);
    const trusted = await run([...args, "--ca", process.env.MSAL_TS_TEST_CA_CERT as string], {
      env: withoutTestCa(),
      stdin: secret(),
    });
    expect(trusted.stderr).toBe("");
    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it("a missing file or one with no certificate is an error naming the path, exit code 2", async () => {
    const missing = join(dir, "no-such-ca.pem");
    expect(await run(["token", "--app", ...appArgs(), "--ca", missing])).toEqual({
      code: 2,
      stdout: "",
      stderr: `msal-ts: cannot read the --ca file ${missing} (ENOENT).\nhint: --ca takes a PEM file of CA certificates.\n`,
    });
    const notPem = join(dir, "not-a-ca.pem");
    writeFileSync(notPem, "hello\n");
    expect(await run(["login", "--device-code", "--ca", notPem])).toEqual({
      code: 2,
      stdout: "",
      stderr: `msal-ts: the --ca file ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----).\nhint: --ca takes a PEM file of CA certificates.\n`,
    });
  });
});

describe("conflicting flags", () => {
  it("are refused with one line naming both, exit code 2, before anything runs", async () => {
    const cases: [string[], string][] = [
      [
        ["login", "--browser", "--device-code"],
        "msal-ts: --browser and --device-code cannot be used together.\nhint: pass one of them.\n",
      ],
      [
        ["login", "--service-principal", "--device-code"],
        "msal-ts: --service-principal and --device-code cannot be used together.\nhint: pass one of them.\n",
      ],
      [
        ["token", "--app", "--client-secret-stdin", "--certificate", "app.pem"],
        "msal-ts: --client-secret-stdin and --certificate cannot be used together.\nhint: pass one of them.\n",
      ],
      [
        ["token", "--authority", "https://login.microsoftonline.com/x", "--tenant", "y"],
        "msal-ts: --authority and --tenant cannot be used together.\nhint: pass one of them.\n",
      ],
      [
        ["token", "--app", "--username", "alice"],
        "msal-ts: --app and --username cannot be used together.\nhint: pass one of them.\n",
      ],
      [
        ["token", "--client-secret-stdin"],
        "msal-ts: --client-secret-stdin needs --app.\nhint: run `msal-ts token --help` for the options.\n",
      ],
      [
        ["login", "--certificate", "app.pem"],
        "msal-ts: --certificate needs --service-principal.\nhint: run `msal-ts login --help` for the options.\n",
      ],
    ];
    for (const [args, stderr] of cases)
      expect(await run(args), args.join(" ")).toEqual({ code: 2, stdout: "", stderr });
  });
});

describe("without a display", () => {
  it("login --browser fails with a hint that names --device-code", async () => {
    expect(await run(["login", "--browser"])).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "msal-ts: cannot open a browser: there is no display (DISPLAY and WAYLAND_DISPLAY are unset).\nhint: run `msal-ts login --device-code` to sign in with a code on another device.\n",
    });
  });

  it("login with a display but no browser launcher fails with the same hint", async () => {
    expect(await run(["login"], { env: { ...env, DISPLAY: ":99", PATH: join(dir, "empty-path") } })).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "msal-ts: cannot open a browser: no browser launcher (xdg-open, sensible-browser, x-www-browser) is installed.\nhint: run `msal-ts login --device-code` to sign in with a code on another device.\n",
    });
  });
});

describe("did you mean", () => {
  it("an unknown option names the nearest one of the command, or the command it belongs to, exit code 2", async () => {
    const cases: [string[], string][] = [
      [
        ["token", "--scopes", "User.Read"],
        "msal-ts: unknown option --scopes.\nhint: did you mean --scope? Run `msal-ts token --help` for the options.\n",
      ],
      [
        ["login", "--devicecode"],
        "msal-ts: unknown option --devicecode.\nhint: did you mean --device-code? Run `msal-ts login --help` for the options.\n",
      ],
      [
        ["login", "--service-principal", "--client-secret=s3cret-value"],
        "msal-ts: unknown option --client-secret.\nhint: did you mean --client-secret-stdin? Run `msal-ts login --help` for the options.\n",
      ],
      [
        ["token", "--device-code"],
        "msal-ts: unknown option --device-code.\nhint: --device-code is an option of `msal-ts login`; run `msal-ts token --help` for the options.\n",
      ],
      [
        ["token", "--bogus"],
        "msal-ts: unknown option --bogus.\nhint: run `msal-ts token --help` for the options.\n",
      ],
    ];
    for (const [args, stderr] of cases)
      expect(await run(args), args.join(" ")).toEqual({ code: 2, stdout: "", stderr });
  });

  it("an unknown command names the nearest command, exit code 2", async () => {
    expect(await run(["tokn"])).toEqual({
      code: 2,
      stdout: "",
      stderr:
        'msal-ts: unknown command "tokn".\nhint: did you mean `msal-ts token`? Run `msal-ts --help` for the list.\n',
    });
    expect(await run(["frobnicate"])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'msal-ts: unknown command "frobnicate".\nhint: run `msal-ts --help` for the list.\n',
    });
  });
});

describe("--json on every command, with the wire names", () => {
  it("login, token, accounts, cache and logout print JSON whose keys are all snake_case", async () => {
    const alice = user(emulator, "managed");
    const cacheFile = join(dir, "json.json");
    const jsonEnv = { ...env, MSAL_CACHE_FILE: cacheFile };
    const login = start(["login", "--device-code", "--json"], { env: jsonEnv });
    const code = await waitFor(() => USER_CODE.exec(login.stderrSoFar())?.[1], "the device code message");
    await approve(code, alice.username);
    const outputs: Record<string, unknown> = {};
    const signedIn = await login.done;
    expect(signedIn.code).toBe(0);
    outputs.login = JSON.parse(signedIn.stdout);
    expect(outputs.login).toMatchObject({
      username: alice.username,
      home_account_id: expect.any(String),
      token_type: "Bearer",
      expires_in: expect.any(Number),
    });
    for (const command of ["token", "accounts", "cache"]) {
      const result = await run([command, "--json"], { env: jsonEnv });
      expect(result.code, command).toBe(0);
      outputs[command] = JSON.parse(result.stdout);
    }
    expect(outputs.token).toMatchObject({
      access_token: expect.stringMatching(/^ey/),
      token_source: "cache",
      username: alice.username,
    });
    expect(outputs.accounts).toEqual([expect.objectContaining({ username: alice.username })]);
    expect(outputs.cache).toMatchObject({ file: cacheFile, counts: { access_tokens: 1, accounts: 1 } });
    const logout = await run(["logout", "--json"], { env: jsonEnv });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toBe("");
    outputs.logout = JSON.parse(logout.stdout);
    expect(outputs.logout).toEqual({
      removed: [expect.objectContaining({ username: alice.username, home_account_id: expect.any(String) })],
    });
    for (const [command, output] of Object.entries(outputs))
      for (const key of keysOf(output)) expect(key, `${command}: ${key}`).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });
});

describe("app-only sign-in (az login --service-principal)", () => {
  it("login --service-principal with the secret on stdin caches the app token; token --app then needs no secret", async () => {
    const cacheFile = join(dir, "app.json");
    const secret = daemon().secret as string;
    const login = await run(
      [
        "login",
        "--service-principal",
        ...appArgs(),
        "--client-secret-stdin",
        "--cache-file",
        cacheFile,
        "--verbose",
      ],
      { stdin: `${secret}\n` },
    );
    expect(login.code).toBe(0);
    expect(login.stdout).toBe("");
    expect(login.stderr).toContain(`Signed in as the app ${daemon().clientId}.\n`);
    expect(login.stderr).toContain("client_secret=[redacted]");
    expect(login.stderr).not.toContain(secret);

    const token = await run(["token", "--app", ...appArgs(), "--json", "--cache-file", cacheFile]);
    expect(token.stderr).toBe("");
    expect(token.code).toBe(0);
    const parsed = JSON.parse(token.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      access_token: expect.stringMatching(/^ey/),
      token_type: "Bearer",
      token_source: "cache",
      client_id: daemon().clientId,
    });
    const cache = JSON.parse((await run(["cache", "--json", "--cache-file", cacheFile])).stdout);
    expect(cache.access_tokens).toEqual([
      expect.objectContaining({
        client_id: daemon().clientId,
        home_account_id: null,
        target: "https://graph.microsoft.com/.default",
      }),
    ]);

    const logout = await run([
      "logout",
      "--service-principal",
      ...appArgs(),
      "--json",
      "--cache-file",
      cacheFile,
    ]);
    expect(logout).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ removed: [{ client_id: daemon().clientId, tokens: 1 }] })}\n`,
      stderr: "",
    });
    expect(await run(["token", "--app", ...appArgs(), "--cache-file", cacheFile])).toEqual({
      code: 3,
      stdout: "",
      stderr: `msal-ts: no app token for ${daemon().clientId} (https://graph.microsoft.com/.default) in the cache.\nhint: pass --client-secret-stdin (the secret on stdin) or --certificate FILE.\n`,
    });
  });

  it("token --app --certificate FILE (key and certificate in one PEM) gets a token from the identity provider", async () => {
    const certificate = daemon().certificate;
    if (!certificate) throw new Error("the daemon app has no certificate");
    const pem = join(dir, "daemon.pem");
    writeFileSync(pem, `${certificate.privateKey}\n${certificate.certificate}\n`, { mode: 0o600 });
    const result = await run([
      "token",
      "--app",
      ...appArgs(),
      "--certificate",
      pem,
      "--json",
      "--cache-file",
      join(dir, "cert.json"),
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      token_source: "identity_provider",
      client_id: daemon().clientId,
    });
  });

  it("the app token and a user's share one cache file", async () => {
    const cacheFile = join(dir, "shared.json");
    const sharedEnv = { ...env, MSAL_CACHE_FILE: cacheFile };
    const login = start(["login", "--device-code"], { env: sharedEnv });
    const code = await waitFor(() => USER_CODE.exec(login.stderrSoFar())?.[1], "the device code message");
    await approve(code, user(emulator, "managed").username);
    expect((await login.done).code).toBe(0);
    const app = await run(["login", "--service-principal", ...appArgs(), "--client-secret-stdin"], {
      env: sharedEnv,
      stdin: daemon().secret as string,
    });
    expect(app.code).toBe(0);
    const cacheRun = await run(["cache", "--json"], { env: sharedEnv });
    expect(cacheRun.stderr).toBe("");
    const cache = JSON.parse(cacheRun.stdout);
    expect(cache.counts).toMatchObject({ access_tokens: 2, accounts: 1 });
    expect((await run(["token"], { env: sharedEnv })).code).toBe(0);
    expect(
      JSON.parse((await run(["token", "--app", ...appArgs(), "--json"], { env: sharedEnv })).stdout),
    ).toMatchObject({
      token_source: "cache",
    });
  });

  it("--service-principal without a credential, or with an empty secret, is a usage error", async () => {
    expect(await run(["login", "--service-principal", ...appArgs()])).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "msal-ts: --service-principal needs the app's credential.\nhint: pass --client-secret-stdin (the secret on stdin) or --certificate FILE.\n",
    });
    expect(
      await run(["login", "--service-principal", ...appArgs(), "--client-secret-stdin"], { stdin: "\n" }),
    ).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "msal-ts: --client-secret-stdin read an empty secret.\nhint: pipe the secret in: msal-ts ... --client-secret-stdin < secret.txt\n",
    });
  });
});
