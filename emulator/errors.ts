/**
 * Errors shaped as Entra ID sends them: `error`, `error_description` starting with `AADSTS<code>:` and
 * ending with the trace id, correlation id and timestamp, `error_codes`, `timestamp`, `trace_id`,
 * `correlation_id` and `error_uri`. See
 * https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 */
import { randomUUID } from "node:crypto";

export interface EntraError {
  status: number;
  body: Record<string, unknown>;
}

export interface ErrorContext {
  correlationId: string;
  baseUrl: string;
}

/** Entra's timestamp format: `2026-11-21 20:54:56Z`. */
export function entraTimestamp(date = new Date()): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

export function entraError(
  ctx: ErrorContext,
  error: string,
  code: number,
  message: string,
  extra: { status?: number; suberror?: string; claims?: string } = {},
): EntraError {
  const traceId = randomUUID();
  const timestamp = entraTimestamp();
  const body: Record<string, unknown> = {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${ctx.correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: ctx.correlationId,
    error_uri: `${ctx.baseUrl}/error?code=${code}`,
  };
  if (extra.suberror) body.suberror = extra.suberror;
  if (extra.claims) body.claims = extra.claims;
  return { status: extra.status ?? (error === "invalid_client" ? 401 : 400), body };
}
