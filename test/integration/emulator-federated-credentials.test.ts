/**
 * The emulator's workload identity federation: its Kubernetes-like service-account token issuer
 * (discovery, JWKS, TokenRequest), federated identity credentials on apps (seeded and added through
 * the control API), the exchange at the token endpoint and each of Entra's refusals, and an issuer
 * elsewhere (a second emulator) whose keys are fetched through its discovery document. A peer
 * nobody here wrote, `@azure/identity`'s WorkloadIdentityCredential (msal-node underneath), gets a
 * token with the emulator's service-account token.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkloadIdentityCredential } from "@azure/identity";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEEDED_SERVICE_ACCOUNT, seedDirectory } from "../../emulator/directory.js";
import {
  CONTOSO_TENANT_ID,
  DAEMON_APP_ID,
  type Emulator,
  PUBLIC_APP_ID,
  WEB_APP_ID,
} from "../../emulator/index.js";
import { startTestEmulator } from "../support/emulator.js";
import { claims, control, expectEntraError, getJson, postToken, type TokenAnswer } from "./helpers.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const SEEDED_SUBJECT = `system:serviceaccount:${SEEDED_SERVICE_ACCOUNT.namespace}:${SEEDED_SERVICE_ACCOUNT.name}`;

interface MintOptions {
  cluster?: string;
  namespace?: string;
  account?: string;
  spec?: Record<string, unknown>;
}

/** A service-account token from one of the emulator's clusters, through its TokenRequest endpoint. */
async function mint(emulator: Emulator, options: MintOptions = {}): Promise<string> {
  const {
    cluster = "aks",
    namespace = SEEDED_SERVICE_ACCOUNT.namespace,
    account = SEEDED_SERVICE_ACCOUNT.name,
  } = options;
  const answer = await control(
    emulator,
    "POST",
    `workload-identity/issuers/${cluster}/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
    { spec: options.spec ?? {} },
  );
  expect(answer.status).toBe(201);
  return (answer.body as { status: { token: string } }).status.token;
}

function exchange(emulator: Emulator, assertion: string, clientId = DAEMON_APP_ID): Promise<TokenAnswer> {
  return postToken(emulator, {
    grant_type: "client_credentials",
    client_id: clientId,
    scope: "https://graph.microsoft.com/.default",
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
  });
}

const issuerOf = (emulator: Emulator, cluster = "aks") =>
  `${emulator.url}/_emulator/workload-identity/issuers/${cluster}`;

describe("emulator: workload identity federation", () => {
  let emulator: Emulator;
  /** A second emulator, playing an issuer elsewhere. */
  let cluster: Emulator;

  // Both start first: starting an emulator keeps the event loop busy long enough that an idle
  // kept-alive connection to the other can reach the server's keep-alive timeout mid-request.
  beforeAll(async () => {
    emulator = await startTestEmulator();
    cluster = await startTestEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
    await cluster?.stop();
  });

  describe("the service-account token issuer", () => {
    it("serves an OIDC discovery document and a JWKS that verifies the tokens it mints", async () => {
      const issuer = issuerOf(emulator);
      const discovery = await getJson(`${issuer}/.well-known/openid-configuration`);
      expect(discovery.status).toBe(200);
      expect(discovery.body).toEqual({
        issuer,
        jwks_uri: `${issuer}/openid/v1/jwks`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
      const token = await mint(emulator);
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer}/openid/v1/jwks`)), {
        issuer,
        audience: "api://AzureADTokenExchange",
      });
      expect(payload.sub).toBe(SEEDED_SUBJECT);
      expect(payload["kubernetes.io"]).toMatchObject({
        namespace: "default",
        serviceaccount: { name: "workload-identity-sa" },
      });
      expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    });

    it("answers in the TokenRequest shape, with the audiences and lifetime asked for", async () => {
      const answer = await control(
        emulator,
        "POST",
        "workload-identity/issuers/aks/api/v1/namespaces/team-a/serviceaccounts/api/token",
        { spec: { audiences: ["api://custom"], expirationSeconds: 600 } },
      );
      expect(answer.status).toBe(201);
      const body = answer.body as {
        kind: string;
        apiVersion: string;
        spec: unknown;
        status: { token: string; expirationTimestamp: string };
      };
      expect({ kind: body.kind, apiVersion: body.apiVersion, spec: body.spec }).toEqual({
        kind: "TokenRequest",
        apiVersion: "authentication.k8s.io/v1",
        spec: { audiences: ["api://custom"], expirationSeconds: 600 },
      });
      const payload = decodeJwt(body.status.token);
      expect(payload).toMatchObject({ sub: "system:serviceaccount:team-a:api", aud: ["api://custom"] });
      expect(body.status.expirationTimestamp).toBe(
        new Date((payload.exp as number) * 1000).toISOString().replace(".000Z", "Z"),
      );
    });

    it("each cluster has its own key", async () => {
      const kid = async (cluster: string) => decodeProtectedHeader(await mint(emulator, { cluster })).kid;
      expect(await kid("aks")).not.toBe(await kid("other-cluster"));
    });

    it("refuses a token request that is not JSON (415) or has a bad spec (400)", async () => {
      const path = `${issuerOf(emulator)}/api/v1/namespaces/default/serviceaccounts/sa/token`;
      const form = await fetch(path, { method: "POST", body: new URLSearchParams({ a: "b" }) });
      expect(form.status).toBe(415);
      await form.body?.cancel();
      const bad = await control(
        emulator,
        "POST",
        "workload-identity/issuers/aks/api/v1/namespaces/default/serviceaccounts/sa/token",
        { spec: { expirationSeconds: -5 } },
      );
      expect(bad.status).toBe(400);
    });
  });

  describe("the exchange at the token endpoint", () => {
    it("the seeded daemon app trusts the aks cluster's workload-identity-sa: an app token", async () => {
      const answer = await exchange(emulator, await mint(emulator));
      expect(answer.status).toBe(200);
      expect(claims(answer.body.access_token)).toMatchObject({
        azp: DAEMON_APP_ID,
        tid: CONTOSO_TENANT_ID,
        idtyp: "app",
      });
    });

    it("another cluster's token: 401 invalid_client AADSTS700211 (issuer)", async () => {
      const answer = await exchange(emulator, await mint(emulator, { cluster: "other-cluster" }));
      expectEntraError(answer, 401, "invalid_client", 700211);
      expect(answer.body.error_description).toContain(
        `assertion issuer '${issuerOf(emulator, "other-cluster")}'`,
      );
    });

    it("another service account: 401 invalid_client AADSTS700213 (subject)", async () => {
      const answer = await exchange(emulator, await mint(emulator, { account: "someone-else" }));
      expectEntraError(answer, 401, "invalid_client", 700213);
      expect(answer.body.error_description).toContain("subject 'system:serviceaccount:default:someone-else'");
    });

    it("a subject that differs only in case: AADSTS7002138 (matching is case-sensitive)", async () => {
      const added = await control(emulator, "POST", "workload-identity/federated-credentials", {
        clientId: WEB_APP_ID,
        name: "mixed-case",
        issuer: "/_emulator/workload-identity/issuers/case",
        subject: "system:serviceaccount:default:Builder",
      });
      expect(added.status).toBe(201);
      const answer = await exchange(
        emulator,
        await mint(emulator, { cluster: "case", account: "builder" }),
        WEB_APP_ID,
      );
      expectEntraError(answer, 401, "invalid_client", 7002138);
    });

    it("another audience: 401 invalid_client AADSTS700212 (audience)", async () => {
      const token = await mint(emulator, { spec: { audiences: ["api://not-token-exchange"] } });
      const answer = await exchange(emulator, token);
      expectEntraError(answer, 401, "invalid_client", 700212);
    });

    it("an expired token: 401 invalid_client AADSTS700024 with the times", async () => {
      const token = await mint(emulator, { spec: { expirationSeconds: 3600, issuedSecondsAgo: 7200 } });
      const answer = await exchange(emulator, token);
      expectEntraError(answer, 401, "invalid_client", 700024);
      expect(answer.body.error_description).toMatch(
        /assertion valid from \d{4}-.*expiry time of assertion \d{4}-/,
      );
    });

    it("a token whose claims were changed after signing: 401 invalid_client AADSTS700027", async () => {
      const [header, payload, signature] = (await mint(emulator)).split(".");
      const claimsSet = JSON.parse(Buffer.from(payload as string, "base64url").toString());
      const tampered = Buffer.from(JSON.stringify({ ...claimsSet, exp: claimsSet.exp + 86400 })).toString(
        "base64url",
      );
      const answer = await exchange(emulator, `${header}.${tampered}.${signature}`);
      expectEntraError(answer, 401, "invalid_client", 700027);
    });
  });

  it("@azure/identity's WorkloadIdentityCredential exchanges the emulator's service-account token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "msal-ts-wi-peer-"));
    try {
      const tokenFilePath = join(dir, "azure-identity-token");
      writeFileSync(tokenFilePath, await mint(emulator));
      const credential = new WorkloadIdentityCredential({
        clientId: DAEMON_APP_ID,
        tenantId: CONTOSO_TENANT_ID,
        tokenFilePath,
        authorityHost: emulator.url,
        // The emulator is no Microsoft cloud: msal-node would ask login.microsoftonline.com about it.
        disableInstanceDiscovery: true,
      });
      const token = await credential.getToken("https://graph.microsoft.com/.default");
      expect(claims(token.token)).toMatchObject({ azp: DAEMON_APP_ID, tid: CONTOSO_TENANT_ID });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("federated credentials through the control API", () => {
    it("added to an app, it lets that cluster's service account in; removed, it does not", async () => {
      const added = await control(emulator, "POST", "workload-identity/federated-credentials", {
        clientId: WEB_APP_ID,
        name: "ci-deployer",
        issuer: "/_emulator/workload-identity/issuers/ci",
        subject: "system:serviceaccount:build:deployer",
      });
      expect(added).toEqual({
        status: 201,
        body: {
          clientId: WEB_APP_ID,
          name: "ci-deployer",
          issuer: issuerOf(emulator, "ci"),
          subject: "system:serviceaccount:build:deployer",
          audiences: ["api://AzureADTokenExchange"],
          issuerKeys: "emulator",
        },
      });
      const token = await mint(emulator, { cluster: "ci", namespace: "build", account: "deployer" });
      expect((await exchange(emulator, token, WEB_APP_ID)).status).toBe(200);

      const listed = await control(
        emulator,
        "GET",
        `workload-identity/federated-credentials?client_id=${WEB_APP_ID}`,
      );
      expect((listed.body as Array<{ name: string }>).map((c) => c.name)).toContain("ci-deployer");

      const removed = await control(
        emulator,
        "DELETE",
        `workload-identity/federated-credentials?client_id=${WEB_APP_ID}&name=ci-deployer`,
      );
      expect(removed).toEqual({ status: 200, body: { removed: 1 } });
      expectEntraError(await exchange(emulator, token, WEB_APP_ID), 401, "invalid_client", 700211);
    });

    it("refuses a public app, an unknown app, a repeated name, a second audience and a form body", async () => {
      const add = (body: unknown) =>
        control(emulator, "POST", "workload-identity/federated-credentials", body);
      const credential = { issuer: "https://issuer.example", subject: "s" };
      expect((await add({ clientId: PUBLIC_APP_ID, ...credential })).status).toBe(400);
      expect((await add({ clientId: "no-such-app", ...credential })).status).toBe(404);
      expect(
        (await add({ clientId: DAEMON_APP_ID, ...credential, name: "aks-workload-identity" })).status,
      ).toBe(400);
      expect((await add({ clientId: DAEMON_APP_ID, ...credential, audiences: ["a", "b"] })).status).toBe(400);
      expect(
        (await add({ clientId: DAEMON_APP_ID, issuer: "http://plain.example", subject: "s" })).status,
      ).toBe(400);
      const form = await fetch(`${emulator.url}/_emulator/workload-identity/federated-credentials`, {
        method: "POST",
        body: new URLSearchParams({ clientId: DAEMON_APP_ID, ...credential }),
      });
      expect(form.status).toBe(415);
      await form.body?.cancel();
    });
  });

  describe("an issuer elsewhere", () => {
    async function keysOf(clientId: string, name: string): Promise<string> {
      const listed = await control(
        emulator,
        "GET",
        `workload-identity/federated-credentials?client_id=${clientId}`,
      );
      const found = (listed.body as Array<{ name: string; issuerKeys: string }>).find((c) => c.name === name);
      return found?.issuerKeys ?? "missing";
    }

    async function settled(clientId: string, name: string): Promise<string> {
      for (let i = 0; i < 100; i++) {
        const state = await keysOf(clientId, name);
        if (state !== "pending") return state;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return "pending";
    }

    it("its keys are fetched through its discovery document, then its tokens are exchanged", async () => {
      const added = await control(emulator, "POST", "workload-identity/federated-credentials", {
        clientId: DAEMON_APP_ID,
        name: "remote-cluster",
        issuer: issuerOf(cluster, "prod"),
        subject: "system:serviceaccount:payments:worker",
      });
      expect(added.status).toBe(201);
      expect(await settled(DAEMON_APP_ID, "remote-cluster")).toBe("ready");
      const token = await mint(cluster, { cluster: "prod", namespace: "payments", account: "worker" });
      const answer = await exchange(emulator, token);
      expect(answer.status).toBe(200);
      // One discovery document and one JWKS, at the other emulator.
      expect(cluster.requests("workload-identity").map((r) => r.path.split("/prod/")[1])).toEqual([
        ".well-known/openid-configuration",
        "openid/v1/jwks",
        "api/v1/namespaces/payments/serviceaccounts/worker/token",
      ]);
    });

    it("a discovery document naming another issuer is not trusted (OIDC Discovery 4.3)", async () => {
      const issuer = issuerOf(cluster, "impostor");
      cluster.injectFault({
        endpoint: "workload-identity",
        path: "/issuers/impostor/.well-known/",
        status: 200,
        body: { issuer: "https://issuer.example", jwks_uri: `${issuer}/openid/v1/jwks` },
      });
      await control(emulator, "POST", "workload-identity/federated-credentials", {
        clientId: DAEMON_APP_ID,
        name: "impostor-cluster",
        issuer,
        subject: "system:serviceaccount:default:sa",
      });
      expect(await settled(DAEMON_APP_ID, "impostor-cluster")).toBe("failed");
      const listed = await control(
        emulator,
        "GET",
        `workload-identity/federated-credentials?client_id=${DAEMON_APP_ID}`,
      );
      expect(
        (listed.body as Array<{ name: string; issuerKeysError?: string }>).find(
          (c) => c.name === "impostor-cluster",
        ),
      ).toMatchObject({
        issuerKeysError: `the discovery document names issuer https://issuer.example, not ${issuer}`,
      });
      const token = await mint(cluster, { cluster: "impostor", account: "sa" });
      expectEntraError(await exchange(emulator, token), 400, "invalid_request", 50166);
    });

    it("an issuer whose discovery fails: 400 invalid_request AADSTS50166", async () => {
      cluster.injectFault({
        endpoint: "workload-identity",
        path: "/issuers/down/",
        status: 503,
        times: "always",
      });
      await control(emulator, "POST", "workload-identity/federated-credentials", {
        clientId: DAEMON_APP_ID,
        name: "down-cluster",
        issuer: issuerOf(cluster, "down"),
        subject: "system:serviceaccount:default:sa",
      });
      expect(await settled(DAEMON_APP_ID, "down-cluster")).toBe("failed");
      cluster.clearFaults();
      const token = await mint(cluster, { cluster: "down", account: "sa" });
      expectEntraError(await exchange(emulator, token), 400, "invalid_request", 50166);
    });
  });

  // Last: it starts a third emulator (see the note at beforeAll).
  it("a directory's app may authenticate with federated credentials alone; a malformed one is refused", async () => {
    const seeded = seedDirectory({
      web: { privateKey: "", certificate: "", thumbprint: "" },
      daemon: { privateKey: "", certificate: "", thumbprint: "" },
    });
    const workload = {
      clientId: "77777777-7777-4777-8777-777777777777",
      kind: "daemon" as const,
      tenant: CONTOSO_TENANT_ID,
      federatedCredentials: [
        { issuer: "/_emulator/workload-identity/issuers/aks", subject: "system:serviceaccount:x:y" },
      ],
    };
    const own = await startTestEmulator({
      directory: { ...seeded, apps: [workload] },
    });
    try {
      const token = await mint(own, { namespace: "x", account: "y" });
      expect((await exchange(own, token, workload.clientId)).status).toBe(200);
    } finally {
      await own.stop();
    }
    await expect(
      startTestEmulator({
        directory: {
          ...seeded,
          apps: [{ ...workload, federatedCredentials: [{ issuer: "ftp://x", subject: "" }] }],
        },
      }),
    ).rejects.toThrow(/federatedCredentials\[0\] needs non-empty string "issuer" and "subject"/);
  });
});
