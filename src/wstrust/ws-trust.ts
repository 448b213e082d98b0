/**
 * WS-Trust 1.3 and 2005 username/password requests to a federated STS (ADFS), and reading the
 * SAML assertion out of the response (spec section 3.5). The assertion is cut out of the response
 * text byte for byte, because its signature covers those bytes: the XML parser finds where it is.
 */
import type { Element } from "@xmldom/xmldom";
import { MsalError } from "../errors.js";
import { ACTION_13, ACTION_2005, type WsTrustVersion } from "./mex.js";
import { descendants, escapeXml, NS, parseXml, path, text } from "./xml.js";

const VERSIONS = {
  "13": {
    trust: NS.trust13,
    action: ACTION_13,
    keyType: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer",
    requestType: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue",
  },
  "2005": {
    trust: NS.trust2005,
    action: ACTION_2005,
    keyType: "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey",
    requestType: "http://schemas.xmlsoap.org/ws/2005/02/trust/Issue",
  },
} as const;

/** The version an endpoint speaks, from its path, when the MEX gave no action. */
export function versionFromUrl(url: string): WsTrustVersion {
  const path = new URL(url).pathname.toLowerCase();
  if (path.endsWith("/trust/2005/usernamemixed")) return "2005";
  if (path.endsWith("/trust/13/usernamemixed")) return "13";
  throw new MsalError(
    "wstrust_unsupported_endpoint",
    `Cannot tell the WS-Trust version of ${url}: expected a /trust/13/usernamemixed or /trust/2005/usernamemixed endpoint.`,
  );
}

const timestamp = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

export interface RstInput {
  endpoint: string;
  version: WsTrustVersion;
  username: string;
  password: string;
  /** The relying party: Entra's `cloud_audience_urn`. */
  appliesTo?: string;
  now?: Date;
}

/** The SOAP 1.2 RequestSecurityToken envelope and its SOAPAction. */
export function buildRst(input: RstInput): { body: string; action: string } {
  const v = VERSIONS[input.version];
  const now = input.now ?? new Date();
  const expires = new Date(now.getTime() + 10 * 60 * 1000);
  const body = `<s:Envelope xmlns:s="${NS.soap}" xmlns:wsa="${NS.wsa10}" xmlns:wsu="${NS.wsu}">
<s:Header>
<wsa:Action s:mustUnderstand="1">${v.action}</wsa:Action>
<wsa:MessageID>urn:uuid:${crypto.randomUUID()}</wsa:MessageID>
<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>
<wsa:To s:mustUnderstand="1">${escapeXml(input.endpoint)}</wsa:To>
<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
<wsu:Timestamp wsu:Id="_0"><wsu:Created>${timestamp(now)}</wsu:Created><wsu:Expires>${timestamp(expires)}</wsu:Expires></wsu:Timestamp>
<wsse:UsernameToken wsu:Id="ADALUsernameToken"><wsse:Username>${escapeXml(input.username)}</wsse:Username><wsse:Password>${escapeXml(input.password)}</wsse:Password></wsse:UsernameToken>
</wsse:Security>
</s:Header>
<s:Body>
<wst:RequestSecurityToken xmlns:wst="${v.trust}">
<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><wsa:EndpointReference><wsa:Address>${escapeXml(input.appliesTo ?? "urn:federation:MicrosoftOnline")}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>
<wst:KeyType>${v.keyType}</wst:KeyType>
<wst:RequestType>${v.requestType}</wst:RequestType>
</wst:RequestSecurityToken>
</s:Body>
</s:Envelope>`;
  return { body, action: v.action };
}

export interface IssuedToken {
  /** The SAML assertion, exactly as the STS wrote it. */
  assertion: string;
  tokenType: string;
}

/**
 * The line breaks xmldom counts lines by: it turns each of these into one "\n" before parsing
 * (`normalizeLineEndings`), so a lone CR (a legal XML line break) or NEL/LS/PS starts a new line too.
 */
const LINE_BREAK = /\r[\n\u0085]|[\r\n\u0085\u2028\u2029]/g;

/** Offset in `source` of a parsed element's start tag, from the parser's line and column. */
function offsetOf(source: string, element: Element): number {
  const line = (element as Element & { lineNumber?: number }).lineNumber ?? 1;
  const column = (element as Element & { columnNumber?: number }).columnNumber ?? 1;
  const breaks = new RegExp(LINE_BREAK);
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const found = breaks.exec(source);
    if (!found) break;
    offset = found.index + found[0].length;
  }
  return offset + column - 1;
}

/** The raw text between an element's start and end tags. */
function innerXml(source: string, element: Element): string {
  const start = source.indexOf(">", offsetOf(source, element)) + 1;
  const end = source.indexOf(`</${element.tagName}`, start);
  if (start <= 0 || end < 0)
    throw new MsalError(
      "wstrust_invalid_response",
      "Could not locate the security token in the WS-Trust response.",
    );
  return source.slice(start, end).trim();
}

/** The token of an RSTR (1.3 or 2005); a SOAP fault becomes an error that names the STS's reason. */
export function parseRstr(response: string): IssuedToken {
  const root = parseXml(response, "WS-Trust response");
  const responses = [
    ...descendants(root, NS.trust13, "RequestSecurityTokenResponse"),
    ...descendants(root, NS.trust2005, "RequestSecurityTokenResponse"),
  ];
  for (const rstr of responses) {
    const tokenType = text(descendants(rstr, rstr.namespaceURI ?? "", "TokenType")[0]);
    const requested = descendants(rstr, rstr.namespaceURI ?? "", "RequestedSecurityToken")[0];
    if (tokenType && requested) return { tokenType, assertion: innerXml(response, requested) };
  }
  const fault = path(root, [NS.soap, "Body"], [NS.soap, "Fault"]);
  if (fault) {
    const reason = text(path(fault, [NS.soap, "Reason"], [NS.soap, "Text"]));
    const code = text(path(fault, [NS.soap, "Code"], [NS.soap, "Subcode"], [NS.soap, "Value"]));
    throw new MsalError(
      "wstrust_fault",
      `The federated STS refused the sign-in: ${reason ?? "no reason given"} (${code ?? "no code"}). Check the username and password.`,
    );
  }
  throw new MsalError(
    "wstrust_invalid_response",
    "The WS-Trust response has no RequestSecurityTokenResponse with a token and no SOAP fault.",
  );
}

export const SAML_GRANTS: Record<string, string> = {
  "urn:oasis:names:tc:SAML:1.0:assertion": "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
  "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1":
    "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
  "urn:oasis:names:tc:SAML:2.0:assertion": "urn:ietf:params:oauth:grant-type:saml2-bearer",
  "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0":
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
};
