/**
 * Options every command shares, from flags or the environment: which app, which authority, which
 * scopes, where the cache lives, and how much to say.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export interface CommonOptions {
  clientId: string | undefined;
  authority: string;
  scopes: string[];
  cacheFile: string;
  json: boolean;
  verbose: boolean;
  username: string | undefined;
}

export const COMMON_HELP = `Options:
  --client-id ID       application (client) id (env MSAL_CLIENT_ID)
  --authority URL      authority, e.g. https://login.microsoftonline.com/contoso.com (env MSAL_AUTHORITY)
  --tenant TENANT      tenant id or domain on login.microsoftonline.com, instead of --authority
  --scope SCOPE        a scope to ask for; repeat for more (default: User.Read)
  --username NAME      which signed-in account to use
  --cache-file PATH    token cache file (env MSAL_CACHE_FILE; default ~/.msal-ts/token-cache.json)
  --json               machine-readable output
  --verbose            show the HTTP exchange (secrets redacted)
  -h, --help           show help for the command`;

export const COMMON_FLAGS = {
  "client-id": { type: "string" },
  authority: { type: "string" },
  tenant: { type: "string" },
  scope: { type: "string", multiple: true },
  username: { type: "string" },
  "cache-file": { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

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
    clientId: (values["client-id"] as string | undefined) ?? env.MSAL_CLIENT_ID,
    authority,
    scopes: (values.scope as string[] | undefined) ?? ["User.Read"],
    cacheFile: (values["cache-file"] as string | undefined) ?? defaultCacheFile(env),
    json: Boolean(values.json),
    verbose: Boolean(values.verbose),
    username: values.username as string | undefined,
  };
}
