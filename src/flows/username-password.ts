/**
 * Username and password (ROPC; spec section 3.5). Managed users are sent to the token endpoint;
 * federated users sign in at their STS (user realm discovery, then MEX, then WS-Trust 1.3 or 2005)
 * and the SAML assertion it issues is exchanged for tokens. Users who need MFA get the server's
 * `interaction_required` result with its `claims`. Prefer interactive or device code sign-in: ROPC
 * cannot do MFA.
 */
import type { AppContext } from "../app/context.js";
import { validateClaimsChallenge, validateScopes } from "../app/options.js";
import type { Endpoints } from "../authority/discovery.js";
import { ArgumentError, MsalError } from "../errors.js";
import { send } from "../http/client.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import { FEDERATION_MAX_RESPONSE_BYTES } from "../http/types.js";
import { encodeBase64Url } from "../protocol/base64.js";
import { mergeClaims } from "../protocol/token-request.js";
import type { TokenResult } from "../protocol/token-result.js";
import type { WsTrustVersion } from "../wstrust/mex.js";
import { type AuthorityOverride, requestAuthority, requestToken, scopeParameter } from "./common.js";
import { decorateScopes } from "./scopes.js";
import {
  finishResult,
  NO_EXTRAS,
  type PopRequestOptions,
  prepareExtras,
  type TokenRequestOptions,
} from "./token-extras.js";

/** Options of {@link ClientApplication.acquireTokenByUsernamePassword}. */
export interface UsernamePasswordRequest extends AuthorityOverride, TokenRequestOptions, PopRequestOptions {
  /**
   * The claims challenge from a resource's `WWW-Authenticate` header (or conditional access), sent with the
   * request.
   */
  claimsChallenge?: string;
  /**
   * A correlation id (a GUID) sent as `client-request-id`, to find this request in the identity provider's
   * logs; default: a new one.
   */
  correlationId?: string;
  /** Aborts the request (and any retry or wait). */
  signal?: AbortSignal;
}

/** Hosts without user realm discovery (they answered 404): never asked again in this process. */
const hostsWithoutUserRealm = new Set<string>();

interface UserRealm {
  account_type?: string;
  federation_metadata_url?: string;
  federation_active_auth_url?: string;
  cloud_audience_urn?: string;
}

async function userRealm(
  ctx: AppContext,
  host: string,
  username: string,
  correlationId: string,
  signal?: AbortSignal,
): Promise<UserRealm> {
  if (hostsWithoutUserRealm.has(host)) return {};
  const response = await send(ctx.http, {
    method: "GET",
    url: `https://${host}/common/userrealm/${encodeURIComponent(username)}?api-version=1.0`,
    headers: { accept: "application/json", "client-request-id": correlationId },
    ...(signal ? { signal } : {}),
  });
  if (response.status === 404) {
    hostsWithoutUserRealm.add(host);
    return {};
  }
  if (response.status !== 200)
    throw new MsalError(
      "user_realm_discovery_failed",
      `User realm discovery at ${host} answered HTTP ${response.status}.`,
    );
  return JSON.parse(response.body) as UserRealm;
}

async function federatedAssertion(
  ctx: AppContext,
  realm: UserRealm,
  username: string,
  password: string,
  signal?: AbortSignal,
): Promise<{ grantType: string; assertion: string }> {
  // The XML parser is loaded only for federated users.
  const [{ wsTrustEndpoints }, { buildRst, parseRstr, SAML_GRANTS, versionFromUrl }] = await Promise.all([
    import("../wstrust/mex.js"),
    import("../wstrust/ws-trust.js"),
  ]);
  let address: string;
  let version: WsTrustVersion;
  if (realm.federation_metadata_url) {
    const mex = await send(ctx.http, {
      method: "GET",
      url: realm.federation_metadata_url,
      headers: {},
      maxResponseBytes: FEDERATION_MAX_RESPONSE_BYTES,
      ...(signal ? { signal } : {}),
    });
    if (mex.status !== 200)
      throw new MsalError(
        "mex_failed",
        `The federation metadata (MEX) at ${realm.federation_metadata_url} answered HTTP ${mex.status}.`,
      );
    const [endpoint] = wsTrustEndpoints(mex.body);
    if (!endpoint)
      throw new MsalError(
        "mex_no_endpoint",
        `The MEX document at ${realm.federation_metadata_url} offers no username/password WS-Trust endpoint over https.`,
      );
    ({ address, version } = endpoint);
  } else if (realm.federation_active_auth_url) {
    address = realm.federation_active_auth_url;
    version = versionFromUrl(address);
  } else {
    throw new MsalError(
      "federation_unknown",
      "The user's domain is federated, but user realm discovery gave neither a metadata nor an active authentication URL.",
    );
  }
  const rst = buildRst({
    endpoint: address,
    version,
    username,
    password,
    ...(realm.cloud_audience_urn ? { appliesTo: realm.cloud_audience_urn } : {}),
  });
  // ADFS answers failed sign-ins with HTTP 500 and a SOAP fault: the body says why, whatever the status.
  const response = await send(ctx.http, {
    method: "POST",
    url: address,
    headers: { soapaction: rst.action },
    body: { contentType: "application/soap+xml; charset=utf-8", text: rst.body },
    retryAndThrottle: false,
    maxResponseBytes: FEDERATION_MAX_RESPONSE_BYTES,
    ...(signal ? { signal } : {}),
  });
  const token = parseRstr(response.body);
  const grantType = SAML_GRANTS[token.tokenType];
  if (!grantType)
    throw new MsalError(
      "wstrust_unsupported_token",
      `The federated STS issued a token of type ${token.tokenType}, which Entra ID does not take (only SAML 1.1 and 2.0).`,
    );
  return { grantType, assertion: encodeBase64Url(new TextEncoder().encode(token.assertion)) };
}

export async function acquireTokenByUsernamePassword(
  ctx: AppContext,
  username: string,
  password: string,
  scopes: string[],
  request: UsernamePasswordRequest,
): Promise<TokenResult> {
  if (typeof username !== "string" || username === "")
    throw new ArgumentError(
      "username",
      "username must be the user's sign-in name, e.g. someone@contoso.com.",
    );
  if (typeof password !== "string" || password === "")
    throw new ArgumentError("password", "password must be a non-empty string.");
  validateScopes(scopes);
  validateClaimsChallenge(request.claimsChallenge);
  const extras = await prepareExtras(ctx, request);
  const authority = requestAuthority(ctx, request);
  const endpoints: Endpoints = await ctx.discover(authority, request.signal);
  const decorated = decorateScopes(scopes, ctx.options.excludeScopes);
  const correlationId = request.correlationId ?? crypto.randomUUID();
  const claims = mergeClaims(ctx.options.clientCapabilities, request.claimsChallenge);
  const common = {
    ctx,
    endpoints,
    api: API_ID.usernamePassword,
    reason: REFRESH_REASON.notSilent,
    correlationId,
    ...(request.signal ? { signal: request.signal } : {}),
    ...(extras === NO_EXTRAS ? {} : { extras }),
  };
  const realm =
    authority.kind === "adfs"
      ? {}
      : await userRealm(ctx, authority.host, username, correlationId, request.signal);
  if (realm.account_type === "Federated") {
    const { grantType, assertion } = await federatedAssertion(ctx, realm, username, password, request.signal);
    return finishResult(
      extras,
      await requestToken({
        ...common,
        form: { grant_type: grantType, assertion, scope: scopeParameter(decorated), claims },
        cacheEvent: { scopes: decorated, environment: authority.host, grantType, username },
      }),
    );
  }
  return finishResult(
    extras,
    await requestToken({
      ...common,
      form: { grant_type: "password", username, password, scope: scopeParameter(decorated), claims },
      retry: false,
      headers: { "X-AnchorMailbox": `upn:${username}` },
      cacheEvent: {
        scopes: decorated,
        environment: authority.host,
        grantType: "password",
        data: { username },
      },
    }),
  );
}
