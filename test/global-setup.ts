/**
 * Makes one CA for the whole test run and has every test worker trust it through
 * `NODE_EXTRA_CA_CERTS` (read by Node only at process start, so it must be set before the workers
 * fork). Each test file still starts its own emulator; they all issue their certificates from this CA.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCertificateAuthority } from "../emulator/x509.js";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "msal-ts-test-ca-"));
  const ca = createCertificateAuthority("msal-ts test CA");
  const certFile = join(dir, "ca.pem");
  const keyFile = join(dir, "ca-key.pem");
  writeFileSync(certFile, ca.certificatePem);
  writeFileSync(keyFile, ca.privateKeyPem, { mode: 0o600 });
  process.env.NODE_EXTRA_CA_CERTS = certFile;
  process.env.MSAL_TS_TEST_CA_CERT = certFile;
  process.env.MSAL_TS_TEST_CA_KEY = keyFile;
  return () => rmSync(dir, { recursive: true, force: true });
}
