/**
 * The emulator's federated identity provider: an ADFS look-alike security token service for the
 * tenants' `federatedDomains`. It serves what a client needs to sign a federated user in with a
 * username and password, as MSAL does against Entra ID:
 *
 * 1. user realm discovery (`/common/userrealm/{upn}`) says the domain is federated and where its MEX is;
 * 2. the MEX WSDL (`/adfs/services/trust/mex`) names the WS-Trust username endpoints;
 * 3. a WS-Trust RST with a UsernameToken returns an RSTR holding a SAML assertion;
 * 4. the token endpoint redeems that assertion as a `saml1_1-bearer` or `saml2-bearer` grant.
 *
 * Assertions are not signed with XML-DSig. Instead the STS remembers every assertion it issued
 * (exact text, user, expiry) and {@link FederatedSts.redeemAssertion} accepts only those, once,
 * before they expire, which gives the same guarantees a signature check plus replay cache would.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import type { Directory, User } from "./directory.js";
import {
  child,
  is,
  MICROSOFT_ONLINE_URN,
  mexWsdl,
  NS,
  parseXml,
  rstr,
  saml11Assertion,
  saml20Assertion,
  soapFault,
  VERSIONS,
  type WsTrustVersion,
} from "./federation-xml.js";

export type { WsTrustVersion };

export interface FederationOptions {
  /** The emulator's origin, e.g. `https://localhost:8443` (a trailing slash is ignored). */
  baseUrl: string;
  /** The current directory; called on every request, so the directory may be replaced at run time. */
  directory: () => Directory;
  /** Which WS-Trust endpoints the MEX advertises; default `["13", "2005"]`. */
  mexOffers?: WsTrustVersion[];
  /** Clock in epoch milliseconds (default `Date.now`), so tests can move time forward. */
  now?: () => number;
}

/** The OAuth grant types that redeem an assertion from this STS. */
export type SamlGrantType =
  | "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
  | "urn:ietf:params:oauth:grant-type:saml2-bearer";

/** An HTTP response for a WS-Trust endpoint. */
export interface WsTrustResponse {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Outcome of redeeming an assertion: the user's directory username, or an Entra ID error where
 * `description` is `AADSTS<code>: <message>` and `code` is the bare number (for `error_codes`).
 */
export type RedeemResult = { username: string } | { error: string; description: string; code: number };

/** The federated STS endpoints; each method is one HTTP route's logic, free of HTTP plumbing. */
export interface FederatedSts {
  /** `GET {base}/common/userrealm/{upn}?api-version=1.0`: the JSON object Entra ID returns. */
  userRealm(username: string): Record<string, unknown>;
  /** `GET {base}/adfs/services/trust/mex`: the WS-MetadataExchange WSDL. */
  mexDocument(): string;
  /** `POST {base}/adfs/services/trust/{13|2005}/usernamemixed` with a SOAP 1.2 RST body. */
  handleWsTrust(version: WsTrustVersion, soapRequest: string): WsTrustResponse;
  /**
   * Checks a SAML assertion (the XML text the client cut out of the RSTR and sent, base64url
   * encoded, to the token endpoint): issued here, of the SAML version the grant type names,
   * unexpired and not redeemed before. Redeeming it uses it up.
   */
  redeemAssertion(grantType: SamlGrantType, assertionXml: string): RedeemResult;
  /** Changes which WS-Trust versions the MEX advertises (MSAL prefers 1.3 when offered). */
  setMexOffers(offers: WsTrustVersion[]): void;
  /** Forgets every issued assertion and restores the MEX offers given at creation. */
  reset(): void;
}

const ASSERTION_LIFETIME_MS = 60 * 60_000;
/** Redeemed and expired assertions are kept this long after expiry, so late replays still get a precise error. */
const FORGET_AFTER_MS = 24 * 60 * 60_000;
/** WCF's default MaxClockSkew, applied to the request's wsu:Timestamp. */
const CLOCK_SKEW_MS = 5 * 60_000;
const SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8";
const GRANT_SAML1: SamlGrantType = "urn:ietf:params:oauth:grant-type:saml1_1-bearer";
const CLOUD = { cloud_instance_name: "microsoftonline.com", cloud_audience_urn: MICROSOFT_ONLINE_URN };

interface IssuedAssertion {
  xml: string;
  samlVersion: 1 | 2;
  username: string;
  tenant: string;
  expiresAt: number;
  redeemed: boolean;
}

/** Thrown inside handleWsTrust and turned into a SOAP fault response. */
class WsTrustFault {
  constructor(
    readonly status: number,
    readonly subcodeNs: string,
    readonly subcode: string,
    readonly reason: string,
  ) {}
}

function textOf(el: Element | undefined): string | undefined {
  return el?.textContent?.trim() ?? undefined;
}

function domainOf(username: string): string {
  const at = username.lastIndexOf("@");
  return at < 0 ? "" : username.slice(at + 1).toLowerCase();
}

function lookUpDomain(
  directory: Directory,
  domain: string,
): { name: string; federated: boolean } | undefined {
  const same = (d: string) => d.toLowerCase() === domain;
  for (const tenant of directory.tenants) {
    const federated = tenant.federatedDomains?.find(same);
    if (federated) return { name: federated, federated: true };
    const managed = [tenant.domain, ...(tenant.domains ?? [])].find(same);
    if (managed) return { name: managed, federated: false };
  }
  return undefined;
}

function findUser(directory: Directory, username: string): User | undefined {
  const wanted = username.toLowerCase();
  return directory.users.find((u) => u.username.toLowerCase() === wanted);
}

/**
 * ADFS sends the on-premises objectGUID, base64 encoded, as ImmutableID; the emulator has no
 * on-premises directory, so a stable 16-byte value is derived from the username instead.
 */
function immutableIdOf(user: User): string {
  return createHash("sha256")
    .update(`immutable:${user.username.toLowerCase()}`)
    .digest()
    .subarray(0, 16)
    .toString("base64");
}

function redeemError(code: number, message: string): RedeemResult {
  return { error: "invalid_grant", description: `AADSTS${code}: ${message}`, code };
}

function normaliseOffers(offers: readonly WsTrustVersion[]): WsTrustVersion[] {
  for (const offer of offers) {
    if (offer !== "13" && offer !== "2005")
      throw new TypeError(`Unknown WS-Trust version "${offer}"; use "13" or "2005".`);
  }
  return [...new Set(offers)];
}

/** Creates the federated STS; its state (issued assertions, MEX offers) lives in the closure. */
export function createFederatedSts(options: FederationOptions): FederatedSts {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const clock = options.now ?? Date.now;
  const initialOffers = normaliseOffers(options.mexOffers ?? ["13", "2005"]);
  let mexOffers = initialOffers;
  const issued = new Map<string, IssuedAssertion>();

  const invalidRequest = (version: WsTrustVersion, detail: string) =>
    new WsTrustFault(
      400,
      VERSIONS[version].trust,
      "InvalidRequest",
      `The request was invalid or malformed: ${detail}.`,
    );
  const invalidSecurity = () =>
    new WsTrustFault(
      500,
      NS.wsse,
      "InvalidSecurity",
      "An error occurred when verifying security for the message.",
    );

  function readUsernameToken(
    header: Element | undefined,
    now: number,
  ): { username: string; password: string } {
    const security = child(header, NS.wsse, "Security");
    const expires = Date.parse(textOf(child(child(security, NS.wsu, "Timestamp"), NS.wsu, "Expires")) ?? "");
    if (!Number.isNaN(expires) && expires + CLOCK_SKEW_MS < now) throw invalidSecurity();
    const token = child(security, NS.wsse, "UsernameToken");
    const username = textOf(child(token, NS.wsse, "Username"));
    const passwordElement = child(token, NS.wsse, "Password");
    const passwordType = passwordElement?.getAttribute("Type");
    if (!username || !passwordElement || (passwordType && !passwordType.endsWith("#PasswordText"))) {
      throw invalidSecurity();
    }
    // The password is taken as sent: surrounding spaces are part of it.
    return { username, password: passwordElement.textContent ?? "" };
  }

  function issue(
    version: WsTrustVersion,
    user: User,
    relatesTo: string | undefined,
    now: number,
  ): WsTrustResponse {
    for (const [id, record] of issued) {
      if (record.expiresAt + FORGET_AFTER_MS < now) issued.delete(id);
    }
    const facts = {
      id: `_${randomUUID()}`,
      issuer: `${baseUrl}/adfs/services/trust`,
      username: user.username,
      immutableId: immutableIdOf(user),
      issuedAt: new Date(now),
      expiresAt: new Date(now + ASSERTION_LIFETIME_MS),
    };
    const samlVersion = version === "13" ? 2 : 1;
    const assertion = samlVersion === 2 ? saml20Assertion(facts) : saml11Assertion(facts);
    issued.set(facts.id, {
      xml: assertion,
      samlVersion,
      username: user.username,
      tenant: user.tenant,
      expiresAt: facts.expiresAt.getTime(),
      redeemed: false,
    });
    const body = rstr({ version, assertion, assertionId: facts.id, relatesTo, ...facts });
    return { status: 200, contentType: SOAP_CONTENT_TYPE, body };
  }

  function handleWsTrust(version: WsTrustVersion, soapRequest: string): WsTrustResponse {
    const v = VERSIONS[version];
    const now = clock();
    let relatesTo: string | undefined;
    try {
      const envelope = parseXml(soapRequest);
      if (!is(envelope, NS.soap, "Envelope"))
        throw invalidRequest(version, "the body is not a SOAP 1.2 envelope");
      const header = child(envelope, NS.soap, "Header");
      relatesTo = textOf(child(header, NS.wsa, "MessageID"));
      const action = textOf(child(header, NS.wsa, "Action")) ?? "";
      if (action !== v.action) {
        throw new WsTrustFault(
          500,
          NS.wsa,
          "ActionNotSupported",
          `The message with Action '${action}' cannot be processed at the receiver, due to a ContractFilter mismatch at the EndpointDispatcher. This endpoint expects '${v.action}'.`,
        );
      }
      const credentials = readUsernameToken(header, now);
      const rst = child(child(envelope, NS.soap, "Body"), v.trust, "RequestSecurityToken");
      if (!rst) throw invalidRequest(version, `s:Body has no RequestSecurityToken in namespace ${v.trust}`);
      const requestType = textOf(child(rst, v.trust, "RequestType"));
      if (requestType !== v.requestType)
        throw invalidRequest(version, `RequestType must be ${v.requestType}`);
      const endpointReference = child(child(rst, NS.wsp, "AppliesTo"), NS.wsa, "EndpointReference");
      // Entra ID (urn:federation:MicrosoftOnline) is the only relying party trust this STS has.
      if (textOf(child(endpointReference, NS.wsa, "Address")) !== MICROSOFT_ONLINE_URN) {
        throw new WsTrustFault(500, v.trust, "RequestFailed", "MSIS3127: The specified request failed.");
      }
      const user = findUser(options.directory(), credentials.username);
      if (user?.kind !== "federated" || user.password !== credentials.password) {
        throw new WsTrustFault(500, v.trust, "FailedAuthentication", "MSIS7068: Access denied.");
      }
      return issue(version, user, relatesTo, now);
    } catch (error) {
      if (!(error instanceof WsTrustFault)) throw error;
      const { status, subcodeNs, subcode, reason } = error;
      const body = soapFault({ subcodeNs, subcode, reason, relatesTo, now: new Date(now) });
      return { status, contentType: SOAP_CONTENT_TYPE, body };
    }
  }

  function redeemAssertion(grantType: SamlGrantType, assertionXml: string): RedeemResult {
    const now = clock();
    const root = parseXml(assertionXml);
    const samlVersion = is(root, NS.saml1, "Assertion") ? 1 : is(root, NS.saml2, "Assertion") ? 2 : undefined;
    const id = samlVersion === 1 ? root?.getAttribute("AssertionID") : root?.getAttribute("ID");
    if (!samlVersion || !id) {
      return redeemError(
        50008,
        "SAML token is invalid. SAML assertion is missing or misconfigured in the token. Contact your federation provider.",
      );
    }
    const expected = grantType === GRANT_SAML1 ? 1 : 2;
    if (samlVersion !== expected) {
      const name = (n: number) => (n === 1 ? "SAML 1.1" : "SAML 2.0");
      return redeemError(
        50008,
        `SAML token is invalid. The grant type '${grantType}' takes a ${name(expected)} assertion, but a ${name(samlVersion)} assertion was sent.`,
      );
    }
    const record = issued.get(id);
    if (!record) {
      return redeemError(
        5000811,
        "Unable to verify token signature. The signing key identifier does not match any valid registered keys.",
      );
    }
    // What a signature check would catch: any change to the assertion after it left the STS.
    if (assertionXml.trim() !== record.xml) {
      return redeemError(
        50013,
        "Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]",
      );
    }
    if (now >= record.expiresAt) {
      return redeemError(
        500133,
        `Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: ${new Date(now).toISOString()}, expiry time of assertion ${new Date(record.expiresAt).toISOString()}.`,
      );
    }
    if (record.redeemed) {
      return redeemError(
        50013,
        "Assertion is invalid. The assertion has already been redeemed and cannot be used again; request a new one from the federation provider.",
      );
    }
    record.redeemed = true;
    const user = findUser(options.directory(), record.username);
    if (!user) {
      return redeemError(
        50034,
        `The user account {EUII Hidden} does not exist in the ${record.tenant} directory. To sign into this application, the account must be added to the directory.`,
      );
    }
    return { username: user.username };
  }

  return {
    userRealm(username) {
      const known = lookUpDomain(options.directory(), domainOf(username));
      if (!known) return { ver: "1.0", account_type: "Unknown", ...CLOUD };
      if (!known.federated) return { ver: "1.0", account_type: "Managed", domain_name: known.name, ...CLOUD };
      return {
        ver: "1.0",
        account_type: "Federated",
        domain_name: known.name,
        federation_protocol: "WSTrust",
        federation_metadata_url: `${baseUrl}/adfs/services/trust/mex`,
        federation_active_auth_url: `${baseUrl}/adfs/services/trust/2005/usernamemixed`,
        ...CLOUD,
      };
    },
    mexDocument: () => mexWsdl(baseUrl, mexOffers),
    handleWsTrust,
    redeemAssertion,
    setMexOffers(offers) {
      mexOffers = normaliseOffers(offers);
    },
    reset() {
      issued.clear();
      mexOffers = initialOffers;
    },
  };
}
