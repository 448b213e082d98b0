/**
 * `WWW-Authenticate` challenges (RFC 9110 section 11.6.1, formerly RFC 7235 section 4.1): several
 * in one header, each a scheme followed by either a token68 or comma-separated `name=value`
 * parameters whose values are tokens or quoted strings (with `\` escapes). Entra's resources send
 * `Bearer` challenges with `error` and a base64 `claims` (continuous access evaluation,
 * https://learn.microsoft.com/entra/identity-platform/claims-challenge) and `PoP` challenges with a
 * `nonce`. The header comes from a server, so parsing is bounded and never throws on its content.
 */
import { ArgumentError } from "../errors.js";
import { decodeBase64ToString } from "./base64.js";

/** Headers longer than this are refused: real challenges are a few hundred bytes. */
export const MAX_WWW_AUTHENTICATE_LENGTH = 16_384;
/** Challenges past this many in one header are ignored. */
export const MAX_CHALLENGES = 16;
/** Parameters past this many in one challenge are ignored. */
export const MAX_CHALLENGE_PARAMETERS = 32;

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** The scheme as sent, e.g. `Bearer` or `PoP` (compare case-insensitively). */
  scheme: string;
  /** The parameters, names lower-cased, values unquoted; the first of a repeated name wins. */
  params: Record<string, string>;
  /** The token68 a challenge may carry instead of parameters. */
  token68?: string;
  /**
   * The `claims` parameter as JSON text, base64-decoded when it came encoded: pass it as
   * `claimsChallenge`.
   */
  claims?: string;
  /** The `nonce` parameter: pass it to `PopAuthScheme`. */
  nonce?: string;
  /** The `error` parameter, e.g. `insufficient_claims` or `invalid_token`. */
  error?: string;
  /** The `error_description` parameter. */
  error_description?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A cursor over the header text. */
interface Cursor {
  text: string;
  at: number;
}

function skipSpace(c: Cursor): void {
  while (c.at < c.text.length && (c.text[c.at] === " " || c.text[c.at] === "\t")) c.at++;
}

function token(c: Cursor): string {
  const start = c.at;
  while (c.at < c.text.length && TCHAR.test(c.text[c.at] as string)) c.at++;
  return c.text.slice(start, c.at);
}

/** A quoted string (RFC 9110 section 5.6.4), the cursor on its opening quote; unterminated: to the end. */
function quoted(c: Cursor): string {
  c.at++;
  let value = "";
  while (c.at < c.text.length) {
    const ch = c.text[c.at] as string;
    c.at++;
    if (ch === '"') return value;
    if (ch === "\\" && c.at < c.text.length) {
      value += c.text[c.at];
      c.at++;
    } else value += ch;
  }
  return value;
}

/** Moves past the next comma that is not inside a quoted string (recovery from a malformed element). */
function skipElement(c: Cursor): void {
  while (c.at < c.text.length && c.text[c.at] !== ",") {
    if (c.text[c.at] === '"') quoted(c);
    else c.at++;
  }
}

/** Whether the cursor is at `name =` (a parameter) rather than at a new challenge's scheme. */
function atParameter(c: Cursor): boolean {
  const probe = { text: c.text, at: c.at };
  if (token(probe) === "") return false;
  skipSpace(probe);
  return probe.text[probe.at] === "=";
}

/** `claims` is base64 JSON in Entra's challenges; JSON as it is elsewhere. */
function claimsText(raw: string): string | undefined {
  if (raw.trimStart().startsWith("{")) return raw;
  try {
    const decoded = decodeBase64ToString(raw);
    return decoded.trimStart().startsWith("{") ? decoded : undefined;
  } catch {
    return undefined;
  }
}

function challengeOf(scheme: string, params: Record<string, string>, token68?: string): AuthChallenge {
  const challenge: AuthChallenge = { scheme, params };
  if (token68 !== undefined) challenge.token68 = token68;
  if (params.claims !== undefined) {
    const claims = claimsText(params.claims);
    if (claims !== undefined) challenge.claims = claims;
  }
  if (params.nonce !== undefined) challenge.nonce = params.nonce;
  if (params.error !== undefined) challenge.error = params.error;
  if (params.error_description !== undefined) challenge.error_description = params.error_description;
  return challenge;
}

/** Parameters of one challenge, the cursor after its scheme; stops at the next challenge's scheme. */
function parameters(c: Cursor): { params: Record<string, string>; token68?: string } {
  const params: Record<string, string> = Object.create(null);
  let count = 0;
  skipSpace(c);
  // A token68 is the whole element: `Negotiate abc==`. (`abc=` is one too: a parameter's value is never empty.)
  const start = c.at;
  skipElement(c);
  const candidate = c.text.slice(start, c.at).trim();
  if (TOKEN68.test(candidate)) return { params, token68: candidate };
  c.at = start;
  while (c.at < c.text.length) {
    skipSpace(c);
    if (c.text[c.at] === ",") {
      c.at++;
      continue;
    }
    if (!atParameter(c)) break; // The next challenge begins here (or garbage, which the caller skips).
    const name = token(c).toLowerCase();
    skipSpace(c);
    c.at++; // "="
    skipSpace(c);
    const value = c.text[c.at] === '"' ? quoted(c) : token(c);
    if (count < MAX_CHALLENGE_PARAMETERS && !(name in params)) params[name] = value;
    count++;
    skipSpace(c);
    if (c.at < c.text.length && c.text[c.at] !== ",") skipElement(c);
  }
  return { params: { ...params } };
}

/**
 * Parses a `WWW-Authenticate` header into its challenges, in order. Malformed parts are skipped,
 * the rest is kept.
 *
 * @example
 * ```ts
 * const answer = await fetch("https://graph.microsoft.com/v1.0/me", {
 *   headers: { authorization: `Bearer ${result.access_token}` },
 * });
 * const [challenge] = parseWwwAuthenticate(answer.headers.get("www-authenticate") ?? "");
 * if (challenge?.claims) await app.acquireTokenSilent(scopes, account, { claimsChallenge: challenge.claims });
 * ```
 * @throws ArgumentError when `header` is not a string or is longer than {@link MAX_WWW_AUTHENTICATE_LENGTH}.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  if (typeof header !== "string" || header.length > MAX_WWW_AUTHENTICATE_LENGTH)
    throw new ArgumentError(
      "header",
      `A WWW-Authenticate header must be a string of at most ${MAX_WWW_AUTHENTICATE_LENGTH} characters; a longer one is not a real challenge.`,
    );
  const c: Cursor = { text: header, at: 0 };
  const challenges: AuthChallenge[] = [];
  while (c.at < c.text.length && challenges.length < MAX_CHALLENGES) {
    skipSpace(c);
    if (c.text[c.at] === ",") {
      c.at++;
      continue;
    }
    const scheme = token(c);
    if (scheme === "") {
      skipElement(c);
      continue;
    }
    const next = c.text[c.at];
    if (next !== undefined && next !== " " && next !== "\t" && next !== ",") {
      skipElement(c); // Not a scheme: `=` or another character glued to it.
      continue;
    }
    const { params, token68 } = parameters(c);
    challenges.push(challengeOf(scheme, params, token68));
  }
  return challenges;
}
