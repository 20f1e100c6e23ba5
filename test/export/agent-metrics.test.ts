import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../../src/export/agent-metrics.js';
import { ReadinessConditions, startMetricsServer } from '../../src/export/metrics-server.js';
import type { Profile } from '../../src/profile/model.js';
import { metricValue } from '../helpers/metric-value.js';

const profile = (values: number[][], drops: Record<string, number>): Profile => ({
  sampleTypes: [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }],
  periodType: { type: 'cpu', unit: 'nanoseconds' },
  period: 10_101_010,
  startTimeNs: 0n,
  durationNs: 1_000_000_000n,
  samples: values.map((v) => ({ pid: 1, tid: 1, threadName: 't', frames: [], values: v })),
  processes: new Map(),
  drops,
});

/** Times this thread gave up the CPU of its own accord (each wait that blocked: timers, polls). */
const voluntarySwitches = (): number => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync('/proc/thread-self/status', 'utf8'))?.[1]);

describe('agent metrics', () => {
  it('keeps the event-loop lag metric without waking the thread 100 times a second', async () => {
    const m = createAgentMetrics();
    const before = voluntarySwitches();
    await sleep(1000);
    const woke = voluntarySwitches() - before;
    // prom-client's default 10 ms sampling timer: about 100 wakeups here; sampling each second: a few
    expect(woke).toBeLessThan(20);
    expect(await m.registry.metrics()).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
  });

  it('counts samples, stacks and drops by stage, and serves them on /metrics', async () => {
    const m = createAgentMetrics();
    m.recordProfile('oncpu', profile([[3, 30], [2, 20]], { kernel_stack_lost: 4, symbolize_address_unmapped: 7, counts_map_full: 2 }));
    m.recordProfile('oncpu', profile([[1, 10]], { kernel_stack_lost: 1, user_stack_no_process_tables: 3 }));
    m.export.recordDrop('otlp-grpc', 'queue_full', 5);
    m.export.recordSent('otlp-grpc', 9, 1000);
    // Samples kept with a lesser stack are not drops: only the counts map's loss is.
    expect(m.drops()).toEqual({
      kernel: { counts_map_full: 2 },
      symbolize: {},
      relabel: {},
      export: { queue_full: 5 },
    });
    expect(m.degraded()).toEqual({
      kernel: { kernel_stack_lost: 5, user_stack_no_process_tables: 3 },
      symbolize: { symbolize_address_unmapped: 7 },
    });
    expect(m.export.drops()).toEqual({ 'otlp-grpc': { queue_full: 5 } });

    const server = await startMetricsServer('127.0.0.1:0', m.registry);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(metricValue(text, 'meshprof_samples_total', { kind: 'oncpu' })).toBe(6);
      expect(metricValue(text, 'meshprof_stacks_total', { kind: 'oncpu' })).toBe(3);
      expect(metricValue(text, 'meshprof_dropped_total', { stage: 'kernel', reason: 'counts_map_full' })).toBe(2);
      expect(text).not.toMatch(/meshprof_dropped_total\{[^}]*reason="(kernel_stack_lost|user_stack_no_process_tables|symbolize_address_unmapped)"/);
      expect(metricValue(text, 'meshprof_degraded_total', { stage: 'kernel', reason: 'kernel_stack_lost' })).toBe(5);
      expect(metricValue(text, 'meshprof_degraded_total', { stage: 'kernel', reason: 'user_stack_no_process_tables' })).toBe(3);
      expect(metricValue(text, 'meshprof_degraded_total', { stage: 'symbolize', reason: 'symbolize_address_unmapped' })).toBe(7);
      expect(metricValue(text, 'meshprof_dropped_total', { stage: 'export', reason: 'queue_full' })).toBe(5);
      expect(metricValue(text, 'meshprof_export_dropped_records_total', { exporter: 'otlp-grpc', reason: 'queue_full' })).toBe(5);
      expect(metricValue(text, 'meshprof_export_sent_records_total', { exporter: 'otlp-grpc' })).toBe(9);
      expect(text).toContain('process_resident_memory_bytes');
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('answers /healthz at once and /readyz with 503 until every condition holds', async () => {
    const m = createAgentMetrics();
    const readiness = new ReadinessConditions(['samplers', 'exporters']);
    const server = await startMetricsServer('127.0.0.1:0', m.registry, readiness);
    const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${server.port}${path}`);
    try {
      expect((await get('/healthz')).status).toBe(200);
      readiness.set('exporters', true);
      const before = await get('/readyz');
      expect(before.status).toBe(503);
      expect(await before.json()).toEqual({ ready: false, conditions: { samplers: false, exporters: true } });
      readiness.set('samplers', true);
      const after = await get('/readyz');
      expect(after.status).toBe(200);
      expect(await after.json()).toEqual({ ready: true, conditions: { samplers: true, exporters: true } });
      expect((await fetch(`http://127.0.0.1:${server.port}/readyz`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it("reports each exporter's queue and how long its requests took", async () => {
    const m = createAgentMetrics();
    m.export.recordQueue('pyroscope', 3, 4096);
    m.export.recordQueue('pyroscope', 2, 1024);
    m.export.recordExportDuration('pyroscope', 0.02, 'sent');
    m.export.recordExportDuration('pyroscope', 40, 'dropped');
    const text = await m.registry.metrics();
    expect(metricValue(text, 'meshprof_export_queue_requests', { exporter: 'pyroscope' })).toBe(2);
    expect(metricValue(text, 'meshprof_export_queue_bytes', { exporter: 'pyroscope' })).toBe(1024);
    expect(metricValue(text, 'meshprof_export_duration_seconds_count', { exporter: 'pyroscope', outcome: 'sent' })).toBe(1);
    expect(metricValue(text, 'meshprof_export_duration_seconds_bucket', { exporter: 'pyroscope', outcome: 'sent', le: '0.025' })).toBe(1);
    expect(metricValue(text, 'meshprof_export_duration_seconds_bucket', { exporter: 'pyroscope', outcome: 'dropped', le: '30' })).toBe(0);
    expect(metricValue(text, 'meshprof_export_duration_seconds_bucket', { exporter: 'pyroscope', outcome: 'dropped', le: '120' })).toBe(1);
  });

  it('counts processes a relabel rule left out under stage relabel, not as kernel losses', async () => {
    const m = createAgentMetrics();
    m.recordProfile('oncpu', profile([[2, 20]], { relabel_dropped: 9, kernel_stack_lost: 1 }));
    expect(m.drops()).toMatchObject({ kernel: {}, relabel: { relabel_dropped: 9 } });
    // a lost kernel stack leaves the sample in, degraded
    expect(m.degraded()).toMatchObject({ kernel: { kernel_stack_lost: 1 } });
    expect(metricValue(await m.registry.metrics(), 'meshprof_dropped_total', { stage: 'relabel', reason: 'relabel_dropped' })).toBe(9);
  });

  it('names the address when it cannot listen', async () => {
    const m = createAgentMetrics();
    const first = await startMetricsServer('127.0.0.1:0', m.registry);
    try {
      await expect(startMetricsServer(`127.0.0.1:${first.port}`, m.registry)).rejects.toThrow(`serving metrics on 127.0.0.1:${first.port}: listen EADDRINUSE`);
    } finally {
      await first.close();
    }
  });
});
