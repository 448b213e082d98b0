/**
 * The command line's vocabulary: every option once (its type and help line), which commands take
 * it, which combinations make no sense, and the parsing that turns a mistake into one line that
 * says what was meant.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { closest } from "./suggest.js";

export interface CommonOptions {
  clientId: string | undefined;
  authority: string;
  /** The scopes given with --scope, or undefined when none were (each command has its default). */
  scopes: string[] | undefined;
  /** The plain cache file: the one chosen, or the default (used where no keyring is, and moved into one). */
  cacheFile: string;
  /** Whether a plain cache file was chosen (--cache-file or MSAL_CACHE_FILE) instead of the OS keyring. */
  plainCacheFile: boolean;
  /** The --ca file's path, read when the app is made. */
  caFile: string | undefined;
  json: boolean;
  verbose: boolean;
  username: string | undefined;
}

interface OptionSpec {
  type: "boolean" | "string";
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in help, for string options. */
  arg?: string;
  help: string;
}

/** Every option of every command; a command's help lists only its own (see COMMAND_OPTIONS). */
const OPTIONS: Record<string, OptionSpec> = {
  "device-code": { type: "boolean", help: "sign in with a code entered on another device" },
  browser: { type: "boolean", help: "sign in in this machine's browser" },
  "service-principal": {
    type: "boolean",
    help: "sign the app itself in (client credentials), as `az login --service-principal`",
  },
  app: { type: "boolean", help: "an app-only token (client credentials) instead of a user's" },
  "client-secret-stdin": {
    type: "boolean",
    help: "read the client secret from stdin (never from the command line; never printed or stored)",
  },
  certificate: {
    type: "string",
    arg: "FILE",
    help: "the app's certificate: a PEM file with the private key and certificate, or a PFX file",
  },
  "certificate-password-stdin": {
    type: "boolean",
    help: "read the password of an encrypted --certificate from stdin",
  },
  "use-cert-sn-issuer": {
    type: "boolean",
    help: "send the certificate chain (x5c) for subject name and issuer authentication",
  },
  "client-id": { type: "string", arg: "ID", help: "application (client) id (env MSAL_CLIENT_ID)" },
  authority: {
    type: "string",
    arg: "URL",
    help: "authority, e.g. https://login.microsoftonline.com/contoso.com (env MSAL_AUTHORITY)",
  },
  tenant: {
    type: "string",
    arg: "TENANT",
    help: "tenant id or domain on login.microsoftonline.com, instead of --authority",
  },
  scope: { type: "string", multiple: true, arg: "SCOPE", help: "a scope to ask for; repeat for more" },
  username: { type: "string", arg: "NAME", help: "which signed-in account to use" },
  "cache-file": {
    type: "string",
    arg: "PATH",
    help: "keep the token cache in this plain file (mode 0600) instead of the OS keyring (env MSAL_CACHE_FILE)",
  },
  ca: {
    type: "string",
    arg: "FILE",
    help: "also trust the CA certificates in this PEM file (a TLS-inspecting proxy, a test server)",
  },
  json: { type: "boolean", help: "machine-readable output (JSON with the OAuth wire names)" },
  verbose: { type: "boolean", help: "show the HTTP exchange (secrets redacted)" },
  help: { type: "boolean", short: "h", help: "show help for the command" },
};

const APP = ["client-id", "authority", "tenant"];
const APP_CREDENTIAL = [
  "client-secret-stdin",
  "certificate",
  "certificate-password-stdin",
  "use-cert-sn-issuer",
];

/** Which options each command takes, in the order its help lists them. */
export const COMMAND_OPTIONS: Record<string, string[]> = {
  login: [
    "device-code",
    "browser",
    "service-principal",
    ...APP_CREDENTIAL,
    ...APP,
    "scope",
    "cache-file",
    "ca",
    "json",
    "verbose",
    "help",
  ],
  token: [
    "app",
    ...APP_CREDENTIAL,
    ...APP,
    "scope",
    "username",
    "cache-file",
    "ca",
    "json",
    "verbose",
    "help",
  ],
  accounts: [...APP, "username", "cache-file", "json", "help"],
  logout: ["service-principal", ...APP, "username", "cache-file", "json", "help"],
  cache: ["cache-file", "json", "help"],
};

/** Pairs that cannot be given together. */
const CONFLICTS: [string, string][] = [
  ["browser", "device-code"],
  ["service-principal", "device-code"],
  ["service-principal", "browser"],
  ["client-secret-stdin", "certificate"],
  ["client-secret-stdin", "certificate-password-stdin"],
  ["authority", "tenant"],
  ["app", "username"],
  ["service-principal", "username"],
];

/** Options that mean something only with another one. */
const REQUIRES: [string, string[]][] = [
  ["client-secret-stdin", ["service-principal", "app"]],
  ["certificate", ["service-principal", "app"]],
  ["certificate-password-stdin", ["certificate"]],
  ["use-cert-sn-issuer", ["certificate"]],
];

const flag = (name: string) => `--${name}`;

function optionLine(name: string): string {
  const spec = OPTIONS[name] as OptionSpec;
  const left = `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.arg ? ` ${spec.arg}` : ""}`;
  return `  ${left.padEnd(32)} ${spec.help}`;
}

/** "Options:" and one line per option the command takes. */
export function optionsHelp(command: string): string {
  return `Options:\n${(COMMAND_OPTIONS[command] ?? []).map(optionLine).join("\n")}\n`;
}

/** Why a command line cannot run: the message, a hint, and exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function unknownOptionHint(command: string, name: string): string {
  const own = COMMAND_OPTIONS[command] ?? [];
  const guess = closest(name, own);
  const elsewhere = Object.keys(COMMAND_OPTIONS).find(
    (c) => c !== command && COMMAND_OPTIONS[c]?.includes(name),
  );
  const more = `run \`msal-ts ${command} --help\` for the options.`;
  if (guess) return `did you mean ${flag(guess)}? ${more[0]?.toUpperCase()}${more.slice(1)}`;
  if (elsewhere) return `${flag(name)} is an option of \`msal-ts ${elsewhere}\`; ${more}`;
  return more;
}

/**
 * Parses a command's arguments: unknown options with a "did you mean", values of the wrong kind,
 * conflicting and orphaned options all become a UsageError.
 */
export function parseCommand(command: string, args: string[]): Record<string, unknown> {
  const names = COMMAND_OPTIONS[command] ?? [];
  const options = Object.fromEntries(names.map((n) => [n, OPTIONS[n] as OptionSpec]));
  const loose = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  for (const token of loose.tokens ?? []) {
    if (token.kind === "positional")
      throw new UsageError(
        `unexpected argument "${token.value}".`,
        `\`msal-ts ${command}\` takes only options; run \`msal-ts ${command} --help\`.`,
      );
    if (token.kind === "option" && !names.includes(token.name)) {
      const shown = token.rawName.startsWith("--") ? token.name : token.rawName;
      throw new UsageError(
        `unknown option ${token.rawName.startsWith("--") ? flag(shown) : shown}.`,
        unknownOptionHint(command, token.name),
      );
    }
  }
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message : String(error),
      `run \`msal-ts ${command} --help\` for the options.`,
    );
  }
  for (const [a, b] of CONFLICTS)
    if (values[a] !== undefined && values[b] !== undefined)
      throw new UsageError(`${flag(a)} and ${flag(b)} cannot be used together.`, `pass one of them.`);
  for (const [option, needs] of REQUIRES)
    if (
      values[option] !== undefined &&
      names.some((n) => needs.includes(n)) &&
      !needs.some((n) => values[n] !== undefined)
    )
      throw new UsageError(
        `${flag(option)} needs ${needs
          .filter((n) => names.includes(n))
          .map(flag)
          .join(" or ")}.`,
        `run \`msal-ts ${command} --help\` for the options.`,
      );
  return values;
}

export function defaultCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.MSAL_CACHE_FILE ??
    join(
      env.XDG_CACHE_HOME ?? join(homedir(), ".msal-ts"),
      env.XDG_CACHE_HOME ? "msal-ts/token-cache.json" : "token-cache.json",
    )
  );
}

export function commonOptions(
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): CommonOptions {
  const tenant = values.tenant as string | undefined;
  const authority =
    (values.authority as string | undefined) ??
    (tenant ? `https://login.microsoftonline.com/${tenant}` : undefined) ??
    env.MSAL_AUTHORITY ??
    "https://login.microsoftonline.com/organizations";
  return {
    clientId: (values["client-id"] as string | undefined) || env.MSAL_CLIENT_ID || undefined,
    authority,
    scopes: values.scope as string[] | undefined,
    cacheFile: (values["cache-file"] as string | undefined) ?? defaultCacheFile(env),
    plainCacheFile: values["cache-file"] !== undefined || env.MSAL_CACHE_FILE !== undefined,
    caFile: values.ca as string | undefined,
    json: Boolean(values.json),
    verbose: Boolean(values.verbose),
    username: values.username as string | undefined,
  };
}
