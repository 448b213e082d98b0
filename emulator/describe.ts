/** The directory as the ready line and `GET /_emulator/directory` show it. */
import { type Directory, TOKEN_EXCHANGE_AUDIENCE } from "./directory.js";

/** The directory with the secrets a client needs: each app's secret and certificate, each user's password. */
export interface PublicDirectory {
  /** The tenants. */
  tenants: Array<{
    /** Tenant id (a GUID). */
    id: string;
    /** Primary domain, e.g. `contoso.onmicrosoft.com`. */
    domain: string;
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
    kind: string;
  }>;
  /** The app registrations. */
  apps: Array<{
    /** The application (client) id. */
    clientId: string;
    /** What the app is for (see {@link AppKind}). */
    kind: string;
    /** The app's home tenant id. */
    tenant: string;
    /** The client secret, for confidential apps. */
    secret?: string;
    /** A certificate the app may authenticate with. */
    certificate?: {
      /** PEM private key (PKCS#8). */
      privateKey: string;
      /** PEM certificate. */
      certificate: string;
      /** SHA-1 thumbprint, upper-case hex. */
      thumbprint: string;
      /** SHA-256 thumbprint, upper-case hex. */
      thumbprintSha256?: string;
    };
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

export function describeDirectory(dir: Directory): PublicDirectory {
  const tenantId = (ref: string) =>
    dir.tenants.find((t) => t.id === ref || t.domain.toLowerCase() === ref.toLowerCase())?.id ?? ref;
  return {
    tenants: dir.tenants.map((t) => ({ id: t.id, domain: t.domain })),
    users: dir.users.map((u) => ({
      username: u.username,
      password: u.password,
      tenant: tenantId(u.tenant),
      kind: u.kind,
    })),
    apps: dir.apps.map((a) => ({
      clientId: a.clientId,
      kind: a.kind,
      tenant: tenantId(a.tenant),
      ...(a.secret ? { secret: a.secret } : {}),
      ...(a.certificate ? { certificate: { ...a.certificate } } : {}),
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
    })),
  };
}
