/**
 * The Node.js platform: the undici transport with proxy, NO_PROXY, CA and keep-alive
 * (docs/transport.md); `process.env`; and
 * certificate credentials from PFX files, encrypted PEM and PKCS#1 keys.
 */

import type { Platform } from "../app/platform.js";
import { extractCerts } from "../credentials/certificate.js";
import { withThumbprints } from "../credentials/portable-certificate.js";
import type { CertificateCredential, PfxCredential, PreparedCertificate } from "../credentials/types.js";
import { nodeCrypto } from "./builtins.js";
import { createNodeFetch } from "./fetch.js";
import { readPkcs12 } from "./pkcs12.js";
import { certificateThumbprints, normalisePrivateKey } from "./private-key.js";

function prepareNodeCertificate(
  credential: CertificateCredential | PfxCredential,
): PreparedCertificate | Promise<PreparedCertificate> {
  if ("pfx" in credential) {
    const contents = readPkcs12(credential.pfx, credential.passphrase);
    const thumbprints = certificateThumbprints(contents.certificatePem);
    const prepared: PreparedCertificate = {
      privateKeyPkcs8: contents.privateKeyPem,
      thumbprintSha1: thumbprints.sha1,
      thumbprintSha256: thumbprints.sha256,
    };
    if (credential.sendX5c) prepared.x5c = contents.chainPem.flatMap((pem) => extractCerts(pem));
    return prepared;
  }
  const { pkcs8Pem } = normalisePrivateKey(credential.privateKey, credential.passphrase);
  return withThumbprints({ privateKeyPkcs8: pkcs8Pem }, credential);
}

/**
 * What the Node entry plugs into every app: undici transport (proxy, extra CAs), `process.env`, PFX and
 * encrypted PEM certificates, the loopback listener and the system browser for interactive sign-in.
 */
export const nodePlatform: Platform = {
  createFetch: (options) => createNodeFetch(options),
  env: () => process.env,
  os: process.platform,
  prepareCertificate: prepareNodeCertificate,
  // Interactive sign-in alone needs these: loaded then, so that importing msal-ts stays quick.
  startLoopbackListener: async (port, options) =>
    (await import("./loopback.js")).startLoopbackListener(port, options),
  sha256Hex: (text) => nodeCrypto().createHash("sha256").update(text).digest("hex"),
  openBrowser: async (url) => (await import("./browser.js")).openSystemBrowser(url),
};
