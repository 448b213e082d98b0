/**
 * `msal-ts emulator [--port N] [--directory FILE [--directory-mode add|replace]] [--access-token-lifetime S] [--device-code-interval S]
 * [--managed-identity SOURCE]... [--arc-key-directory DIR]`: starts the emulator and prints exactly
 * one JSON line on stdout when ready: `{"event":"ready","url":...,"caFile":...,"directory":{...}}`,
 * plus `"managedIdentity":{...}` with each asked source's environment when managed identity is on.
 * For people at a terminal, those environments also go to stderr as `export` lines (stdout stays
 * one JSON line for tools). Runs until SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import type { ManagedIdentityEmulator, ManagedIdentitySource } from "./managed-identity/index.js";
import { MANAGED_IDENTITY_SOURCES } from "./managed-identity/index.js";
import { startEmulator } from "./server.js";

export const EMULATOR_HELP = `Usage: msal-ts emulator [options]

Starts a local Microsoft Entra ID emulator over HTTPS on 127.0.0.1 and prints one JSON line
{"event":"ready","url":...,"caFile":...,"directory":{...}} on stdout when it is ready.

Options:
  --port N                     port to listen on (default 0: a free port)
  --directory FILE             JSON directory (tenants, users, apps) to add to the seeded one; the
                               ready line's "directory" can be given as is
  --directory-mode MODE        add (default: entries with a seeded tenant id, username or client
                               id replace those) or replace (use only FILE's directory)
  --access-token-lifetime S    access token lifetime in seconds (default 3599)
  --device-code-interval S     device code polling interval in seconds (default 5)
  --managed-identity SOURCE    also serve managed identity, and print the environment an app on
                               SOURCE sees: appService, serviceFabric, azureArc, cloudShell,
                               machineLearning, imds, or all (repeatable). The ready line gains
                               "managedIdentity"; stderr gets the same as export lines
  --arc-key-directory DIR      where Azure Arc writes its challenge key files (default: a temporary
                               directory; clients read /var/opt/azcmagent/tokens on Linux)
  -h, --help                   show this help
`;

function managedIdentitySources(values: string[] | undefined): ManagedIdentitySource[] {
  const wanted = values ?? [];
  if (wanted.includes("all")) return [...MANAGED_IDENTITY_SOURCES];
  for (const source of wanted)
    if (!(MANAGED_IDENTITY_SOURCES as readonly string[]).includes(source))
      throw new Error(
        `--managed-identity must be one of ${MANAGED_IDENTITY_SOURCES.join(", ")} or all, got "${source}".`,
      );
  return wanted as ManagedIdentitySource[];
}

/** The ready line's `managedIdentity` member: what apps on the asked sources need, and the test hooks. */
function managedIdentityReady(mi: ManagedIdentityEmulator, sources: ManagedIdentitySource[]) {
  return {
    url: mi.url,
    environments: Object.fromEntries(sources.map((s) => [s, mi.environment(s)])),
    identities: mi.identities,
    arcKeyDirectory: mi.arcKeyDirectory,
    serviceFabric: { thumbprint: mi.serviceFabric.thumbprint, caFile: mi.serviceFabric.caFile },
  };
}

/** `export NAME='value'` lines, quoted for POSIX shells. */
function exportLines(mi: ManagedIdentityEmulator, sources: ManagedIdentitySource[]): string {
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  return sources
    .map((source) => {
      const vars = Object.entries(mi.environment(source)).map(([k, v]) => `export ${k}=${quote(v)}`);
      return [`# An app on ${source} sees:`, ...vars].join("\n");
    })
    .join("\n\n");
}

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

/**
 * Runs the emulator command; resolves with the process exit code once it stops, on SIGINT, SIGTERM
 * or `stop` (for callers that run it in-process).
 */
export async function runEmulatorCommand(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  stop?: AbortSignal,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      directory: { type: "string" },
      "directory-mode": { type: "string" },
      "access-token-lifetime": { type: "string" },
      "device-code-interval": { type: "string" },
      "managed-identity": { type: "string", multiple: true },
      "arc-key-directory": { type: "string" },
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
  const sources = managedIdentitySources(values["managed-identity"]);
  const arcKeyDirectory = values["arc-key-directory"];
  const directoryMode = values["directory-mode"];
  if (directoryMode !== undefined && directoryMode !== "add" && directoryMode !== "replace")
    throw new Error(`--directory-mode must be add or replace, got "${directoryMode}".`);
  if (directoryMode !== undefined && !values.directory)
    throw new Error("--directory-mode needs --directory FILE.");
  const emulator = await startEmulator({
    ...(sources.length > 0 ? { managedIdentity: arcKeyDirectory ? { arcKeyDirectory } : true } : {}),
    port,
    ...(values.directory ? { directory: values.directory, directoryMode: directoryMode ?? "add" } : {}),
    settings: {
      ...(accessTokenLifetime !== undefined ? { accessTokenLifetime } : {}),
      ...(deviceCodeInterval !== undefined ? { deviceCodeInterval } : {}),
    },
  });
  const mi = emulator.managedIdentity;
  const ready = {
    event: "ready",
    url: emulator.url,
    caFile: emulator.caFile,
    directory: emulator.directory,
    ...(mi ? { managedIdentity: managedIdentityReady(mi, sources) } : {}),
  };
  out.write(`${JSON.stringify(ready)}\n`);
  if (mi) err.write(`${exportLines(mi, sources)}\n`);
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
    if (stop?.aborted) done();
    stop?.addEventListener("abort", done, { once: true });
  });
  await emulator.stop();
  return 0;
}
