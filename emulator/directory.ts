/**
 * The emulator's directory: tenants, users and app registrations.
 *
 * A seeded directory is built at start (see {@link seedDirectory}); callers may add their own
 * tenants, users and apps to it or replace it, as an object or as a JSON file of the same shape
 * ({@link DirectoryInput}, checked in `directory-edit.ts`). Secrets and passwords are plain text on
 * purpose: this is a test identity provider.
 */

/** A tenant of the emulator's directory. */
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

/**
 * How a user signs in: `managed` with a password, `mfa` (password grants are refused with
 * `interaction_required`, as with multi-factor authentication), or `federated` at the emulator's WS-Trust
 * STS.
 */
export type UserKind = "managed" | "mfa" | "federated";

/** A user of the emulator's directory. */
export interface User {
  /** The sign-in name, e.g. `alice@contoso.onmicrosoft.com`. */
  username: string;
  /** The password, in plain text (a test identity provider). */
  password: string;
  /** Tenant id or domain. */
  tenant: string;
  /** How the user signs in. */
  kind: UserKind;
  /** Object id; generated from the username when absent. */
  oid?: string;
  /** Display name (the `name` claim). */
  name?: string;
}

/**
 * What an app registration is for: `public` (desktop, CLI), `confidential` (web app), `daemon` (client
 * credentials), `middle-tier` (web API doing on-behalf-of) or `foci` (a public app of the family of client
 * ids).
 */
export type AppKind = "public" | "confidential" | "daemon" | "middle-tier" | "foci";

/** A certificate an app authenticates with, with its private key (the emulator made both). */
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

/** The audience Entra expects in a federated assertion unless a credential names another. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

/**
 * Where the emulator plays a Kubernetes cluster's service-account token issuer: the seeded "aks"
 * cluster's issuer is `{url}` followed by this path (see `workload-issuer.ts`).
 */
export const WORKLOAD_ISSUERS_PATH = "/_emulator/workload-identity/issuers";

/** The service account the seeded daemon app trusts on the emulator's "aks" cluster. */
export const SEEDED_SERVICE_ACCOUNT = {
  /** The Kubernetes namespace. */
  namespace: "default",
  /** The service account's name. */
  name: "workload-identity-sa",
} as const;

/**
 * A federated identity credential: the app trusts tokens from `issuer` about `subject` for one of
 * `audiences`, compared exactly and case-sensitively, as Entra does.
 * https://learn.microsoft.com/entra/workload-id/workload-identity-federation
 *
 * @example
 * ```ts
 * const trustsCi: FederatedIdentityCredential = {
 *   name: "ci-deployer",
 *   issuer: "/_emulator/workload-identity/issuers/ci", // the emulator's cluster "ci"
 *   subject: "system:serviceaccount:build:deployer",
 * };
 * ```
 */
export interface FederatedIdentityCredential {
  /** Unique per app, as in Entra (default: `fic-<n>-<random>`). */
  name?: string;
  /**
   * The issuer URL, equal to the assertion's `iss`. A value starting with `/` is a path on the
   * emulator itself (its port changes from run to run), e.g. `/_emulator/workload-identity/issuers/aks`.
   */
  issuer: string;
  /** The assertion's `sub`, e.g. `system:serviceaccount:<namespace>:<service account>`. */
  subject: string;
  /** Default `["api://AzureADTokenExchange"]`. */
  audiences?: string[];
}

/** An app registration of the emulator's directory. */
export interface App {
  /** The application (client) id. */
  clientId: string;
  /** What the app is for. */
  kind: AppKind;
  /** Home tenant (id or domain). Apps are multi-tenant: any emulator tenant accepts them. */
  tenant: string;
  /** Display name. */
  displayName?: string;
  /** The client secret of a confidential app. */
  secret?: string;
  /** A certificate the app may authenticate with (a signed client assertion). */
  certificate?: AppCertificate;
  /**
   * Subject name (e.g. `CN=daemon.contoso.test`) trusted when an assertion carries the certificate
   * chain in `x5c` and the chain ends at the emulator's CA: subject-name/issuer (SNI) authentication.
   */
  trustedCertificateSubject?: string;
  /** Redirect URIs the authorize endpoint accepts for this app. */
  redirectUris?: string[];
  /** Delegated scopes this app exposes as an API, e.g. `api://<id>/access_as_user`. */
  scopes?: string[];
  /** FOCI family id; family apps share refresh tokens. */
  familyId?: string;
  /** Workload identity federation: external tokens this app accepts as its credential. */
  federatedCredentials?: FederatedIdentityCredential[];
}

/** The tenants, users and app registrations the emulator knows. */
export interface Directory {
  /** The tenants; the first is the one the `adfs` authority signs in to. */
  tenants: Tenant[];
  /** The users, each of one tenant. */
  users: User[];
  /** The app registrations. */
  apps: App[];
}

/**
 * A user as a caller gives it: `tenant` defaults to the tenant owning the username's domain, `kind`
 * to `managed`.
 */
export type UserInput = Omit<User, "tenant" | "kind"> & {
  /** Tenant id or domain; default: the tenant owning the username's domain. */
  tenant?: string;
  /** How the user signs in; default `managed`. */
  kind?: UserKind;
};

/**
 * An app as a caller gives it: `tenant` defaults to the directory's first tenant; a certificate
 * needs only its PEM (`privateKey` is for clients, thumbprints are computed).
 */
export type AppInput = Omit<App, "tenant" | "certificate"> & {
  /** Home tenant (id or domain); default: the directory's first tenant. */
  tenant?: string;
  /** A certificate the app may authenticate with. */
  certificate?: {
    /** PEM certificate. */
    certificate: string;
    /** PEM private key, for clients to sign with; the emulator does not need it. */
    privateKey?: string;
    /** SHA-1 thumbprint, upper-case hex; computed when absent. */
    thumbprint?: string;
    /** SHA-256 thumbprint, upper-case hex; computed when absent. */
    thumbprintSha256?: string;
  };
};

/**
 * What a caller may pass: the directory's shape, every section optional when it is added to the
 * seeded directory (the default), and the ready line's `directory` as printed.
 *
 * @example
 * ```ts
 * import { type DirectoryInput, startEmulator } from "msal-ts/emulator";
 *
 * const azureCli: DirectoryInput = {
 *   apps: [{ clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", kind: "public", redirectUris: ["http://localhost"] }],
 * };
 * const emulator = await startEmulator({ directory: azureCli }); // the seeded directory plus that app
 * await emulator.stop();
 * ```
 */
export interface DirectoryInput {
  /** Tenants; one with the id of a seeded tenant replaces it. */
  tenants?: Tenant[];
  /** Users; one with the username of a seeded user replaces it. */
  users?: UserInput[];
  /** App registrations; one with the client id of a seeded app replaces it. */
  apps?: AppInput[];
}

/** The seeded Contoso tenant (`contoso.onmicrosoft.com`), with managed, MFA and federated users. */
export const CONTOSO_TENANT_ID = "8c9d7f3a-1b2e-4c5d-9e6f-0a1b2c3d4e5f";
/**
 * The seeded Fabrikam tenant (`fabrikam.onmicrosoft.com`): a second tenant, with a managed user, for
 * multi-tenant scenarios.
 */
export const FABRIKAM_TENANT_ID = "2f4e6d8c-3a5b-4c7d-8e9f-1a2b3c4d5e6f";
/** The tenant id Entra uses for personal Microsoft accounts (the `consumers` issuer). */
export const CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

/** The seeded public client (desktop and CLI sign-in). */
export const PUBLIC_APP_ID = "11111111-1111-4111-8111-111111111111";
/**
 * A seeded public client of the family of client ids (FOCI), sharing refresh tokens with {@link
 * FOCI_APP_B_ID}.
 */
export const FOCI_APP_A_ID = "22222222-2222-4222-8222-222222222222";
/** The second seeded FOCI client, sharing refresh tokens with {@link FOCI_APP_A_ID}. */
export const FOCI_APP_B_ID = "33333333-3333-4333-8333-333333333333";
/** The seeded confidential web app (auth code flow), with a secret and a certificate. */
export const WEB_APP_ID = "44444444-4444-4444-8444-444444444444";
/** The seeded daemon (client credentials), with a secret and a certificate. */
export const DAEMON_APP_ID = "55555555-5555-4555-8555-555555555555";
/** The seeded web API that calls another API on behalf of its caller (on-behalf-of). */
export const MIDDLE_TIER_APP_ID = "66666666-6666-4666-8666-666666666666";

/**
 * The Azure CLI's public client id, seeded so that `az login` against the emulator as a custom
 * cloud works unchanged (`@azure/identity`'s interactive and device code credentials use it too).
 */
export const AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

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
        federatedCredentials: [
          {
            name: "aks-workload-identity",
            issuer: `${WORKLOAD_ISSUERS_PATH}/aks`,
            subject: `system:serviceaccount:${SEEDED_SERVICE_ACCOUNT.namespace}:${SEEDED_SERVICE_ACCOUNT.name}`,
            audiences: [TOKEN_EXCHANGE_AUDIENCE],
          },
        ],
      },
      {
        clientId: MIDDLE_TIER_APP_ID,
        kind: "middle-tier",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso API",
        secret: "middle-tier-secret-value",
        scopes: [`api://${MIDDLE_TIER_APP_ID}/access_as_user`],
      },
      {
        clientId: AZURE_CLI_APP_ID,
        kind: "public",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Microsoft Azure CLI",
        redirectUris: ["http://localhost"],
      },
    ],
  };
}

/** Whether an app authenticates itself (has a secret or certificate) at the token endpoint. */
export function isConfidential(app: App): boolean {
  return app.kind === "confidential" || app.kind === "daemon" || app.kind === "middle-tier";
}

/** Entra's limit on federated identity credentials per app. */
export const MAX_FEDERATED_CREDENTIALS = 20;

/** What is wrong with an app's `federatedCredentials`, each problem naming the entry and the fix. */
export function federatedCredentialProblems(credentials: unknown, where: string): string[] {
  if (credentials === undefined) return [];
  if (!Array.isArray(credentials)) return [`${where}: "federatedCredentials" must be an array`];
  if (credentials.length > MAX_FEDERATED_CREDENTIALS)
    return [
      `${where} has ${credentials.length} federated credentials; Entra allows ${MAX_FEDERATED_CREDENTIALS}`,
    ];
  const problems: string[] = [];
  const names = new Set<string>();
  credentials.forEach((c: Partial<FederatedIdentityCredential> | null, i) => {
    const at = `${where}.federatedCredentials[${i}]`;
    if (typeof c?.issuer !== "string" || typeof c.subject !== "string" || !c.issuer || !c.subject) {
      problems.push(`${at} needs non-empty string "issuer" and "subject"`);
      return;
    }
    if (!c.issuer.startsWith("/") && !/^https:\/\//.test(c.issuer))
      problems.push(`${at} has issuer "${c.issuer}"; use an https:// URL or a path on the emulator ("/...")`);
    const audiences = c.audiences;
    if (
      audiences !== undefined &&
      (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== "string")
    )
      problems.push(
        `${at} "audiences" must hold exactly one string (Entra allows one), e.g. ["${TOKEN_EXCHANGE_AUDIENCE}"]`,
      );
    if (c.name !== undefined) {
      if (names.has(c.name)) problems.push(`${at} repeats the name "${c.name}"; names are unique per app`);
      names.add(c.name);
    }
  });
  return problems;
}
