/**
 * The error codes and messages transports fail with (Node's, undici's, Deno's), grouped by what a
 * person should do about them, and the hints `networkErrorFrom` (network-error.ts) gives for each group.
 */
export const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "EAI_NODATA"]);
export const REFUSED_CODES = new Set(["ECONNREFUSED"]);
export const RESET_CODES = new Set([
  "ECONNRESET",
  "UND_ERR_SOCKET",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_CLOSED",
]);
/** What timed out, by code: Node's, the Node transport's, and undici's (Node's global fetch, say). */
export const TIMEOUTS = new Map([
  ["UND_ERR_CONNECT_TIMEOUT", ""],
  ["ERR_CONNECT_TIMEOUT", ""],
  ["ETIMEDOUT", ""],
  ["UND_ERR_HEADERS_TIMEOUT", "the server sent no response in time"],
  ["ERR_HEADERS_TIMEOUT", "the server sent no response in time"],
  ["UND_ERR_BODY_TIMEOUT", "the response body stopped arriving"],
  ["ERR_PROXY_TIMEOUT", "the proxy did not set up the tunnel in time"],
]);
/** undici's message for a proxy's answer to CONNECT that is not 200. */
export const PROXY_RESPONSE = /Proxy response \((\d{3})\)/;
/** The proxy would not tunnel. */
export const PROXY_CODES = new Set([
  "UND_ERR_PRX_TLS",
  "UND_ERR_PRX_CONN",
  "ERR_PROXY_TUNNEL",
  "ERR_PROXY_AUTH",
]);
/** Certificates that do not chain to a trusted root: the fix is a CA. */
export const UNTRUSTED_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
]);
export const VALIDITY_CODES = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CERT_REVOKED"]);
export const NAME_CODES = new Set(["ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH"]);

/** Deno's (rustls) certificate failures, e.g. `invalid peer certificate: UnknownIssuer`. */
export const DENO_PEER_CERTIFICATE = /invalid peer certificate: (\w+)/;

export const EXPIRED_CERTIFICATE_HINT =
  "The server's certificate is expired, not yet valid or revoked: check the server's certificate and this machine's clock.";
export const wrongNameHint = (host: string) =>
  `The server's certificate does not name ${host}: check the host name in the URL (a corporate proxy that inspects TLS needs its CA in the \`ca\` option).`;

/** The hint for a certificate that does not chain to a trusted root. */
export const UNTRUSTED_CERTIFICATE_HINT =
  "The server's certificate is not trusted: pass its CA with the `ca` option or NODE_EXTRA_CA_CERTS (a corporate proxy that inspects TLS needs its CA here).";
/** The hint for a handshake that failed before any certificate was checked. */
export const TLS_HANDSHAKE_HINT =
  "The TLS handshake failed: check that the URL's port serves HTTPS and that nothing between you and the server breaks TLS (behind a proxy, set HTTPS_PROXY).";
