/**
 * Shared pieces of the sign-in integration tests: the seeded directory's users and apps as
 * msal-ts applications pointed at the emulator, a whole auth code flow (initiate, sign in on the
 * emulator's page over HTTP, redeem), the emulator's token request log, a capturing logger and the
 * emulator's CAE resource.
 */
import type { Emulator, LoggedRequest } from "../../../emulator/index.js";
import {
  type ClientApplication,
  type ClientApplicationOptions,
  ConfidentialClientApplication,
  type LogLevel,
  PublicClientApplication,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, authority } from "../../support/emulator.js";
import { signInOverHttp } from "../../support/sign-in.js";

/** A Microsoft Graph permission: the emulator issues Graph tokens for bare permissions. */
export const SCOPES = ["User.Read"];
/** What msal-ts sends as `scope` for {@link SCOPES}: sorted, with the OpenID Connect scopes. */
export const SENT_SCOPE = "User.Read offline_access openid profile";
/** The seeded web app's registered redirect URI. */
export const WEB_REDIRECT = "https://app.contoso.test/auth/callback";
/** A loopback redirect: public apps registered with `http://localhost` accept any port. */
export const LOOPBACK_REDIRECT = "http://localhost:53117";

export type Account = Awaited<ReturnType<ClientApplication["getAccounts"]>>[number];
export type FlowOptions = Parameters<ClientApplication["initiateAuthCodeFlow"]>[1];
export type AuthCodeFlow = Awaited<ReturnType<ClientApplication["initiateAuthCodeFlow"]>>;

export interface DirectoryUser {
  username: string;
  password: string;
  tenant: string;
}

/** A seeded user by the part of the username before `@` (`alice`, `bob`). */
export function seededUser(emulator: Emulator, name: string): DirectoryUser {
  const found = emulator.directory.users.find((u) => u.username.startsWith(`${name}@`));
  if (!found) throw new Error(`The emulator directory has no user ${name}.`);
  return found;
}

/** The client id of the seeded app of a kind (`confidential`, `public`). */
export function clientIdOf(emulator: Emulator, kind: string): string {
  return app(emulator, kind).clientId;
}

/** The family apps (FOCI) A and B, in the directory's order. */
export function familyAppIds(emulator: Emulator): [string, string] {
  const ids = emulator.directory.apps.filter((a) => a.kind === "foci").map((a) => a.clientId);
  if (ids.length !== 2) throw new Error(`Expected two FOCI apps, the directory has ${ids.length}.`);
  return ids as [string, string];
}

/** The seeded web app (confidential, with its secret) against the first tenant unless told otherwise. */
export function webApp(
  emulator: Emulator,
  options: Partial<ClientApplicationOptions> = {},
): ConfidentialClientApplication {
  const web = app(emulator, "confidential");
  return new ConfidentialClientApplication(web.clientId, {
    authority: authority(emulator),
    validateAuthority: false,
    clientCredential: web.secret as string,
    ...options,
  });
}

/** A public client of the directory (the public app unless `clientId` says otherwise). */
export function publicApp(
  emulator: Emulator,
  options: Partial<ClientApplicationOptions> = {},
  clientId = clientIdOf(emulator, "public"),
): PublicClientApplication {
  return new PublicClientApplication(clientId, {
    authority: authority(emulator),
    validateAuthority: false,
    ...options,
  });
}

export interface SignedIn {
  flow: AuthCodeFlow;
  /** The authorization response, as a web app reads it from its callback URL. */
  response: Record<string, string>;
  result: TokenSuccess;
}

/** Starts a flow, signs `who` in on the emulator's page and returns the authorization response. */
export async function authorize(
  client: ClientApplication,
  who: DirectoryUser,
  options: FlowOptions = {},
  scopes: string[] = SCOPES,
): Promise<{ flow: AuthCodeFlow; response: Record<string, string> }> {
  const flow = await client.initiateAuthCodeFlow(scopes, options);
  const { params } = await signInOverHttp(flow.auth_uri, who.username, who.password);
  return { flow, response: Object.fromEntries(params) };
}

/** The whole auth code flow: authorize, then redeem the response with the flow. */
export async function signIn(
  client: ClientApplication,
  who: DirectoryUser,
  options: FlowOptions = {},
): Promise<SignedIn> {
  const { flow, response } = await authorize(client, who, options);
  const result = success(await client.acquireTokenByAuthCodeFlow(flow, response));
  return { flow, response, result };
}

/** Narrows a result to a success, failing with the server's error when it is not one. */
export function success(result: TokenResult | null): TokenSuccess {
  if (result === null) throw new Error("Expected a token, got null.");
  if ("error" in result)
    throw new Error(`Expected a token, got ${String(result.error)}: ${String(result.error_description)}`);
  return result;
}

/** `uid.utid`, the home account id of the user a result signed in. */
export function homeAccountIdOf(result: TokenSuccess): string {
  const claims = result.id_token_claims;
  if (!claims?.oid || !claims.tid) throw new Error("The result has no id_token claims with oid and tid.");
  return `${claims.oid}.${claims.tid}`;
}

/** The one cached account of a user; fails when there is not exactly one. */
export async function accountOf(client: ClientApplication, who: DirectoryUser): Promise<Account> {
  const found = await client.getAccounts({ username: who.username });
  if (found.length !== 1) throw new Error(`Expected one account for ${who.username}, got ${found.length}.`);
  return found[0] as Account;
}

/** Token requests the emulator logged since the last `clearRequests()`, optionally of one grant type. */
export function tokenRequests(emulator: Emulator, grantType?: string): LoggedRequest[] {
  return emulator
    .requests("token")
    .filter((r) => grantType === undefined || r.form?.grant_type === grantType);
}

export function form(request: LoggedRequest | undefined): Record<string, string> {
  if (!request?.form) throw new Error("Expected a logged token request with a form.");
  return request.form;
}

/** A logger that keeps what msal-ts logs at `info` and above. */
export function capturingLogger(): {
  logger: { level: LogLevel; log(l: LogLevel, m: string): void };
  messages: string[];
} {
  const messages: string[] = [];
  return { logger: { level: "info", log: (_level, message) => messages.push(message) }, messages };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the clock's epoch second is at least `epochSecond`. */
export async function sleepUntilSecond(epochSecond: number): Promise<void> {
  const wait = epochSecond * 1000 - Date.now();
  if (wait > 0) await sleep(wait + 20);
}

export interface ResourceAnswer {
  status: number;
  /** The `WWW-Authenticate` header's parameters (`error`, `claims`...), when there is one. */
  challenge: Record<string, string> | undefined;
  body: Record<string, unknown>;
}

/** Calls the emulator's CAE resource with a bearer token. */
export async function callResource(emulator: Emulator, accessToken: string): Promise<ResourceAnswer> {
  const res = await fetch(`${emulator.url}/_emulator/resource`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  const header = res.headers.get("www-authenticate");
  const challenge = header
    ? Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    : undefined;
  return { status: res.status, challenge, body: (await res.json()) as Record<string, unknown> };
}

/** Records a CAE revocation event for a user (`POST /_emulator/cae-event`). */
export async function caeEvent(emulator: Emulator, username: string): Promise<number> {
  const res = await fetch(`${emulator.url}/_emulator/cae-event`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username }),
  });
  const body = (await res.json()) as { at?: number };
  if (res.status !== 200 || typeof body.at !== "number")
    throw new Error(`The CAE event was refused: ${res.status} ${JSON.stringify(body)}`);
  return body.at;
}
