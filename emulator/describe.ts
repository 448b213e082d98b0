/** The directory as the ready line and `GET /_emulator/directory` show it. */
import {
  type App,
  type AppKind,
  type Directory,
  TOKEN_EXCHANGE_AUDIENCE,
  type User,
  type UserKind,
} from "./directory.js";

/** The directory with the secrets a client needs: each app's secret and certificate, each user's password. */
export interface PublicDirectory {
  /** The tenants. */
  tenants: Array<{
    /** Tenant id (a GUID). */
    id: string;
    /** Primary domain, e.g. `contoso.onmicrosoft.com`. */
    domain: string;
    /** Other domains of the tenant. */
    domains?: string[];
    /** Domains whose users sign in at the emulator's federated STS. */
    federatedDomains?: string[];
    /** Display name. */
    name?: string;
  }>;
  /** The users. */
  users: Array<{
    /** The sign-in name. */
    username: string;
    /** The password. */
    password: string;
    /** The user's tenant id. */
    tenant: string;
    /** How the user signs in: `managed`, `mfa` or `federated` (see {@link UserKind}). */
    kind: UserKind;
    /** Object id, when the directory sets one (else it is derived from the username). */
    oid?: string;
    /** Display name. */
    name?: string;
  }>;
  /** The app registrations. */
  apps: Array<{
    /** The application (client) id. */
    clientId: string;
    /** What the app is for (see {@link AppKind}). */
    kind: AppKind;
    /** The app's home tenant id. */
    tenant: string;
    /** Display name. */
    displayName?: string;
    /** The client secret, for confidential apps. */
    secret?: string;
    /** A certificate the app may authenticate with. */
    certificate?: {
      /** PEM private key (PKCS#8); empty for a certificate registered without its key. */
      privateKey: string;
      /** PEM certificate. */
      certificate: string;
      /** SHA-1 thumbprint, upper-case hex. */
      thumbprint: string;
      /** SHA-256 thumbprint, upper-case hex. */
      thumbprintSha256?: string;
    };
    /** Certificate subject trusted with a chain to the emulator's CA (subject name/issuer). */
    trustedCertificateSubject?: string;
    /** Redirect URIs the authorize endpoint accepts. */
    redirectUris?: string[];
    /** Delegated scopes the app exposes as an API. */
    scopes?: string[];
    /** FOCI family id. */
    familyId?: string;
    /** Issuers starting with `/` are paths on the emulator, whose port is chosen at start. */
    federatedCredentials?: Array<{
      /** The credential's name, unique per app. */
      name?: string;
      /** The issuer URL the assertion's `iss` must equal. */
      issuer: string;
      /** The subject the assertion's `sub` must equal. */
      subject: string;
      /** Audiences one of which the assertion's `aud` must hold. */
      audiences: string[];
    }>;
  }>;
}

type PublicApp = PublicDirectory["apps"][number];

/**
 * The directory as clients and tools see it: everything `--directory` (or `startEmulator({
 * directory })`) needs, so that the ready line's `directory` can be fed back as is; tenants are named
 * by id.
 */
export function describeDirectory(dir: Directory): PublicDirectory {
  return {
    tenants: dir.tenants.map((t) => ({
      id: t.id,
      domain: t.domain,
      ...(t.domains?.length ? { domains: [...t.domains] } : {}),
      ...(t.federatedDomains?.length ? { federatedDomains: [...t.federatedDomains] } : {}),
      ...(t.name ? { name: t.name } : {}),
    })),
    users: dir.users.map((u) => describeUser(dir, u)),
    apps: dir.apps.map((a) => describeApp(dir, a)),
  };
}

const tenantId = (dir: Directory, ref: string) =>
  dir.tenants.find((t) => t.id === ref || t.domain.toLowerCase() === ref.toLowerCase())?.id ?? ref;

/** One user as the directory shows it. */
export function describeUser(dir: Directory, u: User): PublicDirectory["users"][number] {
  return {
    username: u.username,
    password: u.password,
    tenant: tenantId(dir, u.tenant),
    kind: u.kind,
    ...(u.oid ? { oid: u.oid } : {}),
    ...(u.name ? { name: u.name } : {}),
  };
}

/** One app registration as the directory shows it. */
export function describeApp(dir: Directory, a: App): PublicApp {
  const certificate = a.certificate
    ? {
        privateKey: a.certificate.privateKey,
        certificate: a.certificate.certificate,
        thumbprint: a.certificate.thumbprint,
        ...(a.certificate.thumbprintSha256 ? { thumbprintSha256: a.certificate.thumbprintSha256 } : {}),
      }
    : undefined;
  return {
    clientId: a.clientId,
    kind: a.kind,
    tenant: tenantId(dir, a.tenant),
    ...(a.displayName ? { displayName: a.displayName } : {}),
    ...(a.secret ? { secret: a.secret } : {}),
    ...(certificate ? { certificate } : {}),
    ...(a.trustedCertificateSubject ? { trustedCertificateSubject: a.trustedCertificateSubject } : {}),
    ...(a.redirectUris ? { redirectUris: [...a.redirectUris] } : {}),
    ...(a.scopes ? { scopes: [...a.scopes] } : {}),
    ...(a.familyId ? { familyId: a.familyId } : {}),
    ...(a.federatedCredentials
      ? {
          federatedCredentials: a.federatedCredentials.map((c) => ({
            ...(c.name ? { name: c.name } : {}),
            issuer: c.issuer,
            subject: c.subject,
            audiences: [...(c.audiences ?? [TOKEN_EXCHANGE_AUDIENCE])],
          })),
        }
      : {}),
  };
}
