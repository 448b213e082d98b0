/**
 * Each program in samples/ run as a reader runs it: `node samples/<name>.mjs` from the repository
 * root, importing the built package by its own name ("msal-ts"), configured through the
 * environment to the emulator. The test plays the user: it signs in on the emulator's page over
 * HTTP, approves device codes through the control API, and calls the web samples as a browser or
 * a client would. NODE_EXTRA_CA_CERTS (test/global-setup.ts) makes the children trust the emulator.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { decodePart } from "../../src/node/index.js";
import { ensureBuilt, ROOT } from "../support/build.js";
import { startTestEmulator, user } from "../support/emulator.js";
import { signInOverHttp } from "../support/sign-in.js";

/** Generous ceilings: each step takes a second or two, more when the whole suite shares the machine. */
const SIGN_IN_TIMEOUT_MS = 30_000;
const SAMPLE_TEST_TIMEOUT_MS = 60_000;

let emulator: Emulator;
let authority: string;
let alice: { username: string; password: string };
let bob: { username: string; password: string };

beforeAll(async () => {
  ensureBuilt();
  emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
  // The form the samples' README gives: the emulator's URL and the tenant's domain.
  authority = `${emulator.url}/contoso.onmicrosoft.com`;
  alice = user(emulator, "managed");
  const second = emulator.directory.users.find((u) => u.username.startsWith("bob@"));
  if (!second) throw new Error("The emulator directory has no bob.");
  bob = second;
}, 180_000);
afterAll(() => emulator?.stop());
beforeEach(() => emulator.reset());

interface Sample {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The first match of `pattern` in stdout, waiting for it to be printed. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** The exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** Starts `node samples/<file> ...args` with the emulator's configuration plus `env`. */
function startSample(
  file: string,
  env: Record<string, string | undefined> = {},
  args: string[] = [],
): Sample {
  const child = spawn(process.execPath, [join("samples", file), ...args], {
    cwd: ROOT,
    env: { ...process.env, MSAL_AUTHORITY: authority, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(out);
        if (!match) return false;
        child.stdout?.off("data", check);
        clearTimeout(timer);
        resolve(match);
        return true;
      };
      const timer = setTimeout(
        () => reject(new Error(`${file} did not print ${pattern}. stdout:\n${out}\nstderr:\n${err}`)),
        SIGN_IN_TIMEOUT_MS,
      );
      if (check()) return;
      child.stdout?.on("data", check);
      void exited.then(() => {
        if (!check()) {
          clearTimeout(timer);
          reject(new Error(`${file} exited without printing ${pattern}. stdout:\n${out}\nstderr:\n${err}`));
        }
      });
    });
  return { child, stdout: () => out, stderr: () => err, waitFor, exited };
}

/** Waits for a sample to exit by itself and returns its code and output. */
async function finished(sample: Sample): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = await sample.exited;
  return { code, stdout: sample.stdout(), stderr: sample.stderr() };
}

/** The `name=value` of a response's Set-Cookie, for the next request's Cookie header. */
function cookieFrom(response: Response): string {
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error(`Expected a Set-Cookie header (status ${response.status}).`);
  return cookie;
}

const get = (url: string, cookie?: string, headers: Record<string, string> = {}) =>
  fetch(url, { redirect: "manual", headers: { ...headers, ...(cookie ? { cookie } : {}) } });

describe("samples", { timeout: SAMPLE_TEST_TIMEOUT_MS }, () => {
  it("type-check as strict TypeScript (checkJs) against the package's published types", () => {
    const samples = readdirSync(join(ROOT, "samples")).filter((f) => f.endsWith(".mjs"));
    expect(samples).toHaveLength(5);
    const tsc = spawnSync(
      join(ROOT, "node_modules/.bin/tsc"),
      [
        ...["--ignoreConfig", "--noEmit", "--allowJs", "--checkJs", "--strict", "--noUncheckedIndexedAccess"],
        ...["--module", "nodenext", "--target", "es2022", "--lib", "es2022,dom", "--types", "node"],
        ...samples.map((f) => join("samples", f)),
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
    expect(tsc.status).toBe(0);
  });

  it("daemon: an app token from the identity provider, then the same from the cache", async () => {
    // Trusting the emulator through MSAL_CA_FILE (the `ca` option) instead of NODE_EXTRA_CA_CERTS.
    const run = await finished(
      startSample("daemon.mjs", { NODE_EXTRA_CA_CERTS: undefined, MSAL_CA_FILE: emulator.caFile }),
    );
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(
      /^First call: token from identity_provider, expires in \d+ s\nSecond call: token from cache, expires in \d+ s\n$/,
    );
    const requests = emulator.requests("token");
    expect(requests.map((r) => r.form?.grant_type)).toEqual(["client_credentials"]);
  });

  it("web app: auth code sign-in per session, silent calls on later requests, sign-out", async () => {
    const server = startSample("web-app.mjs", { PORT: "0" });
    const [, origin] = await server.waitFor(/^Listening on (http:\/\/localhost:\d+)$/m);
    const home = (cookie?: string) => get(`${origin}/`, cookie).then((r) => r.text());

    expect(await home()).toContain('Not signed in. <a href="/signin">Sign in</a>');

    /** A browser's sign-in: /signin, the emulator's page, the callback; returns the session cookie. */
    async function signIn(who: { username: string; password: string }): Promise<string> {
      const start = await get(`${origin}/signin`);
      expect(start.status).toBe(302);
      const preSignIn = cookieFrom(start);
      const { location } = await signInOverHttp(
        start.headers.get("location") ?? "",
        who.username,
        who.password,
      );
      expect(location.startsWith(`${origin}/auth/callback?`)).toBe(true);
      const callback = await get(location, preSignIn);
      expect([callback.status, callback.headers.get("location")]).toEqual([302, "/"]);
      const session = cookieFrom(callback);
      // The session id changes at sign-in; the one handed out before it is worth nothing.
      expect(session).not.toBe(preSignIn);
      expect(await home(preSignIn)).toContain("Not signed in.");
      return session;
    }

    const aliceSession = await signIn(alice);
    expect(await home(aliceSession)).toContain(`Signed in as ${alice.username}; token from cache.`);

    // Tokens that are already within the 5-minute refresh window: the silent call on the next
    // request redeems bob's refresh token, and alice's session still sees alice.
    emulator.configure({ accessTokenLifetime: 120 });
    const bobSession = await signIn(bob);
    emulator.clearRequests();
    expect(await home(bobSession)).toContain(`Signed in as ${bob.username}; token from identity_provider.`);
    expect(emulator.requests("token").map((r) => r.form?.grant_type)).toEqual(["refresh_token"]);
    expect(await home(aliceSession)).toContain(`Signed in as ${alice.username}; token from cache.`);

    // A callback with no sign-in in progress is refused.
    const stray = await get(`${origin}/auth/callback?code=x&state=y`, bobSession);
    expect(stray.status).toBe(400);

    const signOut = await get(`${origin}/signout`, aliceSession);
    expect(signOut.status).toBe(302);
    const logout = new URL(signOut.headers.get("location") ?? "");
    expect(`${logout.origin}${logout.pathname}`).toBe(`${authority}/oauth2/v2.0/logout`);
    expect(logout.searchParams.get("post_logout_redirect_uri")).toBe(`${origin}/`);
    const back = await get(logout.toString());
    expect([back.status, back.headers.get("location")]).toEqual([302, `${origin}/`]);
    expect(await home(aliceSession)).toContain("Not signed in.");
    expect(await home(bobSession)).toContain(`Signed in as ${bob.username};`);

    server.child.kill("SIGTERM");
    expect(await finished(server)).toMatchObject({ code: 0, stderr: "" });
  });

  it("web API: exchanges the caller's token on behalf of the user, cached per caller token", async () => {
    const server = startSample("web-api-obo.mjs", {
      PORT: "0",
      DOWNSTREAM_API_URL: `${emulator.url}/_emulator/resource`,
    });
    const [, origin] = await server.waitFor(/^Listening on (http:\/\/localhost:\d+)$/m);
    const middleTier = emulator.directory.apps.find((a) => a.kind === "middle-tier");
    const publicApp = emulator.directory.apps.find((a) => a.kind === "public");
    // What a client of the API sends: alice's token for the API's access_as_user scope.
    const userToken = await fetch(`${authority}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        client_id: publicApp?.clientId ?? "",
        username: alice.username,
        password: alice.password,
        scope: `api://${middleTier?.clientId}/access_as_user`,
      }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const aliceOid = (decodePart(userToken.access_token.split(".")[1] ?? "") as { oid: string }).oid;
    const call = async (token?: string) => {
      const response = await get(
        `${origin}/me`,
        undefined,
        token ? { authorization: `Bearer ${token}` } : {},
      );
      return { status: response.status, body: await response.json() };
    };

    const downstream = {
      status: 200,
      body: { oid: aliceOid, aud: "https://graph.microsoft.com", scp: "User.Read" },
    };
    expect(await call(userToken.access_token)).toEqual({
      status: 200,
      body: { token_source: "identity_provider", downstream },
    });
    expect(await call(userToken.access_token)).toEqual({
      status: 200,
      body: { token_source: "cache", downstream },
    });
    const grants = emulator.requests("token").map((r) => r.form?.grant_type);
    expect(grants.filter((g) => g === "urn:ietf:params:oauth:grant-type:jwt-bearer")).toHaveLength(1);

    expect(await call()).toEqual({ status: 401, body: { error: "no bearer token" } });
    expect(await call("not.a-token.at-all")).toEqual({ status: 401, body: { error: "invalid_grant" } });

    server.child.kill("SIGTERM");
    expect(await finished(server)).toMatchObject({ code: 0, stderr: "" });
  });

  it("device-code CLI: prints the server's message, gets tokens once the user approves, then the cache", async () => {
    const cli = startSample("device-code.mjs");
    const [, userCode] = await cli.waitFor(/enter the code (\S+) to authenticate\./);
    const approval = await fetch(`${emulator.url}/_emulator/device/approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_code: userCode, username: alice.username }),
    });
    expect(approval.status).toBe(200);
    const run = await finished(cli);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `To sign in, use a web browser to open the page ${emulator.url}/devicelogin and enter the code ${userCode} to authenticate.\n` +
        `Signed in as ${alice.username}; token from identity_provider\n` +
        "Silent call: token from cache\n",
    );
  });

  it("interactive sign-in with --no-browser: the printed URL, the loopback response, then the cache", async () => {
    const desktop = startSample("interactive.mjs", {}, ["--no-browser"]);
    const [, url] = await desktop.waitFor(/^Open this URL to sign in: (\S+)$/m);
    const { location } = await signInOverHttp(url ?? "", bob.username, bob.password);
    expect(location).toMatch(/^http:\/\/localhost:\d+\/\?code=/);
    // The browser follows the redirect to the app's loopback listener.
    expect((await fetch(location)).status).toBe(200);
    const run = await finished(desktop);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `Open this URL to sign in: ${url}\nSigned in as ${bob.username}; token from identity_provider\nSilent call: token from cache\n`,
    );
  });

  // $BROWSER is how the launcher opens a browser on a Linux desktop (macOS and Windows have their own).
  it.runIf(process.platform === "linux")(
    "interactive sign-in through the system browser ($BROWSER)",
    async () => {
      // A stand-in browser: the launcher runs $BROWSER <url>; this one hands the
      // URL to the test, which signs in on the emulator's page and follows the redirect as a browser would.
      const dir = mkdtempSync(join(tmpdir(), "msal-ts-samples-"));
      try {
        const browser = join(dir, "browser");
        const opened = join(dir, "opened-url");
        writeFileSync(
          browser,
          `#!${process.execPath}\nconst fs = require("node:fs");\n` +
            `fs.writeFileSync(${JSON.stringify(`${opened}.part`)}, process.argv[2]);\n` +
            `fs.renameSync(${JSON.stringify(`${opened}.part`)}, ${JSON.stringify(opened)});\n`,
        );
        chmodSync(browser, 0o755);
        const desktop = startSample("interactive.mjs", {
          DISPLAY: ":0",
          WAYLAND_DISPLAY: undefined,
          BROWSER: browser,
        });
        await expect.poll(() => existsSync(opened), { timeout: SIGN_IN_TIMEOUT_MS }).toBe(true);
        const { location } = await signInOverHttp(
          readFileSync(opened, "utf8"),
          alice.username,
          alice.password,
        );
        expect((await fetch(location)).status).toBe(200);
        const run = await finished(desktop);
        expect(run).toMatchObject({ code: 0, stderr: "" });
        expect(run.stdout).toBe(
          `Signed in as ${alice.username}; token from identity_provider\nSilent call: token from cache\n`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
