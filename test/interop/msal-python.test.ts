/**
 * Real MSAL Python against the emulator: it must obtain tokens and accept the emulator's id_tokens
 * in every flow, and see Entra-shaped errors in the negative cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import {
  MSAL_PYTHON_MISSING,
  msalPythonVersion,
  type PythonEvent,
  runMsalPython,
} from "../support/python.js";

if (!msalPythonVersion) console.warn(MSAL_PYTHON_MISSING);

type Result = Record<string, unknown> & { id_token_claims?: Record<string, unknown> };

function resultOf(events: PythonEvent[]): Record<string, Result> {
  const last = events.find((e) => e.event === "result");
  if (!last) throw new Error(`no result event in ${JSON.stringify(events)}`);
  return last as unknown as Record<string, Result>;
}

describe.skipIf(!msalPythonVersion)(
  `MSAL Python ${msalPythonVersion ?? "(missing)"} against the emulator`,
  () => {
    let emulator: Emulator;
    beforeAll(async () => {
      emulator = await startTestEmulator({ settings: { deviceCodeInterval: 1 } });
    });
    afterAll(() => emulator?.stop());

    const run = (
      scenario: string,
      config: Record<string, unknown>,
      onEvent?: (e: PythonEvent) => void | Promise<void>,
    ) => runMsalPython(scenario, { authority: authority(emulator), ...config }, emulator.caFile, onEvent);

    it("gets an app token with a client secret, through instance discovery, then from its cache", async () => {
      const daemon = app(emulator, "daemon");
      emulator.clearRequests();
      const { first, second } = resultOf(
        await run("client_credentials", {
          client_id: daemon.clientId,
          secret: daemon.secret,
          scopes: ["https://graph.microsoft.com/.default"],
          instance_discovery: `${emulator.url}/common/discovery/instance`,
        }),
      );
      expect(first).toMatchObject({ token_type: "Bearer", expires_in: expect.any(Number) });
      expect(second?.access_token).toBe(first?.access_token);
      expect(emulator.requests("instance")).toHaveLength(1);
      expect(emulator.requests("token")).toHaveLength(1);
    });

    it("gets an app token with a certificate (private_key_jwt, x5t)", async () => {
      const daemon = app(emulator, "daemon");
      const { first } = resultOf(
        await run("client_credentials", {
          client_id: daemon.clientId,
          private_key: daemon.certificate?.privateKey,
          thumbprint: daemon.certificate?.thumbprint,
          scopes: ["https://graph.microsoft.com/.default"],
        }),
      );
      expect(first?.access_token).toEqual(expect.stringMatching(/^ey/));
      const [sent] = emulator.requests("token").slice(-1);
      expect(sent?.form?.client_assertion_type).toBe(
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      );
    });

    it("signs the managed user in with username and password, then refreshes through its cache", async () => {
      const alice = user(emulator, "managed");
      emulator.clearRequests();
      const { first, refreshed, accounts } = resultOf(
        await run("password", {
          client_id: app(emulator, "public").clientId,
          username: alice.username,
          password: alice.password,
          scopes: ["User.Read"],
          force_refresh: true,
        }),
      );
      expect(first?.id_token_claims).toMatchObject({ preferred_username: alice.username, tid: alice.tenant });
      expect(accounts).toEqual([expect.objectContaining({ username: alice.username })]);
      expect(refreshed?.access_token).toEqual(expect.stringMatching(/^ey/));
      expect(refreshed?.access_token).not.toBe(first?.access_token);
      expect(emulator.requests("token").map((r) => r.form?.grant_type)).toEqual([
        "password",
        "refresh_token",
      ]);
    });

    it("signs the federated user in through user realm discovery, MEX and WS-Trust 1.3 (SAML 2.0 bearer)", async () => {
      const carol = user(emulator, "federated");
      emulator.clearRequests();
      const { first } = resultOf(
        await run("password", {
          client_id: app(emulator, "public").clientId,
          username: carol.username,
          password: carol.password,
          scopes: ["User.Read"],
        }),
      );
      expect(first?.id_token_claims).toMatchObject({ preferred_username: carol.username });
      expect(emulator.requests().map((r) => r.endpoint)).toEqual(
        expect.arrayContaining(["userrealm", "mex", "wstrust", "token"]),
      );
      expect(emulator.requests("wstrust")[0]?.path).toBe("/adfs/services/trust/13/usernamemixed");
      expect(emulator.requests("token")[0]?.form?.grant_type).toBe(
        "urn:ietf:params:oauth:grant-type:saml2-bearer",
      );
    });

    it("signs the federated user in through WS-Trust 2005 (SAML 1.1 bearer) when the MEX offers only 2005", async () => {
      const carol = user(emulator, "federated");
      emulator.configure({ mexOffers: ["2005"] });
      emulator.clearRequests();
      try {
        const { first } = resultOf(
          await run("password", {
            client_id: app(emulator, "public").clientId,
            username: carol.username,
            password: carol.password,
            scopes: ["User.Read"],
          }),
        );
        expect(first?.id_token_claims).toMatchObject({ preferred_username: carol.username });
        expect(emulator.requests("wstrust")[0]?.path).toBe("/adfs/services/trust/2005/usernamemixed");
        expect(emulator.requests("token")[0]?.form?.grant_type).toBe(
          "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
        );
      } finally {
        emulator.configure({ mexOffers: ["13", "2005"] });
      }
    });

    it("completes the device code flow when the code is approved through the control API while it polls", async () => {
      const alice = user(emulator, "managed");
      const events = await run(
        "device_flow",
        { client_id: app(emulator, "public").clientId, scopes: ["User.Read"] },
        async (e) => {
          if (e.event !== "flow") return;
          const flow = e.flow as { user_code: string };
          await new Promise((r) => setTimeout(r, 1500));
          const res = await fetch(`${emulator.url}/_emulator/device/approve`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ user_code: flow.user_code, username: alice.username }),
          });
          expect(res.status).toBe(200);
        },
      );
      const flow = events[0]?.flow as Record<string, unknown>;
      expect(flow.message).toBe(
        `To sign in, use a web browser to open the page ${emulator.url}/devicelogin and enter the code ${flow.user_code} to authenticate.`,
      );
      expect(resultOf(events).result?.id_token_claims).toMatchObject({ preferred_username: alice.username });
    });

    it("gets a Graph token on behalf of a user who called the middle-tier API", async () => {
      const alice = user(emulator, "managed");
      const api = app(emulator, "middle-tier");
      const { user: userToken, result } = resultOf(
        await run("obo", {
          client_id: app(emulator, "public").clientId,
          username: alice.username,
          password: alice.password,
          api_scopes: api.scopes,
          mt_client_id: api.clientId,
          mt_secret: api.secret,
          downstream_scopes: ["https://graph.microsoft.com/User.Read"],
        }),
      );
      expect(userToken?.scope).toContain(api.scopes?.[0]);
      expect(result).toMatchObject({ token_type: "Bearer", scope: expect.stringContaining("User.Read") });
      expect(result?.id_token_claims).toMatchObject({
        aud: api.clientId,
        preferred_username: alice.username,
      });
    });

    it("completes the auth code flow by fetching the sign-in page and submitting its form", async () => {
      const web = app(emulator, "confidential");
      const alice = user(emulator, "managed");
      const { first, accounts } = resultOf(
        await run("auth_code", {
          client_id: web.clientId,
          secret: web.secret,
          redirect_uri: web.redirectUris?.[0],
          scopes: ["User.Read"],
          username: alice.username,
          password: alice.password,
        }),
      );
      expect(first?.id_token_claims).toMatchObject({ aud: web.clientId, preferred_username: alice.username });
      expect(first?.refresh_token).toEqual(expect.any(String));
      expect(accounts).toEqual([expect.objectContaining({ username: alice.username })]);
    });

    describe("negative cases", () => {
      it("wrong client secret: invalid_client, AADSTS7000215", async () => {
        const { first } = resultOf(
          await run("client_credentials", {
            client_id: app(emulator, "daemon").clientId,
            secret: "wrong",
            scopes: ["https://graph.microsoft.com/.default"],
          }),
        );
        expect(first?.error).toBe("invalid_client");
        expect(first?.error_codes).toEqual([7000215]);
        expect(String(first?.error_description)).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
      });

      it("wrong PKCE verifier: invalid_grant, AADSTS501481", async () => {
        const alice = user(emulator, "managed");
        const { first } = resultOf(
          await run("auth_code", {
            client_id: app(emulator, "public").clientId,
            redirect_uri: "http://localhost:8400",
            scopes: ["User.Read"],
            username: alice.username,
            password: alice.password,
            tamper_verifier: true,
          }),
        );
        expect(first).toMatchObject({ error: "invalid_grant", error_codes: [501481] });
      });

      it("reused authorization code: invalid_grant, AADSTS54005", async () => {
        const alice = user(emulator, "managed");
        const { first, second } = resultOf(
          await run("auth_code", {
            client_id: app(emulator, "public").clientId,
            redirect_uri: "http://localhost:8400",
            scopes: ["User.Read"],
            username: alice.username,
            password: alice.password,
            redeem_twice: true,
          }),
        );
        expect(first?.access_token).toEqual(expect.any(String));
        expect(second).toMatchObject({ error: "invalid_grant", error_codes: [54005] });
      });

      it("expired device code: expired_token, AADSTS70020", async () => {
        emulator.configure({ deviceCodeLifetime: 2 });
        try {
          const events = await run("device_flow", {
            client_id: app(emulator, "public").clientId,
            scopes: ["User.Read"],
            extend_expiry_seconds: 10,
          });
          expect(resultOf(events).result).toMatchObject({ error: "expired_token", error_codes: [70020] });
        } finally {
          emulator.configure({ deviceCodeLifetime: 900 });
        }
      });

      it("MFA user with username and password: interaction_required, AADSTS50076, with a claims challenge", async () => {
        const mfa = user(emulator, "mfa");
        const { first } = resultOf(
          await run("password", {
            client_id: app(emulator, "public").clientId,
            username: mfa.username,
            password: mfa.password,
            scopes: ["User.Read"],
          }),
        );
        expect(first).toMatchObject({
          error: "interaction_required",
          error_codes: [50076],
          suberror: "basic_action",
        });
        expect(JSON.parse(String(first?.claims))).toEqual({
          access_token: { capolids: { essential: true, values: [expect.any(String)] } },
        });
      });

      it("unknown client: unauthorized_client, AADSTS700016", async () => {
        const { first } = resultOf(
          await run("client_credentials", {
            client_id: "00000000-0000-4000-8000-000000000000",
            secret: "x",
            scopes: ["https://graph.microsoft.com/.default"],
          }),
        );
        expect(first).toMatchObject({ error: "unauthorized_client", error_codes: [700016] });
      });
    });
  },
);
