/**
 * Hosts that are one authority under several names. Tokens cached under any name of a group serve
 * requests made under another, as Entra's instance discovery metadata says
 * (`/common/discovery/instance`, api-version 1.1). These are Microsoft's published groups; more can be
 * learned at run time (see `registerAliasGroup`).
 */

const KNOWN_GROUPS: readonly (readonly string[])[] = [
  ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
  ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
  ["login.microsoftonline.de"],
  ["login.microsoftonline.us", "login.usgovcloudapi.net"],
  ["login-us.microsoftonline.com"],
];

/** The canonical name (the group's first host) of each known host. */
const canonicalByHost = new Map<string, string>();
const groupByCanonical = new Map<string, readonly string[]>();
let version = 0;

/** Grows whenever a group is registered, so indexes keyed by canonical names know to rebuild. */
export function aliasGroupsVersion(): number {
  return version;
}

/**
 * Makes hosts one authority for the cache, as instance discovery metadata does (see {@link
 * environmentAliases}): tokens cached under any of them serve requests made under another. Groups that share
 * a host merge.
 */
export function registerAliasGroup(aliases: readonly string[]): void {
  const hosts = aliases.map((a) => a.toLowerCase());
  const canonical = hosts.map((h) => canonicalByHost.get(h)).find((c) => c !== undefined) ?? hosts[0];
  if (canonical === undefined) return;
  const group = [...new Set([...(groupByCanonical.get(canonical) ?? [canonical]), ...hosts])];
  if (group.every((h) => canonicalByHost.get(h) === canonical)) return;
  groupByCanonical.set(canonical, group);
  for (const host of group) canonicalByHost.set(host, canonical);
  version++;
}

for (const group of KNOWN_GROUPS) registerAliasGroup(group);

/** The name that stands for a host's whole alias group; an unknown host stands for itself. */
export function canonicalEnvironment(host: string): string {
  const lower = host.toLowerCase();
  return canonicalByHost.get(lower) ?? lower;
}

/** Every name of a host's group, the host itself included. */
export function environmentAliases(host: string): readonly string[] {
  const canonical = canonicalEnvironment(host);
  return groupByCanonical.get(canonical) ?? [canonical];
}
