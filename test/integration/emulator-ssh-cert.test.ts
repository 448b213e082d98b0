/**
 * The emulator's OpenSSH user certificates, checked by OpenSSH itself: `ssh-keygen -L` reads what the
 * token endpoint returns for `token_type=ssh-cert` (principal, validity, key id, key, signing CA), and an
 * `sshd` started here that trusts only the emulator's SSH CA (`TrustedUserCAKeys`) lets `ssh` sign in
 * with the certificate. Needs Debian's `openssh-client` (and `openssh-server` for the sshd part);
 * skipped with a note when they are absent.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { SSH_CERT_SCOPE, sshCaPublicKey } from "../../emulator/ssh.js";
import { PublicClientApplication, sshCertificateRequestData } from "../../src/node/index.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";

const SSH_KEYGEN = "/usr/bin/ssh-keygen";
const SSH = "/usr/bin/ssh";
const SSHD = "/usr/sbin/sshd";
const haveClient = existsSync(SSH_KEYGEN) && existsSync(SSH);
const isRoot = process.getuid?.() === 0;
// sshd needs its privilege separation directory, which only root can create.
const sshdUnavailable = !existsSync(SSHD)
  ? "no /usr/sbin/sshd (Debian openssh-server)"
  : !isRoot && !existsSync("/run/sshd")
    ? "/run/sshd is missing and only root can create it"
    : undefined;

if (!haveClient) console.warn("emulator-ssh-cert: skipped, no ssh/ssh-keygen (Debian openssh-client).");
else if (sshdUnavailable) console.warn(`emulator-ssh-cert: sshd sign-in skipped: ${sshdUnavailable}.`);

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const out = spawnSync(file, args, { encoding: "utf8", timeout: 20_000, env });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** `ssh-keygen -l`: the SHA256 fingerprint of the public key in a file. */
function fingerprint(file: string): string {
  const out = run(SSH_KEYGEN, ["-l", "-E", "sha256", "-f", file]);
  return /(SHA256:[A-Za-z0-9+/]+)/.exec(out.stdout)?.[1] ?? `no fingerprint: ${out.stderr}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface UserKey {
  privateKeyFile: string;
  publicKeyFile: string;
  /** `req_cnf` as the Azure CLI sends it: the public JWK with a kid, as a JSON string. */
  reqCnf: string;
  keyId: string;
}

function userKey(dir: string, name: string): UserKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const privateKeyFile = join(dir, name);
  writeFileSync(privateKeyFile, privateKey.export({ format: "pem", type: "pkcs1" }), { mode: 0o600 });
  const publicKeyFile = `${privateKeyFile}.pub`;
  writeFileSync(publicKeyFile, run(SSH_KEYGEN, ["-y", "-f", privateKeyFile]).stdout);
  const { n, e } = publicKey.export({ format: "jwk" });
  const keyId = `${name}-key`;
  return { privateKeyFile, publicKeyFile, reqCnf: JSON.stringify({ kty: "RSA", n, e, kid: keyId }), keyId };
}

describe.skipIf(!haveClient)("emulator SSH certificates read and trusted by OpenSSH", () => {
  let emulator: Emulator;
  let dir: string;
  let caFile: string;

  const tokenRequest = (fields: Record<string, string>) =>
    fetch(`${authority(emulator)}/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams(fields) });

  /** A password-grant SSH certificate for a seeded user, written as `<key>-cert.pub`. */
  async function certificateFor(username: string, password: string, key: UserKey) {
    const res = await tokenRequest({
      grant_type: "password",
      client_id: app(emulator, "public").clientId,
      username,
      password,
      scope: `${SSH_CERT_SCOPE} openid profile offline_access`,
      token_type: "ssh-cert",
      key_id: key.keyId,
      req_cnf: key.reqCnf,
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    const certFile = `${key.privateKeyFile}-cert.pub`;
    // What the Azure CLI writes: the type, then the access token as it came.
    writeFileSync(certFile, `ssh-rsa-cert-v01@openssh.com ${String(body.access_token)}\n`);
    return { body, certFile };
  }

  beforeAll(async () => {
    emulator = await startTestEmulator();
    dir = mkdtempSync(join(tmpdir(), "msal-ts-ssh-"));
    caFile = join(dir, "emulator_ca.pub");
    // The CA as the control API publishes it, for emulators running in another process (msal-ts emulator).
    const published = await fetch(`${emulator.url}/_emulator/ssh-ca`);
    expect(published.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const line = await published.text();
    expect(line).toBe(`${sshCaPublicKey(emulator.url)}\n`);
    expect(line).toBe(`${emulator.sshCaPublicKey()}\n`);
    writeFileSync(caFile, line);
  });
  afterAll(async () => {
    await emulator?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("returns token_type ssh-cert and a certificate ssh-keygen -L reads: principal, validity, key id, key, CA", async () => {
    const alice = user(emulator, "managed");
    const key = userKey(dir, "alice");
    const issuedAt = Math.floor(Date.now() / 1000);
    const { body, certFile } = await certificateFor(alice.username, alice.password as string, key);
    expect(body.token_type).toBe("ssh-cert");
    expect(body.scope).toBe(`${SSH_CERT_SCOPE} openid profile email`);
    expect(String(body.access_token)).toMatch(/^AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20/);
    expect(body.refresh_token).toEqual(expect.any(String));

    const listed = run(SSH_KEYGEN, ["-L", "-f", certFile], { ...process.env, TZ: "UTC" });
    expect(listed.status, listed.stderr).toBe(0);
    const text = listed.stdout;
    expect(text).toMatch(/Type: ssh-rsa-cert-v01@openssh\.com user certificate/);
    expect(text).toContain(`Public key: RSA-CERT ${fingerprint(key.publicKeyFile)}`);
    expect(text).toContain(`Signing CA: ED25519 ${fingerprint(caFile)} (using ssh-ed25519)`);
    expect(text).toContain(`Key ID: "${key.keyId}"`);
    expect(text).toMatch(
      new RegExp(`Principals: \\n\\s+${alice.username.replace(/\./g, "\\.")}\\n\\s+Critical`),
    );
    expect(text).toMatch(/Critical Options: \(none\)/);
    for (const ext of [
      "permit-X11-forwarding",
      "permit-agent-forwarding",
      "permit-port-forwarding",
      "permit-pty",
      "permit-user-rc",
    ])
      expect(text).toContain(ext);
    const [, from, to] = /Valid: from (\S+) to (\S+)/.exec(text) ?? [];
    const seconds = (iso: string | undefined) => Date.parse(`${iso}Z`) / 1000;
    // Valid from five minutes before issue (clock skew) for the access token lifetime.
    expect(Math.abs(seconds(from) - (issuedAt - 300))).toBeLessThanOrEqual(5);
    expect(Math.abs(seconds(to) - (issuedAt + Number(body.expires_in)))).toBeLessThanOrEqual(5);
    expect(Number(body.expires_in)).toBe(3599);
  });

  it("gets the certificate with the refresh token too, as az ssh does, for the key it names", async () => {
    const alice = user(emulator, "managed");
    const first = await certificateFor(alice.username, alice.password as string, userKey(dir, "first"));
    const key = userKey(dir, "refreshed");
    const res = await tokenRequest({
      grant_type: "refresh_token",
      client_id: app(emulator, "public").clientId,
      refresh_token: String(first.body.refresh_token),
      scope: `${SSH_CERT_SCOPE} openid profile offline_access`,
      token_type: "ssh-cert",
      key_id: key.keyId,
      req_cnf: key.reqCnf,
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe("ssh-cert");
    const certFile = join(dir, "refreshed-cert.pub");
    writeFileSync(certFile, `ssh-rsa-cert-v01@openssh.com ${String(body.access_token)}\n`);
    const listed = run(SSH_KEYGEN, ["-L", "-f", certFile]).stdout;
    expect(listed).toContain(`Public key: RSA-CERT ${fingerprint(key.publicKeyFile)}`);
    expect(listed).toContain(`Key ID: "${key.keyId}"`);
  });

  it("refuses ssh-cert requests without key_id or req_cnf, with a bad req_cnf, or for another scope", async () => {
    const daemon = app(emulator, "daemon");
    const key = userKey(dir, "refused");
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    const base = {
      grant_type: "client_credentials",
      client_id: daemon.clientId,
      client_secret: daemon.secret as string,
      scope: SSH_CERT_SCOPE,
      token_type: "ssh-cert",
    };
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ req_cnf: key.reqCnf }, 900144, "The request body must contain the following parameter: 'key_id'."],
      [{ key_id: key.keyId }, 900144, "The request body must contain the following parameter: 'req_cnf'."],
      [
        { key_id: key.keyId, req_cnf: "{not json" },
        90100,
        "The 'req_cnf' parameter is empty or not valid: it must be an RSA public key as a JWK in a JSON string.",
      ],
      [
        { key_id: key.keyId, req_cnf: JSON.stringify({ kty: "EC", crv: "P-256", x: "AA", y: "AA" }) },
        90100,
        "The 'req_cnf' parameter is empty or not valid: it must be a JWK with kty 'RSA' and the key's 'n' and 'e'.",
      ],
      [
        { key_id: key.keyId, req_cnf: JSON.stringify(small.export({ format: "jwk" })) },
        90100,
        "The 'req_cnf' parameter is empty or not valid: the RSA modulus must have 2048 to 16384 bits.",
      ],
      [
        { key_id: "k".repeat(257), req_cnf: key.reqCnf },
        90100,
        "The 'key_id' parameter is empty or not valid: it must be at most 256 characters.",
      ],
      [
        { key_id: key.keyId, req_cnf: key.reqCnf, scope: "https://graph.microsoft.com/.default" },
        90100,
        `The 'token_type' parameter is empty or not valid: ssh-cert is issued for the scope ${SSH_CERT_SCOPE} only.`,
      ],
    ];
    for (const [fields, code, message] of cases) {
      const res = await tokenRequest({ ...base, ...fields });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.error).toBe("invalid_request");
      expect(body.error_codes).toEqual([code]);
      expect(String(body.error_description).startsWith(`AADSTS${code}: ${message} Trace ID: `)).toBe(true);
    }
  });

  describe.skipIf(sshdUnavailable !== undefined)("an sshd that trusts the emulator's SSH CA", () => {
    let sshd: ChildProcess;
    let port: number;
    let sshdLog = "";
    const login = userInfo().username;

    beforeAll(async () => {
      if (isRoot) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
      const hostKey = join(dir, "host_key");
      run(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
      const principals = join(dir, "principals");
      // Only alice's UPN may sign in as the local account.
      writeFileSync(principals, `${user(emulator, "managed").username}\n`);
      port = await freePort();
      const config = join(dir, "sshd_config");
      writeFileSync(
        config,
        [
          `Port ${port}`,
          "ListenAddress 127.0.0.1",
          `HostKey ${hostKey}`,
          "PidFile none",
          "UsePAM no",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "PubkeyAuthentication yes",
          "AuthorizedKeysFile none",
          `TrustedUserCAKeys ${caFile}`,
          `AuthorizedPrincipalsFile ${principals}`,
          "StrictModes no",
          "PermitRootLogin prohibit-password",
          "LogLevel VERBOSE",
          "",
        ].join("\n"),
      );
      sshd = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
      sshd.stderr?.setEncoding("utf8");
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sshd did not start: ${sshdLog}`)), 15_000);
        sshd.stderr?.on("data", (chunk: string) => {
          sshdLog += chunk;
          if (sshdLog.includes("Server listening on")) {
            clearTimeout(timer);
            resolve();
          }
        });
        sshd.once("exit", (code) => reject(new Error(`sshd exited with ${code}: ${sshdLog}`)));
      });
    });
    afterAll(() => {
      sshd?.kill();
    });

    const ssh = (key: UserKey, certFile: string) =>
      run(SSH, [
        "-F",
        "/dev/null",
        "-i",
        key.privateKeyFile,
        "-o",
        `CertificateFile=${certFile}`,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
        "-p",
        String(port),
        `${login}@127.0.0.1`,
        "echo signed-in",
      ]);

    it("lets ssh sign in with the emulator's certificate, and sshd names its key id and CA", async () => {
      const alice = user(emulator, "managed");
      const key = userKey(dir, "alice-login");
      const { certFile } = await certificateFor(alice.username, alice.password as string, key);
      const out = ssh(key, certFile);
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout.trim()).toBe("signed-in");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sshdLog).toMatch(
        new RegExp(
          `Accepted publickey for ${login} from 127\\.0\\.0\\.1 port \\d+ ssh2: RSA-CERT ${fingerprint(key.publicKeyFile).replace(/[+/]/g, "\\$&")} ID ${key.keyId} \\(serial \\d+\\) CA ED25519 ${fingerprint(caFile).replace(/[+/]/g, "\\$&")}`,
        ),
      );
    });

    it("lets ssh sign in with the certificate msal-ts gets silently, as az ssh does", async () => {
      const alice = user(emulator, "managed");
      const key = userKey(dir, "msal-ts");
      const pca = new PublicClientApplication(app(emulator, "public").clientId, {
        authority: authority(emulator),
        validateAuthority: false,
      });
      const signIn = await pca.acquireTokenByUsernamePassword(alice.username, alice.password as string, [
        "User.Read",
      ]);
      expect("access_token" in signIn).toBe(true);
      const [account] = await pca.getAccounts();
      const data = await sshCertificateRequestData(readFileSync(key.publicKeyFile, "utf8"), key.keyId);
      emulator.clearRequests();
      const result = await pca.acquireTokenSilent([SSH_CERT_SCOPE], account, { data });
      expect(result?.token_type).toBe("ssh-cert");
      const [sent] = emulator.requests("token");
      expect(sent?.form).toMatchObject({
        grant_type: "refresh_token",
        token_type: "ssh-cert",
        key_id: key.keyId,
      });
      const certFile = `${key.privateKeyFile}-cert.pub`;
      writeFileSync(certFile, `ssh-rsa-cert-v01@openssh.com ${String(result?.access_token)}\n`);
      const listed = run(SSH_KEYGEN, ["-L", "-f", certFile]).stdout;
      expect(listed).toContain(`Key ID: "${key.keyId}"`);
      expect(listed).toContain(`Public key: RSA-CERT ${fingerprint(key.publicKeyFile)}`);
      const out = ssh(key, certFile);
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout.trim()).toBe("signed-in");
    });

    it("refuses the same key without the certificate, and a certificate for a principal it does not list", async () => {
      const key = userKey(dir, "bare");
      const bare = ssh(key, join(dir, "no-such-cert.pub"));
      expect(bare.status).toBe(255);
      expect(bare.stderr).toMatch(/Permission denied \(publickey\)/);
      const alice = user(emulator, "managed").username;
      const other = emulator.directory.users.find(
        (u) => u.kind === "managed" && u.username !== alice && u.tenant === emulator.directory.tenants[0]?.id,
      );
      expect(other, "a second managed user in the seeded directory").toBeDefined();
      const otherKey = userKey(dir, "other-login");
      const { certFile } = await certificateFor(
        other?.username as string,
        other?.password as string,
        otherKey,
      );
      const refused = ssh(otherKey, certFile);
      expect(refused.status).toBe(255);
      expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
    });
  });
});
