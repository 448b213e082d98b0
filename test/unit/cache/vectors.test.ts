/**
 * MSAL Python's cache test vectors (tests/test_token_cache.py; spec section 5.9), one test each.
 * Their helpers encode client_info and the id_token payload in standard base64, which the cache
 * must accept as well as base64url.
 */
import { describe, expect, it } from "vitest";
import { SerializableTokenCache, TokenCache } from "../../../src/index.js";

const std = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

/** MSAL Python's build_id_token: "header.<std-base64 JSON>.signature". */
function buildIdToken(claims: Record<string, unknown>, now: number, clientId = "my_client_id"): string {
  return `header.${std({ iss: "issuer", sub: "subject", aud: clientId, exp: now + 100, iat: now, ...claims })}.signature`;
}

/** MSAL Python's build_response. */
function buildResponse(opts: {
  uid?: string;
  utid?: string;
  accessToken?: string;
  refreshToken?: string;
  idToken?: string;
  extra?: Record<string, unknown>;
}) {
  const response: Record<string, unknown> = { expires_in: 3600, token_type: "some type", ...opts.extra };
  if (opts.uid && opts.utid) response.client_info = std({ uid: opts.uid, utid: opts.utid });
  if (opts.accessToken) response.access_token = opts.accessToken;
  if (opts.refreshToken) response.refresh_token = opts.refreshToken;
  if (opts.idToken) response.id_token = opts.idToken;
  return response;
}

function snapshot(cache: SerializableTokenCache): Record<string, Record<string, unknown>> {
  return JSON.parse(cache.serialize());
}

describe("MSAL Python cache vectors", () => {
  it("testAddByAad: access token, refresh token, account, id_token and app metadata", () => {
    const cache = new SerializableTokenCache();
    const idToken = buildIdToken({ oid: "object1234", preferred_username: "John Doe" }, 1000);
    cache.add(
      {
        clientId: "my_client_id",
        scopes: ["s2", "s1", "s3"],
        tokenEndpoint: "https://login.example.com/contoso/v2/token",
        response: buildResponse({
          uid: "uid",
          utid: "utid",
          accessToken: "an access token",
          refreshToken: "a refresh token",
          idToken,
        }),
      },
      1000,
    );
    const saved = snapshot(cache);
    expect(saved.AccessToken).toEqual({
      "uid.utid-login.example.com-accesstoken-my_client_id-contoso-s1 s2 s3": {
        cached_at: "1000",
        client_id: "my_client_id",
        credential_type: "AccessToken",
        environment: "login.example.com",
        expires_on: "4600",
        extended_expires_on: "4600",
        home_account_id: "uid.utid",
        realm: "contoso",
        secret: "an access token",
        target: "s1 s2 s3",
        token_type: "some type",
      },
    });
    expect(saved.RefreshToken).toEqual({
      "uid.utid-login.example.com-refreshtoken-my_client_id--s1 s2 s3": {
        client_id: "my_client_id",
        credential_type: "RefreshToken",
        environment: "login.example.com",
        home_account_id: "uid.utid",
        last_modification_time: "1000",
        secret: "a refresh token",
        target: "s1 s2 s3",
      },
    });
    expect(saved.Account).toEqual({
      "uid.utid-login.example.com-contoso": {
        home_account_id: "uid.utid",
        environment: "login.example.com",
        realm: "contoso",
        local_account_id: "object1234",
        username: "John Doe",
        authority_type: "MSSTS",
      },
    });
    expect(saved.IdToken).toEqual({
      "uid.utid-login.example.com-idtoken-my_client_id-contoso-": {
        credential_type: "IdToken",
        secret: idToken,
        home_account_id: "uid.utid",
        environment: "login.example.com",
        realm: "contoso",
        client_id: "my_client_id",
      },
    });
    expect(saved.AppMetadata).toEqual({
      "appmetadata-login.example.com-my_client_id": {
        client_id: "my_client_id",
        environment: "login.example.com",
      },
    });
  });

  it("testAddByAdfs: no client_info, home account id from sub, realm adfs, authority type ADFS", () => {
    const cache = new SerializableTokenCache();
    cache.add(
      {
        clientId: "my_client_id",
        scopes: ["s2", "s1", "s3"],
        tokenEndpoint: "https://fs.msidlab8.com/adfs/oauth2/token",
        response: buildResponse({
          accessToken: "an access token",
          refreshToken: "a refresh token",
          idToken: buildIdToken({ upn: "JaneDoe@example.com" }, 1000),
        }),
      },
      1000,
    );
    const saved = snapshot(cache);
    expect(Object.keys(saved.RefreshToken ?? {})).toEqual([
      "subject-fs.msidlab8.com-refreshtoken-my_client_id--s1 s2 s3",
    ]);
    expect(Object.keys(saved.IdToken ?? {})).toEqual(["subject-fs.msidlab8.com-idtoken-my_client_id-adfs-"]);
    expect(saved.Account).toEqual({
      "subject-fs.msidlab8.com-adfs": {
        home_account_id: "subject",
        environment: "fs.msidlab8.com",
        realm: "adfs",
        local_account_id: "subject",
        username: "JaneDoe@example.com",
        authority_type: "ADFS",
      },
    });
    expect(Object.values(saved.AccessToken ?? {})[0]).toMatchObject({
      home_account_id: "subject",
      realm: "adfs",
    });
  });

  it("key_id from the request data is stored and found by a query with key_id", () => {
    const cache = new TokenCache();
    cache.add(
      {
        clientId: "my_client_id",
        scopes: ["s2", "s1", "s3"],
        tokenEndpoint: "https://login.example.com/contoso/v2/token",
        response: buildResponse({ uid: "uid", utid: "utid", accessToken: "an access token" }),
        data: { key_id: "1" },
      },
      1000,
    );
    const query = {
      clientId: "my_client_id",
      homeAccountId: "uid.utid",
      environment: "login.example.com",
      realm: "contoso",
      scopes: ["s1"],
    };
    expect(cache.findAccessToken({ ...query, keyId: "1" }, 1000)?.key_id).toBe("1");
    expect(cache.findAccessToken({ ...query, keyId: "2" }, 1000)).toBeUndefined();
  });

  it("refresh_in 1800 at now 1000 gives refresh_on 2800", () => {
    const cache = new SerializableTokenCache();
    cache.add(
      {
        clientId: "my_client_id",
        scopes: ["s2", "s1", "s3"],
        tokenEndpoint: "https://login.example.com/contoso/v2/token",
        response: buildResponse({
          uid: "uid",
          utid: "utid",
          accessToken: "an access token",
          extra: { refresh_in: 1800 },
        }),
      },
      1000,
    );
    expect(Object.values(snapshot(cache).AccessToken ?? {})[0]).toMatchObject({ refresh_on: "2800" });
  });

  it("an unknown entry and an unknown top-level section round-trip unchanged", () => {
    const cache = new SerializableTokenCache();
    const text = JSON.stringify({ AccessToken: { "an-entry": { foo: "bar" } }, customized: "whatever" });
    cache.deserialize(text);
    expect(JSON.parse(cache.serialize())).toEqual({
      AccessToken: { "an-entry": { foo: "bar" } },
      customized: "whatever",
    });
  });

  it("an entry stored under a wrong key is salvaged: writing it again stores it under its right key and leaves the old one", () => {
    const cache = new SerializableTokenCache();
    const entry = {
      credential_type: "RefreshToken" as const,
      secret: "a refresh token",
      home_account_id: "uid.utid",
      environment: "login.example.com",
      client_id: "my_client_id",
      target: "s2 s1 s3",
    };
    cache.deserialize(JSON.stringify({ RefreshToken: { "wrong-key": entry } }));
    cache.put("RefreshToken", entry);
    expect(Object.keys(snapshot(cache).RefreshToken ?? {})).toEqual([
      "wrong-key",
      "uid.utid-login.example.com-refreshtoken-my_client_id--s2 s1 s3",
    ]);
  });
});
