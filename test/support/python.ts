/** Runs MSAL Python (Debian's python3-msal under /usr/bin/python3) through test/interop/python/msal_driver.py. */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const PYTHON = "/usr/bin/python3";
const DRIVER = fileURLToPath(new URL("../interop/python/msal_driver.py", import.meta.url));

function probe(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import msal, requests; print(msal.__version__)"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** MSAL Python's version, or undefined when python3-msal is not installed. */
export const msalPythonVersion = probe();

export const MSAL_PYTHON_MISSING =
  "MSAL Python is not installed (apt-get install -y python3-msal): skipping the MSAL Python interop tests. CI installs it.";

export type PythonEvent = Record<string, unknown> & { event: string };

/**
 * Runs a scenario; `onEvent` sees each JSON line as it arrives (the device code test approves the
 * code when the flow line comes). Resolves with every event once the process exits 0. `driver` is
 * the Python script to run (msal_driver.py unless given).
 */
export function runMsalPython(
  scenario: string,
  config: Record<string, unknown>,
  caFile: string,
  onEvent: (event: PythonEvent) => void | Promise<void> = () => {},
  driver: string = DRIVER,
): Promise<PythonEvent[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [driver, scenario, JSON.stringify(config)], {
      env: { ...process.env, REQUESTS_CA_BUNDLE: caFile, PYTHONDONTWRITEBYTECODE: "1" },
    });
    const events: PythonEvent[] = [];
    let buffered = "";
    let stderr = "";
    const pending: Promise<void>[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) {
          const event = JSON.parse(line) as PythonEvent;
          events.push(event);
          pending.push(Promise.resolve(onEvent(event)));
        }
        newline = buffered.indexOf("\n");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      Promise.all(pending).then(() => {
        if (code === 0) resolve(events);
        else reject(new Error(`MSAL Python scenario ${scenario} exited with ${code}:\n${stderr}`));
      }, reject);
    });
  });
}
