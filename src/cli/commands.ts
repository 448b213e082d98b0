/** The commands that sign in, get tokens and manage the cache: login, token, accounts, logout, cache. */
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Account, PublicClientApplication, TokenResult } from "../node/index.js";
import { createApp } from "./app.js";
import { COMMON_FLAGS, COMMON_HELP, type CommonOptions, commonOptions } from "./options.js";
import { bold, fail, green, type Terminal, withSpinner } from "./terminal.js";

export const COMMAND_HELP: Record<string, string> = {
  login: `Usage: msal-ts login [--device-code | --browser] [options]\n\nSigns a user in and keeps the tokens in the cache file. By default the browser opens when a display is\navailable; otherwise a device code is shown.\n\n  --device-code        sign in with a code entered on another device\n  --browser            sign in in this machine's browser\n${COMMON_HELP}\n`,
  token: `Usage: msal-ts token [options]\n\nPrints an access token for the signed-in account, from the cache or refreshed silently.\nExit code 0 only when a token was printed.\n\n${COMMON_HELP}\n`,
  accounts: `Usage: msal-ts accounts [options]\n\nLists the accounts signed in through this cache.\n\n${COMMON_HELP}\n`,
  logout: `Usage: msal-ts logout [--username NAME] [options]\n\nSigns accounts out: removes their tokens from the cache (all accounts without --username).\n\n${COMMON_HELP}\n`,
  cache: `Usage: msal-ts cache [options]\n\nShows where the token cache is and what it holds (never the tokens themselves).\n\n${COMMON_HELP}\n`,
};

type Handler = (
  options: CommonOptions & { clientId: string },
  flags: Record<string, unknown>,
  t: Terminal,
) => Promise<number>;

function needsClientId(options: CommonOptions, t: Terminal): options is CommonOptions & { clientId: string } {
  if (options.clientId) return true;
  fail(
    t,
    "no application (client) id.",
    "pass --client-id or set MSAL_CLIENT_ID to your app registration's id.",
    2,
  );
  return false;
}

function displayAvailable(): boolean {
  if (process.platform === "darwin" || process.platform === "win32") return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

function describeFailure(t: Terminal, result: TokenResult & { error: string }): number {
  const description = String(result.error_description ?? "").split(" Trace ID")[0];
  const hint =
    result.error === "interaction_required" || result.requires_interaction
      ? "run `msal-ts login` to sign in again."
      : undefined;
  return fail(t, `${result.error}: ${description}`, hint);
}

async function chooseAccount(
  app: PublicClientApplication,
  username: string | undefined,
): Promise<Account | undefined> {
  const accounts = await app.getAccounts(username ? { username } : {});
  return accounts[0];
}

const login: Handler = async (options, flags, t) => {
  const app = createApp(options, t);
  const useDeviceCode = Boolean(flags["device-code"]) || (!flags.browser && !displayAvailable());
  let result: TokenResult;
  if (useDeviceCode) {
    const flow = await app.initiateDeviceFlow(options.scopes);
    if ("error" in flow) return describeFailure(t, flow as TokenResult & { error: string });
    t.err.write(`${bold(t, flow.message)}\n`);
    result = await withSpinner(
      t,
      "Waiting for you to sign in on the other device...",
      app.acquireTokenByDeviceFlow(flow),
    );
  } else {
    result = await withSpinner(
      t,
      "Waiting for you to sign in in the browser...",
      app.acquireTokenInteractive(options.scopes, { timeout: 300_000 }),
    );
  }
  if ("error" in result) return describeFailure(t, result as TokenResult & { error: string });
  const username =
    (result.id_token_claims as { preferred_username?: string } | undefined)?.preferred_username ?? "the user";
  if (options.json) t.out.write(`${JSON.stringify({ signedIn: username, scope: result.scope })}\n`);
  else t.err.write(`${green(t, "Signed in")} as ${username}.\n`);
  return 0;
};

const token: Handler = async (options, _flags, t) => {
  const app = createApp(options, t);
  const account = await chooseAccount(app, options.username);
  if (!account)
    return fail(
      t,
      options.username ? `no signed-in account ${options.username}.` : "no account is signed in.",
      "run `msal-ts login` first.",
      3,
    );
  const result = await app.acquireTokenSilentWithError(options.scopes, account);
  if (!result)
    return fail(
      t,
      `no token for ${account.username} could be had without signing in.`,
      "run `msal-ts login`.",
      3,
    );
  if ("error" in result) return describeFailure(t, result as TokenResult & { error: string });
  if (options.json) {
    const { access_token, token_type, expires_in, token_source, scope } = result;
    t.out.write(
      `${JSON.stringify({ access_token, token_type, expires_in, token_source, scope, username: account.username })}\n`,
    );
  } else {
    t.out.write(`${result.access_token}\n`);
  }
  return 0;
};

const accounts: Handler = async (options, _flags, t) => {
  const list = await createApp(options, t).getAccounts(
    options.username ? { username: options.username } : {},
  );
  if (options.json)
    t.out.write(
      `${JSON.stringify(list.map(({ username, home_account_id, environment }) => ({ username, home_account_id, environment })))}\n`,
    );
  else if (list.length === 0) t.err.write("No accounts are signed in.\n");
  else for (const a of list) t.out.write(`${a.username}\t${a.home_account_id}\n`);
  return 0;
};

const logout: Handler = async (options, _flags, t) => {
  const app = createApp(options, t);
  const list = await app.getAccounts(options.username ? { username: options.username } : {});
  if (list.length === 0)
    return fail(
      t,
      options.username ? `no signed-in account ${options.username}.` : "no account is signed in.",
      undefined,
      3,
    );
  for (const account of list) await app.removeAccount(account);
  t.err.write(`Signed out ${list.map((a) => a.username).join(", ")}.\n`);
  return 0;
};

/** Reads the cache file directly: what it holds, without any secret. */
/** An expiry as ISO 8601, or as written when it is no time a Date can hold (the cache keeps what it loaded). */
function isoTime(seconds: unknown): string {
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

const cache = async (options: CommonOptions, t: Terminal): Promise<number> => {
  const exists = existsSync(options.cacheFile);
  const data = exists
    ? (JSON.parse(readFileSync(options.cacheFile, "utf8") || "{}") as Record<
        string,
        Record<string, Record<string, unknown>>
      >)
    : {};
  const count = (section: string) => Object.keys(data[section] ?? {}).length;
  const summary = {
    file: options.cacheFile,
    exists,
    accounts: Object.values(data.Account ?? {}).map((a) => ({
      username: a.username,
      environment: a.environment,
      realm: a.realm,
    })),
    accessTokens: Object.values(data.AccessToken ?? {}).map((at) => ({
      client_id: at.client_id,
      scopes: at.target,
      realm: at.realm,
      expires_on: isoTime(at.expires_on),
    })),
    counts: {
      AccessToken: count("AccessToken"),
      RefreshToken: count("RefreshToken"),
      IdToken: count("IdToken"),
      Account: count("Account"),
      AppMetadata: count("AppMetadata"),
    },
  };
  if (options.json) {
    t.out.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  t.out.write(`Cache file: ${summary.file}${exists ? "" : " (not created yet)"}\n`);
  t.out.write(
    `Entries: ${Object.entries(summary.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ")}\n`,
  );
  for (const a of summary.accounts) t.out.write(`Account: ${a.username} (${a.environment}, ${a.realm})\n`);
  for (const at of summary.accessTokens)
    t.out.write(`Access token: ${at.scopes} for ${at.client_id}, expires ${at.expires_on}\n`);
  return 0;
};

const HANDLERS: Record<string, Handler> = { login, token, accounts, logout };
const OWN_FLAGS: Record<string, Record<string, { type: "boolean" | "string" }>> = {
  login: { "device-code": { type: "boolean" }, browser: { type: "boolean" } },
};

export async function runCommand(name: string, argv: string[], t: Terminal): Promise<number> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { ...COMMON_FLAGS, ...OWN_FLAGS[name] },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return fail(
      t,
      error instanceof Error ? error.message : String(error),
      `run \`msal-ts ${name} --help\` for the options.`,
      2,
    );
  }
  if (values.help) {
    t.out.write(COMMAND_HELP[name] ?? "");
    return 0;
  }
  const options = commonOptions(values);
  if (name === "cache") return cache(options, t);
  const handler = HANDLERS[name];
  if (!handler || !needsClientId(options, t)) return 2;
  return handler(options, values, t);
}
