/** Namespace-aware XML reading for WS-Trust and MEX, on `@xmldom/xmldom`. */
import { DOMParser, type Element, onErrorStopParsing } from "@xmldom/xmldom";
import { MsalError } from "../errors.js";

export const NS = {
  wsdl: "http://schemas.xmlsoap.org/wsdl/",
  sp: "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702",
  sp2005: "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy",
  wsu: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
  wsa10: "http://www.w3.org/2005/08/addressing",
  soap12: "http://schemas.xmlsoap.org/wsdl/soap12/",
  wsp: "http://schemas.xmlsoap.org/ws/2004/09/policy",
  soap: "http://www.w3.org/2003/05/soap-envelope",
  trust13: "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
  trust2005: "http://schemas.xmlsoap.org/ws/2005/02/trust",
} as const;

export function parseXml(text: string, what: string): Element {
  try {
    const doc = new DOMParser({ onError: onErrorStopParsing, locator: true }).parseFromString(
      text,
      "application/xml",
    );
    if (!doc.documentElement) throw new Error("no root element");
    return doc.documentElement;
  } catch (cause) {
    throw new MsalError(
      "wstrust_invalid_xml",
      `The ${what} is not well-formed XML: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

export function children(parent: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).namespaceURI === ns && (node as Element).localName === name)
      out.push(node as Element);
  }
  return out;
}

export function child(parent: Element, ns: string, name: string): Element | undefined {
  return children(parent, ns, name)[0];
}

/** Follows a path of [namespace, name] steps through first children. */
export function path(parent: Element | undefined, ...steps: Array<[string, string]>): Element | undefined {
  let current = parent;
  for (const [ns, name] of steps) current = current && child(current, ns, name);
  return current;
}

export function descendants(parent: Element, ns: string, name: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(ns, name));
}

export function text(element: Element | undefined): string | undefined {
  return element?.textContent?.trim() || undefined;
}

/** XML-escapes text for element content and attribute values. */
export function escapeXml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string,
  );
}
