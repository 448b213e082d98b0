/**
 * The built `msal-ts` command against the emulator, as a person or a script runs it: device code
 * login (approved through the control API), token, token --json, accounts, cache, logout, bad
 * arguments, and a run in a pseudo-terminal that shows the spinner.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { CLI, ensureBuilt, ROOT } from "../../support/build.js";
import { app, startTestEmulator, user } from "../../support/emulator.js";
import { approveDeviceCode, startCli, waitFor } from "./helpers.js";

let emulator: Emulator;
let dir: string;
let env: NodeJS.ProcessEnv;

const start = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
  startCli(args, { env: { ...env, ...extraEnv } });
const run = (args: string[], extraEnv?: NodeJS.ProcessEnv) => start(args, extraEnv).done;
const approve = (userCode: string, username: string) => approveDeviceCode(emulator, userCode, username);

const USER_CODE = /enter the code ([A-Z0-9]+) to authenticate/;

beforeAll(async () => {
  ensureBuilt();
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
  dir = mkdtempSync(join(tmpdir(), "msal-ts-cli-"));
  env = {
    ...process.env,
    MSAL_CLIENT_ID: app(emulator, "public").clientId,
    MSAL_AUTHORITY: `${emulator.url}/organizations`,
    MSAL_CACHE_FILE: join(dir, "cache.json"),
    NO_COLOR: "1",
  };
});

afterAll(async () => {
  await emulator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("msal-ts login, token, accounts, cache, logout", () => {
  it("login --device-code shows the server's message, waits, and signs in when the code is approved", async () => {
    const alice = user(emulator, "managed");
    const login = start(["login", "--device-code"]);
    const code = await waitFor(() => USER_CODE.exec(login.stderrSoFar())?.[1], "the device code message");
    expect(login.stderrSoFar()).toContain(
      `To sign in, use a web browser to open the page ${emulator.url}/devicelogin and enter the code ${code} to authenticate.`,
    );
    await approve(code, alice.username);
    const finished = await login.done;
    expect(finished.code).toBe(0);
    expect(finished.stderr).toContain(`Signed in as ${alice.username}.`);
    expect(statSync(join(dir, "cache.json")).mode & 0o777).toBe(0o600);
  });

  it("token prints the access token from the cache; --json prints it with its source", async () => {
    const plain = await run(["token"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    const json = await run(["token", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      access_token: plain.stdout.trim(),
      token_type: "Bearer",
      token_source: "cache",
      username: user(emulator, "managed").username,
    });
  });

  it("accounts lists the signed-in user; cache describes the file without any secret", async () => {
    const accounts = await run(["accounts", "--json"]);
    expect(JSON.parse(accounts.stdout)).toEqual([
      expect.objectContaining({ username: user(emulator, "managed").username }),
    ]);
    const tokenRun = await run(["token"]);
    expect(tokenRun.stderr).toBe("");
    const token = tokenRun.stdout.trim();
    expect(token).toMatch(/^ey/);
    const cache = await run(["cache"]);
    expect(cache.code).toBe(0);
    expect(cache.stdout).toContain(`Cache file: ${join(dir, "cache.json")}`);
    expect(cache.stdout).toContain(`Account: ${user(emulator, "managed").username}`);
    expect(cache.stdout).not.toContain(token);
    expect(cache.stdout).not.toMatch(/rt\.|refresh_token|secret/i);
  });

  it("logout signs the account out; token then fails with exit code 3 and a hint", async () => {
    const logout = await run(["logout"]);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain(`Signed out ${user(emulator, "managed").username}.`);
    const token = await run(["token"]);
    expect(token.code).toBe(3);
    expect(token.stdout).toBe("");
    expect(token.stderr).toBe("msal-ts: no account is signed in.\nhint: run `msal-ts login` first.\n");
  });
});

describe("bad arguments", () => {
  it("an unknown option: one line, a hint, exit code 2", async () => {
    const result = await run(["token", "--bogus"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "msal-ts: unknown option --bogus.\nhint: run `msal-ts token --help` for the options.\n",
    );
  });

  it("an unknown command and a missing client id", async () => {
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'msal-ts: unknown command "frobnicate".\nhint: run `msal-ts --help` for the list.\n',
    );
    const noClient = await run(["token"], { MSAL_CLIENT_ID: "" });
    expect(noClient.code).toBe(2);
    expect(noClient.stderr).toBe(
      "msal-ts: no application (client) id.\nhint: pass --client-id or set MSAL_CLIENT_ID to your app registration's id.\n",
    );
  });

  it("every command has --help", async () => {
    for (const command of ["login", "token", "accounts", "logout", "cache", "emulator", "demo"]) {
      const help = await run([command, "--help"]);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/^Usage: msal-ts /);
    }
  });
});

describe("in a pseudo-terminal", () => {
  it("shows a spinner while waiting for the user, and no colour with NO_COLOR", async () => {
    const alice = user(emulator, "managed");
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    const command = `${process.execPath} ${CLI} login --device-code`;
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: ROOT,
      env: { ...env, MSAL_CACHE_FILE: join(dir, "pty-cache.json") },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let screen = "";
    child.stdout.on("data", (c: Buffer) => {
      screen += c.toString();
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    const code = await waitFor(() => USER_CODE.exec(screen)?.[1], "the device code message in the terminal");
    await waitFor(
      () =>
        /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for you to sign in on the other device\.\.\./.test(screen) ? true : undefined,
      "the spinner",
    );
    await approve(code, alice.username);
    expect(await closed).toBe(0);
    expect(screen).toContain(`Signed in as ${alice.username}.`);
    expect(screen).not.toContain("\u001b[32m");
  });
});
