/**
 * Running a sample as its reader would (`node samples/<name>.mjs` from the repository root) and
 * talking to the web samples as a browser does: manual redirects, one cookie carried by hand.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { ROOT } from "../support/build.js";

/** A generous ceiling for a sample to print what a step waits for (a second or two; more when the machine is busy). */
export const SIGN_IN_TIMEOUT_MS = 30_000;

export interface Sample {
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

/** Starts `node samples/<file> ...args` with this process's environment plus `env`; killed after the test. */
export function runSample(
  file: string,
  env: Record<string, string | undefined> = {},
  args: string[] = [],
): Sample {
  const child = spawn(process.execPath, [join("samples", file), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
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
export async function finished(
  sample: Sample,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const code = await sample.exited;
  return { code, stdout: sample.stdout(), stderr: sample.stderr() };
}

/** The text of HTML the web app escaped (it writes every special character as `&#<code>;`). */
export const unescapeHtml = (html: string) =>
  html.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

/** The `name=value` of a response's Set-Cookie, for the next request's Cookie header. */
export function cookieFrom(response: Response): string {
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error(`Expected a Set-Cookie header (status ${response.status}).`);
  return cookie;
}

export const get = (url: string, cookie?: string, headers: Record<string, string> = {}) =>
  fetch(url, { redirect: "manual", headers: { ...headers, ...(cookie ? { cookie } : {}) } });

/**
 * A stand-in for the desktop's browser, to pass as `$BROWSER`: the launcher runs `$BROWSER <url>`,
 * and this one hands the URL to the test, which signs in on the emulator's page and follows the
 * redirect as a browser would.
 */
export function standInBrowser(): { path: string; openedUrl(): string | undefined; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "msal-ts-samples-"));
  const path = join(dir, "browser");
  const opened = join(dir, "opened-url");
  // Written whole (renamed into place) so that the test never reads half a URL.
  writeFileSync(
    path,
    `#!${process.execPath}\nconst fs = require("node:fs");\n` +
      `fs.writeFileSync(${JSON.stringify(`${opened}.part`)}, process.argv[2]);\n` +
      `fs.renameSync(${JSON.stringify(`${opened}.part`)}, ${JSON.stringify(opened)});\n`,
  );
  chmodSync(path, 0o755);
  return {
    path,
    openedUrl: () => (existsSync(opened) ? readFileSync(opened, "utf8") : undefined),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
