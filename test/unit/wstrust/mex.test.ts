/**
 * Reading ADFS MEX documents (WS-MetadataExchange WSDL) for the username/password WS-Trust
 * endpoints: which bindings count (a UsernameToken policy over a TransportBinding, SOAP 1.2 over
 * HTTP, an https address) and in which order they come (1.3 before 2005, document order within).
 * The documents are written here in the shape ADFS serves them.
 */
import { describe, expect, it } from "vitest";
import { MsalError } from "../../../src/errors.js";
import { ACTION_13, ACTION_2005, wsTrustEndpoints } from "../../../src/wstrust/mex.js";

const SP13 = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702";
const SP2005 = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy";
const HTTP = "http://schemas.xmlsoap.org/soap/http";
const FS = "https://fs.contoso.com/adfs/services/trust";

type Version = "13" | "2005";
const SP: Record<Version, string> = { "13": SP13, "2005": SP2005 };
const ACTION: Record<Version, string> = { "13": ACTION_13, "2005": ACTION_2005 };
const CONTRACT: Record<Version, string> = { "13": "IWSTrust13Async", "2005": "IWSTrustFeb2005Async" };

const transportBinding = (v: Version) =>
  `<sp:TransportBinding xmlns:sp="${SP[v]}">
        <wsp:Policy>
          <sp:TransportToken><wsp:Policy><sp:HttpsToken RequireClientCertificate="false"/></wsp:Policy></sp:TransportToken>
          <sp:AlgorithmSuite><wsp:Policy><sp:Basic256/></wsp:Policy></sp:AlgorithmSuite>
          <sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout>
          <sp:IncludeTimestamp/>
        </wsp:Policy>
      </sp:TransportBinding>`;

/** 1.3 wraps the username token in SignedEncryptedSupportingTokens, 2005 in SignedSupportingTokens. */
const usernameToken = (v: Version) => {
  const supporting = v === "13" ? "SignedEncryptedSupportingTokens" : "SignedSupportingTokens";
  return `<sp:${supporting} xmlns:sp="${SP[v]}">
        <wsp:Policy>
          <sp:UsernameToken sp:IncludeToken="${SP[v]}/IncludeToken/AlwaysToRecipient">
            <wsp:Policy><sp:WssUsernameToken10/></wsp:Policy>
          </sp:UsernameToken>
        </wsp:Policy>
      </sp:${supporting}>`;
};

/** Message security (ADFS's `/trust/13/username`): a username token, but no TransportBinding. */
const symmetricBinding = (v: Version) =>
  `<sp:SymmetricBinding xmlns:sp="${SP[v]}">
        <wsp:Policy>
          <sp:ProtectionToken><wsp:Policy><sp:SecureConversationToken sp:IncludeToken="${SP[v]}/IncludeToken/AlwaysToRecipient"/></wsp:Policy></sp:ProtectionToken>
          <sp:AlgorithmSuite><wsp:Policy><sp:Basic256/></wsp:Policy></sp:AlgorithmSuite>
        </wsp:Policy>
      </sp:SymmetricBinding>`;

const POLICIES = {
  username: (v: Version) => transportBinding(v) + usernameToken(v),
  /** `windowstransport`: Negotiate (Kerberos/NTLM) over TLS, no username token. */
  windows: (v: Version) =>
    `<http:NegotiateAuthentication xmlns:http="http://schemas.microsoft.com/ws/06/2004/policy/http"/>${transportBinding(v)}`,
  /** `kerberosmixed`: a Kerberos token endorsing the message, over TLS. */
  kerberos: (v: Version) =>
    `${transportBinding(v)}<sp:EndorsingSupportingTokens xmlns:sp="${SP[v]}"><wsp:Policy><sp:KerberosToken sp:IncludeToken="${SP[v]}/IncludeToken/Once"><wsp:Policy><sp:WssGssKerberosV5ApReqToken11/></wsp:Policy></sp:KerberosToken></wsp:Policy></sp:EndorsingSupportingTokens>`,
  usernameMessageSecurity: (v: Version) => symmetricBinding(v) + usernameToken(v),
};

interface Endpoint {
  name: string;
  version: Version;
  policy: keyof typeof POLICIES;
  address: string;
  transport?: string;
}

/** A MEX WSDL as ADFS serves it: policies, then bindings referring to them, then the service's ports. */
function mexDocument(endpoints: Endpoint[]): string {
  const policies = endpoints.map(
    (e) => `  <wsp:Policy wsu:Id="${e.name}_policy">
    <wsp:ExactlyOne>
      <wsp:All>
      ${POLICIES[e.policy](e.version)}
      <wsaw:UsingAddressing/>
      </wsp:All>
    </wsp:ExactlyOne>
  </wsp:Policy>`,
  );
  const bindings = endpoints.map(
    (e) => `  <wsdl:binding name="${e.name}" type="tns:${CONTRACT[e.version]}">
    <wsp:PolicyReference URI="#${e.name}_policy"/>
    <soap12:binding transport="${e.transport ?? HTTP}"/>
    <wsdl:operation name="Issue">
      <soap12:operation soapAction="${ACTION[e.version]}" style="document"/>
      <wsdl:input><soap12:body use="literal"/></wsdl:input>
      <wsdl:output><soap12:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>`,
  );
  const ports = endpoints.map(
    (e) => `    <wsdl:port name="${e.name}" binding="tns:${e.name}">
      <soap12:address location="${e.address}"/>
      <wsa10:EndpointReference>
        <wsa10:Address>${e.address}</wsa10:Address>
      </wsa10:EndpointReference>
    </wsdl:port>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="SecurityTokenService" targetNamespace="http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice"
  xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
  xmlns:tns="http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice"
  xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
  xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"
  xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
${policies.join("\n")}
  <wsdl:types><xsd:schema targetNamespace="http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice/Imports"/></wsdl:types>
  <wsdl:portType name="IWSTrust13Async"/>
  <wsdl:portType name="IWSTrustFeb2005Async"/>
${bindings.join("\n")}
  <wsdl:service name="SecurityTokenService">
${ports.join("\n")}
  </wsdl:service>
</wsdl:definitions>`;
}

const endpoint = (name: string, version: Version, policy: Endpoint["policy"], path: string): Endpoint => ({
  name,
  version,
  policy,
  address: `${FS}/${path}`,
});

/** The username endpoints of an ADFS farm with its Windows and message-security endpoints beside them. */
const ADFS_FARM = [
  endpoint("CustomBinding_IWSTrustFeb2005Async", "2005", "windows", "2005/windowstransport"),
  endpoint("UserNameWSTrustBinding_IWSTrustFeb2005Async", "2005", "username", "2005/usernamemixed"),
  endpoint("KerberosWSTrustBinding_IWSTrust13Async", "13", "kerberos", "13/kerberosmixed"),
  endpoint("CustomBinding_IWSTrust13Async", "13", "windows", "13/windowstransport"),
  endpoint("UserNameWSTrustBinding_IWSTrust13Async", "13", "username", "13/usernamemixed"),
  endpoint("UserNameWSTrustBinding_IWSTrust13Async1", "13", "usernameMessageSecurity", "13/username"),
];

describe("wsTrustEndpoints", () => {
  it("finds both username endpoints of an ADFS farm, WS-Trust 1.3 first though 2005 comes first in the document", () => {
    expect(wsTrustEndpoints(mexDocument(ADFS_FARM))).toEqual([
      { address: `${FS}/13/usernamemixed`, action: ACTION_13, version: "13" },
      { address: `${FS}/2005/usernamemixed`, action: ACTION_2005, version: "2005" },
    ]);
  });

  it("returns the 2005 endpoint when the farm offers only 2005", () => {
    const only2005 = ADFS_FARM.filter((e) => e.version === "2005");
    expect(wsTrustEndpoints(mexDocument(only2005))).toEqual([
      { address: `${FS}/2005/usernamemixed`, action: ACTION_2005, version: "2005" },
    ]);
  });

  it("ignores bindings whose policy has no username token (Windows transport, Kerberos)", () => {
    const integrated = ADFS_FARM.filter((e) => e.policy === "windows" || e.policy === "kerberos");
    expect(integrated).toHaveLength(3);
    expect(wsTrustEndpoints(mexDocument(integrated))).toEqual([]);
  });

  it("ignores a username policy without a TransportBinding (message security)", () => {
    const messageSecurity = [
      endpoint("UserName13", "13", "usernameMessageSecurity", "13/username"),
      endpoint("UserName2005", "2005", "usernameMessageSecurity", "2005/username"),
    ];
    expect(wsTrustEndpoints(mexDocument(messageSecurity))).toEqual([]);
  });

  it("ignores endpoints at http:// addresses and keeps the https one", () => {
    const document = mexDocument([
      {
        ...endpoint("Plain13", "13", "username", "13/usernamemixed"),
        address: "http://fs.contoso.com/adfs/13",
      },
      endpoint("Secure2005", "2005", "username", "2005/usernamemixed"),
    ]);
    expect(wsTrustEndpoints(document)).toEqual([
      { address: `${FS}/2005/usernamemixed`, action: ACTION_2005, version: "2005" },
    ]);
  });

  it("accepts an HTTPS scheme in any case", () => {
    const upper = {
      ...endpoint("Upper13", "13", "username", ""),
      address: "HTTPS://FS.CONTOSO.COM/adfs/13/usernamemixed",
    };
    expect(wsTrustEndpoints(mexDocument([upper]))).toEqual([
      { address: "HTTPS://FS.CONTOSO.COM/adfs/13/usernamemixed", action: ACTION_13, version: "13" },
    ]);
  });

  it("ignores a binding over a transport other than SOAP over HTTP", () => {
    const tcp = {
      ...endpoint("NetTcp13", "13", "username", "13/usernamemixed-tcp"),
      transport: "http://schemas.microsoft.com/soap/tcp",
    };
    const document = mexDocument([tcp, endpoint("Http13", "13", "username", "13/usernamemixed")]);
    expect(wsTrustEndpoints(document)).toEqual([
      { address: `${FS}/13/usernamemixed`, action: ACTION_13, version: "13" },
    ]);
  });

  it("orders several endpoints: every 1.3 one in document order, then every 2005 one in document order", () => {
    const document = mexDocument([
      endpoint("A2005", "2005", "username", "a/2005/usernamemixed"),
      endpoint("B13", "13", "username", "b/13/usernamemixed"),
      endpoint("C2005", "2005", "username", "c/2005/usernamemixed"),
      endpoint("D13", "13", "username", "d/13/usernamemixed"),
    ]);
    expect(wsTrustEndpoints(document).map((e) => e.address)).toEqual([
      `${FS}/b/13/usernamemixed`,
      `${FS}/d/13/usernamemixed`,
      `${FS}/a/2005/usernamemixed`,
      `${FS}/c/2005/usernamemixed`,
    ]);
  });

  it("ignores a port whose binding refers to a policy the document does not define", () => {
    const document = mexDocument([endpoint("UserName13", "13", "username", "13/usernamemixed")]).replace(
      'URI="#UserName13_policy"',
      'URI="#Missing_policy"',
    );
    expect(wsTrustEndpoints(document)).toEqual([]);
  });

  it("finds nothing in a WSDL without a service", () => {
    const document = mexDocument(ADFS_FARM).replace(/<wsdl:service[\s\S]*<\/wsdl:service>/, "");
    expect(wsTrustEndpoints(document)).toEqual([]);
  });

  it("reads the emulator's MEX document the same way", async () => {
    const { mexWsdl } = await import("../../../emulator/federation-xml.js");
    expect(wsTrustEndpoints(mexWsdl("https://localhost:8443", ["2005", "13"]))).toEqual([
      {
        address: "https://localhost:8443/adfs/services/trust/13/usernamemixed",
        action: ACTION_13,
        version: "13",
      },
      {
        address: "https://localhost:8443/adfs/services/trust/2005/usernamemixed",
        action: ACTION_2005,
        version: "2005",
      },
    ]);
  });

  it.each([
    ["an unclosed element", mexDocument(ADFS_FARM).replace("</wsdl:definitions>", "")],
    ["an HTML error page", "<html><body><p>Service Unavailable<br></body></html>"],
    ["an empty body", ""],
  ])("rejects %s as wstrust_invalid_xml", (_what, document) => {
    let thrown: unknown;
    try {
      wsTrustEndpoints(document);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MsalError);
    expect((thrown as MsalError).code).toBe("wstrust_invalid_xml");
    expect((thrown as MsalError).message).toMatch(/^The MEX document is not well-formed XML: /);
  });
});
