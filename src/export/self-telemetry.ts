/**
 * Self-telemetry: spans for each export and each collection cycle, sent with
 * @opentelemetry/sdk-node and the OTLP/gRPC trace exporter. Off unless
 * OTEL_TRACES_EXPORTER=otlp; when off, spans go to the no-op tracer and cost
 * next to nothing. The trace exporter reads its own OTEL_EXPORTER_OTLP_* /
 * OTEL_EXPORTER_OTLP_TRACES_* variables.
 */
import type { Tracer } from '@opentelemetry/api';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { createRequire } from 'node:module';
import { envValue, type EnvRecord } from '../config/env-values.js';

/** The agent's tracing handle. */
export interface SelfTelemetry {
  readonly enabled: boolean;
  /** Runs fn inside a span named name; records failures (thrown errors, and {ok:false} results) on it. */
  span<T>(name: string, fn: () => Promise<T>, attributes?: Readonly<Record<string, string | number>>): Promise<T>;
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Starts self-telemetry when env asks for it (OTEL_TRACES_EXPORTER=otlp). */
export function startSelfTelemetry(env: EnvRecord, serviceName = 'meshprof'): SelfTelemetry {
  const choice = envValue(env, 'OTEL_TRACES_EXPORTER') ?? 'none';
  if (choice !== 'otlp' && choice !== 'none') {
    throw new Error(`reading OTEL_TRACES_EXPORTER: "${choice}" is not supported (use otlp or none)`);
  }
  if (choice === 'none') return createSelfTelemetry(trace.getTracer('meshprof'), false, async () => {});
  // Loaded only when asked for: the SDK and its gRPC exporter take most of a second to import.
  const require = createRequire(import.meta.url);
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
  const sdk = new NodeSDK({ serviceName, traceExporter: new OTLPTraceExporter(), instrumentations: [] });
  sdk.start();
  return createSelfTelemetry(trace.getTracer('meshprof'), true, () => sdk.shutdown());
}

/** Wraps a tracer; exported so tests and the controller can supply their own. */
export function createSelfTelemetry(tracer: Tracer, enabled: boolean, stop: () => Promise<void>): SelfTelemetry {
  return {
    enabled,
    span(name, fn, attributes) {
      return tracer.startActiveSpan(name, { attributes: { ...attributes } }, async (span) => {
        try {
          const result = await fn();
          if (isFailure(result)) span.setStatus({ code: SpanStatusCode.ERROR, message: failureReason(result) });
          return result;
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    shutdown: stop,
  };
}

function isFailure(v: unknown): v is { ok: false; reason?: unknown } {
  return typeof v === 'object' && v !== null && 'ok' in v && (v as { ok: unknown }).ok === false;
}

function failureReason(v: { reason?: unknown }): string {
  return typeof v.reason === 'string' ? v.reason : 'failed';
}
