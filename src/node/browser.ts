/**
 * Opening the system browser: `open` on macOS, `start` on Windows, the Windows side from WSL
 * (`wslview`, else `cmd.exe`), and `xdg-open` and friends on Linux and BSD. With no display or no
 * launcher it fails at once with advice to use the device code flow.
 */

import { BrowserUnavailableError } from "../errors.js";
import { nodeChildProcess, nodeFs, nodePath } from "./builtins.js";

export interface BrowserEnvironment {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  /** Whether this Linux is WSL (Microsoft's kernel). */
  wsl: boolean;
}

export function currentBrowserEnvironment(): BrowserEnvironment {
  let wsl = false;
  if (process.platform === "linux") {
    try {
      wsl = /microsoft/i.test(nodeFs().readFileSync("/proc/sys/kernel/osrelease", "utf8"));
    } catch {
      wsl = false;
    }
  }
  return { platform: process.platform, env: process.env, wsl };
}

function onPath(command: string, env: Record<string, string | undefined>): boolean {
  return (env.PATH ?? "")
    .split(nodePath().delimiter)
    .some((dir) => dir && nodeFs().existsSync(nodePath().join(dir, command)));
}

/** The command that opens a URL here, or why there is none. */
export function browserCommand(
  url: string,
  environment: BrowserEnvironment,
): { command: string; args: string[] } | { unavailable: string } {
  const { platform, env } = environment;
  if (platform === "darwin") return { command: "open", args: [url] };
  if (platform === "win32") return { command: "cmd", args: ["/c", "start", '""', url.replace(/&/g, "^&")] };
  if (environment.wsl) {
    if (onPath("wslview", env)) return { command: "wslview", args: [url] };
    if (onPath("cmd.exe", env))
      return { command: "cmd.exe", args: ["/c", "start", '""', url.replace(/&/g, "^&")] };
    return { unavailable: "this is WSL, but neither wslview nor cmd.exe is on PATH" };
  }
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY)
    return { unavailable: "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)" };
  if (env.BROWSER) return { command: env.BROWSER, args: [url] };
  for (const candidate of [
    "xdg-open",
    "sensible-browser",
    "x-www-browser",
    "gio",
    "gnome-open",
    "kde-open",
  ]) {
    if (onPath(candidate, env))
      return { command: candidate, args: candidate === "gio" ? ["open", url] : [url] };
  }
  return { unavailable: "no browser launcher (xdg-open, sensible-browser, x-www-browser) is installed" };
}

export async function openSystemBrowser(
  url: string,
  environment: BrowserEnvironment = currentBrowserEnvironment(),
): Promise<void> {
  const chosen = browserCommand(url, environment);
  if ("unavailable" in chosen) {
    throw new BrowserUnavailableError(
      `Cannot open a browser: ${chosen.unavailable}. Sign in with the device code flow (initiateDeviceFlow) instead, or pass openBrowser to show the URL yourself.`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    const child = nodeChildProcess().spawn(chosen.command, chosen.args, {
      // The environment the launcher was chosen in: its PATH finds the same launcher.
      env: environment.env,
      stdio: "ignore",
      detached: true,
      windowsVerbatimArguments: environment.platform === "win32",
    });
    child.once("error", (error) =>
      reject(
        new BrowserUnavailableError(
          `Cannot open a browser with ${chosen.command}: ${error.message}. Use the device code flow instead.`,
          { cause: error },
        ),
      ),
    );
    child.once("spawn", () => {
      child.unref();
      resolve();
    });
  });
}
