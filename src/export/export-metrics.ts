/**
 * Counts what the export stage sent and dropped, per exporter and reason,
 * in memory (for the agent's log) and, when given a registry, as
 * prom-client counters.
 */
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';

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
  /** Dropped samples so far: exporter → reason → count. */
  drops(): Record<string, Partial<Record<DropReason, number>>>;
}

/** Creates the counters; registers `meshprof_export_*` metrics in registry when given. */
export function createExportMetrics(registry?: Registry): ExportMetrics {
  const counts: Record<string, Partial<Record<DropReason, number>>> = {};
  const registers = registry ? [registry] : [];
  const dropped = new Counter({
    name: 'meshprof_export_dropped_samples_total',
    help: 'Samples that were not delivered to a backend, by exporter and reason.',
    labelNames: ['exporter', 'reason'] as const,
    registers,
  });
  const sentSamples = new Counter({
    name: 'meshprof_export_sent_samples_total',
    help: 'Samples delivered to a backend.',
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
  return {
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
