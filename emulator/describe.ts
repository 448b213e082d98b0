/** The directory as the ready line and `GET /_emulator/directory` show it. */
import { type Directory, TOKEN_EXCHANGE_AUDIENCE } from "./directory.js";

export interface PublicDirectory {
  tenants: Array<{ id: string; domain: string }>;
  users: Array<{ username: string; password: string; tenant: string; kind: string }>;
  apps: Array<{
    clientId: string;
    kind: string;
    tenant: string;
    secret?: string;
    certificate?: { privateKey: string; certificate: string; thumbprint: string; thumbprintSha256?: string };
    redirectUris?: string[];
    scopes?: string[];
    familyId?: string;
    /** Issuers starting with `/` are paths on the emulator, whose port is chosen at start. */
    federatedCredentials?: Array<{ name?: string; issuer: string; subject: string; audiences: string[] }>;
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
