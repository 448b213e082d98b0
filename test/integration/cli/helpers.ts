/** Running the built `msal-ts` command in the CLI tests, and approving its device codes. */
import { type ChildProcess, spawn } from "node:child_process";
import { expect } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { CLI, ROOT } from "../../support/build.js";

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `msal-ts <args>` with `env`, writing `stdin` (or nothing) to it and collecting its output. */
export function startCli(
  args: string[],
  options: { env: NodeJS.ProcessEnv; stdin?: string },
): { child: ChildProcess; done: Promise<Finished>; stderrSoFar: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: options.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdin.end(options.stdin ?? "");
  const done = new Promise<Finished>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, stderrSoFar: () => stderr };
}

/** Polls `probe` every 50 ms until it gives a value, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Approves a device code as `username`, as a person would on the emulator's page. */
export async function approveDeviceCode(
  emulator: Emulator,
  userCode: string,
  username: string,
): Promise<void> {
  const response = await fetch(`${emulator.url}/_emulator/device/approve`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_code: userCode, username }),
  });
  expect(response.status).toBe(200);
}
