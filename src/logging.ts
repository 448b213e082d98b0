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
  log(level: LogLevel, message: string): void;
}

/** What the library calls: already filtered by level. */
export type LogSink = (level: LogLevel, message: string) => void;

const ORDER: Record<LogLevel, number> = { error: 0, warning: 1, info: 2, verbose: 3 };

export function logSink(logger: Logger | undefined): LogSink {
  if (!logger) return () => {};
  const max = ORDER[logger.level ?? "info"];
  return (level, message) => {
    if (ORDER[level] <= max) {
      try {
        logger.log(level, message);
      } catch {
        // A failing logger must not break token acquisition.
      }
    }
  };
}

/** Shows personal data only when PII logging is on. */
export function piiText(value: unknown, enablePiiLog: boolean): string {
  return enablePiiLog ? String(value) : "[PII hidden]";
}
