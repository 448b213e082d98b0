/**
 * Workload identity federation, the issuer's side and the keys of other issuers.
 *
 * The emulator plays a Kubernetes cluster's service-account token issuer, so tests need no cluster:
 * each cluster name under `/_emulator/workload-identity/issuers/<cluster>` has its own signing key,
 * an OIDC discovery document and a JWKS at the paths a Kubernetes API server serves them
 * (`/.well-known/openid-configuration`, `/openid/v1/jwks`), and mints service-account tokens through
 * the TokenRequest API's shape (`POST .../api/v1/namespaces/<ns>/serviceaccounts/<sa>/token`).
 * https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#service-account-issuer-discovery
 *
 * Apps' federated identity credentials are listed, added and removed under
 * `/_emulator/workload-identity/federated-credentials` (JSON, like the rest of the control API).
 *
 * Keys of issuers elsewhere are fetched from their OIDC discovery document when a credential naming
 * them is added (or first used) and kept per issuer. The token endpoint answers synchronously, so an
 * assertion from an issuer whose keys are still on their way is refused with AADSTS50166, Entra's
 * "Request to External OIDC endpoint failed"; the credential listing shows each issuer's key state.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { jsonRequestBody } from "./control.js";
import {
  type App,
  type FederatedIdentityCredential,
  federatedCredentialProblems,
  isConfidential,
  MAX_FEDERATED_CREDENTIALS,
  TOKEN_EXCHANGE_AUDIENCE,
  WORKLOAD_ISSUERS_PATH,
} from "./directory.js";
import { type EmuRequest, type EmuResponse, json } from "./http.js";
import { signJwt } from "./jwt.js";
import { findApp, nowSeconds, type World } from "./world.js";

interface ClusterKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

/** The state of one external issuer's keys; `emulator` issuers are read directly. */
export type IssuerKeyState =
  | { state: "pending" }
  | { state: "ready"; keys: Map<string, KeyObject>; fetchedAt: number }
  | { state: "failed"; reason: string; failedAt: number };

interface WorkloadState {
  clusters: Map<string, ClusterKey>;
  external: Map<string, IssuerKeyState>;
}

// World belongs to the server; what this module keeps per emulator hangs off it here.
const states = new WeakMap<World, WorkloadState>();
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const MAX_KEY_DOCUMENT = 64 * 1024;
const FETCH_TIMEOUT_MS = 5000;
/** A failed fetch is tried again on the next assertion once this long has passed. */
const RETRY_FAILED_AFTER_S = 2;

function stateOf(world: World): WorkloadState {
  let state = states.get(world);
  if (!state) {
    state = { clusters: new Map(), external: new Map() };
    states.set(world, state);
  }
  return state;
}

function clusterKey(world: World, cluster: string): ClusterKey {
  const clusters = stateOf(world).clusters;
  let key = clusters.get(cluster);
  if (!key) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = publicKey.export({ format: "jwk" });
    // Kubernetes derives its key id from the public key's SHA-256, base64url.
    const kid = createHash("sha256")
      .update(publicKey.export({ format: "der", type: "spki" }))
      .digest("base64url");
    key = {
      privateKey,
      publicKey,
      publicJwk: { use: "sig", kty: "RSA", kid, alg: "RS256", n: jwk.n, e: jwk.e },
    };
    clusters.set(cluster, key);
  }
  return key;
}

/** The issuer URL of one of the emulator's clusters. */
export function clusterIssuer(world: World, cluster: string): string {
  return `${world.baseUrl}${WORKLOAD_ISSUERS_PATH}/${cluster}`;
}

/** A credential's issuer as an absolute URL: paths (`/...`) are on the emulator itself. */
export function resolveIssuer(world: World, issuer: string): string {
  return issuer.startsWith("/") ? `${world.baseUrl}${issuer}` : issuer;
}

/** The emulator cluster an issuer URL names, if it is one of the emulator's own. */
function ownCluster(world: World, issuer: string): string | undefined {
  const prefix = `${world.baseUrl}${WORKLOAD_ISSUERS_PATH}/`;
  if (!issuer.startsWith(prefix)) return undefined;
  const cluster = issuer.slice(prefix.length);
  return CLUSTER_NAME.test(cluster) ? cluster : undefined;
}

/**
 * The keys to check an assertion from `issuer` with: the emulator's own cluster key, or the
 * external issuer's fetched JWKS. `undefined` with a reason while they are not (yet) known; a
 * missing or failed entry starts a fetch, so the next attempt can succeed.
 */
export function issuerKeys(
  world: World,
  issuer: string,
  kid: unknown,
): { keys: KeyObject[] } | { unavailable: string } {
  const cluster = ownCluster(world, issuer);
  if (cluster !== undefined) {
    return { keys: [clusterKey(world, cluster).publicKey] };
  }
  const known = stateOf(world).external.get(issuer);
  if (!known || (known.state === "failed" && nowSeconds() - known.failedAt >= RETRY_FAILED_AFTER_S)) {
    fetchIssuerKeys(world, issuer);
    return { unavailable: "the issuer's keys are being fetched" };
  }
  if (known.state === "pending") return { unavailable: "the issuer's keys are being fetched" };
  if (known.state === "failed") return { unavailable: known.reason };
  const match = typeof kid === "string" ? known.keys.get(kid) : undefined;
  if (match) return { keys: [match] };
  // A key id we do not know: the issuer may have rotated its keys, so look again for next time.
  if (typeof kid === "string" && nowSeconds() - known.fetchedAt >= RETRY_FAILED_AFTER_S)
    fetchIssuerKeys(world, issuer);
  return { keys: typeof kid === "string" ? [] : [...known.keys.values()] };
}

async function boundedJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: "error" });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  if (text.length > MAX_KEY_DOCUMENT) throw new Error(`${url} sent more than ${MAX_KEY_DOCUMENT} bytes`);
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error(`${url} did not send a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Fetches an external issuer's JWKS through its discovery document (OpenID Connect Discovery 1.0, section 4). */
export function fetchIssuerKeys(world: World, issuer: string): Promise<void> {
  const external = stateOf(world).external;
  external.set(issuer, { state: "pending" });
  const discoveryUrl = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  return (async () => {
    const discovery = await boundedJson(discoveryUrl);
    // Discovery section 4.3: the document's issuer must be the one it was fetched for.
    if (discovery.issuer !== issuer)
      throw new Error(`the discovery document names issuer ${String(discovery.issuer)}, not ${issuer}`);
    if (typeof discovery.jwks_uri !== "string" || !discovery.jwks_uri.startsWith("https://"))
      throw new Error("the discovery document has no https jwks_uri");
    const jwks = await boundedJson(discovery.jwks_uri);
    const keys = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(jwks.keys) ? jwks.keys : []) {
      if (typeof jwk !== "object" || jwk === null || jwk.kty !== "RSA" || (jwk.use && jwk.use !== "sig"))
        continue;
      try {
        keys.set(
          typeof jwk.kid === "string" ? jwk.kid : randomUUID(),
          createPublicKey({ key: jwk, format: "jwk" }),
        );
      } catch {
        // A key we cannot read verifies nothing; the others still count.
      }
    }
    if (keys.size === 0) throw new Error("the JWKS has no RSA signing keys");
    external.set(issuer, { state: "ready", keys, fetchedAt: nowSeconds() });
  })().catch((error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    external.set(issuer, { state: "failed", reason, failedAt: nowSeconds() });
  });
}

/** Routes `/_emulator/workload-identity/...`; `path` is what follows that prefix. */
export function workloadIdentityEndpoint(req: EmuRequest, world: World, path: string[]): EmuResponse {
  const [first, cluster, ...rest] = path;
  if (first === "federated-credentials" && cluster === undefined)
    return federatedCredentialsEndpoint(req, world);
  if (first === "issuers" && cluster !== undefined && CLUSTER_NAME.test(cluster)) {
    const tail = rest.join("/");
    if (req.method === "GET" && tail === ".well-known/openid-configuration")
      return json(200, discoveryDocument(world, cluster));
    if (req.method === "GET" && tail === "openid/v1/jwks")
      return json(
        200,
        { keys: [clusterKey(world, cluster).publicJwk] },
        { "content-type": "application/jwk-set+json" },
      );
    const [api, v1, namespaces, namespace, serviceaccounts, account, token] = rest;
    if (
      req.method === "POST" &&
      api === "api" &&
      v1 === "v1" &&
      namespaces === "namespaces" &&
      serviceaccounts === "serviceaccounts" &&
      token === "token" &&
      namespace !== undefined &&
      account !== undefined
    )
      return tokenRequest(req, world, cluster, namespace, account);
  }
  return json(404, {
    error: `No workload identity operation ${req.method} ${path.join("/")}. See docs/emulator.md.`,
  });
}

function discoveryDocument(world: World, cluster: string): Record<string, unknown> {
  const issuer = clusterIssuer(world, cluster);
  return {
    issuer,
    jwks_uri: `${issuer}/openid/v1/jwks`,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
  };
}

/**
 * A service-account token, as the TokenRequest API returns it. `spec.audiences` defaults to
 * `api://AzureADTokenExchange` (what the AKS workload identity webhook asks for) and
 * `spec.expirationSeconds` to 3600. `spec.issuedSecondsAgo`, the emulator's own, backdates the
 * token (an expired one: `issuedSecondsAgo` greater than `expirationSeconds`).
 */
function tokenRequest(
  req: EmuRequest,
  world: World,
  cluster: string,
  namespace: string,
  account: string,
): EmuResponse {
  const body = jsonRequestBody(req);
  if (body.refused) return body.refused;
  if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(account))
    return json(400, { error: "Namespace and service account names are lower-case DNS names." });
  const spec = (
    typeof body.input.spec === "object" && body.input.spec !== null ? body.input.spec : {}
  ) as Record<string, unknown>;
  const audiences = spec.audiences ?? [TOKEN_EXCHANGE_AUDIENCE];
  const lifetime = spec.expirationSeconds ?? 3600;
  const ago = spec.issuedSecondsAgo ?? 0;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === "string"))
    return json(400, { error: '"spec.audiences" must be a non-empty array of strings.' });
  if (!Number.isInteger(lifetime) || (lifetime as number) <= 0 || !Number.isInteger(ago))
    return json(400, {
      error: '"spec.expirationSeconds" must be a positive integer and "spec.issuedSecondsAgo" an integer.',
    });
  const key = clusterKey(world, cluster);
  const iat = nowSeconds() - (ago as number);
  const exp = iat + (lifetime as number);
  const payload = {
    aud: audiences,
    exp,
    iat,
    nbf: iat,
    iss: clusterIssuer(world, cluster),
    sub: `system:serviceaccount:${namespace}:${account}`,
    jti: randomUUID(),
    "kubernetes.io": {
      namespace,
      serviceaccount: { name: account, uid: randomUUID() },
    },
  };
  const token = signJwt({ kid: key.publicJwk.kid }, payload, key.privateKey);
  return json(201, {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name: account, namespace },
    spec: { audiences, expirationSeconds: lifetime },
    status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") },
  });
}

function describeCredential(world: World, app: App, c: FederatedIdentityCredential): Record<string, unknown> {
  const issuer = resolveIssuer(world, c.issuer);
  const known = ownCluster(world, issuer) !== undefined ? undefined : stateOf(world).external.get(issuer);
  return {
    clientId: app.clientId,
    name: c.name,
    issuer,
    subject: c.subject,
    audiences: c.audiences ?? [TOKEN_EXCHANGE_AUDIENCE],
    issuerKeys: known === undefined ? (ownCluster(world, issuer) ? "emulator" : "not fetched") : known.state,
    ...(known?.state === "failed" ? { issuerKeysError: known.reason } : {}),
  };
}

/** `GET|POST|DELETE /_emulator/workload-identity/federated-credentials` */
function federatedCredentialsEndpoint(req: EmuRequest, world: World): EmuResponse {
  const listed = (app: App) => (app.federatedCredentials ?? []).map((c) => describeCredential(world, app, c));
  if (req.method === "GET" || req.method === "DELETE") {
    const clientId = req.url.searchParams.get("client_id");
    const app = clientId ? findApp(world, clientId) : undefined;
    if (req.method === "GET" && !clientId) return json(200, world.directory.apps.flatMap(listed));
    if (!app) return json(404, { error: `No app with client_id "${clientId ?? ""}" (send ?client_id=...).` });
    if (req.method === "GET") return json(200, listed(app));
    const name = req.url.searchParams.get("name");
    const before = app.federatedCredentials?.length ?? 0;
    app.federatedCredentials = (app.federatedCredentials ?? []).filter(
      (c) => name !== null && c.name !== name,
    );
    return json(200, { removed: before - app.federatedCredentials.length });
  }
  if (req.method !== "POST") return json(405, { error: "Use GET, POST or DELETE." });
  const body = jsonRequestBody(req);
  if (body.refused) return body.refused;
  const { clientId, ...fields } = body.input;
  const app = typeof clientId === "string" ? findApp(world, clientId) : undefined;
  if (!app) return json(404, { error: 'Send "clientId" of an app in the directory.' });
  if (!isConfidential(app))
    return json(400, {
      error: `App ${app.clientId} is a public client; federated credentials are for confidential ones.`,
    });
  const existing = app.federatedCredentials ?? [];
  if (existing.length >= MAX_FEDERATED_CREDENTIALS)
    return json(400, {
      error: `App ${app.clientId} already has ${MAX_FEDERATED_CREDENTIALS} federated credentials.`,
    });
  const credential: FederatedIdentityCredential = {
    name:
      typeof fields.name === "string"
        ? fields.name
        : `fic-${existing.length + 1}-${randomUUID().slice(0, 8)}`,
    issuer: fields.issuer as string,
    subject: fields.subject as string,
    audiences: (fields.audiences as string[] | undefined) ?? [TOKEN_EXCHANGE_AUDIENCE],
  };
  const problems = federatedCredentialProblems([...existing, credential], `app ${app.clientId}`);
  if (problems.length > 0) return json(400, { error: problems.join("; ") });
  app.federatedCredentials = [...existing, credential];
  const issuer = resolveIssuer(world, credential.issuer);
  // Entra keeps an issuer's keys; fetching them now makes the first exchange work.
  if (ownCluster(world, issuer) === undefined && stateOf(world).external.get(issuer)?.state !== "ready")
    fetchIssuerKeys(world, issuer);
  return json(201, describeCredential(world, app, credential));
}
