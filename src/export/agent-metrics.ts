/**
 * The agent's own counters: what each interval collected and everything lost
 * on the way (kernel maps, symbolization, each exporter), kept in one
 * prom-client registry that the metrics server exposes.
 */
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { createExportMetrics, type ExportMetrics } from './export-metrics.js';
import type { Profile } from '../profile/model.js';
import { SYMBOLIZE_DROPS } from '../symbolize/symbolizer.js';
import { RELABEL_DROPPED } from '../profile/relabel-profile.js';
import { isDegraded } from '../stacks/drop-reasons.js';

/** Where a drop happened. */
export type DropStage = 'kernel' | 'symbolize' | 'relabel' | 'export';

/** The agent's metrics. */
export interface AgentMetrics {
  readonly registry: Registry;
  /** Handed to the exporters; their drops also count in meshprof_dropped_total{stage="export"}. */
  readonly export: ExportMetrics;
  /** Counts one interval's profile: its samples, stacks and drops. */
  recordProfile(kind: string, profile: Profile): void;
  /** Everything dropped so far, stage → reason → count. */
  drops(): Record<DropStage, Record<string, number>>;
  /** Samples kept with a degraded stack so far (cut short, frame pointers only, unsymbolized frames), stage → reason → count. */
  degraded(): Record<'kernel' | 'symbolize', Record<string, number>>;
}

/** How often the event-loop lag is sampled: about as often as the agent's loop wakes anyway. */
export const EVENT_LOOP_SAMPLE_MS = 1000;

const symbolizeReasons: ReadonlySet<string> = new Set(Object.values(SYMBOLIZE_DROPS));

/** Creates the registry and counters; default process metrics (RSS, heap) are included. */
export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry();
  // The event-loop lag histogram samples with a timer: prom-client's default 10 ms woke the
  // main thread 100 times a second (its loop otherwise wakes about once), ~0.4% of a core.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const registers = [registry];
  const samples = new Counter({
    name: 'meshprof_samples_total',
    help: 'Collected samples by profile kind (on-CPU: samples; off-CPU: context switches).',
    labelNames: ['kind'] as const,
    registers,
  });
  const stacks = new Counter({
    name: 'meshprof_stacks_total',
    help: 'Collected distinct stacks (profile sample rows) by profile kind; export drops count in these units.',
    labelNames: ['kind'] as const,
    registers,
  });
  const dropped = new Counter({
    name: 'meshprof_dropped_total',
    help: 'Data lost or left out, by stage (kernel, symbolize, relabel, export) and reason.',
    labelNames: ['stage', 'reason'] as const,
    registers,
  });
  const degradedCounter = new Counter({
    name: 'meshprof_degraded_total',
    help: 'Samples kept with less than a full, symbolized stack, by stage (kernel, symbolize) and reason; not losses.',
    labelNames: ['stage', 'reason'] as const,
    registers,
  });
  const totals: Record<DropStage, Record<string, number>> = { kernel: {}, symbolize: {}, relabel: {}, export: {} };
  const degradedTotals: Record<'kernel' | 'symbolize', Record<string, number>> = { kernel: {}, symbolize: {} };
  const drop = (stage: DropStage, reason: string, n: number): void => {
    if (n <= 0) return;
    totals[stage][reason] = (totals[stage][reason] ?? 0) + n;
    dropped.inc({ stage, reason }, n);
  };
  const inner = createExportMetrics(registry);
  const exportMetrics: ExportMetrics = {
    recordDrop(exporter, reason, n) {
      inner.recordDrop(exporter, reason, n);
      drop('export', reason, n);
    },
    recordSent: (exporter, n, bytes) => inner.recordSent(exporter, n, bytes),
    recordRetry: (exporter) => inner.recordRetry(exporter),
    recordQueue: (exporter, requests, bytes) => inner.recordQueue(exporter, requests, bytes),
    recordExportDuration: (exporter, seconds, outcome) => inner.recordExportDuration(exporter, seconds, outcome),
    drops: () => inner.drops(),
  };
  return {
    registry,
    export: exportMetrics,
    recordProfile(kind, profile) {
      samples.inc({ kind }, profile.samples.reduce((n, s) => n + (s.values[0] ?? 0), 0));
      stacks.inc({ kind }, profile.samples.length);
      for (const [reason, n] of Object.entries(profile.drops)) {
        const stage = symbolizeReasons.has(reason) ? 'symbolize' : reason === RELABEL_DROPPED ? 'relabel' : 'kernel';
        if (stage === 'relabel' || !isDegraded(reason)) drop(stage, reason, n);
        else if (n > 0) {
          degradedTotals[stage][reason] = (degradedTotals[stage][reason] ?? 0) + n;
          degradedCounter.inc({ stage, reason }, n);
        }
      }
    },
    drops: () => structuredClone(totals),
    degraded: () => structuredClone(degradedTotals),
  };
}
