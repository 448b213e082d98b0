/**
 * `msal-ts emulator [--port N] [--directory FILE] [--access-token-lifetime S] [--device-code-interval S]`:
 * starts the emulator and prints exactly one JSON line on stdout when ready:
 * `{"event":"ready","url":...,"caFile":...,"directory":{...}}`. Runs until SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { startEmulator } from "./server.js";

export const EMULATOR_HELP = `Usage: msal-ts emulator [options]

Starts a local Microsoft Entra ID emulator over HTTPS on 127.0.0.1 and prints one JSON line
{"event":"ready","url":...,"caFile":...,"directory":{...}} on stdout when it is ready.

Options:
  --port N                     port to listen on (default 0: a free port)
  --directory FILE             JSON directory (tenants, users, apps) to use instead of the seeded one
  --access-token-lifetime S    access token lifetime in seconds (default 3599)
  --device-code-interval S     device code polling interval in seconds (default 5)
  -h, --help                   show this help
`;

function seconds(
  name: string,
  value: string | undefined,
  expected = "a whole number of seconds",
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be ${expected}, got "${value}".`);
  return n;
}

/** Runs the emulator command; resolves with the process exit code once it stops. */
export async function runEmulatorCommand(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      directory: { type: "string" },
      "access-token-lifetime": { type: "string" },
      "device-code-interval": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    out.write(EMULATOR_HELP);
    return 0;
  }
  const port = seconds("--port", values.port, "a port number from 0 to 65535") ?? 0;
  if (port > 65535) throw new Error(`--port must be between 0 and 65535, got ${port}.`);
  const accessTokenLifetime = seconds("--access-token-lifetime", values["access-token-lifetime"]);
  const deviceCodeInterval = seconds("--device-code-interval", values["device-code-interval"]);
  const emulator = await startEmulator({
    port,
    ...(values.directory ? { directory: values.directory } : {}),
    settings: {
      ...(accessTokenLifetime !== undefined ? { accessTokenLifetime } : {}),
      ...(deviceCodeInterval !== undefined ? { deviceCodeInterval } : {}),
    },
  });
  out.write(
    `${JSON.stringify({ event: "ready", url: emulator.url, caFile: emulator.caFile, directory: emulator.directory })}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await emulator.stop();
  return 0;
}
