/**
 * What every library under test is fed: generated caches in the unified MSAL schema (written the
 * way MSAL Python writes them, keys included) and the canned answers of the fake identity provider.
 * The answers are plain JSON texts with `{placeholders}`, passed to every peer in its spec, so the
 * Node and Python fakes send byte-identical bodies.
 */
import { createHash } from "node:crypto";

export const ENVIRONMENT = "login.microsoftonline.com";
export const USER_CLIENT_ID = "b1e7c0de-0000-4000-8000-00000000c11e";
export const DAEMON_CLIENT_ID = "b1e7c0de-0000-4000-8000-0000000da30e";
export const DAEMON_SECRET = "bench-daemon-secret";
/** The home tenant of every generated user. */
export const USER_TENANT = tenantId(0);
/** What Entra answers for a `User.Read` sign-in, as MSAL Python stores it (unsorted, as sent). */
export const USER_TARGET = "User.Read profile openid email";
export const USER_SCOPES = ["User.Read"];
/** Access tokens live two hours from the start of the run, far past its end. */
const LIFETIME_SECONDS = 7200;

export function tenantId(index: number): string {
  return `7e4a0000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
}

export function appScope(index: number): string {
  return `https://api-${index}.bench.example/.default`;
}

export function userUid(index: number): string {
  return `00000000-0000-4000-9000-${index.toString(16).padStart(12, "0")}`;
}

export const homeAccountId = (index: number): string => `${userUid(index)}.${USER_TENANT}`;
export const username = (index: number): string => `user${index}@contoso.example`;

const b64url = (value: unknown): string =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A JWT-shaped token of realistic size: header, claims, and 256 bytes standing in for an RS256 signature. */
function fakeJwt(claims: Record<string, unknown>, seed: string): string {
  const digest = createHash("sha256").update(seed).digest();
  const signature = Buffer.concat(Array.from({ length: 8 }, () => digest));
  return `${b64url({ typ: "JWT", alg: "RS256", kid: "bench-key" })}.${b64url(claims)}.${signature.toString("base64url")}`;
}

const issuer = (tenant: string) => `https://${ENVIRONMENT}/${tenant}/v2.0`;

function accessTokenSecret(audience: string, tenant: string, now: number, subject: string): string {
  return fakeJwt(
    {
      aud: audience,
      iss: `https://sts.windows.net/${tenant}/`,
      iat: now,
      nbf: now,
      exp: now + LIFETIME_SECONDS,
      oid: subject,
      sub: subject,
      tid: tenant,
      ver: "1.0",
    },
    `${audience}|${tenant}|${subject}`,
  );
}

function idTokenClaims(index: number, now: number): Record<string, unknown> {
  return {
    aud: USER_CLIENT_ID,
    iss: issuer(USER_TENANT),
    iat: now,
    nbf: now,
    exp: now + LIFETIME_SECONDS,
    name: `User ${index}`,
    oid: userUid(index),
    preferred_username: username(index),
    sub: `sub-${userUid(index)}`,
    tid: USER_TENANT,
    ver: "2.0",
  };
}

type Entry = Record<string, unknown>;
type Sections = Record<
  "Account" | "IdToken" | "AccessToken" | "RefreshToken" | "AppMetadata",
  Record<string, Entry>
>;

const emptySections = (): Sections => ({
  Account: {},
  IdToken: {},
  AccessToken: {},
  RefreshToken: {},
  AppMetadata: {},
});

/** The refresh token secret names its user, so the fake identity provider knows whom to answer for. */
export const refreshTokenSecret = (index: number): string => `bench-rt|${userUid(index)}|${"0".repeat(700)}`;

/**
 * `users` signed-in users of one public client, each with an account, an id_token, an access token
 * for `User.Read` and a refresh token: MSAL Python's keys and fields.
 */
export function usersCache(users: number, now: number): string {
  const s = emptySections();
  for (let i = 0; i < users; i++) {
    const home = homeAccountId(i);
    const base = `${home}-${ENVIRONMENT}`.toLowerCase();
    s.Account[`${base}-${USER_TENANT}`.toLowerCase()] = {
      home_account_id: home,
      environment: ENVIRONMENT,
      realm: USER_TENANT,
      local_account_id: userUid(i),
      username: username(i),
      authority_type: "MSSTS",
    };
    s.IdToken[`${base}-idtoken-${USER_CLIENT_ID}-${USER_TENANT}-`.toLowerCase()] = {
      credential_type: "IdToken",
      secret: fakeJwt(idTokenClaims(i, now), `idt|${i}`),
      home_account_id: home,
      environment: ENVIRONMENT,
      realm: USER_TENANT,
      client_id: USER_CLIENT_ID,
    };
    s.AccessToken[`${base}-accesstoken-${USER_CLIENT_ID}-${USER_TENANT}-${USER_TARGET}`.toLowerCase()] = {
      credential_type: "AccessToken",
      secret: accessTokenSecret("00000003-0000-0000-c000-000000000000", USER_TENANT, now, userUid(i)),
      home_account_id: home,
      environment: ENVIRONMENT,
      client_id: USER_CLIENT_ID,
      target: USER_TARGET,
      realm: USER_TENANT,
      token_type: "Bearer",
      cached_at: String(now),
      expires_on: String(now + LIFETIME_SECONDS),
      extended_expires_on: String(now + LIFETIME_SECONDS),
    };
    s.RefreshToken[`${base}-refreshtoken-${USER_CLIENT_ID}--${USER_TARGET}`.toLowerCase()] = {
      credential_type: "RefreshToken",
      secret: refreshTokenSecret(i),
      home_account_id: home,
      environment: ENVIRONMENT,
      client_id: USER_CLIENT_ID,
      target: USER_TARGET,
      last_modification_time: String(now),
    };
  }
  s.AppMetadata[`appmetadata-${ENVIRONMENT}-${USER_CLIENT_ID}`] = {
    client_id: USER_CLIENT_ID,
    environment: ENVIRONMENT,
  };
  return JSON.stringify(s);
}

/**
 * App tokens (client credentials) of one daemon: `tenants` x `perTenant` resources. MSAL Python
 * stores and finds them with `home_account_id: null`; msal-node only with `""`, so it gets that
 * variant (the one difference between the texts).
 */
export function appTokensCache(tenants: number, perTenant: number, now: number, home: null | ""): string {
  const s = emptySections();
  for (let t = 0; t < tenants; t++) {
    const tenant = tenantId(t + 1);
    for (let r = 0; r < perTenant; r++) {
      const target = appScope(r);
      s.AccessToken[`-${ENVIRONMENT}-accesstoken-${DAEMON_CLIENT_ID}-${tenant}-${target}`.toLowerCase()] = {
        credential_type: "AccessToken",
        secret: accessTokenSecret(`https://api-${r}.bench.example`, tenant, now, DAEMON_CLIENT_ID),
        home_account_id: home,
        environment: ENVIRONMENT,
        client_id: DAEMON_CLIENT_ID,
        target,
        realm: tenant,
        token_type: "Bearer",
        cached_at: String(now),
        expires_on: String(now + LIFETIME_SECONDS),
        extended_expires_on: String(now + LIFETIME_SECONDS),
      };
    }
  }
  s.AppMetadata[`appmetadata-${ENVIRONMENT}-${DAEMON_CLIENT_ID}`] = {
    client_id: DAEMON_CLIENT_ID,
    environment: ENVIRONMENT,
  };
  return JSON.stringify(s);
}

/**
 * The fake identity provider's answers. `{tenant}`, `{uid}`, `{id_token}` and `{client_info}` are
 * filled in per request:
 * - GET `.../{tenant}/v2.0/.well-known/openid-configuration` -> `discovery`;
 * - GET `.../common/discovery/instance?...authorization_endpoint=.../{tenant}/...` -> `instanceDiscovery`;
 * - POST `.../{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials` -> `clientCredential`;
 * - the same with `grant_type=refresh_token` (`refresh_token=bench-rt|{uid}|...`) -> `refresh`, whose
 *   id_token is `idTokenHeader.base64url(idTokenClaims).idTokenSignature` and whose client_info is
 *   `base64url(clientInfo)`, both with `{uid}` filled in first;
 * - anything else -> 400 `invalid_request`.
 */
export interface FakeIdpTemplates {
  discovery: string;
  instanceDiscovery: string;
  clientCredential: string;
  refresh: string;
  idTokenHeader: string;
  idTokenClaims: string;
  idTokenSignature: string;
  clientInfo: string;
  badRequest: string;
}

export function fakeIdpTemplates(now: number): FakeIdpTemplates {
  const base = `https://${ENVIRONMENT}/{tenant}`;
  const discovery = {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `https://${ENVIRONMENT}/{tenant}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "cloud_instance_name", "aud", "exp", "iat", "auth_time", "nonce", "tid"],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  };
  const aliases = [
    "login.microsoftonline.com",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
  ];
  const instanceDiscovery = {
    tenant_discovery_endpoint: `${base}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: ENVIRONMENT, preferred_cache: "login.windows.net", aliases }],
  };
  // Constant tokens: a fake that answers at no cost, so a cache miss measures the library.
  const appToken = accessTokenSecret("https://api.bench.example", tenantId(1), now, DAEMON_CLIENT_ID);
  const userToken = accessTokenSecret("00000003-0000-0000-c000-000000000000", USER_TENANT, now, "user");
  const claims = {
    ...idTokenClaims(0, now),
    name: "User {uid}",
    oid: "{uid}",
    sub: "sub-{uid}",
    preferred_username: "{uid}@contoso.example",
  };
  const [header, , signature] = fakeJwt({}, "idt").split(".") as [string, string, string];
  return {
    discovery: JSON.stringify(discovery),
    instanceDiscovery: JSON.stringify(instanceDiscovery),
    clientCredential: JSON.stringify({
      token_type: "Bearer",
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: appToken,
    }),
    refresh: JSON.stringify({
      token_type: "Bearer",
      scope: USER_TARGET,
      expires_in: 4493,
      ext_expires_in: 4493,
      access_token: userToken,
      refresh_token: `bench-rt|{uid}|${"1".repeat(700)}`,
      id_token: "{id_token}",
      client_info: "{client_info}",
    }),
    idTokenHeader: header,
    idTokenClaims: JSON.stringify(claims),
    idTokenSignature: signature,
    clientInfo: JSON.stringify({ uid: "{uid}", utid: USER_TENANT }),
    badRequest: JSON.stringify({
      error: "invalid_request",
      error_description: "AADSTS900144: The fake identity provider does not handle this request.",
      error_codes: [900144],
    }),
  };
}

/** The authority URL of a tenant on the benchmark's environment. */
export const authorityOf = (tenant: string): string => `https://${ENVIRONMENT}/${tenant}`;
