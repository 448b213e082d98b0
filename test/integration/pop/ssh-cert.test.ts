/**
 * SSH certificates through `data` (spec section 3.10), as `az ssh` gets them: msal-ts turns an
 * OpenSSH public key into `key_id`/`req_cnf`, the certificate comes back as `access_token` with
 * `token_type: "ssh-cert"`, ssh-keygen reads it (principal, key id, the same key), the cache serves it
 * again for the same key_id, and a certificate for another key replaces it (one entry per scopes).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import {
  SerializableTokenCache,
  sshCertificateRequestData,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import { tokenRequests } from "../confidential/helpers.js";
import { seededUser, signIn, WEB_REDIRECT, webApp } from "../users/helpers.js";

const SSH_KEYGEN = "/usr/bin/ssh-keygen";
const SSH = ["https://pas.windows.net/CheckMyAccess/Linux/.default"];

let emulator: Emulator;
const dir = mkdtempSync(join(tmpdir(), "msal-ts-ssh-cert-"));

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emulator.reset());

function success(result: TokenResult | null): TokenSuccess {
  if (result === null || "error" in result)
    throw new Error(`Expected a token, got ${JSON.stringify(result)}`);
  return result;
}

function newKey(name: string): string {
  const file = join(dir, name);
  execFileSync(SSH_KEYGEN, ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", name, "-f", file]);
  return file;
}

describe.skipIf(!existsSync(SSH_KEYGEN))("SSH certificates with data (needs Debian's openssh-client)", () => {
  it("a user's certificate: ssh-keygen reads it, the cache serves it for the same key, another key replaces it", async () => {
    const cache = new SerializableTokenCache();
    const client = webApp(emulator, { tokenCache: cache });
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const account = signed.result.account;
    if (!account) throw new Error("no account");
    emulator.clearRequests();

    const key = newKey("id_alice");
    const data = await sshCertificateRequestData(readFileSync(`${key}.pub`, "utf8"));
    const cert = success(await client.acquireTokenSilent(SSH, account, { data }));
    expect(cert.token_type).toBe("ssh-cert");
    expect(tokenRequests(emulator)[0]?.form).toMatchObject({
      grant_type: "refresh_token",
      token_type: "ssh-cert",
      key_id: data.key_id,
      req_cnf: data.req_cnf,
    });

    writeFileSync(`${key}-cert.pub`, `ssh-rsa-cert-v01@openssh.com ${cert.access_token}\n`);
    const listing = execFileSync(SSH_KEYGEN, ["-L", "-f", `${key}-cert.pub`], { encoding: "utf8" });
    expect(listing).toContain("Type: ssh-rsa-cert-v01@openssh.com user certificate");
    expect(listing).toContain(`Key ID: "${data.key_id}"`);
    expect(listing).toMatch(new RegExp(`Principals: \\n\\s+${alice.username.replace(/\./g, "\\.")}\\n`));
    const fingerprint = execFileSync(SSH_KEYGEN, ["-l", "-f", `${key}.pub`], { encoding: "utf8" }).split(
      " ",
    )[1];
    expect(listing).toContain(`Public key: RSA-CERT ${fingerprint}`);

    const again = success(await client.acquireTokenSilent(SSH, account, { data }));
    expect(again).toMatchObject({
      token_source: "cache",
      token_type: "ssh-cert",
      access_token: cert.access_token,
    });
    expect(tokenRequests(emulator)).toHaveLength(1);

    const other = await sshCertificateRequestData(readFileSync(`${newKey("id_other")}.pub`, "utf8"));
    const replaced = success(await client.acquireTokenSilent(SSH, account, { data: other }));
    expect(replaced.token_source).toBe("identity_provider");
    expect(tokenRequests(emulator)).toHaveLength(2);
    const certs = Object.values(
      JSON.parse(cache.serialize()).AccessToken as Record<string, { token_type: string; key_id?: string }>,
    ).filter((at) => at.token_type === "ssh-cert");
    expect(certs).toEqual([expect.objectContaining({ key_id: other.key_id })]);
    // The first key's certificate is gone: asking for it again goes to the network.
    success(await client.acquireTokenSilent(SSH, account, { data }));
    expect(tokenRequests(emulator)).toHaveLength(3);
  });
});
