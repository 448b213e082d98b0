/**
 * Choosing how to open the system browser (macOS, Windows, WSL, Linux with and without a display,
 * `BROWSER`), and `openSystemBrowser` itself: the device code advice where there is no browser,
 * and a fake `xdg-open` on a PATH of the test's own that receives the URL.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BrowserEnvironment, browserCommand, openSystemBrowser } from "../../../src/node/browser.js";
import { BrowserUnavailableError } from "../../../src/node/index.js";

const URL_WITH_QUERY = "https://login.example.test/authorize?client_id=abc&state=s1&scope=openid%20profile";
const root = mkdtempSync(join(tmpdir(), "msal-ts-browser-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A directory for PATH holding executable files with these names (and contents). */
function binDir(files: Record<string, string>): string {
  const dir = join(root, `bin${++dirs}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), content);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

const EMPTY = binDir({});
const linux = (env: Record<string, string | undefined>, wsl = false): BrowserEnvironment => ({
  platform: "linux",
  env,
  wsl,
});

describe("browserCommand", () => {
  it("macOS: open", () => {
    expect(browserCommand(URL_WITH_QUERY, { platform: "darwin", env: {}, wsl: false })).toEqual({
      command: "open",
      args: [URL_WITH_QUERY],
    });
  });

  it("Windows: cmd /c start with every & escaped for cmd", () => {
    expect(browserCommand(URL_WITH_QUERY, { platform: "win32", env: {}, wsl: false })).toEqual({
      command: "cmd",
      args: [
        "/c",
        "start",
        '""',
        "https://login.example.test/authorize?client_id=abc^&state=s1^&scope=openid%20profile",
      ],
    });
  });

  it("WSL with wslview on PATH: wslview, display or not", () => {
    const path = `${EMPTY}:${binDir({ wslview: "#!/bin/sh\n", "cmd.exe": "" })}`;
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: path }, true))).toEqual({
      command: "wslview",
      args: [URL_WITH_QUERY],
    });
  });

  it("WSL with only cmd.exe on PATH: Windows' start, & escaped", () => {
    const path = binDir({ "cmd.exe": "" });
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: path, DISPLAY: ":0" }, true))).toEqual({
      command: "cmd.exe",
      args: [
        "/c",
        "start",
        '""',
        "https://login.example.test/authorize?client_id=abc^&state=s1^&scope=openid%20profile",
      ],
    });
  });

  it("WSL with neither: unavailable", () => {
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: EMPTY, DISPLAY: ":0" }, true))).toEqual({
      unavailable: "this is WSL, but neither wslview nor cmd.exe is on PATH",
    });
  });

  it("Linux without DISPLAY or WAYLAND_DISPLAY: unavailable, even with xdg-open and BROWSER", () => {
    const path = binDir({ "xdg-open": "#!/bin/sh\n" });
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: path, BROWSER: "firefox" }))).toEqual({
      unavailable: "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)",
    });
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: path, DISPLAY: "" }))).toEqual({
      unavailable: "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)",
    });
  });

  it("Linux with DISPLAY (or WAYLAND_DISPLAY) and xdg-open on PATH: xdg-open", () => {
    const path = `${EMPTY}:${binDir({ "xdg-open": "#!/bin/sh\n", "sensible-browser": "#!/bin/sh\n" })}`;
    for (const display of [{ DISPLAY: ":0" }, { WAYLAND_DISPLAY: "wayland-0" }]) {
      expect(browserCommand(URL_WITH_QUERY, linux({ PATH: path, ...display }))).toEqual({
        command: "xdg-open",
        args: [URL_WITH_QUERY],
      });
    }
  });

  it("Linux: the other launchers in turn, gio with its open subcommand", () => {
    const gio = binDir({ gio: "#!/bin/sh\n" });
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: gio, DISPLAY: ":0" }))).toEqual({
      command: "gio",
      args: ["open", URL_WITH_QUERY],
    });
    const sensible = binDir({ "sensible-browser": "#!/bin/sh\n", "x-www-browser": "#!/bin/sh\n" });
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: sensible, DISPLAY: ":0" }))).toEqual({
      command: "sensible-browser",
      args: [URL_WITH_QUERY],
    });
  });

  it("Linux with a display but no launcher on PATH: unavailable", () => {
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: EMPTY, DISPLAY: ":0" }))).toEqual({
      unavailable: "no browser launcher (xdg-open, sensible-browser, x-www-browser) is installed",
    });
    expect(browserCommand(URL_WITH_QUERY, linux({ DISPLAY: ":0" }))).toEqual({
      unavailable: "no browser launcher (xdg-open, sensible-browser, x-www-browser) is installed",
    });
  });

  it("BROWSER is honoured before xdg-open", () => {
    const path = binDir({ "xdg-open": "#!/bin/sh\n" });
    expect(browserCommand(URL_WITH_QUERY, linux({ PATH: path, DISPLAY: ":0", BROWSER: "firefox" }))).toEqual({
      command: "firefox",
      args: [URL_WITH_QUERY],
    });
  });
});

describe("openSystemBrowser", () => {
  it("with no display: BrowserUnavailableError recommending the device code flow", async () => {
    const error = await openSystemBrowser(URL_WITH_QUERY, linux({ PATH: EMPTY })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserUnavailableError);
    expect(error).toMatchObject({ name: "BrowserUnavailableError", code: "browser_unavailable" });
    expect((error as Error).message).toBe(
      "Cannot open a browser: there is no display (DISPLAY and WAYLAND_DISPLAY are unset). Sign in with the device code flow (initiateDeviceFlow) instead, or pass openBrowser to show the URL yourself.",
    );
  });

  it("with no launcher: BrowserUnavailableError naming what is missing", async () => {
    const error = await openSystemBrowser(URL_WITH_QUERY, linux({ PATH: EMPTY, DISPLAY: ":0" })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BrowserUnavailableError);
    expect((error as Error).message).toBe(
      "Cannot open a browser: no browser launcher (xdg-open, sensible-browser, x-www-browser) is installed. Sign in with the device code flow (initiateDeviceFlow) instead, or pass openBrowser to show the URL yourself.",
    );
  });

  it("runs the xdg-open found on the environment's PATH, which receives the URL as one argument", async () => {
    const received = join(root, "xdg-open-received.txt");
    const path = binDir({ "xdg-open": `#!/bin/sh\nprintf '%s|%s' "$#" "$1" > '${received}'\n` });
    await openSystemBrowser(URL_WITH_QUERY, linux({ PATH: path, DISPLAY: ":0" }));
    await expect
      .poll(() => existsSync(received) && readFileSync(received, "utf8"))
      .toBe(`1|${URL_WITH_QUERY}`);
  });

  it("runs the BROWSER command given by path", async () => {
    const received = join(root, "browser-received.txt");
    const browser = join(
      binDir({ "my-browser": `#!/bin/sh\nprintf '%s' "$1" > '${received}'\n` }),
      "my-browser",
    );
    await openSystemBrowser(URL_WITH_QUERY, linux({ PATH: EMPTY, DISPLAY: ":0", BROWSER: browser }));
    await expect.poll(() => existsSync(received) && readFileSync(received, "utf8")).toBe(URL_WITH_QUERY);
  });

  it("a launcher that cannot be run: BrowserUnavailableError pointing to the device code flow", async () => {
    const missing = join(root, "no-such-browser");
    const error = await openSystemBrowser(
      URL_WITH_QUERY,
      linux({ PATH: EMPTY, DISPLAY: ":0", BROWSER: missing }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserUnavailableError);
    expect((error as Error).message).toBe(
      `Cannot open a browser with ${missing}: spawn ${missing} ENOENT. Use the device code flow instead.`,
    );
  });
});
