/**
 * Grants that yield user tokens: authorization code (with PKCE), refresh token (with FOCI family
 * refresh tokens), password (ROPC), device code and SAML bearer assertions from the federated STS.
 */
import { createHash } from "node:crypto";
import type { User } from "./directory.js";
import type { FederatedSts } from "./federation.js";
import {
  fail,
  type GrantOutcome,
  type GrantRequest,
  isOutcome,
  missingParameter,
  requestedScopes,
} from "./grant.js";
import { issueUserTokens } from "./issue.js";
import { findUser, findUserByOid, nowSeconds, userAllowedAt } from "./world.js";

function boolParam(g: GrantRequest, name: string): boolean {
  return g.req.form.get(name) === "1" || g.req.form.get(name) === "true";
}

function userTokens(
  g: GrantRequest,
  user: User,
  authTime: number,
  fallbackScope: string,
  extra: { nonce?: string; amr?: string[]; claims?: string } = {},
): GrantOutcome {
  const scopes = requestedScopes(g, fallbackScope);
  if (isOutcome(scopes)) return scopes;
  // The token request's claims, else those of the authorization request the code came from.
  const claims = g.req.form.get("claims") ?? extra.claims;
  return {
    tokens: issueUserTokens(g.world, {
      app: g.app,
      user,
      scopes,
      authTime,
      clientInfo: boolParam(g, "client_info"),
      ...extra,
      ...(claims ? { claims } : {}),
    }),
  };
}

/** RFC 7636 section 4.6. */
function pkceMatches(verifier: string, challenge: string, method: "S256" | "plain"): boolean {
  return method === "plain"
    ? verifier === challenge
    : createHash("sha256").update(verifier).digest("base64url") === challenge;
}

export function authorizationCodeGrant(g: GrantRequest): GrantOutcome {
  const code = g.req.form.get("code");
  if (!code) return missingParameter(g, "code");
  const grant = g.world.codes.get(code);
  if (!grant || grant.clientId !== g.app.clientId) {
    return fail(
      g,
      "invalid_grant",
      70000,
      "Provided grant is invalid or malformed. The authorization code is not valid for this client.",
    );
  }
  if (grant.redeemed) {
    return fail(
      g,
      "invalid_grant",
      54005,
      "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
    );
  }
  if (grant.expiresAt < nowSeconds()) {
    return fail(
      g,
      "invalid_grant",
      70008,
      "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    );
  }
  if ((g.req.form.get("redirect_uri") ?? "") !== grant.redirectUri) {
    return fail(
      g,
      "invalid_grant",
      50011,
      `The redirect URI '${g.req.form.get("redirect_uri") ?? ""}' specified in the request does not match the redirect URI used to obtain the authorization code.`,
    );
  }
  if (grant.codeChallenge) {
    const verifier = g.req.form.get("code_verifier");
    if (!verifier)
      return fail(
        g,
        "invalid_request",
        50148,
        "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE: code_verifier is missing.",
      );
    if (!pkceMatches(verifier, grant.codeChallenge, grant.codeChallengeMethod ?? "plain")) {
      return fail(
        g,
        "invalid_grant",
        501481,
        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
      );
    }
  }
  grant.redeemed = true;
  const user = findUserByOid(g.world, grant.userOid);
  if (!user) return fail(g, "invalid_grant", 50034, "The user account does not exist in the directory.");
  return userTokens(g, user, grant.authTime, grant.scopes.join(" "), {
    ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
    ...(grant.claims !== undefined ? { claims: grant.claims } : {}),
    amr: user.kind === "mfa" ? ["pwd", "mfa"] : ["pwd"],
  });
}

export function refreshTokenGrant(g: GrantRequest): GrantOutcome {
  const token = g.req.form.get("refresh_token");
  if (!token) return missingParameter(g, "refresh_token");
  const rt = g.world.refreshTokens.get(token);
  if (!rt)
    return fail(
      g,
      "invalid_grant",
      9002313,
      "Invalid request. Request is malformed or invalid. The refresh token is not recognised.",
    );
  const sameFamily = rt.familyId !== undefined && rt.familyId === g.app.familyId;
  if (rt.clientId !== g.app.clientId && !sameFamily) {
    return fail(
      g,
      "invalid_grant",
      70000,
      "Provided grant is invalid or malformed. The refresh token was issued to a different client.",
      { suberror: "client_mismatch" },
    );
  }
  if (rt.revoked) {
    return fail(
      g,
      "invalid_grant",
      50173,
      "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
      { suberror: "bad_token" },
    );
  }
  if (rt.expiresAt < nowSeconds()) {
    return fail(g, "invalid_grant", 700082, "The refresh token has expired due to inactivity.", {
      suberror: "bad_token",
    });
  }
  const user = findUserByOid(g.world, rt.userOid);
  if (!user)
    return fail(g, "invalid_grant", 50034, "The user account does not exist in the directory.", {
      suberror: "bad_token",
    });
  return userTokens(g, user, rt.authTime, "openid profile offline_access", {
    amr: user.kind === "mfa" ? ["pwd", "mfa"] : ["pwd"],
  });
}

/** The claims challenge Entra sends when Conditional Access requires MFA. */
export const MFA_CLAIMS_CHALLENGE = JSON.stringify({
  access_token: { capolids: { essential: true, values: ["5a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"] } },
});

export function passwordGrant(g: GrantRequest): GrantOutcome {
  const username = g.req.form.get("username");
  const password = g.req.form.get("password");
  if (!username) return missingParameter(g, "username");
  if (!password) return missingParameter(g, "password");
  const user = findUser(g.world, username);
  if (!user || !userAllowedAt(g.world, user, g.tenant)) {
    return fail(
      g,
      "invalid_grant",
      50034,
      `The user account ${username} does not exist in the ${g.segment} directory. To sign into this application, the account must be added to the directory.`,
    );
  }
  if (user.kind === "federated") {
    return fail(
      g,
      "invalid_grant",
      50126,
      "Error validating credentials due to invalid username or password. This user is federated: authenticate at the federated STS and use the SAML bearer grant.",
    );
  }
  if (password !== user.password) {
    return fail(
      g,
      "invalid_grant",
      50126,
      "Error validating credentials due to invalid username or password.",
    );
  }
  if (user.kind === "mfa") {
    return fail(
      g,
      "interaction_required",
      50076,
      "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
      {
        suberror: "basic_action",
        claims: MFA_CLAIMS_CHALLENGE,
      },
    );
  }
  return userTokens(g, user, nowSeconds(), "openid profile offline_access");
}

export function deviceCodeGrant(g: GrantRequest): GrantOutcome {
  // MSAL Python also sends the value as `code`, a legacy name.
  const deviceCode = g.req.form.get("device_code") ?? g.req.form.get("code");
  if (!deviceCode) return missingParameter(g, "device_code");
  const flow = g.world.deviceCodes.get(deviceCode);
  if (!flow || flow.clientId !== g.app.clientId) {
    return fail(
      g,
      "invalid_grant",
      70000,
      "Provided grant is invalid or malformed. The device code is not valid for this client.",
    );
  }
  const now = Date.now();
  if (flow.status === "redeemed")
    return fail(g, "invalid_grant", 54005, "The device code was already redeemed.");
  if (flow.expiresAt * 1000 < now) {
    return fail(
      g,
      "expired_token",
      70020,
      "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
    );
  }
  if (flow.status === "denied") {
    return fail(
      g,
      flow.denyError ?? "access_denied",
      70000,
      "The user denied the authorization request on the device code sign-in page.",
    );
  }
  if (flow.status === "pending") {
    // RFC 8628 section 3.5: polling faster than the interval earns slow_down and a longer interval.
    const tooSoon = flow.lastPollAt !== undefined && now - flow.lastPollAt < flow.interval * 1000 - 500;
    flow.lastPollAt = now;
    if (tooSoon) {
      flow.interval += 5;
      return fail(
        g,
        "slow_down",
        70016,
        "OAuth 2.0 device flow error. Polling too fast; wait the interval between requests.",
      );
    }
    return fail(
      g,
      "authorization_pending",
      70016,
      "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    );
  }
  const user = flow.userOid ? findUserByOid(g.world, flow.userOid) : undefined;
  if (!user) return fail(g, "invalid_grant", 50034, "The user account does not exist in the directory.");
  flow.status = "redeemed";
  // The polling request carries no scope: the token is for the scopes asked for at initiation.
  return userTokens(g, user, flow.authTime ?? nowSeconds(), flow.scopes.join(" "));
}

export function samlBearerGrant(
  g: GrantRequest,
  grantType: Parameters<FederatedSts["redeemAssertion"]>[0],
  sts: FederatedSts,
): GrantOutcome {
  const assertion = g.req.form.get("assertion");
  if (!assertion) return missingParameter(g, "assertion");
  const xml = Buffer.from(assertion, "base64url").toString("utf8");
  const redeemed = sts.redeemAssertion(grantType, xml);
  if ("error" in redeemed) {
    const code = Number(/^AADSTS(\d+)/.exec(redeemed.description)?.[1] ?? 50008);
    return fail(g, redeemed.error, code, redeemed.description.replace(/^AADSTS\d+:\s*/, ""));
  }
  const user = findUser(g.world, redeemed.username);
  if (!user || !userAllowedAt(g.world, user, g.tenant)) {
    return fail(
      g,
      "invalid_grant",
      50034,
      `The user account ${redeemed.username} does not exist in the ${g.segment} directory.`,
    );
  }
  return userTokens(g, user, nowSeconds(), "openid profile offline_access", { amr: ["fed"] });
}
