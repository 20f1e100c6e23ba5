import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { readOtlpEnv } from '../../src/config/otlp-env.js';
import { createExportMetrics } from '../../src/export/export-metrics.js';
import { createOtlpExporter } from '../../src/export/otlp-exporter.js';
import type { ExporterDeps } from '../../src/export/otlp-exporter.js';
import type { ProfileExporter } from '../../src/export/queued-exporter.js';
import { backoffDelay } from '../../src/export/retrying-transport.js';
import { manyProcessesProfile, onCpuProfile } from '../helpers/on-cpu-profile.js';
import { expectedRows, resolveRequest, sortRows } from '../helpers/resolve-request.js';
import { startGrpcServer, startHttpServer } from '../helpers/test-servers.js';
import { type LogFn, type Logger } from '../../src/log/logger.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function recordingLogger(): Logger & { warnings: { obj: object; msg: string }[] } {
  const warnings: { obj: object; msg: string }[] = [];
  const none = (): void => undefined;
  return { warnings, debug: none, info: none, error: none, warn: ((obj: object, msg: string) => { warnings.push({ obj, msg }); }) as LogFn };
}

function deps(overrides: Partial<ExporterDeps> = {}): ExporterDeps & { logger: ReturnType<typeof recordingLogger> } {
  return {
    logger: recordingLogger(),
    metrics: createExportMetrics(),
    retry: { initialBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 5 },
    ...overrides,
  } as ExporterDeps & { logger: ReturnType<typeof recordingLogger> };
}

function httpExporter(url: string, d: ExporterDeps): ProfileExporter {
  const config = readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_TIMEOUT: '2000' });
  const exporter = createOtlpExporter(config, { hostName: 'h' }, d);
  cleanup.push(() => exporter.shutdown(500));
  return exporter;
}

describe('queued OTLP exporter', () => {
  it('retries 503 twice, then delivers the same request intact', async () => {
    const server = await startHttpServer((_, n) => (n <= 2 ? { status: 503 } : { status: 200 }));
    cleanup.push(() => server.close());
    const registry = new Registry();
    const d = deps({ metrics: createExportMetrics(registry) });
    const exporter = httpExporter(server.url, d);
    const profile = onCpuProfile();
    exporter.export([profile]);
    await exporter.flush(5000);
    expect(server.requests.map((r) => r.path)).toEqual(Array(3).fill('/v1development/profiles'));
    expect(server.requests[2]!.body.equals(server.requests[0]!.body)).toBe(true);
    expect(sortRows(resolveRequest(server.requests[2]!.body).samples)).toEqual(sortRows(expectedRows(profile)));
    expect(d.metrics.drops()).toEqual({});
    const metrics = await registry.getMetricsAsJSON();
    const value = (name: string): number => metrics.find((m) => m.name === name)?.values.reduce((n, v) => n + v.value, 0) ?? -1;
    expect(value('meshprof_export_retries_total')).toBe(2);
    expect(value('meshprof_export_sent_records_total')).toBe(4);
  });

  it('retries gRPC UNAVAILABLE after the RetryInfo delay, then succeeds', async () => {
    const server = await startGrpcServer((n) => (n === 1 ? { code: grpc.status.UNAVAILABLE, retryDelayMs: 300 } : {}));
    cleanup.push(() => server.close());
    const d = deps();
    const config = readOtlpEnv({ OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: `http://${server.address}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    const exporter = createOtlpExporter(config, {}, d);
    cleanup.push(() => exporter.shutdown(500));
    const started = Date.now();
    exporter.export([onCpuProfile()]);
    await exporter.flush(5000);
    expect(server.requests).toHaveLength(2);
    // The server asked for 300 ms; the client backoff alone would be ~5 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(resolveRequest(server.requests[1]!.bytes).samples).toHaveLength(4);
    expect(d.metrics.drops()).toEqual({});
  });

  it('does not retry a permanent 400, counts it, and logs the reason once', async () => {
    const server = await startHttpServer(() => ({ status: 400, body: 'unsupported profile' }));
    cleanup.push(() => server.close());
    const d = deps();
    const exporter = httpExporter(server.url, d);
    exporter.export([onCpuProfile()]);
    await exporter.flush(5000);
    exporter.export([onCpuProfile()]);
    await exporter.flush(5000);
    expect(server.requests).toHaveLength(2);
    expect(d.metrics.drops()).toEqual({ 'otlp-http': { permanent_error: 8 } });
    expect(d.logger.warnings).toHaveLength(1);
    expect(JSON.stringify(d.logger.warnings[0])).toContain('http 400 unsupported profile');
  });

  it('gives up after maxAttempts and counts retries_exhausted', async () => {
    const server = await startHttpServer(() => ({ status: 502 }));
    cleanup.push(() => server.close());
    const d = deps({ retry: { initialBackoffMs: 1, maxBackoffMs: 2, maxAttempts: 3 } });
    const exporter = httpExporter(server.url, d);
    exporter.export([onCpuProfile()]);
    await exporter.flush(5000);
    expect(server.requests).toHaveLength(3);
    expect(d.metrics.drops()).toEqual({ 'otlp-http': { retries_exhausted: 4 } });
  });

  it('bounds the queue during an outage and delivers what it kept afterwards', async () => {
    let down = true;
    const server = await startHttpServer(() => ({ status: down ? 503 : 200 }));
    cleanup.push(() => server.close());
    const d = deps({ queue: { maxItems: 2, maxBytes: 1 << 20 }, retry: { initialBackoffMs: 10, maxBackoffMs: 10, maxAttempts: 1000, jitter: 0 } });
    const exporter = httpExporter(server.url, d);
    // One request in flight (retrying), two queued, three refused.
    for (let i = 0; i < 6; i++) exporter.export([{ ...onCpuProfile(), startTimeNs: BigInt(i) }]);
    expect(d.metrics.drops()).toEqual({ 'otlp-http': { queue_full: 12 } });
    await new Promise((r) => setTimeout(r, 100));
    down = false;
    await exporter.flush(5000);
    const delivered = server.requests.filter((_, i, all) => i >= all.length - 3).map((r) => resolveRequest(r.body).profiles[0]!.timeUnixNano);
    expect(delivered).toEqual([0n, 1n, 2n]);
  });

  it('splits an oversized batch by resource and counts a process too large to send', async () => {
    const server = await startHttpServer();
    cleanup.push(() => server.close());
    const d = deps({ maxRequestBytes: 24 * 1024 });
    const exporter = httpExporter(server.url, d);
    const big = manyProcessesProfile(6, 8);
    const huge = manyProcessesProfile(1, 200);
    exporter.export([big, { ...huge, samples: huge.samples.map((s) => ({ ...s, pid: 99 })), processes: new Map([[99, { pid: 99, name: 'huge', attributes: {} }]]) }]);
    await exporter.flush(5000);
    expect(server.requests.length).toBeGreaterThan(1);
    const rows = server.requests.flatMap((r) => {
      expect(r.body.length).toBeLessThanOrEqual(24 * 1024);
      return resolveRequest(r.body).samples;
    });
    expect(sortRows(rows)).toEqual(sortRows(expectedRows(big)));
    expect(d.metrics.drops()).toEqual({ 'otlp-http': { too_large: 200 } });
  });

  it('shuts down within the deadline against a dead backend and counts the rest', async () => {
    const server = await startHttpServer(() => ({ status: 503 }));
    cleanup.push(() => server.close());
    const d = deps({ retry: { initialBackoffMs: 10_000, maxAttempts: 10 } });
    const config = readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: server.url });
    const exporter = createOtlpExporter(config, {}, d);
    exporter.export([onCpuProfile()]);
    exporter.export([onCpuProfile()]);
    const started = Date.now();
    await exporter.shutdown(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(d.metrics.drops()).toEqual({ 'otlp-http': { shutdown: 8 } });
    exporter.export([onCpuProfile()]);
    expect(d.metrics.drops()).toEqual({ 'otlp-http': { shutdown: 12 } });
  });
});

describe('createQueuedExporter', () => {
  it('counts a serializer failure instead of throwing into the caller', async () => {
    const { createQueuedExporter } = await import('../../src/export/queued-exporter.js');
    const { createRetryingTransport } = await import('../../src/export/retrying-transport.js');
    const d = deps();
    let sent = 0;
    const exporter = createQueuedExporter({
      name: 'broken',
      serializer: { serialize: () => { throw new Error('bad frame'); } },
      transport: createRetryingTransport({ send: async () => { sent++; return { ok: true }; }, shutdown: async () => {} }),
      metrics: d.metrics,
      logger: d.logger,
    });
    expect(() => exporter.export([onCpuProfile()])).not.toThrow();
    await exporter.shutdown(100);
    expect(sent).toBe(0);
    expect(d.metrics.drops()).toEqual({ broken: { permanent_error: 4 } });
    expect(JSON.stringify(d.logger.warnings)).toContain('serializing profiles: bad frame');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, caps, and jitters within ±20%', () => {
    const o = { initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, { ...o, random: () => 0.5 }))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(1, { ...o, random: () => 0 })).toBe(80);
    expect(backoffDelay(1, { ...o, random: () => 1 })).toBe(120);
  });
});

describe('createExporters', () => {
  it('creates only the exporters the environment asks for', async () => {
    const { createExporters } = await import('../../src/export/exporters-from-env.js');
    const { readExportersEnv } = await import('../../src/config/exporters-env.js');
    const createExportersFromEnv = (env: Record<string, string>, d: ReturnType<typeof deps>) => createExporters(readExportersEnv(env), d);
    const d = deps();
    expect(createExportersFromEnv({}, d)).toEqual([]);
    const both = createExportersFromEnv(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', MESHPROF_PYROSCOPE_URL: 'http://127.0.0.1:1' },
      d,
    );
    expect(both.map((e) => e.name)).toEqual(['otlp-grpc', 'pyroscope']);
    await Promise.all(both.map((e) => e.shutdown(10)));
    expect(() => createExportersFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_INSECURE: 'maybe' }, d)).toThrow(
      'OTEL_EXPORTER_OTLP_INSECURE=maybe: not a boolean',
    );
  });
});
