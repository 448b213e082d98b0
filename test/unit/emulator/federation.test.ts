import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Directory } from "../../../emulator/directory.js";
import { createFederatedSts, type FederatedSts } from "../../../emulator/federation.js";

const BASE = "https://localhost:8443";
const TENANT_ID = "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9";
const FED_USER = "carol@fed.example.test";
// Every character MSAL Python escapes, so the test proves the STS decodes what MSAL encodes.
const FED_PASSWORD = `c&rol<P@ss>"'1`;
const MANAGED_USER = "alice@managed.example.test";
const START = Date.parse("2030-01-02T03:04:05.000Z");
/** The STS's clock in the unit tests; RSTs built by {@link msalRst} are stamped with it too. */
let clock = START;

const NS = {
  soap: "http://www.w3.org/2003/05/soap-envelope",
  wsa: "http://www.w3.org/2005/08/addressing",
  wsu: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
  wsdl: "http://schemas.xmlsoap.org/wsdl/",
  soap12: "http://schemas.xmlsoap.org/wsdl/soap12/",
  trust13: "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
  trust2005: "http://schemas.xmlsoap.org/ws/2005/02/trust",
  saml1: "urn:oasis:names:tc:SAML:1.0:assertion",
  saml2: "urn:oasis:names:tc:SAML:2.0:assertion",
};
const ACTION = {
  "13": "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue",
  "2005": "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue",
} as const;
const SAML1_GRANT = "urn:ietf:params:oauth:grant-type:saml1_1-bearer";
const SAML2_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer";
const REPLAY_ERROR = {
  error: "invalid_grant",
  code: 50013,
  description:
    "AADSTS50013: Assertion is invalid. The assertion has already been redeemed and cannot be used again; request a new one from the federation provider.",
};

function directory(): Directory {
  return {
    tenants: [
      {
        id: TENANT_ID,
        domain: "fedtest.onmicrosoft.com",
        domains: ["managed.example.test"],
        federatedDomains: ["fed.example.test"],
      },
    ],
    users: [
      { username: FED_USER, password: FED_PASSWORD, tenant: TENANT_ID, kind: "federated", name: "Carol Fed" },
      { username: MANAGED_USER, password: "alice-P@ss1", tenant: TENANT_ID, kind: "managed" },
    ],
    apps: [],
  };
}

function parse(xml: string): Element {
  const root = new DOMParser().parseFromString(xml, "application/xml").documentElement;
  if (!root) throw new Error("no document element");
  return root;
}

/** Follows a path of [namespace, localName] steps through direct children; fails on a missing step. */
function at(root: Element, ...path: Array<[string, string]>): Element {
  let current = root;
  for (const [ns, name] of path) {
    const next = Array.from(current.childNodes).find(
      (n) => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name,
    ) as Element | undefined;
    if (!next) throw new Error(`no ${name} under ${current.localName}`);
    current = next;
  }
  return current;
}

const escapePassword = (p: string) =>
  p
    .replace(/&/g, "&amp;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
const wsuTime = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/** An RST laid out as MSAL Python 1.21's wstrust_request builds it (the username is not escaped). */
function msalRst(
  version: "13" | "2005",
  username: string,
  password: string,
  opts: { action?: string; expires?: Date; appliesTo?: string } = {},
): string {
  const v13 = version === "13";
  const now = new Date(clock);
  return `<s:Envelope xmlns:s='${NS.soap}' xmlns:wsa='${NS.wsa}' xmlns:wsu='${NS.wsu}'>
    <s:Header>
      <wsa:Action s:mustUnderstand='1'>${opts.action ?? ACTION[version]}</wsa:Action>
      <wsa:MessageID>urn:uuid:6a3c2b1e-0d4f-4e5a-9b8c-7d6e5f4a3b2c</wsa:MessageID>
      <wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>
      <wsa:To s:mustUnderstand='1'>${BASE}/adfs/services/trust/${version}/usernamemixed</wsa:To>
      <wsse:Security s:mustUnderstand='1'
      xmlns:wsse='http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd'>
        <wsu:Timestamp wsu:Id='_0'>
          <wsu:Created>${wsuTime(now)}</wsu:Created>
          <wsu:Expires>${wsuTime(opts.expires ?? new Date(now.getTime() + 600_000))}</wsu:Expires>
        </wsu:Timestamp>
        <wsse:UsernameToken wsu:Id='ADALUsernameToken'>
          <wsse:Username>${username}</wsse:Username>
          <wsse:Password>${escapePassword(password)}</wsse:Password>
        </wsse:UsernameToken>
      </wsse:Security>
    </s:Header>
    <s:Body>
    <wst:RequestSecurityToken xmlns:wst='${v13 ? NS.trust13 : NS.trust2005}'>
    <wsp:AppliesTo xmlns:wsp='http://schemas.xmlsoap.org/ws/2004/09/policy'>
      <wsa:EndpointReference><wsa:Address>${opts.appliesTo ?? "urn:federation:MicrosoftOnline"}</wsa:Address></wsa:EndpointReference>
    </wsp:AppliesTo>
    <wst:KeyType>${v13 ? `${NS.trust13}/Bearer` : "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey"}</wst:KeyType>
      <wst:RequestType>${v13 ? `${NS.trust13}/Issue` : `${NS.trust2005}/Issue`}</wst:RequestType>
    </wst:RequestSecurityToken>
    </s:Body>
    </s:Envelope>`;
}

/** The assertion bytes exactly as MSAL Python cuts them out of RequestedSecurityToken. */
function assertionOf(rstrXml: string): string {
  const open = "<t:RequestedSecurityToken>";
  const start = rstrXml.indexOf(open);
  const end = rstrXml.lastIndexOf("</t:RequestedSecurityToken>");
  if (start < 0 || end < 0) throw new Error(`no RequestedSecurityToken in ${rstrXml}`);
  return rstrXml.slice(start + open.length, end);
}

function faultOf(body: string): { code: string; subcode: string; subcodeNs: string | null; reason: string } {
  const fault = at(parse(body), [NS.soap, "Body"], [NS.soap, "Fault"]);
  const subcode = at(fault, [NS.soap, "Code"], [NS.soap, "Subcode"], [NS.soap, "Value"]);
  return {
    code: at(fault, [NS.soap, "Code"], [NS.soap, "Value"]).textContent ?? "",
    subcode: subcode.textContent ?? "",
    subcodeNs: subcode.lookupNamespaceURI("a"),
    reason: at(fault, [NS.soap, "Reason"], [NS.soap, "Text"]).textContent ?? "",
  };
}

describe("federated STS", () => {
  let sts: FederatedSts;
  beforeEach(() => {
    clock = START;
    sts = createFederatedSts({ baseUrl: BASE, directory, now: () => clock });
  });

  describe("user realm discovery", () => {
    it("sends a federated domain to the MEX and the 2005 username endpoint", () => {
      expect(sts.userRealm("Carol@FED.Example.test")).toEqual({
        ver: "1.0",
        account_type: "Federated",
        domain_name: "fed.example.test",
        federation_protocol: "WSTrust",
        federation_metadata_url: `${BASE}/adfs/services/trust/mex`,
        federation_active_auth_url: `${BASE}/adfs/services/trust/2005/usernamemixed`,
        cloud_instance_name: "microsoftonline.com",
        cloud_audience_urn: "urn:federation:MicrosoftOnline",
      });
    });

    it("reports other tenant domains as managed", () => {
      const cloud = {
        cloud_instance_name: "microsoftonline.com",
        cloud_audience_urn: "urn:federation:MicrosoftOnline",
      };
      expect(sts.userRealm(MANAGED_USER)).toEqual({
        ver: "1.0",
        account_type: "Managed",
        domain_name: "managed.example.test",
        ...cloud,
      });
      expect(sts.userRealm("x@fedtest.onmicrosoft.com")).toMatchObject({
        account_type: "Managed",
        domain_name: "fedtest.onmicrosoft.com",
      });
    });

    it("reports unknown domains, and names without a domain, as Unknown", () => {
      const unknown = {
        ver: "1.0",
        account_type: "Unknown",
        cloud_instance_name: "microsoftonline.com",
        cloud_audience_urn: "urn:federation:MicrosoftOnline",
      };
      expect(sts.userRealm("someone@elsewhere.test")).toEqual(unknown);
      expect(sts.userRealm("no-domain")).toEqual(unknown);
    });
  });

  describe("MEX", () => {
    const ports = (mex: string) => {
      const root = parse(mex);
      expect(root.namespaceURI).toBe(NS.wsdl);
      expect(root.localName).toBe("definitions");
      return Array.from(root.getElementsByTagNameNS(NS.wsa, "Address")).map((a) => a.textContent);
    };

    it("advertises the username and Windows endpoints of both versions by default", () => {
      expect(ports(sts.mexDocument())).toEqual([
        `${BASE}/adfs/services/trust/13/windowstransport`,
        `${BASE}/adfs/services/trust/13/usernamemixed`,
        `${BASE}/adfs/services/trust/2005/windowstransport`,
        `${BASE}/adfs/services/trust/2005/usernamemixed`,
      ]);
    });

    it("links every port to a SOAP 1.2 HTTP binding, its action and a policy that exists", () => {
      const root = parse(sts.mexDocument());
      const policyIds = new Set(
        Array.from(root.getElementsByTagNameNS("http://schemas.xmlsoap.org/ws/2004/09/policy", "Policy"))
          .map((p) => p.getAttributeNS(NS.wsu, "Id"))
          .filter(Boolean),
      );
      const bindings = Array.from(root.getElementsByTagNameNS(NS.wsdl, "binding"));
      expect(bindings).toHaveLength(4);
      for (const binding of bindings) {
        const soapBinding = binding.getElementsByTagNameNS(NS.soap12, "binding")[0];
        expect(soapBinding?.getAttribute("transport")).toBe("http://schemas.xmlsoap.org/soap/http");
        const action = binding.getElementsByTagNameNS(NS.soap12, "operation")[0]?.getAttribute("soapAction");
        expect(Object.values(ACTION)).toContain(action);
        const ref = binding.getElementsByTagNameNS(
          "http://schemas.xmlsoap.org/ws/2004/09/policy",
          "PolicyReference",
        )[0];
        expect(policyIds.has(ref?.getAttribute("URI")?.slice(1) ?? "")).toBe(true);
      }
    });

    it("advertises only WS-Trust 2005 after setMexOffers(['2005']), and both again after reset()", () => {
      sts.setMexOffers(["2005"]);
      expect(ports(sts.mexDocument())).toEqual([
        `${BASE}/adfs/services/trust/2005/windowstransport`,
        `${BASE}/adfs/services/trust/2005/usernamemixed`,
      ]);
      sts.reset();
      expect(ports(sts.mexDocument())).toHaveLength(4);
    });

    it("honours mexOffers given at creation", () => {
      const only13 = createFederatedSts({ baseUrl: `${BASE}/`, directory, mexOffers: ["13"] });
      expect(ports(only13.mexDocument())).toEqual([
        `${BASE}/adfs/services/trust/13/windowstransport`,
        `${BASE}/adfs/services/trust/13/usernamemixed`,
      ]);
    });
  });

  describe("WS-Trust", () => {
    it("1.3 returns an RSTR collection with a SAML 2.0 assertion, redeemable once as saml2-bearer", () => {
      const res = sts.handleWsTrust("13", msalRst("13", FED_USER, FED_PASSWORD));
      expect(res.status).toBe(200);
      expect(res.contentType).toBe("application/soap+xml; charset=utf-8");
      const envelope = parse(res.body);
      const header = at(envelope, [NS.soap, "Header"]);
      expect(at(header, [NS.wsa, "Action"]).textContent).toBe(`${NS.trust13}/RSTRC/IssueFinal`);
      expect(at(header, [NS.wsa, "RelatesTo"]).textContent).toBe(
        "urn:uuid:6a3c2b1e-0d4f-4e5a-9b8c-7d6e5f4a3b2c",
      );
      const response = at(
        envelope,
        [NS.soap, "Body"],
        [NS.trust13, "RequestSecurityTokenResponseCollection"],
        [NS.trust13, "RequestSecurityTokenResponse"],
      );
      expect(at(response, [NS.trust13, "TokenType"]).textContent).toBe(
        "urn:oasis:names:tc:SAML:2.0:assertion",
      );
      expect(at(response, [NS.trust13, "KeyType"]).textContent).toBe(`${NS.trust13}/Bearer`);

      const assertionXml = assertionOf(res.body);
      const assertion = parse(assertionXml);
      expect([assertion.namespaceURI, assertion.localName, assertion.getAttribute("Version")]).toEqual([
        NS.saml2,
        "Assertion",
        "2.0",
      ]);
      expect(at(assertion, [NS.saml2, "Issuer"]).textContent).toBe(`${BASE}/adfs/services/trust`);
      const conditions = at(assertion, [NS.saml2, "Conditions"]);
      expect(conditions.getAttribute("NotBefore")).toBe("2030-01-02T03:04:05.000Z");
      expect(conditions.getAttribute("NotOnOrAfter")).toBe("2030-01-02T04:04:05.000Z");
      expect(at(conditions, [NS.saml2, "AudienceRestriction"], [NS.saml2, "Audience"]).textContent).toBe(
        "urn:federation:MicrosoftOnline",
      );
      const attributes = Array.from(assertion.getElementsByTagNameNS(NS.saml2, "Attribute"));
      const upn = attributes.find((a) => a.getAttribute("Name") === "http://schemas.xmlsoap.org/claims/UPN");
      expect(upn?.textContent).toBe(FED_USER);

      expect(sts.redeemAssertion(SAML2_GRANT, assertionXml)).toEqual({ username: FED_USER });
      expect(sts.redeemAssertion(SAML2_GRANT, assertionXml)).toEqual(REPLAY_ERROR);
    });

    it("2005 returns an RSTR with a SAML 1.1 assertion, redeemable once as saml1_1-bearer", () => {
      const res = sts.handleWsTrust("2005", msalRst("2005", "CAROL@fed.example.test", FED_PASSWORD));
      expect(res.status).toBe(200);
      const response = at(parse(res.body), [NS.soap, "Body"], [NS.trust2005, "RequestSecurityTokenResponse"]);
      expect(at(response, [NS.trust2005, "TokenType"]).textContent).toBe(
        "urn:oasis:names:tc:SAML:1.0:assertion",
      );

      const assertionXml = assertionOf(res.body);
      const assertion = parse(assertionXml);
      expect(assertion.namespaceURI).toBe(NS.saml1);
      expect(assertion.getAttribute("MajorVersion")).toBe("1");
      expect(assertion.getAttribute("MinorVersion")).toBe("1");
      expect(assertion.getAttribute("AssertionID")).toMatch(/^_[0-9a-f-]{36}$/);
      expect(assertion.getAttribute("IssueInstant")).toBe("2030-01-02T03:04:05.000Z");
      const audience = at(
        assertion,
        [NS.saml1, "Conditions"],
        [NS.saml1, "AudienceRestrictionCondition"],
        [NS.saml1, "Audience"],
      );
      expect(audience.textContent).toBe("urn:federation:MicrosoftOnline");
      const statement = at(assertion, [NS.saml1, "AttributeStatement"]);
      const attributeNames = Array.from(statement.getElementsByTagNameNS(NS.saml1, "Attribute")).map((a) =>
        a.getAttribute("AttributeName"),
      );
      expect(attributeNames).toEqual(["UPN", "ImmutableID"]);
      expect(statement.getElementsByTagNameNS(NS.saml1, "AttributeValue")[0]?.textContent).toBe(FED_USER);
      expect(at(assertion, [NS.saml1, "AuthenticationStatement"]).getAttribute("AuthenticationMethod")).toBe(
        "urn:oasis:names:tc:SAML:1.0:am:password",
      );

      expect(sts.redeemAssertion(SAML1_GRANT, assertionXml)).toEqual({ username: FED_USER });
      expect(sts.redeemAssertion(SAML1_GRANT, assertionXml)).toEqual(REPLAY_ERROR);
    });

    it.each([
      ["a wrong password", FED_USER, "wrong"],
      ["an unknown user", "nobody@fed.example.test", FED_PASSWORD],
      ["a managed (not federated) user", MANAGED_USER, "alice-P@ss1"],
    ])("answers %s with ADFS's FailedAuthentication fault", (_, username, password) => {
      for (const version of ["13", "2005"] as const) {
        const res = sts.handleWsTrust(version, msalRst(version, username, password));
        expect(res.status).toBe(500);
        expect(res.contentType).toBe("application/soap+xml; charset=utf-8");
        expect(faultOf(res.body)).toEqual({
          code: "s:Sender",
          subcode: "a:FailedAuthentication",
          subcodeNs: version === "13" ? NS.trust13 : NS.trust2005,
          reason: "MSIS7068: Access denied.",
        });
      }
    });

    it("answers malformed XML with an InvalidRequest fault and status 400", () => {
      const res = sts.handleWsTrust(
        "13",
        "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>",
      );
      expect(res.status).toBe(400);
      expect(faultOf(res.body)).toMatchObject({
        code: "s:Sender",
        subcode: "a:InvalidRequest",
        subcodeNs: NS.trust13,
      });
    });

    it("refuses an RST whose action belongs to the other WS-Trust version", () => {
      const res = sts.handleWsTrust("13", msalRst("13", FED_USER, FED_PASSWORD, { action: ACTION["2005"] }));
      expect(res.status).toBe(500);
      expect(faultOf(res.body)).toMatchObject({ subcode: "a:ActionNotSupported", subcodeNs: NS.wsa });
    });

    it("refuses an expired request timestamp and a relying party other than Entra ID", () => {
      const expired = msalRst("2005", FED_USER, FED_PASSWORD, { expires: new Date(clock - 10 * 60_000) });
      expect(faultOf(sts.handleWsTrust("2005", expired).body)).toMatchObject({
        subcode: "a:InvalidSecurity",
      });
      const otherRp = msalRst("2005", FED_USER, FED_PASSWORD, { appliesTo: "urn:some:other:rp" });
      expect(faultOf(sts.handleWsTrust("2005", otherRp).body)).toMatchObject({
        subcode: "a:RequestFailed",
        reason: "MSIS3127: The specified request failed.",
      });
    });
  });

  describe("redeemAssertion", () => {
    const issue = (version: "13" | "2005") =>
      assertionOf(sts.handleWsTrust(version, msalRst(version, FED_USER, FED_PASSWORD)).body);

    it("rejects an assertion sent with the other SAML version's grant type, without using it up", () => {
      const saml2 = issue("13");
      expect(sts.redeemAssertion(SAML1_GRANT, saml2)).toEqual({
        error: "invalid_grant",
        code: 50008,
        description: `AADSTS50008: SAML token is invalid. The grant type '${SAML1_GRANT}' takes a SAML 1.1 assertion, but a SAML 2.0 assertion was sent.`,
      });
      const saml1 = issue("2005");
      expect(sts.redeemAssertion(SAML2_GRANT, saml1)).toMatchObject({ error: "invalid_grant", code: 50008 });
      expect(sts.redeemAssertion(SAML2_GRANT, saml2)).toEqual({ username: FED_USER });
    });

    it("rejects assertions this STS did not issue, altered ones and garbage", () => {
      const original = issue("2005");
      const forged = original.replace(/AssertionID="[^"]+"/, 'AssertionID="_forged"');
      expect(sts.redeemAssertion(SAML1_GRANT, forged)).toEqual({
        error: "invalid_grant",
        code: 5000811,
        description:
          "AADSTS5000811: Unable to verify token signature. The signing key identifier does not match any valid registered keys.",
      });
      const altered = original.replace(FED_USER, "mallory@fed.example.test");
      expect(sts.redeemAssertion(SAML1_GRANT, altered)).toMatchObject({ code: 50013 });
      expect(sts.redeemAssertion(SAML1_GRANT, "not xml")).toMatchObject({
        error: "invalid_grant",
        code: 50008,
      });
      expect(sts.redeemAssertion(SAML1_GRANT, original)).toEqual({ username: FED_USER });
    });

    it("rejects an assertion after its hour is up", () => {
      const assertion = issue("13");
      clock += 60 * 60_000;
      expect(sts.redeemAssertion(SAML2_GRANT, assertion)).toEqual({
        error: "invalid_grant",
        code: 500133,
        description:
          "AADSTS500133: Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: 2030-01-02T04:04:05.000Z, expiry time of assertion 2030-01-02T04:04:05.000Z.",
      });
    });

    it("forgets issued assertions on reset()", () => {
      const assertion = issue("13");
      sts.reset();
      expect(sts.redeemAssertion(SAML2_GRANT, assertion)).toMatchObject({ code: 5000811 });
    });
  });
});

// --- Real MSAL Python (Debian python3-msal) against this STS ------------------------------------------

const PYTHON = "/usr/bin/python3";

const msalAvailable = spawnSync(PYTHON, ["-c", "import msal, requests"]).status === 0;
const SKIP_NOTE = msalAvailable ? "" : ` [skipped: ${PYTHON} cannot import msal and requests]`;

function python(script: string, input: unknown): unknown {
  const run = spawnSync(PYTHON, ["-c", script], {
    input: JSON.stringify(input),
    encoding: "utf8",
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe.skipIf(!msalAvailable)(`MSAL Python's own parsers and request builder${SKIP_NOTE}`, () => {
  beforeAll(() => {
    clock = Date.now();
  });

  it("finds the username endpoint in the MEX, preferring 1.3, and 2005 when only 2005 is offered", () => {
    const sts = createFederatedSts({ baseUrl: BASE, directory });
    const both = sts.mexDocument();
    sts.setMexOffers(["2005"]);
    const only2005 = sts.mexDocument();
    sts.setMexOffers([]);
    const none = sts.mexDocument();
    const found = python(
      `import json, sys
from msal.mex import Mex
docs = json.load(sys.stdin)
print(json.dumps([Mex(d).get_wstrust_username_password_endpoint() for d in docs]))`,
      [both, only2005, none],
    );
    expect(found).toEqual([
      { address: `${BASE}/adfs/services/trust/13/usernamemixed`, action: ACTION["13"] },
      { address: `${BASE}/adfs/services/trust/2005/usernamemixed`, action: ACTION["2005"] },
      null,
    ]);
  });

  it("accepts _build_rst's requests, and parse_response/parse_error read the answers", () => {
    const sts = createFederatedSts({ baseUrl: BASE, directory });
    const rsts = python(
      `import json, sys
from msal.mex import Mex
from msal.wstrust_request import _build_rst
u, p, base = json.load(sys.stdin)
print(json.dumps([_build_rst(u, p, "urn:federation:MicrosoftOnline", base + "/adfs/services/trust/" + v + "/usernamemixed",
    Mex.ACTION_13 if v == "13" else Mex.ACTION_2005) for v in ("13", "2005")]))`,
      [FED_USER, FED_PASSWORD, BASE],
    ) as [string, string];
    const answers = [
      sts.handleWsTrust("13", rsts[0]).body,
      sts.handleWsTrust("2005", rsts[1]).body,
      sts.handleWsTrust("13", msalRst("13", FED_USER, "wrong")).body,
    ];
    const parsed = python(
      `import json, sys
from msal.wstrust_response import parse_response, parse_error
ok13, ok2005, fault = json.load(sys.stdin)
out = [{"type": r["type"], "token": r["token"].decode("utf-8")} for r in map(parse_response, (ok13, ok2005))]
out.append(parse_error(fault))
print(json.dumps(out))`,
      answers,
    ) as [{ type: string; token: string }, { type: string; token: string }, unknown];
    expect(parsed[0].type).toBe("urn:oasis:names:tc:SAML:2.0:assertion");
    expect(parsed[1].type).toBe("urn:oasis:names:tc:SAML:1.0:assertion");
    expect(parsed[2]).toEqual({ reason: "MSIS7068: Access denied.", code: "a:FailedAuthentication" });
    expect(sts.redeemAssertion(SAML2_GRANT, parsed[0].token)).toEqual({ username: FED_USER });
    expect(sts.redeemAssertion(SAML1_GRANT, parsed[1].token)).toEqual({ username: FED_USER });
  });
});

/**
 * Runs unmodified PublicClientApplication.acquire_token_by_username_password over HTTP. The test's
 * server routes user realm discovery, MEX and WS-Trust to the STS and stands in for the emulator's
 * token endpoint with the two things it must do with a SAML grant: redeemAssertion, then answer.
 * MSAL insists on https:// addresses in the MEX, so its HTTP client sends every https://localhost
 * request to the plain HTTP test server. (MSAL drops the authority's port when it builds the user
 * realm URL, so that request goes to https://localhost/common/userrealm/..., port 443.)
 */
describe.skipIf(!msalAvailable)(
  `MSAL Python acquire_token_by_username_password, end to end${SKIP_NOTE}`,
  () => {
    const sts = createFederatedSts({ baseUrl: BASE, directory });
    const grants: string[] = [];
    let server: Server;
    let origin = "";

    const readBody = async (req: IncomingMessage) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    };

    beforeAll(async () => {
      server = createServer(async (req, res) => {
        const url = new URL(req.url ?? "/", BASE);
        const body = await readBody(req);
        const json = (status: number, value: unknown) => {
          res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
        };
        const wsTrust = url.pathname.match(/^\/adfs\/services\/trust\/(13|2005)\/usernamemixed$/);
        if (url.pathname === `/${TENANT_ID}/v2.0/.well-known/openid-configuration`) {
          json(200, {
            issuer: `${BASE}/${TENANT_ID}/v2.0`,
            authorization_endpoint: `${BASE}/${TENANT_ID}/oauth2/v2.0/authorize`,
            token_endpoint: `${BASE}/${TENANT_ID}/oauth2/v2.0/token`,
          });
        } else if (url.pathname.startsWith("/common/userrealm/")) {
          json(200, sts.userRealm(decodeURIComponent(url.pathname.slice("/common/userrealm/".length))));
        } else if (url.pathname === "/adfs/services/trust/mex") {
          res
            .writeHead(200, { "content-type": "application/soap+xml; charset=utf-8" })
            .end(sts.mexDocument());
        } else if (wsTrust && req.method === "POST") {
          const answer = sts.handleWsTrust(wsTrust[1] as "13" | "2005", body);
          res.writeHead(answer.status, { "content-type": answer.contentType }).end(answer.body);
        } else if (url.pathname === `/${TENANT_ID}/oauth2/v2.0/token`) {
          const form = new URLSearchParams(body);
          const grant = form.get("grant_type") ?? "";
          grants.push(grant);
          const assertion = Buffer.from(form.get("assertion") ?? "", "base64url").toString("utf8");
          const result = sts.redeemAssertion(grant as typeof SAML1_GRANT, assertion);
          if ("username" in result) {
            json(200, { token_type: "Bearer", access_token: `at-for-${result.username}`, expires_in: 3599 });
          } else {
            json(400, {
              error: result.error,
              error_description: result.description,
              error_codes: [result.code],
            });
          }
        } else {
          json(404, { error: "not_found" });
        }
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const signIn = (password: string) =>
      new Promise<{ ok: boolean; result: unknown }>((resolve, reject) => {
        const script = `import json, sys, urllib.parse, requests, msal
cfg = json.load(sys.stdin)
class Rewriting(requests.Session):
    def request(self, method, url, *args, **kwargs):
        parts = urllib.parse.urlsplit(url)
        if parts.hostname == "localhost":
            url = cfg["origin"] + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)
app = msal.PublicClientApplication("11111111-1111-4111-8111-111111111111",
    authority=cfg["base"] + "/" + cfg["tenant"], validate_authority=False, http_client=Rewriting())
try:
    print(json.dumps({"ok": True, "result": app.acquire_token_by_username_password(cfg["user"], cfg["password"], ["User.Read"])}))
except Exception as e:
    print(json.dumps({"ok": False, "result": "%s: %s" % (type(e).__name__, e)}))`;
        const child: ChildProcess = spawn(PYTHON, ["-c", script]);
        let out = "";
        let err = "";
        child.stdout?.on("data", (d) => {
          out += d;
        });
        child.stderr?.on("data", (d) => {
          err += d;
        });
        child.on("error", reject);
        child.on("close", (status) => {
          if (status !== 0) reject(new Error(`python exited ${status}: ${err}`));
          else resolve(JSON.parse(out));
        });
        child.stdin?.end(JSON.stringify({ base: BASE, origin, tenant: TENANT_ID, user: FED_USER, password }));
      });

    it("signs the federated user in over WS-Trust 1.3 (saml2-bearer) and, with MEX offering 2005 only, over 2005", async () => {
      const first = await signIn(FED_PASSWORD);
      expect(first).toMatchObject({ ok: true, result: { access_token: `at-for-${FED_USER}` } });
      sts.setMexOffers(["2005"]);
      const second = await signIn(FED_PASSWORD);
      expect(second).toMatchObject({ ok: true, result: { access_token: `at-for-${FED_USER}` } });
      expect(grants).toEqual([SAML2_GRANT, SAML1_GRANT]);
    });

    it("surfaces the STS's fault for a wrong password as MSAL's RuntimeError", async () => {
      expect(await signIn("wrong")).toEqual({
        ok: false,
        result:
          "RuntimeError: WsTrust server returned error in RSTR: {'reason': 'MSIS7068: Access denied.', 'code': 'a:FailedAuthentication'}",
      });
    });
  },
);
