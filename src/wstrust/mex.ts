/**
 * Reading a WS-MetadataExchange document (an ADFS `mex` endpoint) for the username/password
 * WS-Trust endpoint: policies that require a username token over a transport binding, the SOAP 1.2
 * bindings that use them, and the https ports of those bindings; WS-Trust 1.3 is preferred over
 * 2005 (spec section 3.5, "MEX parsing").
 */
import type { Element } from "@xmldom/xmldom";
import { children, descendants, NS, parseXml, path } from "./xml.js";

export type WsTrustVersion = "13" | "2005";

export interface WsTrustEndpoint {
  address: string;
  action: string;
  version: WsTrustVersion;
}

export const ACTION_13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue";
export const ACTION_2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue";
const HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http";

/** Ids (`#<wsu:Id>`) of policies that ask for a username token over TLS. */
function usernamePolicies(root: Element): Set<string> {
  const ids = new Set<string>();
  for (const policy of descendants(root, NS.wsp, "Policy")) {
    const id = policy.getAttributeNS(NS.wsu, "Id");
    if (!id) continue;
    for (const [sp, supporting] of [
      [NS.sp, "SignedEncryptedSupportingTokens"],
      [NS.sp2005, "SignedSupportingTokens"],
    ] as const) {
      const token = path(
        policy,
        [NS.wsp, "ExactlyOne"],
        [NS.wsp, "All"],
        [sp, supporting],
        [NS.wsp, "Policy"],
        [sp, "UsernameToken"],
        [NS.wsp, "Policy"],
        [sp, "WssUsernameToken10"],
      );
      if (token && descendants(policy, sp, "TransportBinding").length > 0) ids.add(`#${id}`);
    }
  }
  return ids;
}

/** Username/password WS-Trust endpoints of a MEX document, the preferred one first. */
export function wsTrustEndpoints(mexXml: string): WsTrustEndpoint[] {
  const root = parseXml(mexXml, "MEX document");
  const policies = usernamePolicies(root);
  const bindings = new Map<string, string>();
  for (const binding of children(root, NS.wsdl, "binding")) {
    const soapBinding = children(binding, NS.soap12, "binding")[0];
    if (soapBinding?.getAttribute("transport") !== HTTP_TRANSPORT) continue;
    const referenced = descendants(binding, NS.wsp, "PolicyReference").some((ref) =>
      policies.has(ref.getAttribute("URI") ?? ""),
    );
    const action = path(binding, [NS.wsdl, "operation"], [NS.soap12, "operation"])?.getAttribute(
      "soapAction",
    );
    const name = binding.getAttribute("name");
    if (referenced && action && name) bindings.set(name, action);
  }
  const endpoints: WsTrustEndpoint[] = [];
  for (const service of children(root, NS.wsdl, "service")) {
    for (const port of children(service, NS.wsdl, "port")) {
      const bindingName = (port.getAttribute("binding") ?? "").split(":").pop() ?? "";
      const action = bindings.get(bindingName);
      const address = path(port, [NS.wsa10, "EndpointReference"], [NS.wsa10, "Address"])?.textContent?.trim();
      if (!action || !address?.toLowerCase().startsWith("https://")) continue;
      if (action !== ACTION_13 && action !== ACTION_2005) continue;
      endpoints.push({ address, action, version: action === ACTION_13 ? "13" : "2005" });
    }
  }
  return endpoints.sort((a, b) => (a.version === b.version ? 0 : a.version === "13" ? -1 : 1));
}
