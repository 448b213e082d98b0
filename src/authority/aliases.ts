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
 * a host merge. Ports are ignored, as the cache ignores them.
 */
export function registerAliasGroup(aliases: readonly string[]): void {
  const hosts = aliases.map((a) => hostWithoutPort(a.toLowerCase()));
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
  const bare = hostWithoutPort(host.toLowerCase());
  return canonicalByHost.get(bare) ?? bare;
}

/**
 * A host without its port. The cache's `environment` is a host name: MSAL Python writes the
 * authority's `hostname` (no port), msal-node its host and port. On port 443 they agree; on another
 * port (an emulator, a test server) msal-ts writes the name without the port, as MSAL Python does,
 * and reads both, so that one cache file serves either peer.
 *
 * @example
 * ```ts
 * hostWithoutPort("localhost:8443"); // "localhost"
 * hostWithoutPort("[::1]:8443"); // "[::1]"
 * ```
 */
export function hostWithoutPort(host: string): string {
  const colon = host.lastIndexOf(":");
  if (colon === -1) return host;
  const beforePort = host.slice(0, colon);
  // An IPv6 literal has colons of its own: its port comes after the closing bracket.
  if (beforePort.includes(":") && !beforePort.endsWith("]")) return host;
  return /^[0-9]+$/.test(host.slice(colon + 1)) ? beforePort : host;
}

/** Every name of a host's group, the host itself included. */
export function environmentAliases(host: string): readonly string[] {
  const canonical = canonicalEnvironment(host);
  return groupByCanonical.get(canonical) ?? [canonical];
}
