/**
 * Real peers prove the emulator's managed-identity endpoints: @azure/msal-node's
 * ManagedIdentityApplication and @azure/identity's ManagedIdentityCredential get tokens from every
 * source they support, pointed at the emulator only through the environment variables a real host
 * sets. Each run is a child process (test/interop/node/managed-identity-peer.mjs) with exactly that
 * environment, so nothing leaks into or out of this process's `process.env`.
 *
 * Service Fabric: neither peer checks IDENTITY_SERVER_THUMBPRINT; both verify the server certificate
 * against Node's trust store, so they are given the cluster's CA through NODE_EXTRA_CA_CERTS, as a
 * real node's trust store holds the cluster certificate's issuer.
 *
 * Azure Arc: the peers read the key file only from the agent's fixed directory
 * (/var/opt/azcmagent/tokens on Linux), so the emulator writes its keys there when this process may
 * create it (CI runs as root); otherwise the Arc cases are skipped, saying why.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  EmulatorWithManagedIdentity,
  ManagedIdentityRecord,
  ManagedIdentitySource,
} from "../../emulator/index.js";
import { startTestEmulator } from "../support/emulator.js";

const run = promisify(execFile);
const PEER_SCRIPT = join(import.meta.dirname, "node", "managed-identity-peer.mjs");
const ARM = "https://management.azure.com/";
const ARC_KEY_DIRECTORY = "/var/opt/azcmagent/tokens";

type Id = { clientId: string } | { objectId: string } | { resourceId: string };
interface Ask {
  label: string;
  resource: string;
  id?: Id;
  claims?: string;
  capabilities?: string[];
}
interface PeerResult {
  label: string;
  accessToken?: string;
  expiresOn?: number;
  fromCache?: boolean;
  error?: { name?: string; message: string; errorCode?: string };
}

/** Creates the Arc agent's key directory if this process may; says why not otherwise. */
function prepareArcKeyDirectory(): { ok: true; created: string[] } | { ok: false; reason: string } {
  if (process.platform !== "linux")
    return {
      ok: false,
      reason: `the peers' Arc key directory is fixed per platform; this is ${process.platform}`,
    };
  const created = ["/var/opt/azcmagent", ARC_KEY_DIRECTORY].filter((d) => !existsSync(d));
  try {
    mkdirSync(ARC_KEY_DIRECTORY, { recursive: true, mode: 0o700 });
    accessSync(ARC_KEY_DIRECTORY, constants.W_OK);
    return { ok: true, created };
  } catch (err) {
    return { ok: false, reason: `cannot write ${ARC_KEY_DIRECTORY} (${(err as Error).message})` };
  }
}

const arc = prepareArcKeyDirectory();
const arcTitle = arc.ok ? "" : ` (skipped: ${arc.reason})`;

describe("real managed-identity peers against the emulator", () => {
  let emulator: EmulatorWithManagedIdentity;
  const mi = () => emulator.managedIdentity;
  const uami = (): ManagedIdentityRecord => mi().identities.userAssigned[0] as ManagedIdentityRecord;

  beforeAll(async () => {
    const started = await startTestEmulator({
      managedIdentity: arc.ok ? { arcKeyDirectory: ARC_KEY_DIRECTORY } : true,
    });
    if (!started.managedIdentity)
      throw new Error("startEmulator did not start the managed-identity listeners");
    emulator = { ...started, managedIdentity: started.managedIdentity };
  });
  afterAll(async () => {
    await emulator?.stop();
    if (arc.ok)
      for (const dir of [...arc.created].reverse()) if (readdirSync(dir).length === 0) rmdirSync(dir);
  });

  /** Runs a peer with the environment of an app on `source`, plus `extra`, and nothing else. */
  async function runPeer(
    peer: "msal-node" | "azure-identity",
    source: ManagedIdentitySource,
    asks: Ask[],
    extra: Record<string, string> = {},
  ): Promise<Map<string, PeerResult>> {
    emulator.clearRequests();
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...mi().environment(source),
      ...extra,
    };
    const { stdout } = await run(process.execPath, [PEER_SCRIPT, JSON.stringify({ peer, asks })], {
      env,
      timeout: 60_000,
    });
    const { results } = JSON.parse(stdout) as { results: PeerResult[] };
    return new Map(results.map((r) => [r.label, r]));
  }

  /** The token a peer got, checked to be one the emulator's protected resource accepts. */
  async function accepted(result: PeerResult | undefined): Promise<Record<string, unknown>> {
    expect(result?.error, `${result?.label}: no error`).toBeUndefined();
    const token = result?.accessToken as string;
    const res = await fetch(`${emulator.url}/_emulator/resource`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    return decodeJwt(token);
  }

  const trustCluster = () => ({ NODE_EXTRA_CA_CERTS: mi().serviceFabric.caFile });

  const SYSTEM_SOURCES = [
    ["imds", "imds"],
    ["appService", "app-service"],
    ["serviceFabric", "service-fabric"],
    ["machineLearning", "machine-learning"],
  ] as const;

  describe("@azure/msal-node ManagedIdentityApplication", () => {
    it.each(SYSTEM_SOURCES)(
      "gets a system-assigned token from %s, then serves it from its cache",
      async (source, endpoint) => {
        const results = await runPeer(
          "msal-node",
          source,
          [
            { label: "first", resource: ARM },
            { label: "second", resource: ARM },
          ],
          source === "serviceFabric" ? trustCluster() : {},
        );
        const host = mi().identities.systemAssigned[source];
        expect(await accepted(results.get("first"))).toMatchObject({
          oid: host.objectId,
          idtyp: "app",
          aud: ARM,
        });
        expect(results.get("first")?.fromCache).toBe(false);
        expect(results.get("second")?.fromCache).toBe(true);
        expect(results.get("second")?.accessToken).toBe(results.get("first")?.accessToken);
        expect(emulator.requests(endpoint)).toHaveLength(1);
      },
    );

    it.each([
      ["imds", "clientId"],
      ["imds", "objectId"],
      ["imds", "resourceId"],
      ["appService", "clientId"],
      ["appService", "objectId"],
      ["appService", "resourceId"],
      ["machineLearning", "clientId"],
    ] as const)("gets a user-assigned token from %s by %s", async (source, kind) => {
      const id = { [kind]: uami()[kind] } as Id;
      const results = await runPeer("msal-node", source, [{ label: "uami", resource: ARM, id }]);
      expect((await accepted(results.get("uami"))).oid).toBe(uami().objectId);
    });

    it("gets a Cloud Shell token for the signed-in user", async () => {
      const results = await runPeer("msal-node", "cloudShell", [{ label: "user", resource: ARM }]);
      const user = emulator.directory.users.find((u) => u.kind === "managed");
      expect(await accepted(results.get("user"))).toMatchObject({ idtyp: "user", upn: user?.username });
      expect(emulator.requests("cloud-shell").map((r) => r.method)).toEqual(["POST"]);
    });

    it.skipIf(!arc.ok)(
      `answers Azure Arc's challenge with the key file, and sees user-assigned ids are not honoured${arcTitle}`,
      async () => {
        const results = await runPeer("msal-node", "azureArc", [
          { label: "system", resource: ARM },
          { label: "uami", resource: ARM, id: { clientId: uami().clientId } },
        ]);
        expect((await accepted(results.get("system"))).oid).toBe(
          mi().identities.systemAssigned.azureArc.objectId,
        );
        expect(results.get("uami")?.error?.errorCode).toBe("user_assigned_managed_identity_not_confirmed");
        expect(emulator.requests("azure-arc").map((r) => r.status)).toEqual([401, 200, 401, 200]);
        expect(readdirSync(ARC_KEY_DIRECTORY), "used keys' files are removed").toEqual([]);
      },
    );

    it("sends Service Fabric the revoked token's hash with a claims challenge and gets a new token", async () => {
      const results = await runPeer(
        "msal-node",
        "serviceFabric",
        [
          { label: "first", resource: ARM },
          {
            label: "challenged",
            resource: ARM,
            claims: '{"access_token":{"nbf":{"essential":true,"value":"1"}}}',
          },
        ],
        trustCluster(),
      );
      await accepted(results.get("challenged"));
      expect(results.get("challenged")?.accessToken).not.toBe(results.get("first")?.accessToken);
      const [, challenged] = emulator.requests("service-fabric");
      expect(challenged?.query.token_sha256_to_refresh).toMatch(/^[0-9a-f]{64}$/);
    });

    it("sends App Service its client capabilities, which land in the token", async () => {
      const results = await runPeer("msal-node", "appService", [
        { label: "cp1", resource: ARM, capabilities: ["cp1"] },
      ]);
      expect((await accepted(results.get("cp1"))).xms_cc).toEqual(["cp1"]);
    });

    it("refuses Service Fabric's certificate unless it trusts the cluster's CA", async () => {
      const results = await runPeer("msal-node", "serviceFabric", [{ label: "untrusted", resource: ARM }]);
      expect(results.get("untrusted")?.error?.errorCode).toBe("network_error");
      expect(emulator.requests("service-fabric")).toHaveLength(0);
    });
  });

  describe("@azure/identity ManagedIdentityCredential", () => {
    it.each(SYSTEM_SOURCES)("gets a system-assigned token from %s", async (source, endpoint) => {
      const results = await runPeer(
        "azure-identity",
        source,
        [{ label: "system", resource: ARM }],
        source === "serviceFabric" ? trustCluster() : {},
      );
      const claims = await accepted(results.get("system"));
      expect(claims).toMatchObject({ oid: mi().identities.systemAssigned[source].objectId, idtyp: "app" });
      expect(emulator.requests(endpoint).at(-1)?.status).toBe(200);
    });

    it.each([
      ["imds", "clientId"],
      ["imds", "objectId"],
      ["imds", "resourceId"],
      ["appService", "clientId"],
      ["appService", "objectId"],
      ["appService", "resourceId"],
      ["machineLearning", "clientId"],
    ] as const)("gets a user-assigned token from %s by %s", async (source, kind) => {
      const id = { [kind]: uami()[kind] } as Id;
      const results = await runPeer("azure-identity", source, [{ label: "uami", resource: ARM, id }]);
      expect((await accepted(results.get("uami"))).oid).toBe(uami().objectId);
    });

    it("gets a Cloud Shell token for the signed-in user", async () => {
      const results = await runPeer("azure-identity", "cloudShell", [{ label: "user", resource: ARM }]);
      expect((await accepted(results.get("user"))).idtyp).toBe("user");
    });

    it.skipIf(!arc.ok)(`answers Azure Arc's challenge with the key file${arcTitle}`, async () => {
      const results = await runPeer("azure-identity", "azureArc", [{ label: "system", resource: ARM }]);
      expect((await accepted(results.get("system"))).oid).toBe(
        mi().identities.systemAssigned.azureArc.objectId,
      );
      expect(emulator.requests("azure-arc").map((r) => r.status)).toEqual([401, 200]);
    });
  });
});
