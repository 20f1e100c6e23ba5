/**
 * Counts what the export stage sent and dropped, per exporter and reason,
 * in memory (for the agent's log) and, when given a registry, as
 * prom-client counters.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';

/** Why samples were not delivered. */
export type DropReason = 'queue_full' | 'permanent_error' | 'retries_exhausted' | 'too_large' | 'shutdown';

/** Every drop reason, for iteration and tests. */
export const DROP_REASONS: readonly DropReason[] = [
  'queue_full',
  'permanent_error',
  'retries_exhausted',
  'too_large',
  'shutdown',
];

/** What exporters report to. */
export interface ExportMetrics {
  recordDrop(exporter: string, reason: DropReason, samples: number): void;
  recordSent(exporter: string, samples: number, bytes: number): void;
  recordRetry(exporter: string): void;
  /** The exporter's queue after a change: requests waiting (not the one in flight) and their bytes. */
  recordQueue(exporter: string, requests: number, bytes: number): void;
  /** One request's time from leaving the queue to its outcome, retries included. */
  recordExportDuration(exporter: string, seconds: number, outcome: 'sent' | 'dropped'): void;
  /** Dropped samples so far: exporter → reason → count. */
  drops(): Record<string, Partial<Record<DropReason, number>>>;
}

/** Creates the counters; registers `meshprof_export_*` metrics in registry when given. */
export function createExportMetrics(registry?: Registry): ExportMetrics {
  const counts: Record<string, Partial<Record<DropReason, number>>> = {};
  const registers = registry ? [registry] : [];
  const dropped = new Counter({
    name: 'meshprof_export_dropped_records_total',
    help: 'Records not delivered to a backend, by exporter and reason: profile stacks (pprof sample rows), network data points or log records.',
    labelNames: ['exporter', 'reason'] as const,
    registers,
  });
  const sentSamples = new Counter({
    name: 'meshprof_export_sent_records_total',
    help: 'Records delivered to a backend: profile stacks (pprof sample rows), network data points or log records.',
    labelNames: ['exporter'] as const,
    registers,
  });
  const sentBytes = new Counter({
    name: 'meshprof_export_sent_bytes_total',
    help: 'Request bytes (before compression) delivered to a backend.',
    labelNames: ['exporter'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'meshprof_export_retries_total',
    help: 'Send attempts repeated after a retryable error.',
    labelNames: ['exporter'] as const,
    registers,
  });
  const queueRequests = new Gauge({
    name: 'meshprof_export_queue_requests',
    help: 'Requests waiting in the exporter\'s queue (the one being sent is not counted).',
    labelNames: ['exporter'] as const,
    registers,
  });
  const queueBytes = new Gauge({
    name: 'meshprof_export_queue_bytes',
    help: 'Bytes of the requests waiting in the exporter\'s queue.',
    labelNames: ['exporter'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'meshprof_export_duration_seconds',
    help: 'Time from a request leaving the queue to its outcome (sent or dropped), retries and backoff included.',
    labelNames: ['exporter', 'outcome'] as const,
    // From a local Collector (ms) to a retried outage (minutes: MESHPROF_EXPORT_RETRY_MAX_ELAPSED).
    buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120, 300],
    registers,
  });
  return {
    recordQueue(exporter, requests, bytes) {
      queueRequests.set({ exporter }, requests);
      queueBytes.set({ exporter }, bytes);
    },
    recordExportDuration(exporter, seconds, outcome) {
      duration.observe({ exporter, outcome }, seconds);
    },
    recordDrop(exporter, reason, samples) {
      const byReason = (counts[exporter] ??= {});
      byReason[reason] = (byReason[reason] ?? 0) + samples;
      dropped.inc({ exporter, reason }, samples);
    },
    recordSent(exporter, samples, bytes) {
      sentSamples.inc({ exporter }, samples);
      sentBytes.inc({ exporter }, bytes);
    },
    recordRetry(exporter) {
      retries.inc({ exporter });
    },
    drops: () => structuredClone(counts),
  };
}
