/**
 * XML vocabulary of the emulator's federated STS (an ADFS look-alike): namespaces, the WS-Trust
 * version table, the MEX WSDL, SAML 1.1 / 2.0 assertions, RSTRs, SOAP 1.2 faults and small
 * namespace-aware DOM helpers over `@xmldom/xmldom`.
 *
 * The shapes follow what ADFS sends, because clients parse them loosely: MSAL Python walks the MEX
 * with fixed XPath routes and pulls the assertion out of the RSTR with a regular expression, so
 * element nesting, prefixes and the byte-exact assertion text all matter.
 */
import { DOMParser, type Element, onErrorStopParsing } from "@xmldom/xmldom";

export const NS = {
  soap: "http://www.w3.org/2003/05/soap-envelope",
  wsa: "http://www.w3.org/2005/08/addressing",
  wsse: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
  wsu: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
  wsp: "http://schemas.xmlsoap.org/ws/2004/09/policy",
  wsdl: "http://schemas.xmlsoap.org/wsdl/",
  soap12: "http://schemas.xmlsoap.org/wsdl/soap12/",
  wsaw: "http://www.w3.org/2006/05/addressing/wsdl",
  httpPolicy: "http://schemas.microsoft.com/ws/06/2004/policy/http",
  saml1: "urn:oasis:names:tc:SAML:1.0:assertion",
  saml2: "urn:oasis:names:tc:SAML:2.0:assertion",
} as const;

/** The audience Entra ID registers as relying party at every federated STS. */
export const MICROSOFT_ONLINE_URN = "urn:federation:MicrosoftOnline";

export type WsTrustVersion = "13" | "2005";

interface VersionInfo {
  trust: string;
  action: string;
  replyAction: string;
  requestType: string;
  keyType: string;
  tokenType: string;
  /** WS-SecurityPolicy namespace and username supporting-token element MSAL's MEX routes expect. */
  sp: string;
  supportingTokens: string;
  contract: string;
  operation: string;
  /** wsse 1.1 token type and key identifier value type naming the assertion in the RSTR references. */
  referenceTokenType: string;
  keyIdentifierType: string;
}

/** WS-Trust 1.3 issues SAML 2.0 and WS-Trust 2005 issues SAML 1.1, as many ADFS farms are set up. */
export const VERSIONS: Record<WsTrustVersion, VersionInfo> = {
  "13": {
    trust: "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
    action: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue",
    replyAction: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal",
    requestType: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue",
    keyType: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer",
    tokenType: "urn:oasis:names:tc:SAML:2.0:assertion",
    sp: "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702",
    supportingTokens: "SignedEncryptedSupportingTokens",
    contract: "IWSTrust13Async",
    operation: "Trust13IssueAsync",
    referenceTokenType: "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0",
    keyIdentifierType: "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID",
  },
  "2005": {
    trust: "http://schemas.xmlsoap.org/ws/2005/02/trust",
    action: "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue",
    replyAction: "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Issue",
    requestType: "http://schemas.xmlsoap.org/ws/2005/02/trust/Issue",
    keyType: "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey",
    tokenType: "urn:oasis:names:tc:SAML:1.0:assertion",
    sp: "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy",
    supportingTokens: "SignedSupportingTokens",
    contract: "IWSTrustFeb2005Async",
    operation: "TrustFeb2005IssueAsync",
    referenceTokenType: "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1",
    keyIdentifierType: "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID",
  },
};

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Parses strictly: any well-formedness error, and any DTD (as WCF refuses them), gives `undefined`. */
export function parseXml(text: string): Element | undefined {
  try {
    const doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(text, "application/xml");
    if (doc.doctype) return undefined;
    return doc.documentElement ?? undefined;
  } catch {
    return undefined;
  }
}

export function children(parent: Element | undefined, ns: string, localName: string): Element[] {
  const found: Element[] = [];
  if (!parent) return found;
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    const el = node as Element;
    if (node.nodeType === 1 && el.namespaceURI === ns && el.localName === localName) found.push(el);
  }
  return found;
}

export function child(parent: Element | undefined, ns: string, localName: string): Element | undefined {
  return children(parent, ns, localName)[0];
}

export function is(el: Element | undefined, ns: string, localName: string): el is Element {
  return el !== undefined && el.namespaceURI === ns && el.localName === localName;
}

// --- MEX -------------------------------------------------------------------------------------------

function transportBinding(sp: string): string {
  const nested = (name: string, inner: string) =>
    `<sp:${name}><wsp:Policy>${inner}</wsp:Policy></sp:${name}>`;
  return (
    `<sp:TransportBinding xmlns:sp="${sp}"><wsp:Policy>` +
    nested("TransportToken", '<sp:HttpsToken RequireClientCertificate="false"/>') +
    nested("AlgorithmSuite", "<sp:Basic256/>") +
    nested("Layout", "<sp:Strict/>") +
    "<sp:IncludeTimestamp/></wsp:Policy></sp:TransportBinding>"
  );
}

interface MexEndpoint {
  binding: string;
  version: WsTrustVersion;
  path: string;
  policy: string;
}

/** ADFS's endpoint set, reduced to the username endpoint and Windows (Negotiate) endpoint per version. */
function mexEndpoints(offers: readonly WsTrustVersion[]): MexEndpoint[] {
  return offers.flatMap((version) => {
    const v = VERSIONS[version];
    const username =
      `<sp:${v.supportingTokens} xmlns:sp="${v.sp}"><wsp:Policy>` +
      `<sp:UsernameToken sp:IncludeToken="${v.sp}/IncludeToken/AlwaysToRecipient">` +
      `<wsp:Policy><sp:WssUsernameToken10/></wsp:Policy></sp:UsernameToken>` +
      `</wsp:Policy></sp:${v.supportingTokens}>`;
    const negotiate = `<http:NegotiateAuthentication xmlns:http="${NS.httpPolicy}"/>`;
    return [
      {
        binding: `CustomBinding_${v.contract}_windows`,
        version,
        path: `/adfs/services/trust/${version}/windowstransport`,
        policy: negotiate + transportBinding(v.sp),
      },
      {
        binding: `UserNameWSTrustBinding_${v.contract}`,
        version,
        path: `/adfs/services/trust/${version}/usernamemixed`,
        policy: transportBinding(v.sp) + username,
      },
    ];
  });
}

/** The WS-MetadataExchange WSDL at `/adfs/services/trust/mex`, advertising the `offers` versions only. */
export function mexWsdl(baseUrl: string, offers: readonly WsTrustVersion[]): string {
  const endpoints = mexEndpoints(offers);
  const policies = endpoints.map(
    (e) =>
      `<wsp:Policy wsu:Id="${e.binding}_policy"><wsp:ExactlyOne><wsp:All>${e.policy}` +
      "<wsaw:UsingAddressing/></wsp:All></wsp:ExactlyOne></wsp:Policy>",
  );
  const contracts = offers.map((version) => {
    const v = VERSIONS[version];
    return (
      `<wsdl:portType name="${v.contract}"><wsdl:operation name="${v.operation}">` +
      `<wsdl:input wsaw:Action="${v.action}"/><wsdl:output wsaw:Action="${v.replyAction}"/>` +
      "</wsdl:operation></wsdl:portType>"
    );
  });
  const bindings = endpoints.map((e) => {
    const v = VERSIONS[e.version];
    return (
      `<wsdl:binding name="${e.binding}" type="tns:${v.contract}">` +
      `<wsp:PolicyReference URI="#${e.binding}_policy"/>` +
      '<soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>' +
      `<wsdl:operation name="${v.operation}">` +
      `<soap12:operation soapAction="${v.action}" style="document"/>` +
      '<wsdl:input><soap12:body use="literal"/></wsdl:input>' +
      '<wsdl:output><soap12:body use="literal"/></wsdl:output>' +
      "</wsdl:operation></wsdl:binding>"
    );
  });
  const ports = endpoints.map((e) => {
    const address = escapeXml(baseUrl + e.path);
    return (
      `<wsdl:port name="${e.binding}" binding="tns:${e.binding}">` +
      `<soap12:address location="${address}"/>` +
      `<wsa10:EndpointReference><wsa10:Address>${address}</wsa10:Address></wsa10:EndpointReference>` +
      "</wsdl:port>"
    );
  });
  const tns = "http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice";
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    `<wsdl:definitions name="SecurityTokenService" targetNamespace="${tns}" xmlns:tns="${tns}"` +
    ` xmlns:wsdl="${NS.wsdl}" xmlns:soap12="${NS.soap12}" xmlns:wsa10="${NS.wsa}" xmlns:wsaw="${NS.wsaw}"` +
    ` xmlns:wsu="${NS.wsu}" xmlns:wsp="${NS.wsp}">` +
    [...policies, ...contracts, ...bindings].join("\n") +
    `\n<wsdl:service name="SecurityTokenService">${ports.join("\n")}</wsdl:service>\n</wsdl:definitions>`
  );
}

// --- SAML ------------------------------------------------------------------------------------------

export interface AssertionFacts {
  id: string;
  issuer: string;
  username: string;
  immutableId: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** SAML 1.1 assertion with the claims Entra ID reads from a WS-Trust 2005 STS (UPN, ImmutableID). */
export function saml11Assertion(f: AssertionFacts): string {
  const upn = escapeXml(f.username);
  const subject =
    '<saml:Subject><saml:NameIdentifier Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">' +
    `${escapeXml(f.immutableId)}</saml:NameIdentifier><saml:SubjectConfirmation>` +
    "<saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod>" +
    "</saml:SubjectConfirmation></saml:Subject>";
  return (
    `<saml:Assertion MajorVersion="1" MinorVersion="1" AssertionID="${f.id}" Issuer="${escapeXml(f.issuer)}"` +
    ` IssueInstant="${f.issuedAt.toISOString()}" xmlns:saml="${NS.saml1}">` +
    `<saml:Conditions NotBefore="${f.issuedAt.toISOString()}" NotOnOrAfter="${f.expiresAt.toISOString()}">` +
    `<saml:AudienceRestrictionCondition><saml:Audience>${MICROSOFT_ONLINE_URN}</saml:Audience>` +
    "</saml:AudienceRestrictionCondition></saml:Conditions>" +
    `<saml:AttributeStatement>${subject}` +
    '<saml:Attribute AttributeName="UPN" AttributeNamespace="http://schemas.xmlsoap.org/claims">' +
    `<saml:AttributeValue>${upn}</saml:AttributeValue></saml:Attribute>` +
    '<saml:Attribute AttributeName="ImmutableID" AttributeNamespace="http://schemas.microsoft.com/LiveID/Federation/2008/05">' +
    `<saml:AttributeValue>${escapeXml(f.immutableId)}</saml:AttributeValue></saml:Attribute>` +
    "</saml:AttributeStatement>" +
    '<saml:AuthenticationStatement AuthenticationMethod="urn:oasis:names:tc:SAML:1.0:am:password"' +
    ` AuthenticationInstant="${f.issuedAt.toISOString()}">${subject}</saml:AuthenticationStatement>` +
    "</saml:Assertion>"
  );
}

/** SAML 2.0 assertion with the claims Entra ID reads from a SAML-P/WS-Trust 1.3 STS. */
export function saml20Assertion(f: AssertionFacts): string {
  const attribute = (name: string, value: string) =>
    `<Attribute Name="${name}"><AttributeValue>${escapeXml(value)}</AttributeValue></Attribute>`;
  return (
    `<Assertion ID="${f.id}" IssueInstant="${f.issuedAt.toISOString()}" Version="2.0" xmlns="${NS.saml2}">` +
    `<Issuer>${escapeXml(f.issuer)}</Issuer>` +
    '<Subject><NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">' +
    `${escapeXml(f.immutableId)}</NameID><SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<SubjectConfirmationData NotOnOrAfter="${f.expiresAt.toISOString()}"/></SubjectConfirmation></Subject>` +
    `<Conditions NotBefore="${f.issuedAt.toISOString()}" NotOnOrAfter="${f.expiresAt.toISOString()}">` +
    `<AudienceRestriction><Audience>${MICROSOFT_ONLINE_URN}</Audience></AudienceRestriction></Conditions>` +
    "<AttributeStatement>" +
    attribute("IDPEmail", f.username) +
    attribute("http://schemas.xmlsoap.org/claims/UPN", f.username) +
    attribute("http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID", f.immutableId) +
    "</AttributeStatement>" +
    `<AuthnStatement AuthnInstant="${f.issuedAt.toISOString()}" SessionIndex="${f.id}"><AuthnContext>` +
    "<AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</AuthnContextClassRef>" +
    "</AuthnContext></AuthnStatement></Assertion>"
  );
}

// --- SOAP responses --------------------------------------------------------------------------------

function envelope(action: string, relatesTo: string | undefined, now: Date, body: string): string {
  const created = now.toISOString();
  const expires = new Date(now.getTime() + 5 * 60_000).toISOString();
  return (
    `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa}" xmlns:u="${NS.wsu}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">${action}</a:Action>` +
    (relatesTo ? `<a:RelatesTo>${escapeXml(relatesTo)}</a:RelatesTo>` : "") +
    `<o:Security s:mustUnderstand="1" xmlns:o="${NS.wsse}"><u:Timestamp u:Id="_0">` +
    `<u:Created>${created}</u:Created><u:Expires>${expires}</u:Expires></u:Timestamp></o:Security>` +
    `</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

export interface RstrFacts {
  version: WsTrustVersion;
  assertion: string;
  assertionId: string;
  relatesTo: string | undefined;
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * The RSTR (1.3: inside a RequestSecurityTokenResponseCollection). The assertion text is embedded
 * verbatim and carries its own namespace declaration, so the bytes a client cuts out of
 * RequestedSecurityToken are exactly the bytes this STS remembers.
 */
export function rstr(f: RstrFacts): string {
  const v = VERSIONS[f.version];
  const reference = (name: string) =>
    `<t:${name}><SecurityTokenReference b:TokenType="${v.referenceTokenType}" xmlns="${NS.wsse}"` +
    ` xmlns:b="http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd">` +
    `<KeyIdentifier ValueType="${v.keyIdentifierType}">${f.assertionId}</KeyIdentifier>` +
    `</SecurityTokenReference></t:${name}>`;
  const declareTrust = ` xmlns:t="${v.trust}"`;
  const response =
    `<t:RequestSecurityTokenResponse${f.version === "2005" ? declareTrust : ""}>` +
    `<t:Lifetime><u:Created>${f.issuedAt.toISOString()}</u:Created>` +
    `<u:Expires>${f.expiresAt.toISOString()}</u:Expires></t:Lifetime>` +
    `<wsp:AppliesTo xmlns:wsp="${NS.wsp}"><wsa:EndpointReference xmlns:wsa="${NS.wsa}">` +
    `<wsa:Address>${MICROSOFT_ONLINE_URN}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
    `<t:RequestedSecurityToken>${f.assertion}</t:RequestedSecurityToken>` +
    reference("RequestedAttachedReference") +
    reference("RequestedUnattachedReference") +
    `<t:TokenType>${v.tokenType}</t:TokenType>` +
    `<t:RequestType>${v.requestType}</t:RequestType>` +
    `<t:KeyType>${v.keyType}</t:KeyType>` +
    "</t:RequestSecurityTokenResponse>";
  const body =
    f.version === "13"
      ? `<t:RequestSecurityTokenResponseCollection${declareTrust}>${response}</t:RequestSecurityTokenResponseCollection>`
      : response;
  return envelope(v.replyAction, f.relatesTo, f.issuedAt, body);
}

export interface FaultFacts {
  /** Namespace of the subcode's QName, declared on the subcode's Value as ADFS does. */
  subcodeNs: string;
  subcode: string;
  reason: string;
  relatesTo: string | undefined;
  now: Date;
}

/** A SOAP 1.2 Sender fault in ADFS's shape: `s:Code/s:Subcode/s:Value` and `s:Reason/s:Text`. */
export function soapFault(f: FaultFacts): string {
  return envelope(
    "http://www.w3.org/2005/08/addressing/soap/fault",
    f.relatesTo,
    f.now,
    "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode>" +
      `<s:Value xmlns:a="${f.subcodeNs}">a:${f.subcode}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en-US">${escapeXml(f.reason)}</s:Text></s:Reason></s:Fault>`,
  );
}
