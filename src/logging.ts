/**
 * Logging. msal-ts logs through a function you give it; secrets (tokens, client secrets, passwords,
 * assertions, codes) never reach it, and personal data (usernames, account ids) only when
 * `enablePiiLog` is on.
 */

export type LogLevel = "error" | "warning" | "info" | "verbose";

/**
 * Receives msal-ts's log lines.
 *
 * @example
 * ```ts
 * const app = new ConfidentialClientApplication(id, {
 *   clientCredential: secret,
 *   logger: { level: "info", log: (level, message) => console.log(`[msal ${level}] ${message}`) },
 * });
 * ```
 */
export interface Logger {
  /** The most detailed level to receive (default `info`). */
  level?: LogLevel;
  /**
   * Receives one log line at a level no more detailed than {@link Logger.level}. Personal data appears only
   * with `enablePiiLog: true`.
   */
  log(level: LogLevel, message: string): void;
}

/** What the library calls: already filtered by level. */
export interface LogSink {
  (level: LogLevel, message: string): void;
  /**
   * The most detailed level that reaches the logger, as {@link logs} compares it (`-1`: none). A
   * sink without it takes every level.
   */
  readonly maxLevel?: number;
}

const ORDER: Record<LogLevel, number> = { error: 0, warning: 1, info: 2, verbose: 3 };

/**
 * Whether a line at `level` would reach the logger. Lines that cost something to build (a cache
 * hit's, a request's) are built only when this holds: with logging off, a cache hit must stay as
 * cheap as it is without any log call (DESIGN section 7).
 *
 * @example
 * ```ts
 * if (logs(ctx.log, "verbose")) ctx.log("verbose", `Cache hit for ${scopes.join(" ")}.`);
 * ```
 */
export function logs(sink: LogSink, level: LogLevel): boolean {
  return (sink.maxLevel ?? ORDER.verbose) >= ORDER[level];
}

const NO_LINES: LogSink = Object.assign(() => {}, { maxLevel: -1 });

export function logSink(logger: Logger | undefined): LogSink {
  if (!logger) return NO_LINES;
  const max = ORDER[logger.level ?? "info"];
  const sink = (level: LogLevel, message: string) => {
    if (ORDER[level] <= max) {
      try {
        logger.log(level, message);
      } catch {
        // A failing logger must not break token acquisition.
      }
    }
  };
  return Object.assign(sink, { maxLevel: max });
}

/** What stands in for personal data in a line when PII logging is off. */
export const PII_HIDDEN = "[PII hidden]";

/**
 * Shows personal data (a user name, an account or object id) only when PII logging is on. Every
 * line that names a user passes the value through this; tokens and other secrets are never logged.
 */
export function piiText(value: unknown, enablePiiLog: boolean): string {
  return enablePiiLog ? String(value) : PII_HIDDEN;
}

/**
 * Where a URL carries a user's name: the path of user realm discovery, which username/password
 * sign-in asks before choosing managed or federated (`/common/userrealm/<upn>`), and the sign-in
 * hints in an authorize or logout URL's query.
 */
const URL_PII = [/(\/userrealm\/)[^/?#\s:]+/gi, /([?&](?:login_hint|logout_hint|username|sid)=)[^&#\s]+/gi];

/**
 * A sink for lines that name the URLs requested (the HTTP layer describes each request by its
 * URL): with PII logging off, the user name a URL carries is replaced by {@link PII_HIDDEN}.
 */
export function hidingPiiInUrls(sink: LogSink, enablePiiLog: boolean): LogSink {
  if (enablePiiLog) return sink;
  const hiding = (level: LogLevel, message: string) => {
    let line = message;
    for (const pattern of URL_PII) line = line.replace(pattern, `$1${PII_HIDDEN}`);
    sink(level, line);
  };
  return sink.maxLevel === undefined ? hiding : Object.assign(hiding, { maxLevel: sink.maxLevel });
}
