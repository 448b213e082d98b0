/**
 * Client authentication at the token endpoint: `client_secret` in the body or HTTP Basic, and
 * `private_key_jwt` assertions (RS256 or PS256) checked against the app's certificate by `x5t`
 * (SHA-1), `x5t#S256`, or by subject name and issuer when the chain comes in `x5c`; and federated
 * assertions (workload identity federation) checked against the app's federated identity credentials
 * and the issuer's keys.
 * https://learn.microsoft.com/entra/identity-platform/certificate-credentials
 * https://learn.microsoft.com/entra/workload-id/workload-identity-federation
 */
import { createHash, timingSafeEqual, X509Certificate } from "node:crypto";
import { type App, isConfidential, TOKEN_EXCHANGE_AUDIENCE } from "./directory.js";
import { type EntraError, entraError } from "./errors.js";
import type { EmuRequest } from "./http.js";
import { decodeJwt, verifyJwtSignature } from "./jwt.js";
import { issuerKeys, resolveIssuer } from "./workload-issuer.js";
import { nowSeconds, type World } from "./world.js";

export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CLOCK_SKEW = 300;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `Authorization: Basic base64(urlencode(id):urlencode(secret))` per RFC 6749 section 2.3.1. */
function basicCredentials(req: EmuRequest): { clientId: string; secret: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.toLowerCase().startsWith("basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
  return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/** The client id of a token request: the form's, or the one in the Basic header. */
export function requestClientId(req: EmuRequest): string | undefined {
  return req.form.get("client_id") ?? basicCredentials(req)?.clientId;
}

/** Checks the client's credentials; returns an error to send, or `undefined` when authenticated. */
export function authenticateClient(req: EmuRequest, world: World, app: App): EntraError | undefined {
  const ctx = { correlationId: req.correlationId, baseUrl: world.baseUrl };
  const basic = basicCredentials(req);
  const secret = req.form.get("client_secret") ?? basic?.secret;
  const assertion = req.form.get("client_assertion");
  if (!isConfidential(app)) {
    if (secret || assertion) {
      return entraError(
        ctx,
        "invalid_client",
        700025,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
      );
    }
    return undefined;
  }
  if (assertion) return checkAssertion(req, world, app, assertion);
  if (secret !== undefined) {
    if (app.secret && sameSecret(secret, app.secret)) return undefined;
    return entraError(
      ctx,
      "invalid_client",
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    );
  }
  return entraError(
    ctx,
    "invalid_client",
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

function thumbprint(der: Buffer, algorithm: "sha1" | "sha256"): string {
  return createHash(algorithm).update(der).digest("base64url");
}

function checkAssertion(req: EmuRequest, world: World, app: App, assertion: string): EntraError | undefined {
  const ctx = { correlationId: req.correlationId, baseUrl: world.baseUrl };
  const fail = (code: number, message: string) => entraError(ctx, "invalid_client", code, message);
  if (req.form.get("client_assertion_type") !== JWT_BEARER_ASSERTION_TYPE) {
    return fail(
      7000216,
      "'client_assertion_type' is missing or invalid. It must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
    );
  }
  const jwt = decodeJwt(assertion);
  if (!jwt) return fail(50027, "JWT token is invalid or malformed.");
  const { header, payload } = jwt;
  // An assertion naming the app as neither issuer nor subject is another issuer's token: federated.
  if (payload.iss !== app.clientId && payload.sub !== app.clientId)
    return checkFederatedAssertion(req, world, app, jwt);
  if (payload.iss !== app.clientId || payload.sub !== app.clientId) {
    return fail(
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://aka.ms/certCreds.",
    );
  }
  if (!audienceIsTokenEndpoint(world, payload.aud)) {
    return fail(
      700212,
      `No matching federated identity record found for presented assertion audience '${String(payload.aud)}'. The audience must be the token endpoint.`,
    );
  }
  const now = nowSeconds();
  if (
    typeof payload.exp !== "number" ||
    payload.exp + CLOCK_SKEW < now ||
    (typeof payload.nbf === "number" && payload.nbf - CLOCK_SKEW > now)
  ) {
    return fail(700024, "Client assertion is not within its valid time range.");
  }
  const registered = app.certificate ? new X509Certificate(app.certificate.certificate) : undefined;
  // MSAL Python pads its base64url thumbprints with "="; Entra accepts both forms.
  const unpadded = (value: unknown) => (typeof value === "string" ? value.replace(/=+$/, "") : undefined);
  let key: X509Certificate | undefined;
  if (registered && header["x5t#S256"] !== undefined) {
    if (unpadded(header["x5t#S256"]) === thumbprint(registered.raw, "sha256")) key = registered;
  } else if (registered && header.x5t !== undefined) {
    if (unpadded(header.x5t) === thumbprint(registered.raw, "sha1")) key = registered;
  }
  if (!key && Array.isArray(header.x5c) && typeof header.x5c[0] === "string") {
    key = trustedBySubjectName(world, app, header.x5c as string[]);
  }
  if (!key) {
    return fail(
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application ${app.clientId}.`,
    );
  }
  if (!verifyJwtSignature(jwt, key.publicKey))
    return fail(700027, "Client assertion contains an invalid signature.");
  return undefined;
}

/** Subject name + issuer (SNI): the leaf's subject is the one registered and the chain ends at our CA. */
function trustedBySubjectName(world: World, app: App, x5c: string[]): X509Certificate | undefined {
  if (!app.trustedCertificateSubject) return undefined;
  try {
    const chain = x5c.map((c) => new X509Certificate(Buffer.from(c, "base64")));
    const leaf = chain[0] as X509Certificate;
    const subject = leaf.subject.split("\n").join(", ");
    if (
      `CN=${leaf.subject.replace(/^CN=/, "")}` !== app.trustedCertificateSubject &&
      subject !== app.trustedCertificateSubject
    )
      return undefined;
    const issuer = chain.length > 1 ? (chain[1] as X509Certificate) : world.ca;
    if (!leaf.checkIssued(issuer) || !leaf.verify(issuer.publicKey)) return undefined;
    if (
      issuer !== world.ca &&
      !(issuer.fingerprint256 === world.ca.fingerprint256 || issuer.checkIssued(world.ca))
    )
      return undefined;
    return leaf;
  } catch {
    return undefined;
  }
}

function audienceIsTokenEndpoint(world: World, aud: unknown): boolean {
  const candidates = Array.isArray(aud) ? aud : [aud];
  return candidates.some((a) => {
    if (typeof a !== "string") return false;
    try {
      const url = new URL(a);
      const own = new URL(world.baseUrl);
      return (
        url.port === own.port &&
        ["localhost", "127.0.0.1"].includes(url.hostname) &&
        /\/oauth2\/(v2\.0\/)?token$/.test(url.pathname)
      );
    } catch {
      return false;
    }
  });
}

const FEDERATION_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
const CHECK_FEDERATED = `Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${FEDERATION_DOCS}`;

/** Entra's ISO time with seven fraction digits, as in AADSTS700024's description. */
const isoTime = (seconds: number) =>
  new Date(seconds * 1000).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");

/**
 * A federated assertion: a credential of the app must name its issuer, then its subject
 * (case-sensitively, since 2024), then its audience; then the issuer's key must verify it and it must
 * be within its lifetime. The codes are the ones Entra sends for each mismatch.
 */
function checkFederatedAssertion(
  req: EmuRequest,
  world: World,
  app: App,
  jwt: NonNullable<ReturnType<typeof decodeJwt>>,
): EntraError | undefined {
  const ctx = { correlationId: req.correlationId, baseUrl: world.baseUrl };
  const fail = (code: number, message: string) => entraError(ctx, "invalid_client", code, message);
  const { payload } = jwt;
  const iss = typeof payload.iss === "string" ? payload.iss : "";
  const sub = typeof payload.sub === "string" ? payload.sub : "";
  const credentials = (app.federatedCredentials ?? []).filter((c) => resolveIssuer(world, c.issuer) === iss);
  if (credentials.length === 0)
    return fail(
      700211,
      `No matching federated identity record found for presented assertion issuer '${iss}'. ${CHECK_FEDERATED}`,
    );
  const bySubject = credentials.filter((c) => c.subject === sub);
  if (bySubject.length === 0) {
    const caseOnly = credentials.some((c) => c.subject.toLowerCase() === sub.toLowerCase());
    return caseOnly
      ? fail(
          7002138,
          `No matching federated identity record found for presented assertion subject '${sub}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. ${CHECK_FEDERATED}`,
        )
      : fail(
          700213,
          `No matching federated identity record found for presented assertion subject '${sub}'. ${CHECK_FEDERATED}`,
        );
  }
  const presented = (Array.isArray(payload.aud) ? payload.aud : [payload.aud]).filter(
    (a): a is string => typeof a === "string",
  );
  const match = bySubject.find((c) =>
    presented.some((a) => (c.audiences ?? [TOKEN_EXCHANGE_AUDIENCE]).includes(a)),
  );
  if (!match)
    return fail(
      700212,
      `No matching federated identity record found for presented assertion audience '${presented.join(",")}'. ${CHECK_FEDERATED}`,
    );
  const found = issuerKeys(world, iss, jwt.header.kid);
  if ("unavailable" in found)
    return entraError(
      ctx,
      "invalid_request",
      50166,
      `Request to External OIDC endpoint failed (${found.unavailable}).`,
    );
  if (!found.keys.some((key) => verifyJwtSignature(jwt, key)))
    return fail(700027, "Client assertion failed signature validation. [Reason - The key was not found.]");
  const now = nowSeconds();
  const exp = typeof payload.exp === "number" ? payload.exp : undefined;
  const nbf = typeof payload.nbf === "number" ? payload.nbf : 0;
  if (exp === undefined || exp + CLOCK_SKEW < now || nbf - CLOCK_SKEW > now)
    return fail(
      700024,
      `Client assertion is not within its valid time range. Current time: ${isoTime(now)}, assertion valid from ${isoTime(nbf)}, expiry time of assertion ${exp === undefined ? "(none)" : isoTime(exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    );
  return undefined;
}
