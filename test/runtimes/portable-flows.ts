/**
 * The flows Bun and Deno run through the installed package (fixtures/portable-flows.mjs), and what
 * the emulator must have seen: one test per runtime, sharing the setup and the expectations.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import {
  derBase64,
  directoryUser,
  form,
  jwtHeader,
  middleTierAssertion,
  Workspace,
} from "../integration/confidential/helpers.js";
import { app, authority, startTestEmulator } from "../support/emulator.js";
import {
  type InstalledProject,
  installPackage,
  type RuntimeBinary,
  runProgram,
  startSignInService,
} from "./support.js";

/** How the test starts the script in one runtime, given the project, the input file and the emulator. */
export type Launch = (
  project: InstalledProject,
  inputFile: string,
  emulator: Emulator,
) => { file: string; args: string[]; env: NodeJS.ProcessEnv };

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ALICE = "alice@contoso.onmicrosoft.com";
const DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";

/** What the portable entry throws for each extra of the Node entry: [class, option, message]. */
export const EXTRAS_ERRORS = {
  proxy: [
    "proxy",
    'The proxy and ca options need the Node entry of msal-ts (import from "msal-ts" on Node); elsewhere pass a `fetch` that goes through your proxy and trusts your CA.',
  ],
  ca: [
    "ca",
    'The proxy and ca options need the Node entry of msal-ts (import from "msal-ts" on Node); elsewhere pass a `fetch` that goes through your proxy and trusts your CA.',
  ],
  pfx: [
    "clientCredential",
    'PFX credentials need the Node entry of msal-ts (import from "msal-ts" on Node.js).',
  ],
  encryptedPem: [
    "clientCredential",
    "Outside Node.js the private key must be an unencrypted PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert it with `openssl pkcs8 -topk8 -nocrypt`.",
  ],
  filePersistence: [
    "tokenCache",
    'FilePersistence needs the Node entry of msal-ts (import from "msal-ts" on Node.js); in this runtime keep the cache with a CachePlugin over its own storage (a KV namespace, Deno KV, a file you write).',
  ],
  interactive: [
    "platform",
    "Interactive sign-in needs a loopback listener: use the Node entry of msal-ts, or the auth code flow with your own redirect handling.",
  ],
} as const;

/** The error the script reported for an extra, as the exact outcome the portable entry must give. */
export function expectedExtraError(extra: keyof typeof EXTRAS_ERRORS) {
  const [option, message] = EXTRAS_ERRORS[extra];
  return {
    name: "ConfigurationError",
    isConfigurationError: true,
    code: "invalid_configuration",
    option,
    message,
  };
}

/** What the script printed, and the token requests the emulator logged while it ran. */
interface Run {
  out: Record<string, Record<string, unknown>> & { runtime: string; entry: string };
  tokens: Record<string, string>[];
  daemon: ReturnType<typeof app>;
  middleTier: ReturnType<typeof app>;
  certificatePem: string;
  assertion: string;
  username: string;
  signIns: number;
  approvals: number;
}

/** Writes the script's input, runs it in the runtime, and collects what the emulator saw. */
async function runFlows(emulator: Emulator, project: InstalledProject, launch: Launch): Promise<Run> {
  const workspace = new Workspace();
  const signIn = await startSignInService(emulator, directoryUser(emulator, ALICE));
  try {
    const daemon = app(emulator, "daemon");
    const middleTier = app(emulator, "middle-tier");
    const certificate = daemon.certificate;
    if (!certificate) throw new Error("The seeded daemon has no certificate.");
    const assertion = await middleTierAssertion(emulator, directoryUser(emulator, ALICE));
    workspace.write("key.pem", certificate.privateKey);
    workspace.openssl(
      "pkcs8",
      "-topk8",
      "-in",
      "key.pem",
      "-v2",
      "aes-256-cbc",
      "-passout",
      "pass:pem-pass",
      "-out",
      "encrypted.pem",
    );
    const pfx = workspace.pfx("daemon", certificate.privateKey, certificate.certificate, "pfx-pass", false);
    const inputFile = join(project.dir, "input.json");
    writeFileSync(
      inputFile,
      JSON.stringify({
        authority: authority(emulator),
        daemon: {
          clientId: daemon.clientId,
          secret: daemon.secret,
          privateKey: certificate.privateKey,
          certificate: certificate.certificate,
        },
        middleTier: { clientId: middleTier.clientId, secret: middleTier.secret },
        publicClientId: app(emulator, "public").clientId,
        assertion,
        signInUrl: signIn.url,
        approveDeviceUrl: signIn.approveDeviceUrl,
        caPem: emulator.caPem,
        pfxBase64url: Buffer.from(pfx).toString("base64url"),
        encryptedKeyPem: workspace.read("encrypted.pem"),
      }),
    );
    emulator.clearRequests();
    const { file, args, env } = launch(project, inputFile, emulator);
    const out = JSON.parse(await runProgram(file, args, { cwd: project.dir, env }));
    return {
      out,
      tokens: emulator.requests("token").map(form),
      daemon,
      middleTier,
      certificatePem: certificate.certificate,
      assertion,
      username: ALICE,
      signIns: signIn.signIns,
      approvals: signIn.approvals,
    };
  } finally {
    await signIn.close();
    workspace.remove();
  }
}

/**
 * One script run in the runtime (in `beforeAll`), then one test per capability over what it printed
 * and what the emulator logged. docs/runtimes.md cites these titles.
 */
export function describePortableFlows(
  runtime: RuntimeBinary,
  name: string,
  trust: string,
  launch: Launch,
): void {
  const title = `${name} ${runtime.version ?? `(${runtime.packageName} unavailable)`}`;
  describe(`${title}: the installed package, its portable entry, the CA trusted ${trust}`, () => {
    let emulator: Emulator | undefined;
    let project: InstalledProject | undefined;
    let run: Run;
    const test = it.skipIf(runtime.unavailable);

    beforeAll(async () => {
      if (runtime.unavailable) return;
      [emulator, project] = await Promise.all([startTestEmulator(), installPackage(["portable-flows.mjs"])]);
      run = await runFlows(emulator, project, launch);
    }, 75_000);
    afterAll(async () => {
      await emulator?.stop();
      project?.remove();
    });

    test("resolves msal-ts to the portable entry through its export condition", () => {
      expect(run.out.runtime).toBe(name.toLowerCase());
      expect(run.out.entry).toBe("portable");
    });

    test("client credentials with a secret: a token from the emulator, then from the cache", () => {
      expect(run.out.secret).toMatchObject({
        sources: ["identity_provider", "cache"],
        sameToken: true,
        claims: { aud: "https://graph.microsoft.com", azp: run.daemon.clientId, idtyp: "app" },
      });
      expect(run.tokens[0]).toMatchObject({ grant_type: "client_credentials", client_secret: "[redacted]" });
    });

    test("client credentials with a PEM certificate: a PS256 assertion with x5c, signed by Web Crypto", () => {
      expect(run.out.certificate).toMatchObject({
        sources: ["identity_provider", "cache"],
        sameToken: true,
        claims: { aud: "https://graph.microsoft.com", azp: run.daemon.clientId, idtyp: "app" },
      });
      expect(run.tokens[1]).toMatchObject({
        grant_type: "client_credentials",
        client_assertion_type: JWT_BEARER_ASSERTION,
      });
      expect(jwtHeader(run.tokens[1]?.client_assertion as string)).toMatchObject({
        alg: "PS256",
        x5c: [derBase64(run.certificatePem)],
      });
    });

    test("the auth code flow redeemed with PKCE after a sign-in on the emulator's page", () => {
      expect(run.out.authCode).toEqual({
        source: "identity_provider",
        username: run.username,
        codeChallengeMethod: "S256",
        // RFC 7636 section 4.2: the challenge is BASE64URL(SHA256(verifier)) of the verifier redeemed.
        codeChallenge: createHash("sha256")
          .update(run.tokens[2]?.code_verifier ?? "")
          .digest("base64url"),
        hasRefreshToken: true,
      });
      expect(run.signIns).toBe(1);
      expect(run.tokens[2]?.grant_type).toBe("authorization_code");
      expect(run.tokens[2]?.code_verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    });

    test("a cache plugin serializes the sign-in; another app deserializes it, reads the token silently and refreshes it", () => {
      expect(run.out.silent).toEqual({
        accounts: [run.username],
        cacheSource: "cache",
        cacheIsSignedInToken: true,
        refreshSource: "identity_provider",
        refreshedIsNew: true,
        serializedSections: ["AccessToken", "Account", "AppMetadata", "IdToken", "RefreshToken"],
        saves: 2,
      });
      expect(run.tokens[3]?.grant_type).toBe("refresh_token");
    });

    test("on-behalf-of: the user's token traded for a Graph token, then served from the cache", () => {
      expect(run.out.onBehalfOf).toMatchObject({
        sources: ["identity_provider", "cache"],
        sameToken: true,
        claims: {
          aud: "https://graph.microsoft.com",
          azp: run.middleTier.clientId,
          preferred_username: run.username,
        },
      });
      expect(run.tokens[4]).toMatchObject({
        grant_type: JWT_BEARER,
        requested_token_use: "on_behalf_of",
        assertion: run.assertion,
      });
    });

    test("the device code flow: the user code approved elsewhere, then redeemed by polling", () => {
      expect(run.out.deviceCode).toEqual({
        source: "identity_provider",
        username: run.username,
        messageHasCode: true,
      });
      expect(run.approvals).toBe(1);
      expect(run.tokens[5]?.grant_type).toBe(DEVICE_CODE);
    });

    test("proxy, ca, PFX, encrypted PEM, FilePersistence and interactive sign-in throw ConfigurationError, sending nothing", () => {
      const extras = run.out.extras as Record<string, unknown>;
      for (const extra of Object.keys(EXTRAS_ERRORS) as Array<keyof typeof EXTRAS_ERRORS>)
        expect(extras[extra], extra).toEqual(expectedExtraError(extra));
      // Exactly the six token requests of the flows above: the extras reached no endpoint.
      expect(run.tokens).toHaveLength(6);
    });
  });
}
