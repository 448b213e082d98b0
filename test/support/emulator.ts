/** Starting the emulator in a test, with the run's shared CA (see global-setup.ts). */
import { readFileSync } from "node:fs";
import { type Emulator, type EmulatorOptions, startEmulator } from "../../emulator/index.js";

export function sharedCertificateAuthority(): { certificatePem: string; privateKeyPem: string } {
  const cert = process.env.MSAL_TS_TEST_CA_CERT;
  const key = process.env.MSAL_TS_TEST_CA_KEY;
  if (!cert || !key)
    throw new Error("Run the tests through vitest: test/global-setup.ts provides the test CA.");
  return { certificatePem: readFileSync(cert, "utf8"), privateKeyPem: readFileSync(key, "utf8") };
}

export function startTestEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ certificateAuthority: sharedCertificateAuthority(), ...options });
}

export function app(emulator: Emulator, kind: string) {
  const found = emulator.directory.apps.find((a) => a.kind === kind);
  if (!found) throw new Error(`The emulator directory has no ${kind} app.`);
  return found;
}

export function user(emulator: Emulator, kind: string) {
  const found = emulator.directory.users.find((u) => u.kind === kind);
  if (!found) throw new Error(`The emulator directory has no ${kind} user.`);
  return found;
}

/** The authority of the seeded directory's first tenant. */
export function authority(emulator: Emulator): string {
  return `${emulator.url}/${emulator.directory.tenants[0]?.id}`;
}
