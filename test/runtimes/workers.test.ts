/**
 * Cloudflare Workers, through miniflare and workerd from npm: a Worker bundled from the installed
 * package (the `workerd` condition: the portable entry) gets its own token and an on-behalf-of token
 * per request, keeping the cache in a KV namespace. workerd cannot be told to trust the emulator's
 * CA from inside a Worker, so its outbound requests go to miniflare's outbound service: a function
 * here, in Node, that forwards them to the emulator over HTTPS with the CA trusted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, type Request as MiniflareRequest, Response as MiniflareResponse } from "miniflare";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import {
  derBase64,
  directoryUser,
  form,
  jwtHeader,
  middleTierAssertion,
} from "../integration/confidential/helpers.js";
import { app, authority, startTestEmulator } from "../support/emulator.js";
import { signInOverHttp } from "../support/sign-in.js";
import { expectedExtraError } from "./portable-flows.js";
import { bundleWorker, type InstalledProject, installPackage, workerd } from "./support.js";

const runtime = workerd();
const GRAPH = "https://graph.microsoft.com";
/** A redirect URI the emulator's seeded web app has registered. */
const WEB_REDIRECT_URI = "http://localhost:3000/auth/callback";

/** The part of a KV namespace binding the test reads (workers-types are not installed). */
interface KvNamespace {
  list(): Promise<{ keys: Array<{ name: string }> }>;
  get(key: string): Promise<string | null>;
}

describe(`Cloudflare Workers (workerd ${runtime.version ?? `unavailable: ${runtime.unavailable}`} through miniflare): the installed package's portable entry in a Worker`, {
  timeout: 60_000,
}, () => {
  let emulator: Emulator | undefined;
  let project: InstalledProject | undefined;
  let script = "";
  let kvDir = "";
  let dispatcher: Agent;
  /** The URLs the Worker fetched, in order, as the outbound service saw them. */
  const outbound: string[] = [];
  const workers: Miniflare[] = [];
  const test = it.skipIf(runtime.unavailable);

  /** A fresh workerd isolate running the Worker, its KV namespace persisted in `kvDir`. */
  async function startWorker(): Promise<Miniflare> {
    const target = emulator as Emulator;
    const middleTier = app(target, "middle-tier");
    const web = app(target, "confidential");
    const daemon = app(target, "daemon");
    const worker = new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2026-07-01",
      kvNamespaces: ["TOKEN_CACHE"],
      kvPersist: kvDir,
      bindings: {
        AUTHORITY: authority(target),
        CLIENT_ID: middleTier.clientId,
        CLIENT_SECRET: middleTier.secret as string,
        PUBLIC_ID: app(target, "public").clientId,
        WEB_ID: web.clientId,
        WEB_SECRET: web.secret as string,
        WEB_REDIRECT_URI: WEB_REDIRECT_URI,
        DAEMON_ID: daemon.clientId,
        DAEMON_KEY: daemon.certificate?.privateKey as string,
        DAEMON_CERTIFICATE: daemon.certificate?.certificate as string,
      },
      outboundService: async (request: MiniflareRequest) => {
        outbound.push(request.url);
        const body =
          request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
        const answer = await undiciFetch(request.url, {
          method: request.method,
          headers: [...request.headers],
          body,
          redirect: "manual",
          dispatcher,
        });
        return new MiniflareResponse(await answer.arrayBuffer(), {
          status: answer.status,
          headers: [...answer.headers],
        });
      },
    });
    workers.push(worker);
    await worker.ready;
    return worker;
  }

  async function call(worker: Miniflare, path: string, assertion?: string) {
    const response = await worker.dispatchFetch(`http://api.example${path}`, {
      headers: assertion ? { authorization: `Bearer ${assertion}` } : {},
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as Record<string, Record<string, unknown>>;
  }

  beforeAll(async () => {
    if (runtime.unavailable) return;
    [emulator, project] = await Promise.all([startTestEmulator(), installPackage(["worker.mjs"])]);
    dispatcher = new Agent({ connect: { ca: emulator.caPem } });
    script = await bundleWorker(project, "worker.mjs");
    kvDir = mkdtempSync(join(tmpdir(), "msal-ts-worker-kv-"));
  }, 60_000);
  afterAll(async () => {
    for (const worker of workers) await worker.dispose();
    await dispatcher?.close();
    await emulator?.stop();
    project?.remove();
    if (kvDir) rmSync(kvDir, { recursive: true, force: true });
  });

  test("the bundle takes the portable entry: no Node built-in, no undici", () => {
    expect(script).not.toMatch(/from\s*["']node:|from\s*["']undici["']/);
    expect(script).toContain("ConfidentialClientApplication");
  });

  test("a request gets the API's client-credentials token and an on-behalf-of token, all through the outbound service; a new isolate finds both in KV", async () => {
    const target = emulator as Emulator;
    const middleTier = app(target, "middle-tier");
    const alice = directoryUser(target, "alice@contoso.onmicrosoft.com");
    const assertion = await middleTierAssertion(target, alice);
    target.clearRequests();
    outbound.length = 0;

    const first = await call(await startWorker(), "/", assertion);
    expect(first).toEqual({
      app: { source: "identity_provider", aud: GRAPH, azp: middleTier.clientId, user: undefined },
      obo: { source: "identity_provider", aud: GRAPH, azp: middleTier.clientId, user: alice.username },
    });
    expect(target.requests("token").map((r) => form(r).grant_type)).toEqual([
      "client_credentials",
      "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ]);
    // Every request the Worker sent went through the outbound service to the emulator.
    expect(outbound.length).toBeGreaterThanOrEqual(2);
    expect(outbound.every((url) => url.startsWith(`${target.url}/`))).toBe(true);
    expect(outbound.filter((url) => url.endsWith("/oauth2/v2.0/token"))).toHaveLength(2);

    // One KV entry per partition: the app's tokens and the assertion's (keyed by its hash, never the token).
    const kv = (await (workers[0] as Miniflare).getKVNamespace("TOKEN_CACHE")) as unknown as KvNamespace;
    const keys = (await kv.list()).keys
      .map((k) => k.name)
      .filter((name) => /^(app|obo):/.test(name))
      .sort();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(`app:${middleTier.clientId}:${target.directory.tenants[0]?.id}`.toLowerCase());
    expect(keys[1]).toMatch(/^obo:[A-Za-z0-9_-]{43}$/);
    for (const key of keys) expect(await kv.get(key)).not.toContain(assertion);

    // A cold isolate, the same KV: both tokens come from the cache, no token request is sent.
    await (workers[0] as Miniflare).dispose();
    workers.shift();
    target.clearRequests();
    const again = await call(await startWorker(), "/", assertion);
    expect(again).toEqual({
      app: { ...first.app, source: "cache" },
      obo: { ...first.obo, source: "cache" },
    });
    expect(target.requests("token")).toHaveLength(0);

    // Another user's token: the app token still from the cache, a new on-behalf-of exchange.
    const bob = directoryUser(target, "bob@contoso.onmicrosoft.com");
    const forBob = await call(workers[0] as Miniflare, "/", await middleTierAssertion(target, bob));
    expect(forBob).toMatchObject({
      app: { source: "cache" },
      obo: { source: "identity_provider", user: bob.username },
    });
  });

  test("a web app's sign-in: the auth code flow with PKCE across requests (the flow kept in KV), then the token silently and refreshed", async () => {
    const target = emulator as Emulator;
    const worker = workers[0] ?? (await startWorker());
    const alice = directoryUser(target, "alice@contoso.onmicrosoft.com");
    target.clearRequests();

    const { auth_uri } = (await call(worker, "/login")) as unknown as { auth_uri: string };
    expect(new URL(auth_uri).searchParams.get("code_challenge_method")).toBe("S256");
    const { location, params } = await signInOverHttp(auth_uri, alice.username, alice.password);
    expect(location.startsWith(`${WEB_REDIRECT_URI}?`)).toBe(true);
    const signedIn = await call(worker, `/callback?${params}`);
    expect(signedIn).toMatchObject({ source: "identity_provider", aud: GRAPH, user: alice.username });
    const account = encodeURIComponent(String(signedIn.account));

    const fresh = await startWorker();
    expect(await call(fresh, `/me?account=${account}`)).toMatchObject({
      source: "cache",
      user: alice.username,
    });
    expect(await call(fresh, `/me?account=${account}&refresh=1`)).toMatchObject({
      source: "identity_provider",
      user: alice.username,
    });
    const tokens = target.requests("token").map(form);
    expect(tokens.map((f) => f.grant_type)).toEqual(["authorization_code", "refresh_token"]);
    expect(tokens[0]?.code_verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
  });

  test("the device code flow over two requests: started, approved by the user elsewhere, redeemed", async () => {
    const target = emulator as Emulator;
    const worker = workers[0] ?? (await startWorker());
    const alice = directoryUser(target, "alice@contoso.onmicrosoft.com");
    target.clearRequests();
    const started = (await call(worker, "/device")) as unknown as { user_code: string; message: string };
    expect(started.message).toContain(started.user_code);
    const approval = await fetch(`${target.url}/_emulator/device/approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_code: started.user_code, username: alice.username }),
    });
    expect(approval.status).toBe(200);
    expect(await call(worker, `/device-poll?code=${encodeURIComponent(started.user_code)}`)).toMatchObject({
      source: "identity_provider",
      user: alice.username,
    });
    expect(target.requests("token").map((r) => form(r).grant_type)).toEqual([
      "urn:ietf:params:oauth:grant-type:device_code",
    ]);
  });

  test("client credentials with a PEM certificate: the assertion signed by workerd's Web Crypto (PS256, x5c)", async () => {
    const target = emulator as Emulator;
    const worker = workers[0] ?? (await startWorker());
    const daemon = app(target, "daemon");
    target.clearRequests();
    expect(await call(worker, "/certificate")).toEqual({
      source: "identity_provider",
      aud: GRAPH,
      azp: daemon.clientId,
      user: undefined,
    });
    const [request] = target.requests("token").map(form);
    expect(jwtHeader(request?.client_assertion as string)).toMatchObject({
      alg: "PS256",
      x5c: [derBase64(daemon.certificate?.certificate as string)],
    });
  });

  test("proxy, ca, PFX, FilePersistence and interactive sign-in throw ConfigurationError in the Worker", async () => {
    const worker = workers[0] ?? (await startWorker());
    const extras = await call(worker, "/extras");
    expect(extras).toEqual({
      proxy: expectedExtraError("proxy"),
      ca: expectedExtraError("ca"),
      pfx: expectedExtraError("pfx"),
      filePersistence: expectedExtraError("filePersistence"),
      interactive: expectedExtraError("interactive"),
    });
  });
});
