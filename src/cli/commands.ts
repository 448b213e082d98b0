/** The commands that sign in, get tokens and manage the cache: login, token, accounts, logout, cache. */
import { existsSync, readFileSync } from "node:fs";
import { openSystemBrowser } from "../node/browser.js";
import {
  type Account,
  BrowserUnavailableError,
  PersistedTokenCache,
  type PublicClientApplication,
  type SecurePersistence,
  type TokenResult,
  withCacheAccess,
} from "../node/index.js";
import { createApp } from "./app.js";
import { appToken, DEFAULT_APP_SCOPE, loginServicePrincipal, logoutServicePrincipal } from "./app-only.js";
import { cachePersistence } from "./cache-store.js";
import { type CommonOptions, commonOptions, optionsHelp, parseCommand } from "./options.js";
import { bold, fail, green, type Terminal, withSpinner } from "./terminal.js";

const USER_SCOPE = "User.Read";

const USAGE: Record<string, string> = {
  login: `Usage: msal-ts login [--device-code | --browser] [options]
       msal-ts login --service-principal --client-id ID --tenant TENANT (--client-secret-stdin | --certificate FILE)

Signs a user in and keeps the tokens in the cache (the OS keyring, or --cache-file). By default the browser opens when a display is
available; otherwise a device code is shown. With --service-principal the app itself signs in (client
credentials) and its token (default scope ${DEFAULT_APP_SCOPE}) joins the same cache; the secret is read
from stdin, never from the command line, and is neither printed nor stored.
`,
  token: `Usage: msal-ts token [--scope SCOPE]... [options]
       msal-ts token --app --client-id ID --tenant TENANT [--scope RESOURCE/.default] [--client-secret-stdin | --certificate FILE]

Prints an access token for the signed-in account (default scope ${USER_SCOPE}), from the cache or refreshed
silently. With --app, the app's own token (default scope ${DEFAULT_APP_SCOPE}): from the cache, or with
a credential from the identity provider. Exit code 0 only when a token was printed; 3 when signing in
is needed.
`,
  accounts: "Usage: msal-ts accounts [options]\n\nLists the accounts signed in through this cache.\n",
  logout: `Usage: msal-ts logout [--username NAME] [options]
       msal-ts logout --service-principal --client-id ID

Signs accounts out: removes their tokens from the cache (all accounts without --username). With
--service-principal, removes the app's own tokens.
`,
  cache:
    "Usage: msal-ts cache [options]\n\nShows where the token cache is and what it holds (never the tokens themselves).\n",
};

/** A command's help: its usage and only the options it takes. */
export function commandHelp(name: string): string | undefined {
  const usage = USAGE[name];
  return usage === undefined ? undefined : `${usage}\n${optionsHelp(name)}`;
}

export const COMMANDS = Object.keys(USAGE);

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

function describeFailure(
  t: Terminal,
  result: { error: string; error_description?: string; requires_interaction?: unknown },
): number {
  const description = String(result.error_description ?? "").split(" Trace ID")[0];
  const hint =
    result.error === "interaction_required" || result.requires_interaction
      ? "run `msal-ts login` to sign in again."
      : undefined;
  return fail(t, `${result.error}: ${description}`, hint);
}

/** An account as the JSON output shows it: the cache's wire names. */
function accountJson(a: Account) {
  const { home_account_id, environment, realm, local_account_id, username } = a;
  return { username, home_account_id, local_account_id, environment, realm };
}

async function chooseAccount(
  app: PublicClientApplication,
  username: string | undefined,
): Promise<Account | undefined> {
  const accounts = await app.getAccounts(username ? { username } : {});
  return accounts[0];
}

/** The browser sign-in; the spinner starts once the browser has opened, so a failure to open reads alone. */
async function signInInteractively(
  app: PublicClientApplication,
  scopes: string[],
  t: Terminal,
): Promise<TokenResult | number> {
  let opened = (): void => undefined;
  const browserOpened = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const signIn = app.acquireTokenInteractive(scopes, {
    timeout: 300_000,
    openBrowser: async (url) => {
      await openSystemBrowser(url);
      opened();
    },
  });
  try {
    await Promise.race([browserOpened, signIn]);
    return await withSpinner(t, "Waiting for you to sign in in the browser...", signIn);
  } catch (error) {
    if (!(error instanceof BrowserUnavailableError)) throw error;
    const reason = /Cannot open a browser: ([^.]*)/.exec(error.message)?.[1] ?? error.message;
    return fail(
      t,
      `cannot open a browser: ${reason}.`,
      "run `msal-ts login --device-code` to sign in with a code on another device.",
    );
  }
}

const login: Handler = async (options, flags, t) => {
  if (flags["service-principal"]) return loginServicePrincipal(options, flags, t);
  const app = createApp(options, t);
  const scopes = options.scopes ?? [USER_SCOPE];
  const useDeviceCode = Boolean(flags["device-code"]) || (!flags.browser && !displayAvailable());
  let result: TokenResult;
  if (useDeviceCode) {
    const flow = await app.initiateDeviceFlow(scopes);
    if (flow.error) return describeFailure(t, flow);
    t.err.write(`${bold(t, flow.message)}\n`);
    result = await withSpinner(
      t,
      "Waiting for you to sign in on the other device...",
      app.acquireTokenByDeviceFlow(flow),
    );
  } else {
    const outcome = await signInInteractively(app, scopes, t);
    if (typeof outcome === "number") return outcome;
    result = outcome;
  }
  if (result.error) return describeFailure(t, result);
  const { account } = result;
  const username = account?.username ?? result.id_token_claims?.preferred_username ?? "the user";
  if (options.json) {
    const { token_type, expires_in, scope } = result;
    t.out.write(
      `${JSON.stringify({ ...(account ? accountJson(account) : { username }), token_type, expires_in, scope })}\n`,
    );
  } else t.err.write(`${green(t, "Signed in")} as ${username}.\n`);
  return 0;
};

const token: Handler = async (options, flags, t) => {
  if (flags.app) return appToken(options, flags, t);
  const app = createApp(options, t);
  const account = await chooseAccount(app, options.username);
  if (!account)
    return fail(
      t,
      options.username ? `no signed-in account ${options.username}.` : "no account is signed in.",
      "run `msal-ts login` first.",
      3,
    );
  const result = await app.acquireTokenSilentWithError(options.scopes ?? [USER_SCOPE], account);
  if (!result)
    return fail(
      t,
      `no token for ${account.username} could be had without signing in.`,
      "run `msal-ts login`.",
      3,
    );
  if (result.error) return describeFailure(t, result);
  if (options.json) {
    const { access_token, token_type, expires_in, token_source, scope } = result;
    t.out.write(
      `${JSON.stringify({ access_token, token_type, expires_in, token_source, scope, username: account.username, home_account_id: account.home_account_id })}\n`,
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
  if (options.json) t.out.write(`${JSON.stringify(list.map(accountJson))}\n`);
  else if (list.length === 0) t.err.write("No accounts are signed in.\n");
  else for (const a of list) t.out.write(`${a.username}\t${a.home_account_id}\n`);
  return 0;
};

const logout: Handler = async (options, flags, t) => {
  if (flags["service-principal"]) return logoutServicePrincipal(options, t);
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
  if (options.json) t.out.write(`${JSON.stringify({ removed: list.map(accountJson) })}\n`);
  else t.err.write(`Signed out ${list.map((a) => a.username).join(", ")}.\n`);
  return 0;
};

/** An expiry as ISO 8601, or as written when it is no time a Date can hold (the cache keeps what it loaded). */
function isoTime(seconds: unknown): string {
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

type CacheData = Record<string, Record<string, Record<string, unknown>>>;

/**
 * What the cache holds: a chosen plain file is read directly (never moved or locked by a look);
 * the keyring (or encrypted file) through its persistence, the only way to read it.
 */
async function readCache(
  options: CommonOptions,
  t: Terminal,
): Promise<{ data: CacheData; exists: boolean; persistence: SecurePersistence }> {
  const persistence = await cachePersistence(options, t);
  if (persistence.kind === "plaintext-file") {
    const exists = existsSync(options.cacheFile);
    const data = exists ? (JSON.parse(readFileSync(options.cacheFile, "utf8") || "{}") as CacheData) : {};
    return { data, exists, persistence };
  }
  const cache = new PersistedTokenCache(persistence);
  await withCacheAccess(cache, undefined, () => {});
  const data = JSON.parse(cache.serialize()) as CacheData;
  return { data, exists: Object.keys(data).length > 0, persistence };
}

/** Shows where the cache lives and what it holds, without any secret. */
const cache = async (options: CommonOptions, t: Terminal): Promise<number> => {
  const { data, exists, persistence } = await readCache(options, t);
  const count = (section: string) => Object.keys(data[section] ?? {}).length;
  const summary = {
    file: persistence.kind === "keyring" ? null : options.cacheFile,
    storage: persistence.kind,
    location: persistence.location,
    exists,
    accounts: Object.values(data.Account ?? {}).map((a) => ({
      username: a.username,
      home_account_id: a.home_account_id,
      environment: a.environment,
      realm: a.realm,
    })),
    access_tokens: Object.values(data.AccessToken ?? {}).map((at) => ({
      client_id: at.client_id,
      home_account_id: at.home_account_id || null,
      target: at.target,
      realm: at.realm,
      expires_on: isoTime(at.expires_on),
    })),
    counts: {
      access_tokens: count("AccessToken"),
      refresh_tokens: count("RefreshToken"),
      id_tokens: count("IdToken"),
      accounts: count("Account"),
      app_metadata: count("AppMetadata"),
    },
  };
  if (options.json) {
    t.out.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  if (persistence.kind === "plaintext-file")
    t.out.write(`Cache file: ${options.cacheFile}${exists ? "" : " (not created yet)"}\n`);
  else t.out.write(`Cache: ${persistence.location}${exists ? "" : " (empty)"}\n`);
  const { counts } = summary;
  t.out.write(
    `Entries: ${counts.access_tokens} AccessToken, ${counts.refresh_tokens} RefreshToken, ${counts.id_tokens} IdToken, ${counts.accounts} Account, ${counts.app_metadata} AppMetadata\n`,
  );
  for (const a of summary.accounts) t.out.write(`Account: ${a.username} (${a.environment}, ${a.realm})\n`);
  for (const at of summary.access_tokens)
    t.out.write(
      `Access token: ${at.target} for ${at.client_id}${at.home_account_id ? "" : " (app)"}, expires ${at.expires_on}\n`,
    );
  return 0;
};

const HANDLERS: Record<string, Handler> = { login, token, accounts, logout };

/** Runs a command; a UsageError from the arguments reaches the caller, which exits with 2. */
export async function runCommand(name: string, argv: string[], t: Terminal): Promise<number> {
  const values = parseCommand(name, argv);
  if (values.help) {
    t.out.write(commandHelp(name) ?? "");
    return 0;
  }
  const options = commonOptions(values);
  if (name === "cache") return cache(options, t);
  const handler = HANDLERS[name];
  if (!handler || !needsClientId(options, t)) return 2;
  return handler(options, values, t);
}
