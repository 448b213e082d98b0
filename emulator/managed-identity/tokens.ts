/**
 * Managed-identity tokens: signed with the emulator's key (so its protected resource accepts them)
 * and carrying the claims Entra puts in app-only managed-identity tokens (`appid`, `oid`,
 * `idtyp: "app"`, `xms_mirid`, ...). Like the real hosts, each source keeps the token it issued and
 * hands it out again until it nears expiry; a client that was told its token is revoked names it by
 * hash (`token_sha256_to_refresh`) and gets a new one, on the sources that support that.
 * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
 */
import { createHash } from "node:crypto";
import { CONTOSO_TENANT_ID } from "../directory.js";
import { signJwt } from "../jwt.js";
import { publicIssuer, STORAGE_RESOURCE } from "../storage.js";
import { findApp, nowSeconds, randomToken, stableGuid, userOid, userTenantId, type World } from "../world.js";
import type { ManagedIdentityCatalog, ManagedIdentityRecord, ManagedIdentitySource } from "./identities.js";

/**
 * How the managed-identity sources issue tokens; change them with {@link ManagedIdentityEmulator.configure}.
 */
export interface ManagedIdentitySettings {
  /** Token lifetime in seconds, per source (default 24 hours, Cloud Shell 1 hour). */
  lifetimes: Record<ManagedIdentitySource, number>;
  /**
   * Whether a source hands out the token it issued before, for the same identity, resource and
   * client capabilities, until five minutes before it expires (default `true`, as real hosts do).
   */
  sourceCache: boolean;
  /** Length in bytes of the key Azure Arc writes for each challenge (default 64). */
  arcKeyLength: number;
}

export const DEFAULT_MANAGED_IDENTITY_SETTINGS: ManagedIdentitySettings = {
  lifetimes: {
    appService: 86400,
    serviceFabric: 86400,
    azureArc: 86400,
    machineLearning: 86400,
    imds: 86400,
    cloudShell: 3600,
  },
  sourceCache: true,
  arcKeyLength: 64,
};

/** Everything the managed-identity endpoints share. */
export interface ManagedIdentityState {
  world: World;
  catalog: ManagedIdentityCatalog;
  /** The secrets hosts give their apps: App Service's and Service Fabric's `IDENTITY_HEADER`, ML's `MSI_SECRET`. */
  secrets: { appService: string; serviceFabric: string; machineLearning: string };
  settings: ManagedIdentitySettings;
  /** Resources beyond the built-in Azure ones and the directory's apps. */
  resources: string[];
  /** Username whose tokens Cloud Shell hands out; default the directory's first managed user. */
  cloudShellUser?: string;
  /** The token each source issued last, by source, identity, resource and capabilities. */
  issued: Map<string, IssuedToken>;
  arc: { directory: string; keys: Map<string, string> };
}

export interface IssuedToken {
  accessToken: string;
  issuedAt: number;
  expiresOn: number;
  resource: string;
  identity?: ManagedIdentityRecord;
}

/** Azure resources every tenant has: a managed identity may ask for tokens for any of them. */
const AZURE_RESOURCES = [
  "https://management.azure.com",
  "https://management.core.windows.net",
  "https://graph.microsoft.com",
  "https://vault.azure.net",
  "https://storage.azure.com",
  "https://database.windows.net",
  "https://servicebus.azure.net",
  "https://eventhubs.azure.net",
  "https://cognitiveservices.azure.com",
  "https://ossrdbms-aad.database.windows.net",
  "https://monitor.azure.com",
];

const normalized = (resource: string) => resource.trim().toLowerCase().replace(/\/+$/, "");

/** Whether Entra knows `resource`: a built-in Azure resource, a directory app, or one added by the caller. */
export function isKnownResource(state: ManagedIdentityState, resource: string): boolean {
  const wanted = normalized(resource);
  if ([...AZURE_RESOURCES, ...state.resources].some((r) => normalized(r) === wanted)) return true;
  const id = wanted.startsWith("api://") ? wanted.slice("api://".length) : wanted;
  return (
    findApp(state.world, id) !== undefined ||
    state.world.directory.apps.some((a) =>
      (a.scopes ?? []).some((s) => normalized(s.slice(0, s.lastIndexOf("/"))) === wanted),
    )
  );
}

export function tenantOf(state: ManagedIdentityState): string {
  return state.world.directory.tenants[0]?.id ?? CONTOSO_TENANT_ID;
}

/** The AADSTS500011 text Entra returns for a resource it does not know (the hosts pass it on). */
export function unknownResourceMessage(state: ManagedIdentityState, resource: string): string {
  return `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${tenantOf(state)}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`;
}

/** Hex SHA-256 of an access token, as clients send it in `token_sha256_to_refresh`. */
export function tokenHash(accessToken: string): string {
  return createHash("sha256").update(accessToken).digest("hex");
}

/** Client capabilities from an `xms_cc` query parameter (`cp1,cp2`). */
export function capabilitiesFrom(query: URLSearchParams): string[] {
  return (query.get("xms_cc") ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
}

export interface TokenAsk {
  source: ManagedIdentitySource;
  resource: string;
  capabilities?: string[];
  /** `token_sha256_to_refresh`, honoured only where the source supports revocation. */
  revokedTokenHash?: string;
}

/**
 * The token a source hands out: the one it issued before (source cache) unless that one is near
 * expiry or named revoked by its hash, else a new one from `mint`.
 */
function sourceToken(
  state: ManagedIdentityState,
  key: string,
  ask: TokenAsk,
  mint: () => IssuedToken,
): IssuedToken {
  const cached = state.issued.get(key);
  const revoked =
    cached !== undefined &&
    ask.revokedTokenHash !== undefined &&
    ask.revokedTokenHash.toLowerCase() === tokenHash(cached.accessToken);
  if (state.settings.sourceCache && cached && !revoked && cached.expiresOn - nowSeconds() > 300)
    return cached;
  const fresh = mint();
  state.issued.set(key, fresh);
  return fresh;
}

/**
 * Managed-identity tokens are Entra's v1.0 form. Their issuer is the emulator's v1 issuer, except
 * for Azure Storage, whose tokens carry Entra's public `https://sts.windows.net/<tenant>/` as the
 * emulator's other Storage tokens do (storage.ts), so Azurite accepts them.
 */
function v1Issuer(state: ManagedIdentityState, tenantId: string, resource: string): string {
  return normalized(resource) === STORAGE_RESOURCE
    ? publicIssuer(tenantId)
    : `${state.world.baseUrl}/${tenantId}/`;
}

function signed(state: ManagedIdentityState, payload: Record<string, unknown>): string {
  return signJwt({ typ: "JWT", kid: state.world.keyId }, payload, state.world.signingKey);
}

/** An app-only token for a managed identity, as Entra issues it to the host on the app's behalf. */
export function managedIdentityToken(
  state: ManagedIdentityState,
  identity: ManagedIdentityRecord,
  host: ManagedIdentityRecord,
  ask: TokenAsk,
): IssuedToken {
  const caps = ask.capabilities ?? [];
  const key = [ask.source, identity.objectId, normalized(ask.resource), caps.join(",")].join("|");
  return sourceToken(state, key, ask, () => {
    const now = nowSeconds();
    const tid = tenantOf(state);
    const issuer = v1Issuer(state, tid, ask.resource);
    const expiresOn = now + state.settings.lifetimes[ask.source];
    const accessToken = signed(state, {
      aud: ask.resource,
      iss: issuer,
      iat: now,
      nbf: now,
      exp: expiresOn,
      aio: randomToken("", 24),
      appid: identity.clientId,
      appidacr: "2",
      idp: issuer,
      idtyp: "app",
      oid: identity.objectId,
      rh: randomToken("0.", 24),
      sub: identity.objectId,
      tid,
      uti: randomToken("", 16),
      ver: "1.0",
      xms_mirid: identity.resourceId,
      xms_az_rid: host.resourceId,
      ...(caps.length > 0 ? { xms_cc: caps } : {}),
    });
    return { accessToken, issuedAt: now, expiresOn, resource: ask.resource, identity };
  });
}

/**
 * A Cloud Shell token: Cloud Shell has no identity of its own and hands out tokens for the user
 * signed in to the Azure portal, so this is a delegated (`idtyp: "user"`) token.
 */
export function cloudShellToken(state: ManagedIdentityState, ask: TokenAsk): IssuedToken | undefined {
  const users = state.world.directory.users;
  const wanted = state.cloudShellUser?.toLowerCase();
  const user = wanted
    ? users.find((u) => u.username.toLowerCase() === wanted)
    : (users.find((u) => u.kind === "managed") ?? users[0]);
  if (!user) return undefined;
  const oid = userOid(user);
  const key = ["cloudShell", oid, normalized(ask.resource)].join("|");
  return sourceToken(state, key, ask, () => {
    const now = nowSeconds();
    const tid = userTenantId(state.world, user);
    const issuer = v1Issuer(state, tid, ask.resource);
    const expiresOn = now + state.settings.lifetimes.cloudShell;
    const accessToken = signed(state, {
      aud: ask.resource,
      iss: issuer,
      iat: now,
      nbf: now,
      exp: expiresOn,
      acr: "1",
      amr: ["pwd"],
      appid: CLOUD_SHELL_APP_ID,
      appidacr: "0",
      idtyp: "user",
      name: user.name ?? user.username,
      oid,
      scp: "user_impersonation",
      sub: stableGuid(`cloud-shell-sub:${oid}`),
      tid,
      unique_name: user.username,
      upn: user.username,
      uti: randomToken("", 16),
      ver: "1.0",
    });
    return { accessToken, issuedAt: now, expiresOn, resource: ask.resource };
  });
}

/** The client id the emulator's Cloud Shell tokens name as `appid`. */
export const CLOUD_SHELL_APP_ID = stableGuid("app:msal-ts emulator cloud shell");
