/**
 * App-only sign-in, as `az login --service-principal`: the app's own token (client credentials)
 * from a secret read on stdin or a certificate file, kept in the same cache file as users' tokens.
 * The credential is never taken from the command line (other users can read argv in `ps`), never
 * printed and never stored: `token --app` without one serves what the cache holds.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ClientCredential, TokenResult, TokenSuccess } from "../node/index.js";
import { createAppOnly } from "./app.js";
import { type CommonOptions, UsageError } from "./options.js";
import { fail, green, type Terminal } from "./terminal.js";

/** The scope an app-only sign-in asks for when --scope is not given. */
export const DEFAULT_APP_SCOPE = "https://graph.microsoft.com/.default";

/** Thrown by the stand-in credential when the cache cannot serve and a real credential is needed. */
class CredentialNeeded extends Error {}

async function readStdin(t: Terminal, what: string): Promise<string> {
  if (process.stdin.isTTY) t.err.write(`Enter the ${what}, then press Ctrl-D:\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the shell's (`echo`, a here-string), not the secret's.
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function certificateCredential(
  path: string,
  passphrase: string | undefined,
  sendChain: boolean,
): ClientCredential {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(
      `cannot read the --certificate file ${path} (${reason}).`,
      "pass a PEM or PFX file.",
    );
  }
  const text = bytes.toString("utf8");
  if (!text.includes("-----BEGIN"))
    return { pfx: new Uint8Array(bytes), ...(passphrase ? { passphrase } : {}), sendX5c: sendChain };
  const key =
    /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.exec(
      text,
    )?.[0];
  const certificates = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!key || certificates.length === 0)
    throw new UsageError(
      `the --certificate file ${path} needs both the private key and the certificate (PEM).`,
      "concatenate them: cat key.pem cert.pem > app.pem",
    );
  const leaf = new X509Certificate(certificates[0] as string);
  return {
    privateKey: key,
    ...(passphrase ? { passphrase } : {}),
    // Entra identifies the certificate by thumbprint; the chain (x5c) only for SN+issuer trust.
    thumbprint: leaf.fingerprint.replace(/:/g, ""),
    thumbprintSha256: leaf.fingerprint256.replace(/:/g, ""),
    ...(sendChain ? { publicCertificate: certificates.join("\n") } : {}),
  };
}

/** The credential the flags ask for, or undefined when none was given. */
async function credentialFrom(
  flags: Record<string, unknown>,
  t: Terminal,
): Promise<ClientCredential | undefined> {
  if (flags["client-secret-stdin"]) {
    const secret = await readStdin(t, "client secret");
    if (!secret)
      throw new UsageError(
        "--client-secret-stdin read an empty secret.",
        "pipe the secret in: msal-ts ... --client-secret-stdin < secret.txt",
      );
    return secret;
  }
  if (typeof flags.certificate === "string") {
    const passphrase = flags["certificate-password-stdin"]
      ? await readStdin(t, "certificate password")
      : undefined;
    return certificateCredential(flags.certificate, passphrase, Boolean(flags["use-cert-sn-issuer"]));
  }
  return undefined;
}

const NO_CREDENTIAL_HINT = "pass --client-secret-stdin (the secret on stdin) or --certificate FILE.";

function appTokenJson(result: TokenSuccess, clientId: string, withToken: boolean) {
  const { access_token, token_type, expires_in, token_source, scope } = result;
  return JSON.stringify({
    ...(withToken ? { access_token } : {}),
    token_type,
    expires_in,
    token_source,
    scope,
    client_id: clientId,
  });
}

function describeAppFailure(t: Terminal, result: { error: string; error_description?: string }): number {
  return fail(t, `${result.error}: ${String(result.error_description ?? "").split(" Trace ID")[0]}`);
}

/** `login --service-principal`: an app token now, cached for `token --app`. */
export async function loginServicePrincipal(
  options: CommonOptions & { clientId: string },
  flags: Record<string, unknown>,
  t: Terminal,
): Promise<number> {
  const credential = await credentialFrom(flags, t);
  if (!credential)
    throw new UsageError("--service-principal needs the app's credential.", NO_CREDENTIAL_HINT);
  const app = createAppOnly(options, credential, t);
  const result = await app.acquireTokenForClient(options.scopes ?? [DEFAULT_APP_SCOPE]);
  if (result.error) return describeAppFailure(t, result);
  const success = result;
  if (options.json) t.out.write(`${appTokenJson(success, options.clientId, false)}\n`);
  else t.err.write(`${green(t, "Signed in")} as the app ${options.clientId}.\n`);
  return 0;
}

/** `token --app`: the app's token, from the cache or (with a credential) from the identity provider. */
export async function appToken(
  options: CommonOptions & { clientId: string },
  flags: Record<string, unknown>,
  t: Terminal,
): Promise<number> {
  const given = await credentialFrom(flags, t);
  // Without a credential the app can still read its cached token; it fails only if it must ask.
  const credential: ClientCredential = given ?? {
    clientAssertion: () => {
      throw new CredentialNeeded();
    },
  };
  const app = createAppOnly(options, credential, t);
  const scopes = options.scopes ?? [DEFAULT_APP_SCOPE];
  let result: TokenResult;
  try {
    result = await app.acquireTokenForClient(scopes);
  } catch (error) {
    if (
      !(error instanceof CredentialNeeded) &&
      !(error instanceof Error && error.cause instanceof CredentialNeeded)
    )
      throw error;
    return fail(
      t,
      `no app token for ${options.clientId} (${scopes.join(" ")}) in the cache.`,
      NO_CREDENTIAL_HINT,
      3,
    );
  }
  if (result.error) return describeAppFailure(t, result);
  const success = result;
  t.out.write(
    options.json ? `${appTokenJson(success, options.clientId, true)}\n` : `${success.access_token}\n`,
  );
  return 0;
}

/** `logout --service-principal`: the app's tokens leave the cache. */
export async function logoutServicePrincipal(
  options: CommonOptions & { clientId: string },
  t: Terminal,
): Promise<number> {
  const standIn: ClientCredential = { clientAssertion: () => "" };
  const removed = await createAppOnly(options, standIn, t).removeTokensForClient();
  if (removed === 0) return fail(t, `no app token for ${options.clientId} is in the cache.`, undefined, 3);
  if (options.json)
    t.out.write(`${JSON.stringify({ removed: [{ client_id: options.clientId, tokens: removed }] })}\n`);
  else
    t.err.write(
      `Signed out the app ${options.clientId} (${removed} token${removed === 1 ? "" : "s"} removed).\n`,
    );
  return 0;
}
