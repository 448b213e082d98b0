/**
 * Workload identity federation end to end: `workloadIdentity()` configured through the variables AKS
 * sets, its credential a service-account token the emulator's cluster minted into a file. The file
 * is rotated while the app runs (the new token is what the next request sends), and Entra's
 * refusals (another subject, another audience, an expired token) come back as results.
 */
import { mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, DAEMON_APP_ID, type Emulator } from "../../emulator/index.js";
import {
  ConfigurationError,
  federatedTokenFileAssertion,
  type TokenResult,
  type WorkloadIdentityOptions,
  workloadIdentity,
} from "../../src/node/index.js";
import { startTestEmulator } from "../support/emulator.js";
import { control } from "./helpers.js";

const SCOPES = ["https://graph.microsoft.com/.default"];
const ASSERTION_CONTEXT = { clientId: DAEMON_APP_ID, tokenEndpoint: "https://unused.example/token" };

describe("workload identity federation against the emulator", () => {
  let emulator: Emulator;
  let dir: string;
  let tokenFile: string;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    dir = mkdtempSync(join(tmpdir(), "msal-ts-workload-"));
  });
  afterAll(async () => {
    await emulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach((context) => {
    tokenFile = join(dir, `${context.task.id}.jwt`);
    emulator.clearRequests();
  });

  /** A service-account token from the emulator's "aks" cluster (the seeded daemon app trusts default/workload-identity-sa). */
  async function mint(
    account = "workload-identity-sa",
    spec: Record<string, unknown> = {},
  ): Promise<{ token: string; exp: number }> {
    const answer = await control(
      emulator,
      "POST",
      `workload-identity/issuers/aks/api/v1/namespaces/default/serviceaccounts/${account}/token`,
      { spec },
    );
    expect(answer.status).toBe(201);
    const token = (answer.body as { status: { token: string } }).status.token;
    const exp = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()).exp as number;
    return { token, exp };
  }

  /** What the kubelet does: write the new token beside the old, then swap it in with one rename. */
  function rotate(token: string): void {
    const next = `${tokenFile}.next`;
    writeFileSync(next, token);
    renameSync(next, tokenFile);
  }

  /** The environment of a pod the AKS workload identity webhook mutated. */
  const podEnv = (): Record<string, string> => ({
    AZURE_CLIENT_ID: DAEMON_APP_ID,
    AZURE_TENANT_ID: CONTOSO_TENANT_ID,
    AZURE_AUTHORITY_HOST: emulator.url,
    AZURE_FEDERATED_TOKEN_FILE: tokenFile,
  });

  const app = (options: WorkloadIdentityOptions = {}) =>
    workloadIdentity({ env: podEnv(), validateAuthority: false, ...options });

  /** The client assertions the token endpoint received, in order. */
  const sentAssertions = () =>
    emulator.requests("token").map((r) => ({
      type: r.form?.client_assertion_type,
      assertion: r.form?.client_assertion,
    }));

  /** The application reuses an assertion until a minute before its exp; wait out that minute's start. */
  async function pastReuse(exp: number): Promise<void> {
    const wait = (exp - 60) * 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 20));
  }

  const failure = (result: TokenResult) => {
    expect("error" in result, JSON.stringify(result)).toBe(true);
    const { error, error_codes } = result as { error: string; error_codes?: number[] };
    return { error, error_codes };
  };

  it("gets an app token with the service-account token in AZURE_FEDERATED_TOKEN_FILE, then serves it from the cache", async () => {
    const { token } = await mint();
    rotate(token);
    const client = app();

    const first = await client.acquireTokenForClient(SCOPES);
    expect(first).toMatchObject({ token_source: "identity_provider", token_type: "Bearer" });
    expect(sentAssertions()).toEqual([
      { type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", assertion: token },
    ]);
    expect(await client.acquireTokenForClient(SCOPES)).toMatchObject({ token_source: "cache" });
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("picks up the rotated token file: a token for another subject is refused (AADSTS700213), the next good one accepted", async () => {
    // Tokens of 62 s: the application reuses each for 2 s, so the test sees every rotation quickly.
    const a = await mint("workload-identity-sa", { expirationSeconds: 62 });
    rotate(a.token);
    const client = app();
    expect(await client.acquireTokenForClient(SCOPES)).toMatchObject({ token_source: "identity_provider" });

    const b = await mint("intruder", { expirationSeconds: 62 });
    rotate(b.token);
    await pastReuse(a.exp);
    const refused = await client.acquireTokenForClient(SCOPES, { forceRefresh: true });
    expect(failure(refused)).toEqual({ error: "invalid_client", error_codes: [700213] });

    const c = await mint("workload-identity-sa", { expirationSeconds: 62 });
    rotate(c.token);
    await pastReuse(b.exp);
    expect(await client.acquireTokenForClient(SCOPES, { forceRefresh: true })).toMatchObject({
      token_source: "identity_provider",
    });
    expect(sentAssertions().map((s) => s.assertion)).toEqual([a.token, b.token, c.token]);
  });

  it("a token for another audience comes back as AADSTS700212", async () => {
    rotate((await mint("workload-identity-sa", { audiences: ["api://not-token-exchange"] })).token);
    const result = await app().acquireTokenForClient(SCOPES);
    expect(failure(result)).toEqual({ error: "invalid_client", error_codes: [700212] });
    expect(String((result as { error_description?: string }).error_description)).toMatch(
      /^AADSTS700212: No matching federated identity record found for presented assertion audience 'api:\/\/not-token-exchange'/,
    );
  });

  it("an expired token comes back as AADSTS700024", async () => {
    rotate((await mint("workload-identity-sa", { expirationSeconds: 3600, issuedSecondsAgo: 7200 })).token);
    const result = await app().acquireTokenForClient(SCOPES);
    expect(failure(result)).toEqual({ error: "invalid_client", error_codes: [700024] });
  });

  it("options override the environment", async () => {
    const { token } = await mint();
    const elsewhere = join(dir, "elsewhere.jwt");
    writeFileSync(elsewhere, token);
    const client = workloadIdentity({
      env: {
        AZURE_CLIENT_ID: "wrong",
        AZURE_TENANT_ID: "wrong",
        AZURE_FEDERATED_TOKEN_FILE: join(dir, "none"),
      },
      clientId: DAEMON_APP_ID,
      tenantId: CONTOSO_TENANT_ID,
      authorityHost: `${emulator.url}/`,
      tokenFilePath: elsewhere,
      validateAuthority: false,
    });
    expect(await client.acquireTokenForClient(SCOPES)).toMatchObject({ token_source: "identity_provider" });
    expect(emulator.requests("token").map((r) => r.path)).toEqual([
      `/${CONTOSO_TENANT_ID}/oauth2/v2.0/token`,
    ]);
  });

  it("a missing variable throws a ConfigurationError naming it, before any request", () => {
    for (const variable of ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"]) {
      const env: Record<string, string> = { ...podEnv() };
      delete env[variable];
      let thrown: unknown;
      try {
        workloadIdentity({ env });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      expect({
        option: (thrown as ConfigurationError).option,
        code: (thrown as ConfigurationError).code,
      }).toEqual({
        option: variable,
        code: "invalid_configuration",
      });
      expect((thrown as Error).message).toContain(`set ${variable}`);
    }
    expect(() => workloadIdentity({ env: { ...podEnv(), AZURE_AUTHORITY_HOST: "login.example" } })).toThrow(
      ConfigurationError,
    );
    expect(emulator.requests()).toHaveLength(0);
  });

  it("a token file that is missing or empty fails the request with a ConfigurationError naming AZURE_FEDERATED_TOKEN_FILE", async () => {
    const assertion = federatedTokenFileAssertion(tokenFile);
    await expect(assertion(ASSERTION_CONTEXT)).rejects.toMatchObject({
      option: "AZURE_FEDERATED_TOKEN_FILE",
      code: "invalid_configuration",
    });
    writeFileSync(tokenFile, "\n");
    await expect(assertion(ASSERTION_CONTEXT)).rejects.toThrow(/is empty/);
    const rejected = await app()
      .acquireTokenForClient(SCOPES)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(rejected).toBeInstanceOf(ConfigurationError);
    expect((rejected as ConfigurationError).option).toBe("AZURE_FEDERATED_TOKEN_FILE");
    expect(emulator.requests("token")).toHaveLength(0);
  });

  describe("federatedTokenFileAssertion's rereading", () => {
    const ROUND_TIME = 1_700_000_000;

    /** Writes the token file with a whole-second modification time that a rewrite can restore exactly. */
    function writeStamped(token: string): void {
      writeFileSync(tokenFile, token);
      utimesSync(tokenFile, ROUND_TIME, ROUND_TIME);
    }

    /** Rewrites the file in place with a token of the same length and the same time: only a reread can see it. */
    function rewriteUnseen(token: string): void {
      const before = statSync(tokenFile);
      writeStamped(token);
      const after = statSync(tokenFile);
      expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    }

    it("reuses its read while the file looks unchanged and the token is valid", async () => {
      const first = (await mint()).token;
      writeStamped(first);
      const assertion = federatedTokenFileAssertion(tokenFile);
      expect(await assertion(ASSERTION_CONTEXT)).toBe(first);
      rewriteUnseen((await mint()).token);
      expect(await assertion(ASSERTION_CONTEXT)).toBe(first);
    });

    it("rereads once the token it holds has expired, even if the file looks unchanged", async () => {
      const expired = (
        await mint("workload-identity-sa", { expirationSeconds: 3600, issuedSecondsAgo: 7200 })
      ).token;
      writeStamped(expired);
      const assertion = federatedTokenFileAssertion(tokenFile);
      expect(await assertion(ASSERTION_CONTEXT)).toBe(expired);
      const fresh = (await mint("workload-identity-sa", { expirationSeconds: 3600, issuedSecondsAgo: 7199 }))
        .token;
      rewriteUnseen(fresh);
      expect(await assertion(ASSERTION_CONTEXT)).toBe(fresh);
    });

    it("rereads when the last read is older than maxAgeMs", async () => {
      const first = (await mint()).token;
      writeStamped(first);
      const assertion = federatedTokenFileAssertion(tokenFile, { maxAgeMs: 0 });
      expect(await assertion(ASSERTION_CONTEXT)).toBe(first);
      const second = (await mint()).token;
      rewriteUnseen(second);
      expect(await assertion(ASSERTION_CONTEXT)).toBe(second);
    });

    it("rereads when the file changes", async () => {
      const first = (await mint()).token;
      writeStamped(first);
      const assertion = federatedTokenFileAssertion(tokenFile);
      expect(await assertion(ASSERTION_CONTEXT)).toBe(first);
      const second = (await mint("another-account")).token;
      rotate(second);
      expect(await assertion(ASSERTION_CONTEXT)).toBe(second);
    });
  });
});
