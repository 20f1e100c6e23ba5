/**
 * A retrying wrapper around any transport: exponential backoff with jitter
 * for the errors the transport calls retryable, the server's own delay
 * (RetryInfo, Retry-After) when it gives one, and a bound on total time.
 */
import type { ExportTransport } from './transport.js';

/** Backoff settings; the defaults follow the OTLP exporters'. */
export interface RetryOptions {
  /** Attempts including the first; default 6. */
  readonly maxAttempts?: number | undefined;
  readonly initialBackoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
  readonly multiplier?: number | undefined;
  /** Give up once this much time has passed since the first attempt; default 5 min. */
  readonly maxElapsedMs?: number | undefined;
  /** Fraction of each delay randomised either way; default 0.2. */
  readonly jitter?: number | undefined;
  readonly random?: (() => number) | undefined;
  /** Called before each wait, for metrics. */
  readonly onRetry?: ((delayMs: number, reason: string) => void) | undefined;
}

/** How a retried send finally ended. */
export type RetryOutcome =
  | { readonly ok: true; readonly attempts: number }
  | {
      readonly ok: false;
      readonly kind: 'permanent' | 'retries_exhausted' | 'aborted';
      readonly reason: string;
      readonly attempts: number;
    };

/** A change of a transport's health: failing from the first failed attempt, healthy again at the first success. */
export type HealthChange =
  | { readonly healthy: false; readonly reason: string }
  | { readonly healthy: true; readonly failedAttempts: number; readonly failingMs: number };

/** A transport whose sends retry; shutdown closes the inner transport. */
export interface RetryingTransport {
  send(bytes: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<RetryOutcome>;
  shutdown(): Promise<void>;
  /** Calls listener when the backend starts failing and when it works again (not on every attempt). */
  onHealthChange?(listener: (change: HealthChange) => void): void;
}

/** The backoff before retry number `retry` (1-based), jittered. */
export function backoffDelay(retry: number, options: RetryOptions = {}): number {
  const initial = options.initialBackoffMs ?? 1000;
  const base = Math.min(options.maxBackoffMs ?? 30_000, initial * (options.multiplier ?? 1.5) ** (retry - 1));
  const jitter = options.jitter ?? 0.2;
  const r = (options.random ?? Math.random)();
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * r)));
}

/** Wraps transport so that retryable failures are retried with backoff. */
export function createRetryingTransport(transport: ExportTransport, options: RetryOptions = {}): RetryingTransport {
  const maxAttempts = options.maxAttempts ?? 6;
  const maxElapsedMs = options.maxElapsedMs ?? 300_000;
  const listeners: ((change: HealthChange) => void)[] = [];
  let failing: { since: number; attempts: number } | undefined;
  const attempted = (ok: boolean, reason: string): void => {
    if (ok && failing !== undefined) {
      const change: HealthChange = { healthy: true, failedAttempts: failing.attempts, failingMs: Date.now() - failing.since };
      failing = undefined;
      for (const l of listeners) l(change);
    } else if (!ok) {
      if (failing !== undefined) {
        failing.attempts++;
        return;
      }
      failing = { since: Date.now(), attempts: 1 };
      for (const l of listeners) l({ healthy: false, reason });
    }
  };

  return {
    onHealthChange(listener) {
      listeners.push(listener);
    },
    async send(bytes, timeoutMs, signal): Promise<RetryOutcome> {
      const started = Date.now();
      for (let attempt = 1; ; attempt++) {
        if (signal?.aborted) return { ok: false, kind: 'aborted', reason: 'sending: aborted by shutdown', attempts: attempt - 1 };
        const result = await transport.send(bytes, timeoutMs);
        // An outage is a retryable failure; a request the backend refuses (permanent) says nothing of its health.
        if (result.ok || result.retryable) attempted(result.ok, result.ok ? '' : result.reason);
        if (result.ok) return { ok: true, attempts: attempt };
        if (!result.retryable) return { ok: false, kind: 'permanent', reason: result.reason, attempts: attempt };
        const delay = result.retryAfterMs ?? backoffDelay(attempt, options);
        if (attempt >= maxAttempts || Date.now() - started + delay > maxElapsedMs) {
          return { ok: false, kind: 'retries_exhausted', reason: result.reason, attempts: attempt };
        }
        options.onRetry?.(delay, result.reason);
        if (!(await sleep(delay, signal))) {
          return { ok: false, kind: 'aborted', reason: result.reason, attempts: attempt };
        }
      }
    },
    shutdown: () => transport.shutdown(),
  };
}

/** Resolves true after ms, or false as soon as signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
