/**
 * WS-Trust requests (RST) and responses (RSTR): the request escapes the credentials and names the
 * right action, key type and request type for 1.3 and 2005; the assertion comes out of the response
 * byte for byte (its signature covers those bytes); SOAP faults and empty answers become errors.
 */
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { MsalError } from "../../../src/errors.js";
import { buildRst, parseRstr } from "../../../src/wstrust/ws-trust.js";

const SOAP = "http://www.w3.org/2003/05/soap-envelope";
const WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const WSA = "http://www.w3.org/2005/08/addressing";
const TRUST13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
const TRUST2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust";
const ENDPOINT = "https://fs.contoso.com/adfs/services/trust/13/usernamemixed";
const NOW = new Date("2026-03-04T05:06:07.890Z");

function parse(xml: string) {
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  const text = (ns: string, name: string) =>
    Array.from(doc.getElementsByTagNameNS(ns, name)).map((e) => e.textContent);
  return { doc, text };
}

function thrown(fn: () => unknown): MsalError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MsalError);
    return error as MsalError;
  }
  throw new Error("expected an MsalError");
}

describe("buildRst", () => {
  const nasty = `a&b<c>d"e'f`;

  it.each([
    ["13", TRUST13, "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"],
    ["2005", TRUST2005, "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue"],
  ] as const)("WS-Trust %s: escapes the username and password (&<>\"')", (version, trust, action) => {
    const rst = buildRst({ endpoint: ENDPOINT, version, username: `u${nasty}`, password: `p${nasty}` });
    expect(rst.action).toBe(action);
    expect(rst.body).toContain(
      "<wsse:Username>ua&amp;b&lt;c&gt;d&quot;e&apos;f</wsse:Username><wsse:Password>pa&amp;b&lt;c&gt;d&quot;e&apos;f</wsse:Password>",
    );
    const { text } = parse(rst.body);
    expect(text(WSSE, "Username")).toEqual([`u${nasty}`]);
    expect(text(WSSE, "Password")).toEqual([`p${nasty}`]);
    expect(text(trust, "RequestSecurityToken")).toHaveLength(1);
  });

  it("WS-Trust 1.3: the 1.3 action, Bearer key type and Issue request type in the 200512 namespace", () => {
    const rst = buildRst({ endpoint: ENDPOINT, version: "13", username: "carol", password: "pw", now: NOW });
    const { text } = parse(rst.body);
    expect(text(WSA, "Action")).toEqual(["http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"]);
    expect(text(TRUST13, "KeyType")).toEqual(["http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer"]);
    expect(text(TRUST13, "RequestType")).toEqual(["http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"]);
    expect(text(TRUST2005, "RequestType")).toEqual([]);
    expect(rst.body).toContain(
      '<wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512">',
    );
  });

  it("WS-Trust 2005: the 2005 action, NoProofKey key type and Issue request type in the 2005/02 namespace", () => {
    const rst = buildRst({
      endpoint: ENDPOINT,
      version: "2005",
      username: "carol",
      password: "pw",
      now: NOW,
    });
    const { text } = parse(rst.body);
    expect(text(WSA, "Action")).toEqual(["http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue"]);
    expect(text(TRUST2005, "KeyType")).toEqual(["http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey"]);
    expect(text(TRUST2005, "RequestType")).toEqual(["http://schemas.xmlsoap.org/ws/2005/02/trust/Issue"]);
    expect(text(TRUST13, "RequestType")).toEqual([]);
  });

  it("addresses the endpoint, stamps a ten-minute timestamp and applies to Entra ID unless told otherwise", () => {
    const url = "https://fs.contoso.com/adfs/services/trust/13/usernamemixed?a=1&b=2";
    const rst = buildRst({ endpoint: url, version: "13", username: "carol", password: "pw", now: NOW });
    const { doc, text } = parse(rst.body);
    expect(doc.documentElement?.namespaceURI).toBe(SOAP);
    expect(doc.documentElement?.localName).toBe("Envelope");
    expect(text(WSA, "To")).toEqual([url]);
    expect(rst.body).toContain(
      '<wsu:Timestamp wsu:Id="_0"><wsu:Created>2026-03-04T05:06:07Z</wsu:Created><wsu:Expires>2026-03-04T05:16:07Z</wsu:Expires></wsu:Timestamp>',
    );
    expect(text(WSA, "Address")).toEqual([
      "http://www.w3.org/2005/08/addressing/anonymous",
      "urn:federation:MicrosoftOnline",
    ]);
    const other = buildRst({
      ...{ endpoint: url, version: "13" },
      username: "c",
      password: "p",
      appliesTo: "urn:x&y",
    });
    expect(parse(other.body).text(WSA, "Address")[1]).toBe("urn:x&y");
  });

  it("gives every request its own MessageID", () => {
    const input = { endpoint: ENDPOINT, version: "13", username: "carol", password: "pw" } as const;
    const ids = [buildRst(input), buildRst(input)].map((r) => parse(r.body).text(WSA, "MessageID")[0]);
    expect(ids[0]).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

/** A SAML 2.0 assertion as ADFS writes it: own namespace declaration, prefixes, whitespace inside. */
const SAML2 = `<saml:Assertion ID="_9c1d2e3f" IssueInstant="2026-03-04T05:06:07.890Z" Version="2.0" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">
    <saml:Issuer>http://fs.contoso.com/adfs/services/trust</saml:Issuer>
    <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#" /></ds:SignedInfo>
      <ds:SignatureValue>c2lnbmF0dXJl
PQ==</ds:SignatureValue></ds:Signature>
    <saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">AbC+dEf/gh==</saml:NameID></saml:Subject>
    <saml:AttributeStatement><saml:Attribute Name="IDPEmail"><saml:AttributeValue>carol@federated.contoso.test</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
  </saml:Assertion>`;

const SAML1 = `<saml:Assertion MajorVersion="1" MinorVersion="1" AssertionID="_4f5e6d" Issuer="http://fs.contoso.com/adfs/services/trust" IssueInstant="2026-03-04T05:06:07.890Z" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion"><saml:Conditions NotBefore="2026-03-04T05:06:07.890Z" NotOnOrAfter="2026-03-04T06:06:07.890Z"/>
  <saml:AttributeStatement><saml:Subject><saml:NameIdentifier>AbC+dEf/gh==</saml:NameIdentifier></saml:Subject><saml:Attribute AttributeName="UPN" AttributeNamespace="http://schemas.xmlsoap.org/claims"><saml:AttributeValue>carol&amp;co@federated.contoso.test</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
</saml:Assertion>`;

const header = `<s:Header><a:Action s:mustUnderstand="1">http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal</a:Action><o:Security s:mustUnderstand="1" xmlns:o="${WSSE}"><u:Timestamp u:Id="_0"><u:Created>2026-03-04T05:06:07.890Z</u:Created><u:Expires>2026-03-04T05:11:07.890Z</u:Expires></u:Timestamp></o:Security></s:Header>`;

function envelope(body: string): string {
  return `<s:Envelope xmlns:s="${SOAP}" xmlns:a="${WSA}" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${header}
  <s:Body>
${body}
  </s:Body>
</s:Envelope>`;
}

const rstr13 = (assertion: string) =>
  envelope(`<trust:RequestSecurityTokenResponseCollection xmlns:trust="${TRUST13}">
    <trust:RequestSecurityTokenResponse>
      <trust:Lifetime><u:Created>2026-03-04T05:06:07.890Z</u:Created><u:Expires>2026-03-04T06:06:07.890Z</u:Expires></trust:Lifetime>
      <trust:RequestedSecurityToken>
  ${assertion}
      </trust:RequestedSecurityToken>
      <trust:RequestedAttachedReference><o:SecurityTokenReference xmlns:o="${WSSE}"><o:KeyIdentifier>_9c1d2e3f</o:KeyIdentifier></o:SecurityTokenReference></trust:RequestedAttachedReference>
      <trust:TokenType>urn:oasis:names:tc:SAML:2.0:assertion</trust:TokenType>
      <trust:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</trust:RequestType>
      <trust:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer</trust:KeyType>
    </trust:RequestSecurityTokenResponse>
  </trust:RequestSecurityTokenResponseCollection>`);

const rstr2005 = (assertion: string) =>
  envelope(
    `<t:RequestSecurityTokenResponse xmlns:t="${TRUST2005}"><t:Lifetime><wsu:Created xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-03-04T05:06:07.890Z</wsu:Created></t:Lifetime><t:TokenType>urn:oasis:names:tc:SAML:1.0:assertion</t:TokenType><t:RequestedSecurityToken>${assertion}</t:RequestedSecurityToken><t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</t:RequestType><t:KeyType>http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey</t:KeyType></t:RequestSecurityTokenResponse>`,
  );

/** The exact text of the assertion element in `response`, found without any parser. */
function assertionIn(response: string): string {
  const start = response.indexOf("<saml:Assertion");
  const endTag = "</saml:Assertion>";
  return response.slice(start, response.indexOf(endTag, start) + endTag.length);
}

const crlf = (text: string) => text.replace(/\n/g, "\r\n");

describe("parseRstr", () => {
  it("WS-Trust 1.3: the SAML 2.0 assertion of the RequestSecurityTokenResponseCollection, byte for byte", () => {
    const response = rstr13(SAML2);
    const token = parseRstr(response);
    expect(token).toEqual({
      tokenType: "urn:oasis:names:tc:SAML:2.0:assertion",
      assertion: assertionIn(response),
    });
    expect(token.assertion).toBe(SAML2);
  });

  it("WS-Trust 2005: the SAML 1.1 assertion, byte for byte, entities left as written", () => {
    const response = rstr2005(SAML1);
    const token = parseRstr(response);
    expect(token).toEqual({ tokenType: "urn:oasis:names:tc:SAML:1.0:assertion", assertion: SAML1 });
    expect(token.assertion).toContain("carol&amp;co@");
  });

  it.each([
    ["1.3", () => crlf(rstr13(SAML2)), "urn:oasis:names:tc:SAML:2.0:assertion"],
    ["2005", () => crlf(rstr2005(SAML1)), "urn:oasis:names:tc:SAML:1.0:assertion"],
  ])("WS-Trust %s with CRLF line endings: the assertion keeps its CRLFs", (_version, make, tokenType) => {
    const response = make();
    const token = parseRstr(response);
    expect(token).toEqual({ tokenType, assertion: assertionIn(response) });
    expect(token.assertion).toContain("\r\n");
    expect(token.assertion).not.toMatch(/[^\r]\n/);
  });

  it.each([
    ["lone CR line endings (legal XML line breaks)", (r: string) => r.replace(/\n/g, "\r")],
    [
      "a U+2028 in text (a line break to the parser)",
      (r: string) => r.replace("<s:Header>", "<s:Header><a:From>x\u2028y</a:From>"),
    ],
  ])("with %s before the token: the assertion still byte for byte", (_what, change) => {
    const response = change(rstr13(SAML2));
    expect(parseRstr(response)).toEqual({
      tokenType: "urn:oasis:names:tc:SAML:2.0:assertion",
      assertion: assertionIn(response),
    });
  });

  it("with an XML declaration and non-ASCII text before the token", () => {
    const response = `<?xml version="1.0" encoding="utf-8"?>\n${rstr13(SAML2).replace("<s:Header>", "<s:Header><a:From>Zoë 😀</a:From>")}`;
    expect(parseRstr(response).assertion).toBe(SAML2);
  });

  it("reads the emulator's RSTRs the same way", async () => {
    const { rstr, saml11Assertion, saml20Assertion } = await import("../../../emulator/federation-xml.js");
    const facts = {
      id: "_1",
      issuer: "https://localhost/adfs/services/trust",
      username: "carol@federated.contoso.test",
      immutableId: "AAAA",
      issuedAt: NOW,
      expiresAt: new Date(NOW.getTime() + 3600_000),
    };
    for (const [version, assertion] of [
      ["13", saml20Assertion(facts)],
      ["2005", saml11Assertion(facts)],
    ] as const) {
      const response = rstr({ version, assertion, assertionId: "_1", relatesTo: "urn:uuid:1", ...facts });
      expect(parseRstr(response).assertion).toBe(assertion);
    }
  });

  it("a SOAP fault becomes wstrust_fault naming the STS's reason and subcode", () => {
    const fault = envelope(
      `<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value xmlns:a="${TRUST13}">a:FailedAuthentication</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">MSIS7068: Access denied.</s:Text></s:Reason></s:Fault>`,
    );
    const error = thrown(() => parseRstr(fault));
    expect(error.code).toBe("wstrust_fault");
    expect(error.message).toBe(
      "The federated STS refused the sign-in: MSIS7068: Access denied. (a:FailedAuthentication). Check the username and password.",
    );
  });

  it("a SOAP fault without reason or subcode still says so", () => {
    const error = thrown(() =>
      parseRstr(envelope("<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code></s:Fault>")),
    );
    expect(error.code).toBe("wstrust_fault");
    expect(error.message).toBe(
      "The federated STS refused the sign-in: no reason given (no code). Check the username and password.",
    );
  });

  it.each([
    ["an empty body", envelope("")],
    [
      "a response without RequestedSecurityToken",
      rstr13(SAML2).replace(/<trust:RequestedSecurityToken>[\s\S]*<\/trust:RequestedSecurityToken>/, ""),
    ],
    ["a response without TokenType", rstr2005(SAML1).replace(/<t:TokenType>.*?<\/t:TokenType>/, "")],
  ])("%s and no fault: wstrust_invalid_response", (_what, response) => {
    const error = thrown(() => parseRstr(response));
    expect(error.code).toBe("wstrust_invalid_response");
    expect(error.message).toBe(
      "The WS-Trust response has no RequestSecurityTokenResponse with a token and no SOAP fault.",
    );
  });

  it("a response that is not XML: wstrust_invalid_xml", () => {
    const error = thrown(() => parseRstr("<html><body>Service Unavailable"));
    expect(error.code).toBe("wstrust_invalid_xml");
    expect(error.message).toMatch(/^The WS-Trust response is not well-formed XML: /);
  });
});
