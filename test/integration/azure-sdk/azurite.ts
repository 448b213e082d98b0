/**
 * Starts a real Azurite blob service for a test: in memory, on a free port, over HTTPS with a
 * certificate from the test run's CA (which the workers trust through NODE_EXTRA_CA_CERTS), with
 * `--oauth basic` so that it checks bearer tokens' issuer, audience and lifetime.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { storageEmulatorCertificate } from "../../../emulator/storage.js";
import { sharedCertificateAuthority } from "../../support/emulator.js";

const AZURITE_BLOB = resolve(import.meta.dirname, "../../../node_modules/.bin/azurite-blob");

/** Azurite's well-known development account. */
export const ACCOUNT = "devstoreaccount1";

export interface Azurite {
  /** The blob service URL of the development account, path style: `https://127.0.0.1:<port>/devstoreaccount1`. */
  blobUrl: string;
  /** What Azurite wrote to stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once("exit", () => done());
  });
}

export async function startAzurite(): Promise<Azurite> {
  const dir = mkdtempSync(join(tmpdir(), "msal-ts-azurite-"));
  const tls = storageEmulatorCertificate(sharedCertificateAuthority());
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  writeFileSync(certFile, tls.certificatePem);
  writeFileSync(keyFile, tls.privateKeyPem, { mode: 0o600 });
  const args = [
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    "0",
    "--inMemoryPersistence",
    "--disableTelemetry",
    // @azure/storage-blob 12.34 sends x-ms-version 2026-10-06; Azurite 3.37 knows versions up to 2026-06-06.
    "--skipApiVersionCheck",
    "--oauth",
    "basic",
    "--cert",
    certFile,
    "--key",
    keyFile,
  ];
  // Azurite writes nothing to disk with --inMemoryPersistence; its working directory is ours anyway.
  const child = spawn(process.execPath, [AZURITE_BLOB, ...args], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const listening = /successfully listens on (https:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (listening?.[1]) {
        clearTimeout(timer);
        done(listening[1]);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`Azurite exited with ${code} before it was ready:\n${output}`));
    });
  });
  let origin: string;
  try {
    origin = await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { blobUrl: `${origin}/${ACCOUNT}`, output: () => output, stop };
}
