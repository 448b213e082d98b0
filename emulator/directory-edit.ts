/**
 * Checking and changing the emulator's directory: a caller's directory added to the seeded one (or
 * replacing it), and apps and users registered while it runs (`POST /_emulator/apps`,
 * `POST /_emulator/users`). Every problem is reported at once, each naming the entry and the fix,
 * so that a tool's author can correct a file in one go.
 */
import { X509Certificate } from "node:crypto";
import {
  type App,
  type AppKind,
  type Directory,
  federatedCredentialProblems,
  isConfidential,
  type Tenant,
  type User,
  type UserKind,
} from "./directory.js";

/** A directory, app or user that cannot be used; `problems` lists each mistake and its fix. */
export class DirectoryError extends Error {
  /** Each problem, naming the entry and what to change. */
  readonly problems: string[];
  constructor(what: string, problems: string[]) {
    super(`${what} is not usable: ${problems.join("; ")}.`);
    this.name = "DirectoryError";
    this.problems = problems;
  }
}

/**
 * How a caller's directory meets the seeded one: `add` (the default) keeps the seeded tenants, users
 * and apps and adds the caller's, an entry with the id, username or client id of a seeded one
 * replacing it; `replace` uses only the caller's.
 */
export type DirectoryMode = "add" | "replace";

const USER_KINDS: UserKind[] = ["managed", "mfa", "federated"];
const APP_KINDS: AppKind[] = ["public", "confidential", "daemon", "middle-tier", "foci"];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === "string");
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function tenantNames(t: Tenant): string[] {
  return [t.id, t.domain, ...(t.domains ?? []), ...(t.federatedDomains ?? [])];
}

function tenantFor(tenants: Tenant[], ref: string): Tenant | undefined {
  return tenants.find((t) => tenantNames(t).some((name) => same(name, ref)));
}

function tenantProblems(t: unknown, where: string, others: Tenant[]): string[] {
  if (!isObject(t) || typeof t.id !== "string" || typeof t.domain !== "string" || !t.id || !t.domain)
    return [`${where} needs string "id" and "domain"`];
  const problems: string[] = [];
  for (const field of ["domains", "federatedDomains"] as const)
    if (t[field] !== undefined && !isStringArray(t[field]))
      problems.push(`${where} (${t.domain}): "${field}" must be an array of domain names`);
  const clash = others.find(
    (o) => !same(o.id, t.id as string) && tenantNames(o).some((name) => same(name, t.domain as string)),
  );
  if (clash)
    problems.push(
      `${where} (${t.id}) has domain "${t.domain}" of tenant ${clash.id}; give it another domain, or that tenant's id to replace it`,
    );
  return problems;
}

/** The tenant a user belongs to: the one named, else the one owning the username's domain. */
function userTenant(u: Record<string, unknown>, tenants: Tenant[]): Tenant | undefined {
  if (typeof u.tenant === "string") return tenantFor(tenants, u.tenant);
  const domain = String(u.username).split("@")[1];
  return domain ? tenantFor(tenants, domain) : undefined;
}

function userProblems(u: unknown, where: string, tenants: Tenant[]): string[] {
  if (!isObject(u) || typeof u.username !== "string" || typeof u.password !== "string" || !u.username)
    return [`${where} needs string "username" and "password"`];
  const at = `${where} (${u.username})`;
  if (u.tenant !== undefined && typeof u.tenant !== "string") return [`${at}: "tenant" must be a string`];
  if (!userTenant(u, tenants))
    return [
      u.tenant === undefined
        ? `${at} has no "tenant" and no tenant owns its domain; name a tenant's id or domain`
        : `${at} names unknown tenant "${u.tenant}"`,
    ];
  if (u.kind !== undefined && !USER_KINDS.includes(u.kind as UserKind))
    return [`${at} has kind "${u.kind}"; use managed, mfa or federated`];
  for (const field of ["oid", "name"] as const)
    if (u[field] !== undefined && typeof u[field] !== "string") return [`${at}: "${field}" must be a string`];
  return [];
}

function certificateProblem(c: unknown, at: string): string | undefined {
  if (!isObject(c) || typeof c.certificate !== "string")
    return `${at}: "certificate" must be {"certificate": "<PEM>", "privateKey"?: "<PEM>"}`;
  try {
    new X509Certificate(c.certificate);
  } catch {
    return `${at}: "certificate.certificate" is not a PEM certificate`;
  }
  if (c.privateKey !== undefined && typeof c.privateKey !== "string")
    return `${at}: "certificate.privateKey" must be a PEM string`;
  return undefined;
}

function appProblems(a: unknown, where: string, tenants: Tenant[]): string[] {
  if (!isObject(a) || typeof a.clientId !== "string" || !a.clientId)
    return [`${where} needs a string "clientId"`];
  const at = `${where} (${a.clientId})`;
  if (!APP_KINDS.includes(a.kind as AppKind))
    return [`${at} has kind "${a.kind}"; use public, confidential, daemon, middle-tier or foci`];
  const problems: string[] = [];
  if (a.tenant !== undefined && (typeof a.tenant !== "string" || !tenantFor(tenants, a.tenant)))
    problems.push(`${at} names unknown tenant "${a.tenant}"`);
  for (const field of ["displayName", "secret", "trustedCertificateSubject", "familyId"] as const)
    if (a[field] !== undefined && typeof a[field] !== "string")
      problems.push(`${at}: "${field}" must be a string`);
  for (const field of ["redirectUris", "scopes"] as const)
    if (a[field] !== undefined && !isStringArray(a[field]))
      problems.push(`${at}: "${field}" must be an array of strings`);
  for (const uri of isStringArray(a.redirectUris) ? a.redirectUris : [])
    if (!URL.canParse(uri)) problems.push(`${at} has redirect URI "${uri}", which is not an absolute URL`);
  if (a.certificate !== undefined) {
    const problem = certificateProblem(a.certificate, at);
    if (problem) problems.push(problem);
  }
  if (a.kind === "foci" && typeof a.familyId !== "string")
    problems.push(`${at} is foci but has no "familyId" (e.g. "1")`);
  if (
    isConfidential(a as unknown as App) &&
    !a.secret &&
    !a.certificate &&
    !a.trustedCertificateSubject &&
    !(Array.isArray(a.federatedCredentials) && a.federatedCredentials.length > 0)
  )
    // The wording is what tests and users match on; federatedCredentials also count (see App).
    problems.push(`${at} is ${a.kind} but has no secret or certificate`);
  problems.push(...federatedCredentialProblems(a.federatedCredentials, at));
  return problems;
}

/** The app as the directory keeps it: home tenant filled in, certificate thumbprints computed. */
function normalizedApp(a: App, tenants: Tenant[]): App {
  const app: App = { ...a, tenant: tenantFor(tenants, a.tenant ?? "")?.id ?? (tenants[0] as Tenant).id };
  if (a.certificate) {
    const cert = new X509Certificate(a.certificate.certificate);
    const hex = (fingerprint: string) => fingerprint.replace(/:/g, "");
    app.certificate = {
      privateKey: a.certificate.privateKey ?? "",
      certificate: a.certificate.certificate,
      thumbprint: hex(cert.fingerprint),
      thumbprintSha256: hex(cert.fingerprint256),
    };
  }
  return app;
}

/** Puts `entry` in place of the one `matches` finds, or at the end. */
function upsert<T>(list: T[], entry: T, matches: (existing: T) => boolean): void {
  const at = list.findIndex(matches);
  if (at >= 0) list[at] = entry;
  else list.push(entry);
}

/**
 * The directory the emulator starts with: `input` (checked) added to `seed`, or replacing it.
 * Throws a {@link DirectoryError} listing every problem.
 */
export function buildDirectory(seed: Directory, input: unknown, mode: DirectoryMode): Directory {
  if (!isObject(input))
    throw new DirectoryError("The emulator directory", [
      "the directory must be a JSON object with tenants, users and apps",
    ]);
  const problems: string[] = [];
  for (const section of ["tenants", "users", "apps"] as const) {
    const value = input[section];
    if (value === undefined ? mode === "replace" : !Array.isArray(value))
      problems.push(`"${section}" must be an array`);
  }
  if (problems.length > 0) throw new DirectoryError("The emulator directory", problems);
  const section = (name: "tenants" | "users" | "apps") => (input[name] ?? []) as unknown[];
  const dir: Directory =
    mode === "add"
      ? { tenants: [...seed.tenants], users: [...seed.users], apps: [...seed.apps] }
      : { tenants: [], users: [], apps: [] };
  section("tenants").forEach((t, i) => {
    const found = tenantProblems(t, `tenants[${i}]`, dir.tenants);
    problems.push(...found);
    if (found.length === 0) upsert(dir.tenants, t as Tenant, (o) => same(o.id, (t as Tenant).id));
  });
  section("users").forEach((u, i) => {
    const found = userProblems(u, `users[${i}]`, dir.tenants);
    problems.push(...found);
    if (found.length === 0) putUser(dir, u as User);
  });
  section("apps").forEach((a, i) => {
    const found = appProblems(a, `apps[${i}]`, dir.tenants);
    problems.push(...found);
    if (found.length === 0) putApp(dir, a as App);
  });
  if (dir.tenants.length === 0) problems.push('"tenants" must name at least one tenant');
  if (problems.length > 0) throw new DirectoryError("The emulator directory", problems);
  return dir;
}

function putUser(dir: Directory, u: User): User {
  const tenant = userTenant(u as unknown as Record<string, unknown>, dir.tenants) as Tenant;
  const user: User = { ...u, tenant: tenant.id, kind: u.kind ?? "managed" };
  upsert(dir.users, user, (o) => same(o.username, user.username));
  return user;
}

function putApp(dir: Directory, a: App): App {
  const app = normalizedApp(a, dir.tenants);
  upsert(dir.apps, app, (o) => o.clientId === app.clientId);
  return app;
}

/**
 * Registers an app in a running emulator's directory, or replaces the registration with its client
 * id; `tenant` defaults to the directory's first tenant. Throws a {@link DirectoryError}.
 */
export function registerApp(dir: Directory, input: unknown): App {
  const problems = appProblems(input, "The app", dir.tenants);
  if (problems.length > 0) throw new DirectoryError("The app registration", problems);
  return putApp(dir, input as App);
}

/**
 * Adds a user to a running emulator's directory, or replaces the user of that username; `tenant`
 * defaults to the tenant owning the username's domain, `kind` to `managed`. Throws a
 * {@link DirectoryError}.
 */
export function registerUser(dir: Directory, input: unknown): User {
  const problems = userProblems(input, "The user", dir.tenants);
  if (problems.length > 0) throw new DirectoryError("The user", problems);
  return putUser(dir, input as User);
}
