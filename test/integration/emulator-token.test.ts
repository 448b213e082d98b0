/**
 * The emulator's token endpoint over HTTPS: client authentication (secret in the body, HTTP Basic,
 * client assertions signed with jose), scopes and audiences, lifetimes, refresh token rotation,
 * FOCI family refresh tokens, revocation, and correlation ids.
 */
import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { generateKeyPair, importPKCS8, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { app, startTestEmulator, user } from "../support/emulator.js";
import {
  CONTOSO,
  claims,
  control,
  expectEntraError,
  passwordGrant,
  postToken,
  type TokenAnswer,
} from "./helpers.js";

const GRAPH_DEFAULT = "https://graph.microsoft.com/.default";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

describe("emulator token endpoint", () => {
  let emulator: Emulator;
  let tokenEndpoint: string;
  let daemon: ReturnType<typeof app>;
  let alice: { username: string; password: string };
  beforeAll(async () => {
    emulator = await startTestEmulator();
    tokenEndpoint = `${emulator.url}/${CONTOSO}/oauth2/v2.0/token`;
    daemon = app(emulator, "daemon");
    alice = user(emulator, "managed");
  });
  afterAll(() => emulator?.stop());

  describe("client credentials", () => {
    it("client_secret in the body: an app-only Graph token", async () => {
      const answer = await postToken(emulator, {
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        client_secret: daemon.secret as string,
        scope: GRAPH_DEFAULT,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
      expect(answer.body).not.toHaveProperty("refresh_token");
      expect(answer.body).not.toHaveProperty("refresh_in");
      expect(claims(answer.body.access_token)).toMatchObject({
        aud: "https://graph.microsoft.com",
        iss: `${emulator.url}/${CONTOSO}/v2.0`,
        tid: CONTOSO,
        azp: daemon.clientId,
        idtyp: "app",
      });
    });

    it("client_secret through HTTP Basic (no client_id in the body)", async () => {
      const basic = Buffer.from(
        `${encodeURIComponent(daemon.clientId)}:${encodeURIComponent(daemon.secret as string)}`,
      ).toString("base64");
      const answer = await postToken(
        emulator,
        { grant_type: "client_credentials", scope: GRAPH_DEFAULT },
        { headers: { authorization: `Basic ${basic}` } },
      );
      expect(answer.status).toBe(200);
      expect(claims(answer.body.access_token).azp).toBe(daemon.clientId);
    });

    it("a wrong secret: 401 invalid_client AADSTS7000215", async () => {
      const answer = await postToken(emulator, {
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        client_secret: "not-the-secret",
        scope: GRAPH_DEFAULT,
      });
      expectEntraError(answer, 401, "invalid_client", 7000215);
    });

    it("a scope without /.default: 400 invalid_scope AADSTS1002012", async () => {
      const answer = await postToken(emulator, {
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        client_secret: daemon.secret as string,
        scope: "https://graph.microsoft.com/User.Read",
      });
      expectEntraError(answer, 400, "invalid_scope", 1002012);
    });

    it("a public client that sends a secret: 401 invalid_client AADSTS700025", async () => {
      const answer = await postToken(emulator, {
        grant_type: "client_credentials",
        client_id: app(emulator, "public").clientId,
        client_secret: "anything",
        scope: GRAPH_DEFAULT,
      });
      expectEntraError(answer, 401, "invalid_client", 700025);
    });

    it("a confidential app with no credential: 401 invalid_client AADSTS7000218", async () => {
      const answer = await postToken(emulator, {
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        scope: GRAPH_DEFAULT,
      });
      expectEntraError(answer, 401, "invalid_client", 7000218);
    });

    it("an unknown client: 400 unauthorized_client AADSTS700016", async () => {
      const answer = await postToken(emulator, {
        grant_type: "client_credentials",
        client_id: "99999999-9999-4999-8999-999999999999",
        client_secret: "x",
        scope: GRAPH_DEFAULT,
      });
      expectEntraError(answer, 400, "unauthorized_client", 700016);
    });
  });

  describe("client assertions (private_key_jwt) built with jose", () => {
    const certificate = () => daemon.certificate as NonNullable<typeof daemon.certificate>;
    const thumbprint = (algorithm: "sha1" | "sha256") =>
      createHash(algorithm).update(new X509Certificate(certificate().certificate).raw).digest("base64url");

    async function assertion(
      options: { alg?: "RS256" | "PS256"; key?: CryptoKey; audience?: string; expiresAt?: number } = {},
    ): Promise<string> {
      const alg = options.alg ?? "RS256";
      const header =
        alg === "RS256"
          ? { alg, typ: "JWT", x5t: thumbprint("sha1") }
          : { alg, typ: "JWT", "x5t#S256": thumbprint("sha256") };
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({})
        .setProtectedHeader(header)
        .setIssuer(daemon.clientId)
        .setSubject(daemon.clientId)
        .setAudience(options.audience ?? tokenEndpoint)
        .setJti(randomUUID())
        .setIssuedAt(now - 60)
        .setNotBefore(now - 60)
        .setExpirationTime(options.expiresAt ?? now + 600)
        .sign(options.key ?? (await importPKCS8(certificate().privateKey, alg)));
    }

    const withAssertion = (clientAssertion: string) =>
      postToken(emulator, {
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: clientAssertion,
        scope: GRAPH_DEFAULT,
      });

    it("RS256 with x5t (base64url SHA-1 of the certificate) is accepted", async () => {
      const answer = await withAssertion(await assertion({ alg: "RS256" }));
      expect(answer.status).toBe(200);
      expect(claims(answer.body.access_token)).toMatchObject({ azp: daemon.clientId, azpacr: "1" });
    });

    it("PS256 with x5t#S256 (base64url SHA-256 of the certificate) is accepted", async () => {
      const answer = await withAssertion(await assertion({ alg: "PS256" }));
      expect(answer.status).toBe(200);
    });

    it("signed with a key other than the certificate's: 401 invalid_client AADSTS700027", async () => {
      const { privateKey } = await generateKeyPair("RS256");
      expectEntraError(
        await withAssertion(await assertion({ key: privateKey })),
        401,
        "invalid_client",
        700027,
      );
    });

    it("expired: 401 invalid_client AADSTS700024", async () => {
      const expiresAt = Math.floor(Date.now() / 1000) - 3600;
      expectEntraError(await withAssertion(await assertion({ expiresAt })), 401, "invalid_client", 700024);
    });

    it("an audience that is not the token endpoint: 401 invalid_client AADSTS700212", async () => {
      const audience = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
      expectEntraError(await withAssertion(await assertion({ audience })), 401, "invalid_client", 700212);
    });
  });

  describe("refresh tokens", () => {
    const USER_SCOPE = "openid profile offline_access User.Read";
    const refresh = (clientId: string, refreshToken: unknown) =>
      postToken(emulator, {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: String(refreshToken),
        scope: USER_SCOPE,
      });

    it("each redemption returns a new refresh token (rotation)", async () => {
      const publicId = app(emulator, "public").clientId;
      const first = await passwordGrant(emulator, publicId, alice, USER_SCOPE);
      const second = await refresh(publicId, first.body.refresh_token);
      const third = await refresh(publicId, second.body.refresh_token);
      expect([second.status, third.status]).toEqual([200, 200]);
      const tokens = [first, second, third].map((a) => a.body.refresh_token);
      expect(new Set(tokens).size).toBe(3);
      expect(claims(third.body.id_token).preferred_username).toBe(alice.username);
      expect(first.body).not.toHaveProperty("foci");
    });

    it("FOCI: app B redeems app A's refresh token (foci: 1); a non-family app gets client_mismatch", async () => {
      const [familyA, familyB] = emulator.directory.apps.filter((a) => a.kind === "foci");
      const fromA = await passwordGrant(emulator, familyA?.clientId as string, alice, USER_SCOPE);
      expect(fromA.body).toMatchObject({ foci: "1", refresh_token: expect.any(String) });
      const byB = await refresh(familyB?.clientId as string, fromA.body.refresh_token);
      expect(byB.status).toBe(200);
      expect(byB.body).toMatchObject({ foci: "1", refresh_token: expect.any(String) });
      expect(claims(byB.body.id_token).aud).toBe(familyB?.clientId);
      const byPublic = await refresh(app(emulator, "public").clientId, fromA.body.refresh_token);
      expectEntraError(byPublic, 400, "invalid_grant", 70000);
      expect(byPublic.body.suberror).toBe("client_mismatch");
    });

    it("a non-family app's refresh token is refused to a family app (client_mismatch)", async () => {
      const fromPublic = await passwordGrant(emulator, app(emulator, "public").clientId, alice, USER_SCOPE);
      const answer = await refresh(app(emulator, "foci").clientId, fromPublic.body.refresh_token);
      expectEntraError(answer, 400, "invalid_grant", 70000);
      expect(answer.body.suberror).toBe("client_mismatch");
    });

    it("revoked through POST /_emulator/revoke {username}: invalid_grant AADSTS50173", async () => {
      const bob = emulator.directory.users.find((u) => u.username.startsWith("bob@")) as typeof alice;
      const publicId = app(emulator, "public").clientId;
      const issued = await passwordGrant(emulator, publicId, bob, USER_SCOPE);
      const revoked = await control(emulator, "POST", "revoke", { username: bob.username });
      expect(revoked).toEqual({ status: 200, body: { revoked: 1 } });
      const answer = await refresh(publicId, issued.body.refresh_token);
      expectEntraError(answer, 400, "invalid_grant", 50173);
      expect(answer.body.suberror).toBe("bad_token");
    });

    it("an unknown refresh token: invalid_grant AADSTS9002313", async () => {
      expectEntraError(
        await refresh(app(emulator, "public").clientId, "1.emu-rt.not-issued"),
        400,
        "invalid_grant",
        9002313,
      );
    });
  });

  describe("scopes and audiences", () => {
    const forScope = (scope: string) =>
      passwordGrant(emulator, app(emulator, "public").clientId, alice, scope);

    it("a bare permission (User.Read) is a Microsoft Graph scope", async () => {
      const answer = await forScope("User.Read");
      expect(answer.status).toBe(200);
      expect(answer.body.scope).toBe("User.Read");
      expect(claims(answer.body.access_token)).toMatchObject({
        aud: "https://graph.microsoft.com",
        scp: "User.Read",
      });
    });

    it("https://graph.microsoft.com/.default is Graph too", async () => {
      const answer = await forScope(GRAPH_DEFAULT);
      expect(answer.status).toBe(200);
      expect(answer.body.scope).toBe(GRAPH_DEFAULT);
      expect(claims(answer.body.access_token).aud).toBe("https://graph.microsoft.com");
    });

    it("api://<middle-tier id>/access_as_user: the audience is the middle tier's client id", async () => {
      const middleTier = app(emulator, "middle-tier");
      const answer = await forScope(`api://${middleTier.clientId}/access_as_user`);
      expect(answer.status).toBe(200);
      expect(claims(answer.body.access_token)).toMatchObject({
        aud: middleTier.clientId,
        scp: "access_as_user",
      });
    });

    it("scopes for two resources at once: 400 invalid_scope AADSTS28000", async () => {
      const middleTier = app(emulator, "middle-tier");
      expectEntraError(
        await forScope(`User.Read api://${middleTier.clientId}/access_as_user`),
        400,
        "invalid_scope",
        28000,
      );
    });
  });

  describe("lifetimes", () => {
    const appToken = () =>
      postToken(emulator, {
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        client_secret: daemon.secret as string,
        scope: GRAPH_DEFAULT,
      });

    it("configure({ accessTokenLifetime: 2 }) gives expires_in 2 and a token that says so", async () => {
      emulator.configure({ accessTokenLifetime: 2 });
      try {
        const answer = await appToken();
        expect(answer.body).toMatchObject({ expires_in: 2, ext_expires_in: 2 });
        expect(answer.body).not.toHaveProperty("refresh_in");
        const token = claims(answer.body.access_token);
        expect((token.exp as number) - (token.iat as number)).toBe(2);
      } finally {
        emulator.configure({ accessTokenLifetime: 3599 });
      }
    });

    it("refresh_in (half the lifetime) appears once the lifetime is at least 7200 s", async () => {
      emulator.configure({ accessTokenLifetime: 7200 });
      try {
        expect((await appToken()).body).toMatchObject({ expires_in: 7200, refresh_in: 3600 });
        emulator.configure({ accessTokenLifetime: 7199 });
        expect((await appToken()).body).not.toHaveProperty("refresh_in");
      } finally {
        emulator.configure({ accessTokenLifetime: 3599 });
      }
    });
  });

  describe("correlation ids", () => {
    it("an error echoes client-request-id as correlation_id, in its description and as a header", async () => {
      const id = randomUUID();
      const answer: TokenAnswer = await postToken(
        emulator,
        { grant_type: "client_credentials", client_id: daemon.clientId, scope: GRAPH_DEFAULT },
        { headers: { "client-request-id": id } },
      );
      expectEntraError(answer, 401, "invalid_client", 7000218);
      expect(answer.body.correlation_id).toBe(id);
      expect(answer.body.error_description).toContain(`Correlation ID: ${id}`);
      expect(answer.headers.get("client-request-id")).toBe(id);
    });

    it("a success echoes client-request-id as a header; without one the emulator makes one up", async () => {
      const id = randomUUID();
      const form = {
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        client_secret: daemon.secret as string,
        scope: GRAPH_DEFAULT,
      };
      const answer = await postToken(emulator, form, { headers: { "client-request-id": id } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("client-request-id")).toBe(id);
      const anonymous = await postToken(emulator, form);
      expect(anonymous.headers.get("client-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it("an unsupported grant type: 400 unsupported_grant_type AADSTS70003", async () => {
    const answer = await postToken(emulator, {
      grant_type: "urn:example:magic",
      client_id: app(emulator, "public").clientId,
    });
    expectEntraError(answer, 400, "unsupported_grant_type", 70003);
  });
});
