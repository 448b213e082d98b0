/**
 * The emulator's directory: tenants, users and app registrations.
 *
 * A seeded directory is built at start (see {@link seedDirectory}); callers may replace it with their
 * own, as an object or as a JSON file of the same shape ({@link DirectoryInput}). Secrets and
 * passwords are plain text on purpose: this is a test identity provider.
 */

export interface Tenant {
  /** Tenant id (a GUID), the `tid` claim. */
  id: string;
  /** Primary verified domain, e.g. `contoso.onmicrosoft.com`. */
  domain: string;
  /** Other domains of this tenant; federated domains are listed in {@link Tenant.federatedDomains}. */
  domains?: string[];
  /** Domains whose users sign in at the emulator's federated STS (WS-Trust). */
  federatedDomains?: string[];
  /** Display name. */
  name?: string;
}

export type UserKind = "managed" | "mfa" | "federated";

export interface User {
  username: string;
  password: string;
  /** Tenant id or domain. */
  tenant: string;
  kind: UserKind;
  /** Object id; generated from the username when absent. */
  oid?: string;
  name?: string;
}

export type AppKind = "public" | "confidential" | "daemon" | "middle-tier" | "foci";

export interface AppCertificate {
  /** PEM private key (PKCS#8). */
  privateKey: string;
  /** PEM certificate. */
  certificate: string;
  /** SHA-1 thumbprint of the certificate, upper-case hex (what the Entra portal shows). */
  thumbprint: string;
  /** SHA-256 thumbprint, upper-case hex. */
  thumbprintSha256?: string;
}

export interface App {
  clientId: string;
  kind: AppKind;
  /** Home tenant (id or domain). Apps are multi-tenant: any emulator tenant accepts them. */
  tenant: string;
  displayName?: string;
  secret?: string;
  certificate?: AppCertificate;
  /**
   * Subject name (e.g. `CN=daemon.contoso.test`) trusted when an assertion carries the certificate
   * chain in `x5c` and the chain ends at the emulator's CA: subject-name/issuer (SNI) authentication.
   */
  trustedCertificateSubject?: string;
  redirectUris?: string[];
  /** Delegated scopes this app exposes as an API, e.g. `api://<id>/access_as_user`. */
  scopes?: string[];
  /** FOCI family id; family apps share refresh tokens. */
  familyId?: string;
}

export interface Directory {
  tenants: Tenant[];
  users: User[];
  apps: App[];
}

/** What a caller may pass: the same shape, with optional fields left out. */
export type DirectoryInput = Directory;

export const CONTOSO_TENANT_ID = "8c9d7f3a-1b2e-4c5d-9e6f-0a1b2c3d4e5f";
export const FABRIKAM_TENANT_ID = "2f4e6d8c-3a5b-4c7d-8e9f-1a2b3c4d5e6f";
/** The tenant id Entra uses for personal Microsoft accounts (the `consumers` issuer). */
export const CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

export const PUBLIC_APP_ID = "11111111-1111-4111-8111-111111111111";
export const FOCI_APP_A_ID = "22222222-2222-4222-8222-222222222222";
export const FOCI_APP_B_ID = "33333333-3333-4333-8333-333333333333";
export const WEB_APP_ID = "44444444-4444-4444-8444-444444444444";
export const DAEMON_APP_ID = "55555555-5555-4555-8555-555555555555";
export const MIDDLE_TIER_APP_ID = "66666666-6666-4666-8666-666666666666";

/**
 * The seeded directory. Certificates are generated at start by the caller and passed in, so that
 * each run has fresh keys.
 */
export function seedDirectory(certificates: { web: AppCertificate; daemon: AppCertificate }): Directory {
  return {
    tenants: [
      {
        id: CONTOSO_TENANT_ID,
        domain: "contoso.onmicrosoft.com",
        domains: ["contoso.test"],
        federatedDomains: ["federated.contoso.test"],
        name: "Contoso",
      },
      { id: FABRIKAM_TENANT_ID, domain: "fabrikam.onmicrosoft.com", name: "Fabrikam" },
    ],
    users: [
      {
        username: "alice@contoso.onmicrosoft.com",
        password: "alice-P@ss1",
        tenant: CONTOSO_TENANT_ID,
        kind: "managed",
        name: "Alice Adams",
      },
      {
        username: "bob@contoso.onmicrosoft.com",
        password: "bob-P@ss1",
        tenant: CONTOSO_TENANT_ID,
        kind: "managed",
        name: "Bob Brown",
      },
      {
        username: "mfa@contoso.onmicrosoft.com",
        password: "mfa-P@ss1",
        tenant: CONTOSO_TENANT_ID,
        kind: "mfa",
        name: "Morgan Fa",
      },
      {
        username: "carol@federated.contoso.test",
        password: "carol-P@ss1",
        tenant: CONTOSO_TENANT_ID,
        kind: "federated",
        name: "Carol Fed",
      },
      {
        username: "dave@fabrikam.onmicrosoft.com",
        password: "dave-P@ss1",
        tenant: FABRIKAM_TENANT_ID,
        kind: "managed",
        name: "Dave Fab",
      },
    ],
    apps: [
      {
        clientId: PUBLIC_APP_ID,
        kind: "public",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso Desktop",
        redirectUris: ["http://localhost"],
      },
      {
        clientId: FOCI_APP_A_ID,
        kind: "foci",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso Family App A",
        redirectUris: ["http://localhost"],
        familyId: "1",
      },
      {
        clientId: FOCI_APP_B_ID,
        kind: "foci",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso Family App B",
        redirectUris: ["http://localhost"],
        familyId: "1",
      },
      {
        clientId: WEB_APP_ID,
        kind: "confidential",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso Web",
        secret: "web-app-secret-value",
        certificate: certificates.web,
        redirectUris: ["https://app.contoso.test/auth/callback", "http://localhost:3000/auth/callback"],
      },
      {
        clientId: DAEMON_APP_ID,
        kind: "daemon",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso Daemon",
        secret: "daemon-app-secret-value",
        certificate: certificates.daemon,
        trustedCertificateSubject: "CN=daemon.contoso.test",
      },
      {
        clientId: MIDDLE_TIER_APP_ID,
        kind: "middle-tier",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso API",
        secret: "middle-tier-secret-value",
        scopes: [`api://${MIDDLE_TIER_APP_ID}/access_as_user`],
      },
    ],
  };
}

/** Whether an app authenticates itself (has a secret or certificate) at the token endpoint. */
export function isConfidential(app: App): boolean {
  return app.kind === "confidential" || app.kind === "daemon" || app.kind === "middle-tier";
}

/**
 * Checks a caller-supplied directory and returns a list of problems, each naming the entry and the
 * fix. An empty list means the directory is usable.
 */
export function directoryProblems(input: unknown): string[] {
  const problems: string[] = [];
  if (typeof input !== "object" || input === null)
    return ["the directory must be a JSON object with tenants, users and apps"];
  const dir = input as Partial<Directory>;
  for (const section of ["tenants", "users", "apps"] as const) {
    if (!Array.isArray(dir[section])) problems.push(`"${section}" must be an array`);
  }
  if (problems.length > 0) return problems;
  const tenants = dir.tenants as Tenant[];
  const tenantRefs = new Set<string>();
  tenants.forEach((t, i) => {
    if (typeof t?.id !== "string" || typeof t?.domain !== "string")
      problems.push(`tenants[${i}] needs string "id" and "domain"`);
    else {
      tenantRefs.add(t.id.toLowerCase());
      tenantRefs.add(t.domain.toLowerCase());
    }
  });
  (dir.users as User[]).forEach((u, i) => {
    if (typeof u?.username !== "string" || typeof u?.password !== "string")
      problems.push(`users[${i}] needs string "username" and "password"`);
    else if (!tenantRefs.has(String(u.tenant).toLowerCase()))
      problems.push(`users[${i}] (${u.username}) names unknown tenant "${u.tenant}"`);
    else if (!["managed", "mfa", "federated"].includes(u.kind))
      problems.push(`users[${i}] (${u.username}) has kind "${u.kind}"; use managed, mfa or federated`);
  });
  (dir.apps as App[]).forEach((a, i) => {
    if (typeof a?.clientId !== "string") problems.push(`apps[${i}] needs a string "clientId"`);
    else if (!["public", "confidential", "daemon", "middle-tier", "foci"].includes(a.kind))
      problems.push(
        `apps[${i}] (${a.clientId}) has kind "${a.kind}"; use public, confidential, daemon, middle-tier or foci`,
      );
    else if (isConfidential(a) && !a.secret && !a.certificate && !a.trustedCertificateSubject)
      problems.push(`apps[${i}] (${a.clientId}) is ${a.kind} but has no secret or certificate`);
  });
  return problems;
}
