/**
 * The boundary every backend implements: bytes in, an outcome out. Transports
 * never retry or queue; the retrying wrapper and the exporter queue do.
 */

/** How one send ended. Transports classify their own protocol's errors. */
export type SendResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** True only for errors the protocol calls transient (gRPC UNAVAILABLE, HTTP 503, ...). */
      readonly retryable: boolean;
      /** Server-requested delay (gRPC RetryInfo, HTTP Retry-After), in ms. */
      readonly retryAfterMs?: number | undefined;
      /** Lowercase "doing x: cause" description for the log. */
      readonly reason: string;
    };

/** A backend connection: sends one serialized request at a time. */
export interface ExportTransport {
  /** Sends one request body; resolves (never rejects) with the outcome. */
  send(bytes: Uint8Array, timeoutMs: number): Promise<SendResult>;
  /** Closes connections; later sends fail. */
  shutdown(): Promise<void>;
}


/** HTTP statuses the OTLP spec (and Pyroscope) call retryable. */
export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Parses Retry-After (delta seconds or an HTTP date) into ms; undefined when absent or bad. */
export function parseRetryAfter(header: string | undefined, now: number = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Classifies an HTTP response status as a SendResult. */
export function httpResult(status: number, retryAfter: string | undefined, body: string, doing: string): SendResult {
  if (status >= 200 && status < 300) return { ok: true };
  const detail = body.trim().slice(0, 200);
  return {
    ok: false,
    retryable: RETRYABLE_HTTP_STATUSES.has(status),
    retryAfterMs: parseRetryAfter(retryAfter),
    reason: `${doing}: http ${status}${detail ? ` ${detail}` : ''}`,
  };
}
