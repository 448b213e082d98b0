/**
 * The emulator's managed-identity endpoints over raw HTTP: each source's success shape, its error
 * shapes, user-assigned identities by each id kind it supports, Azure Arc's key-file challenge,
 * Service Fabric's own certificate and thumbprint, source-side token caching and revocation, and
 * faults for retry tests.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { TLSSocket } from "node:tls";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type EmulatorWithManagedIdentity,
  type ManagedIdentityRecord,
  runEmulatorCommand,
} from "../../emulator/index.js";
import { startTestEmulator } from "../support/emulator.js";

const ARM = "https://management.azure.com/";

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

function withQuery(url: string, query: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.toString();
}

/** A GET over HTTPS trusting only `ca`; also returns the SHA-1 fingerprint of the served certificate. */
function httpsGet(
  url: string,
  headers: Record<string, string>,
  ca?: string,
): Promise<Answer & { fingerprint: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { headers, agent: false, ...(ca ? { ca } : {}) }, (res) => {
      // Read the certificate now: once the response ends, the socket is gone.
      const cert = (res.socket as TLSSocket).getPeerCertificate();
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        resolve({
          status: res.statusCode ?? 0,
          headers: h,
          body: text ? JSON.parse(text) : {},
          fingerprint: cert.fingerprint.replace(/:/g, ""),
          issuer: String(cert.issuer.CN),
        });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("emulator managed-identity endpoints", () => {
  let emulator: EmulatorWithManagedIdentity;
  let arcDir: string;
  const mi = () => emulator.managedIdentity;
  const uami = (): ManagedIdentityRecord => mi().identities.userAssigned[1] as ManagedIdentityRecord;

  beforeAll(async () => {
    arcDir = mkdtempSync(join(tmpdir(), "msal-ts-arc-test-"));
    const started = await startTestEmulator({ managedIdentity: { arcKeyDirectory: join(arcDir, "tokens") } });
    if (!started.managedIdentity)
      throw new Error("startEmulator did not start the managed-identity listeners");
    emulator = { ...started, managedIdentity: started.managedIdentity };
  });
  afterAll(async () => {
    await emulator?.stop();
    rmSync(arcDir, { recursive: true, force: true });
  });
  beforeEach(() => emulator.reset());

  /** Whether the emulator's protected resource accepts the token. */
  async function resourceAccepts(token: string): Promise<number> {
    const res = await fetch(`${emulator.url}/_emulator/resource`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return res.status;
  }

  it("gives each source the environment variables its hosts set", () => {
    const keys = Object.fromEntries(
      (["appService", "serviceFabric", "azureArc", "cloudShell", "machineLearning", "imds"] as const).map(
        (s) => [s, Object.keys(mi().environment(s)).sort()],
      ),
    );
    expect(keys).toEqual({
      appService: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"],
      serviceFabric: [
        "IDENTITY_API_VERSION",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "IDENTITY_SERVER_THUMBPRINT",
      ],
      azureArc: ["IDENTITY_ENDPOINT", "IMDS_ENDPOINT"],
      cloudShell: ["AZUREPS_HOST_ENVIRONMENT", "MSI_ENDPOINT"],
      machineLearning: ["DEFAULT_IDENTITY_CLIENT_ID", "MSI_ENDPOINT", "MSI_SECRET"],
      imds: ["AZURE_POD_IDENTITY_AUTHORITY_HOST"],
    });
    expect(
      `${mi().environment("imds").AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token`,
    ).toBe(mi().endpoints.imds);
    expect(mi().environment("serviceFabric").IDENTITY_ENDPOINT).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
  });

  describe("IMDS", () => {
    const imds = (query: Record<string, string>, headers: Record<string, string> = { Metadata: "true" }) =>
      call(withQuery(mi().endpoints.imds, { "api-version": "2018-02-01", resource: ARM, ...query }), {
        headers,
      });

    it("answers with string fields and a token carrying managed-identity claims", async () => {
      const { status, body } = await imds({});
      const host = mi().identities.systemAssigned.imds;
      expect(status).toBe(200);
      expect(Object.keys(body).sort()).toEqual(
        [
          "access_token",
          "client_id",
          "expires_in",
          "expires_on",
          "ext_expires_in",
          "not_before",
          "resource",
          "token_type",
        ].sort(),
      );
      expect(body).toMatchObject({
        client_id: host.clientId,
        expires_in: "86400",
        resource: ARM,
        token_type: "Bearer",
      });
      expect(Number(body.expires_on) - Number(body.not_before)).toBe(86400);
      const claims = decodeJwt(body.access_token as string);
      expect(claims).toMatchObject({
        aud: ARM,
        appid: host.clientId,
        oid: host.objectId,
        sub: host.objectId,
        idtyp: "app",
        xms_mirid: host.resourceId,
        tid: emulator.directory.tenants[0]?.id,
        ver: "1.0",
      });
      expect(await resourceAccepts(body.access_token as string)).toBe(200);
    });

    it("issues Azure Storage tokens with Entra's public v1 issuer, as the emulator's other Storage tokens", async () => {
      const { body } = await imds({ resource: "https://storage.azure.com/" });
      const tid = emulator.directory.tenants[0]?.id;
      expect(decodeJwt(body.access_token as string)).toMatchObject({
        aud: "https://storage.azure.com/",
        iss: `https://sts.windows.net/${tid}/`,
        idp: `https://sts.windows.net/${tid}/`,
      });
    });

    it.each([
      ["client_id", "clientId"],
      ["object_id", "objectId"],
      ["msi_res_id", "resourceId"],
    ] as const)("serves a user-assigned identity named by %s", async (param, field) => {
      const { status, body } = await imds({ [param]: uami()[field] });
      expect(status).toBe(200);
      expect(body.client_id).toBe(uami().clientId);
      expect(decodeJwt(body.access_token as string)).toMatchObject({
        oid: uami().objectId,
        xms_mirid: uami().resourceId,
        xms_az_rid: mi().identities.systemAssigned.imds.resourceId,
      });
    });

    it.each([
      ["no Metadata header", {}, {}, 400, "bad_request_102", "Required metadata header not specified"],
      [
        "an old api-version",
        { "api-version": "2017-09-01" },
        undefined,
        400,
        "invalid_request",
        /api-version/,
      ],
      [
        "no resource",
        { resource: "" },
        undefined,
        400,
        "invalid_request",
        "Required audience parameter not specified",
      ],
      [
        "an unknown resource",
        { resource: "https://nothing.example" },
        undefined,
        400,
        "invalid_resource",
        /^AADSTS500011/,
      ],
      [
        "an unknown identity",
        { client_id: "00000000-0000-0000-0000-000000000000" },
        undefined,
        400,
        "invalid_request",
        "Identity not found",
      ],
      ["two identities", { client_id: "a", object_id: "b" }, undefined, 400, "invalid_request", /only one/],
    ] as const)("refuses %s", async (_, query, headers, status, error, description) => {
      const answer = await imds({ ...query }, headers);
      expect(answer.status).toBe(status);
      expect(answer.body.error).toBe(error);
      expect(answer.body.error_description).toMatch(description);
    });

    it("hands out the token it issued again until near expiry, unless the source cache is off", async () => {
      const first = await imds({});
      const second = await imds({});
      expect(second.body.access_token).toBe(first.body.access_token);
      mi().configure({ sourceCache: false, lifetimes: { imds: 7200 } });
      const third = await imds({});
      const fourth = await imds({});
      expect(third.body.access_token).not.toBe(first.body.access_token);
      expect(fourth.body.access_token).not.toBe(third.body.access_token);
      expect(third.body.expires_in).toBe("7200");
    });

    it("answers injected faults a given number of times, then serves", async () => {
      emulator.injectFault({ endpoint: "imds", status: 410, times: 2, headers: { "retry-after": "1" } });
      const statuses = [(await imds({})).status, (await imds({})).status, (await imds({})).status];
      expect(statuses).toEqual([410, 410, 200]);
      expect(emulator.requests("imds").map((r) => r.status)).toEqual([410, 410, 200]);
    });

    it("aims a fault at one user-assigned identity by its client_id", async () => {
      emulator.injectFault({ endpoint: "imds", clientId: uami().clientId, status: 429, times: "always" });
      expect((await imds({ client_id: uami().clientId })).status).toBe(429);
      expect((await imds({})).status).toBe(200);
    });
  });

  describe("App Service", () => {
    const appService = (query: Record<string, string>, headers?: Record<string, string>) =>
      call(withQuery(mi().endpoints.appService, { "api-version": "2019-08-01", resource: ARM, ...query }), {
        headers: headers ?? { "X-IDENTITY-HEADER": mi().environment("appService").IDENTITY_HEADER as string },
      });

    it("answers with expires_on in epoch seconds as a string", async () => {
      const { status, body } = await appService({});
      expect(status).toBe(200);
      expect(Object.keys(body).sort()).toEqual([
        "access_token",
        "client_id",
        "expires_on",
        "resource",
        "token_type",
      ]);
      expect(body.expires_on).toMatch(/^\d+$/);
      expect(Number(body.expires_on) - Date.now() / 1000).toBeGreaterThan(86000);
      expect(decodeJwt(body.access_token as string).xms_mirid).toBe(
        mi().identities.systemAssigned.appService.resourceId,
      );
      expect(await resourceAccepts(body.access_token as string)).toBe(200);
    });

    it.each([
      ["client_id", "clientId"],
      ["principal_id", "objectId"],
      ["object_id", "objectId"],
      ["mi_res_id", "resourceId"],
    ] as const)("serves a user-assigned identity named by %s", async (param, field) => {
      const { body } = await appService({ [param]: uami()[field] });
      expect(decodeJwt(body.access_token as string).oid).toBe(uami().objectId);
    });

    it.each([
      ["no X-IDENTITY-HEADER", {}, {}, 400],
      ["a wrong X-IDENTITY-HEADER", {}, { "X-IDENTITY-HEADER": "wrong" }, 401],
      ["another api-version", { "api-version": "2017-09-01" }, undefined, 400],
      ["no resource", { resource: "" }, undefined, 400],
      ["an unknown resource", { resource: "https://nothing.example" }, undefined, 400],
      ["an unknown identity", { mi_res_id: "/subscriptions/x/nothing" }, undefined, 400],
    ] as const)("refuses %s with statusCode and message", async (_, query, headers, status) => {
      const answer = await appService({ ...query }, headers);
      expect(answer.status).toBe(status);
      expect(answer.body).toEqual({
        statusCode: status,
        message: expect.any(String),
        correlationId: expect.any(String),
      });
    });

    it("issues a new token when token_sha256_to_refresh names the kept one, and puts xms_cc in it", async () => {
      const first = await appService({});
      const token = first.body.access_token as string;
      const other = await appService({ token_sha256_to_refresh: "ab".repeat(32) });
      expect(other.body.access_token).toBe(token);
      const hash = createHash("sha256").update(token).digest("hex");
      const fresh = await appService({ token_sha256_to_refresh: hash, xms_cc: "cp1" });
      expect(fresh.body.access_token).not.toBe(token);
      expect(decodeJwt(fresh.body.access_token as string).xms_cc).toEqual(["cp1"]);
      const refreshed = await appService({ token_sha256_to_refresh: hash });
      expect(refreshed.body.access_token).not.toBe(token);
    });
  });

  describe("Service Fabric", () => {
    const sf = (query: Record<string, string>, headers?: Record<string, string>) =>
      httpsGet(
        withQuery(mi().endpoints.serviceFabric, {
          "api-version": "2019-07-01-preview",
          resource: ARM,
          ...query,
        }),
        headers ?? { secret: mi().environment("serviceFabric").IDENTITY_HEADER as string },
        mi().serviceFabric.caPem,
      );

    it("serves its own certificate, whose SHA-1 thumbprint is IDENTITY_SERVER_THUMBPRINT", async () => {
      const answer = await sf({});
      expect(answer.status).toBe(200);
      expect(answer.fingerprint).toBe(mi().environment("serviceFabric").IDENTITY_SERVER_THUMBPRINT);
      expect(answer.fingerprint).toBe(mi().serviceFabric.thumbprint);
      expect(answer.issuer).toBe("msal-ts emulator Service Fabric cluster CA");
      await expect(
        httpsGet(mi().endpoints.serviceFabric, { secret: "x" }),
        "a client trusting only the emulator's CA",
      ).rejects.toThrow(/certificate/);
    });

    it("answers with expires_on as a number and the cluster-assigned identity", async () => {
      const { body } = await sf({ client_id: uami().clientId });
      expect(Object.keys(body).sort()).toEqual(["access_token", "expires_on", "resource", "token_type"]);
      expect(typeof body.expires_on).toBe("number");
      const claims = decodeJwt(body.access_token as string);
      expect(claims.oid).toBe(mi().identities.systemAssigned.serviceFabric.objectId);
      expect(await resourceAccepts(body.access_token as string)).toBe(200);
    });

    it.each([
      ["no secret", {}, {}, 400, "SecretHeaderNotFound"],
      ["a wrong secret", {}, { secret: "wrong" }, 401, "ManagedIdentityNotFound"],
      ["another api-version", { "api-version": "2019-08-01" }, undefined, 400, "InvalidApiVersion"],
      ["no resource", { resource: "" }, undefined, 400, "ArgumentNullOrEmpty"],
      ["an unknown resource", { resource: "https://nothing.example" }, undefined, 400, "InvalidResource"],
    ] as const)("refuses %s with error.code", async (_, query, headers, status, code) => {
      const answer = await sf({ ...query }, headers);
      expect(answer.status).toBe(status);
      expect(answer.body).toEqual({
        error: { correlationId: expect.any(String), code, message: expect.any(String) },
      });
    });

    it("issues a new token when token_sha256_to_refresh names the kept one", async () => {
      const token = (await sf({})).body.access_token as string;
      expect((await sf({})).body.access_token).toBe(token);
      const hash = createHash("sha256").update(token).digest("hex");
      expect((await sf({ token_sha256_to_refresh: hash })).body.access_token).not.toBe(token);
    });

    it("answers injected faults", async () => {
      emulator.injectFault({ endpoint: "service-fabric", status: 500, body: { error: { code: "x" } } });
      expect((await sf({})).status).toBe(500);
      expect((await sf({})).status).toBe(200);
    });
  });

  describe("Azure Arc", () => {
    const arcUrl = (query: Record<string, string> = {}) =>
      withQuery(mi().endpoints.azureArc, { "api-version": "2020-06-01", resource: ARM, ...query });

    async function challengeFile(query: Record<string, string> = {}): Promise<string> {
      const answer = await call(arcUrl(query), { headers: { Metadata: "true" } });
      expect(answer.status).toBe(401);
      const realm = /^Basic realm=(.+)$/.exec(answer.headers.get("www-authenticate") ?? "")?.[1];
      expect(realm).toBeDefined();
      return realm as string;
    }

    it("challenges with a key file in the chosen directory, then serves the key's holder once", async () => {
      const file = await challengeFile();
      expect(file.startsWith(join(arcDir, "tokens"))).toBe(true);
      expect(file).toMatch(/\.key$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const key = readFileSync(file, "utf8");
      expect(key).toHaveLength(64);
      const answer = await call(arcUrl({ client_id: uami().clientId }), {
        headers: { Metadata: "true", Authorization: `Basic ${key}` },
      });
      expect(answer.status).toBe(200);
      const host = mi().identities.systemAssigned.azureArc;
      expect(answer.body).toMatchObject({ client_id: host.clientId, resource: ARM, token_type: "Bearer" });
      expect(answer.body.expires_in).toBe("86400");
      expect(decodeJwt(answer.body.access_token as string).xms_mirid).toBe(host.resourceId);
      expect(await resourceAccepts(answer.body.access_token as string)).toBe(200);
      expect(() => statSync(file), "the used key's file is removed").toThrow();
      const again = await call(arcUrl(), { headers: { Metadata: "true", Authorization: `Basic ${key}` } });
      expect(again.status).toBe(401);
      expect(again.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    });

    it("writes keys of the configured length", async () => {
      mi().configure({ arcKeyLength: 5000 });
      expect(statSync(await challengeFile()).size).toBe(5000);
    });

    it.each([
      ["no Metadata header", {}, {}, 400, "bad_request_102"],
      ["another api-version", { "api-version": "2018-02-01" }, { Metadata: "true" }, 400, "invalid_request"],
    ] as const)("refuses %s before challenging", async (_, query, headers, status, error) => {
      const answer = await call(arcUrl(query), { headers });
      expect(answer.status).toBe(status);
      expect(answer.body.error).toBe(error);
      expect(answer.headers.get("www-authenticate")).toBeNull();
    });

    it("refuses an unknown resource after the challenge", async () => {
      const key = readFileSync(await challengeFile(), "utf8");
      const answer = await call(arcUrl({ resource: "https://nothing.example" }), {
        headers: { Metadata: "true", Authorization: `Basic ${key}` },
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_resource");
    });
  });

  describe("Cloud Shell", () => {
    const cloudShell = (
      form: Record<string, string>,
      headers: Record<string, string> = { Metadata: "true" },
    ) => call(mi().endpoints.cloudShell, { method: "POST", headers, body: new URLSearchParams(form) });

    it("answers a form POST with the signed-in user's token", async () => {
      const { status, body } = await cloudShell({ resource: ARM });
      expect(status).toBe(200);
      expect(body).toMatchObject({ expires_in: "3600", resource: ARM, token_type: "Bearer" });
      expect(body.expires_on).toMatch(/^\d+$/);
      const user = emulator.directory.users.find((u) => u.kind === "managed");
      expect(decodeJwt(body.access_token as string)).toMatchObject({ idtyp: "user", upn: user?.username });
      expect(await resourceAccepts(body.access_token as string)).toBe(200);
    });

    it.each([
      ["no Metadata header", { resource: ARM }, {}, 400],
      ["no resource", {}, undefined, 400],
      ["an unknown resource", { resource: "https://nothing.example" }, undefined, 400],
    ] as const)("refuses %s with error.code and error.message", async (_, form, headers, status) => {
      const answer = await cloudShell({ ...form }, headers);
      expect(answer.status).toBe(status);
      expect(answer.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    });

    it("refuses GET", async () => {
      expect((await call(mi().endpoints.cloudShell, { headers: { Metadata: "true" } })).status).toBe(405);
    });
  });

  describe("Azure Machine Learning", () => {
    const ml = (query: Record<string, string>, headers?: Record<string, string>) =>
      call(
        withQuery(mi().endpoints.machineLearning, { "api-version": "2017-09-01", resource: ARM, ...query }),
        {
          headers: headers ?? { secret: mi().environment("machineLearning").MSI_SECRET as string },
        },
      );

    it("serves the compute's identity without clientid or with DEFAULT_IDENTITY_CLIENT_ID", async () => {
      const host = mi().identities.systemAssigned.machineLearning;
      const queries: Array<Record<string, string>> = [
        {},
        { clientid: mi().environment("machineLearning").DEFAULT_IDENTITY_CLIENT_ID as string },
      ];
      for (const query of queries) {
        const { status, body } = await ml(query);
        expect(status).toBe(200);
        expect(body).toMatchObject({ client_id: host.clientId, resource: ARM, token_type: "Bearer" });
        expect(body.expires_on).toMatch(/^\d+$/);
        expect(decodeJwt(body.access_token as string).oid).toBe(host.objectId);
      }
    });

    it("serves a user-assigned identity named by clientid", async () => {
      const { body } = await ml({ clientid: uami().clientId });
      expect(decodeJwt(body.access_token as string).oid).toBe(uami().objectId);
    });

    it.each([
      ["no secret", {}, {}, 401, "unauthorized_client"],
      ["a wrong secret", {}, { secret: "wrong" }, 401, "unauthorized_client"],
      ["another api-version", { "api-version": "2019-08-01" }, undefined, 400, "invalid_request"],
      ["no resource", { resource: "" }, undefined, 400, "invalid_request"],
      ["an object id", { object_id: "x" }, undefined, 400, "invalid_request"],
      [
        "an unknown clientid",
        { clientid: "00000000-0000-0000-0000-000000000000" },
        undefined,
        400,
        "invalid_request",
      ],
      ["an unknown resource", { resource: "https://nothing.example" }, undefined, 400, "invalid_resource"],
    ] as const)("refuses %s with error and message", async (_, query, headers, status, error) => {
      const answer = await ml({ ...query }, headers);
      expect(answer.status).toBe(status);
      expect(answer.body).toEqual({ error, message: expect.any(String) });
    });
  });

  it("answers 404 on other paths and logs managed-identity requests by source", async () => {
    emulator.clearRequests();
    expect((await call(`${mi().url}/nothing`)).status).toBe(404);
    await call(mi().endpoints.machineLearning);
    expect(emulator.requests().map((r) => r.endpoint)).toEqual(["unknown", "machine-learning"]);
    expect(emulator.requests("machine-learning")[0]?.headers.secret).toBeUndefined();
  });
});

describe("msal-ts emulator --managed-identity", () => {
  it("puts each asked source's environment in the ready line and as export lines on stderr", async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const stop = new AbortController();
    let stdout = "";
    let stderr = "";
    out.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    err.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const exit = runEmulatorCommand(
      ["--managed-identity", "imds", "--managed-identity", "serviceFabric"],
      out,
      err,
      stop.signal,
    );
    await expect.poll(() => stdout.includes("\n"), { timeout: 10_000 }).toBe(true);
    const ready = JSON.parse(stdout.split("\n")[0] as string);
    const sf = ready.managedIdentity.environments.serviceFabric;
    expect(Object.keys(ready.managedIdentity.environments)).toEqual(["imds", "serviceFabric"]);
    expect(sf.IDENTITY_SERVER_THUMBPRINT).toBe(ready.managedIdentity.serviceFabric.thumbprint);
    const imdsHost = ready.managedIdentity.environments.imds.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    expect(stderr).toContain(`export AZURE_POD_IDENTITY_AUTHORITY_HOST='${imdsHost}'`);
    expect(stderr).toContain(`export IDENTITY_HEADER='${sf.IDENTITY_HEADER}'`);
    const token = await call(
      withQuery(`${imdsHost}/metadata/identity/oauth2/token`, { "api-version": "2018-02-01", resource: ARM }),
      { headers: { Metadata: "true" } },
    );
    expect(token.status).toBe(200);
    stop.abort();
    expect(await exit).toBe(0);
  });

  it("refuses an unknown source", async () => {
    await expect(runEmulatorCommand(["--managed-identity", "lambda"], new PassThrough())).rejects.toThrow(
      /--managed-identity must be one of appService, .* or all, got "lambda"/,
    );
  });
});
