/**
 * Backends that fail in the ways an outage does: slow to answer (gRPC
 * DEADLINE_EXCEEDED), never answering (HTTP), failing and then coming back.
 * Each is retried, logged once each way, and every sample is accounted for
 * by the time the exporter has shut down.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { readOtlpEnv } from '../../src/config/otlp-env.js';
import { createExportMetrics } from '../../src/export/export-metrics.js';
import { createOtlpExporter } from '../../src/export/otlp-exporter.js';
import { createOtlpGrpcTransport, PROFILES_EXPORT_METHOD } from '../../src/export/otlp-grpc-transport.js';
import { createRetryingTransport, type HealthChange } from '../../src/export/retrying-transport.js';
import type { ExportTransport, SendResult } from '../../src/export/transport.js';
import type { Logger } from '../../src/log/logger.js';
import { onCpuProfile } from '../helpers/on-cpu-profile.js';
import { startHttpServer } from '../helpers/test-servers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (a: object | string, b?: string): void => { lines.push({ level, msg: typeof a === 'string' ? a : b ?? '' }); };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A gRPC ProfilesService that takes every call and never answers. */
async function startSilentGrpcServer(): Promise<string> {
  const server = new grpc.Server();
  const pass = (b: Buffer): Buffer => b;
  server.addService(
    { Export: { path: PROFILES_EXPORT_METHOD, requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass } },
    { Export: () => undefined },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  cleanup.push(() => new Promise<void>((resolve) => { server.forceShutdown(); resolve(); }));
  return `127.0.0.1:${port}`;
}

/** A TCP server that accepts HTTP requests and never answers them. */
async function startSilentHttpServer(): Promise<string> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => { sockets.push(s); s.on('error', () => undefined); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('exporter faults', () => {
  it('gRPC DEADLINE_EXCEEDED from a backend that never answers is retryable', async () => {
    const address = await startSilentGrpcServer();
    const transport = createOtlpGrpcTransport({ endpoint: `http://${address}` });
    cleanup.push(() => transport.shutdown());
    const result: SendResult = await transport.send(new Uint8Array([1, 2, 3]), 200);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.ok ? '' : result.reason).toContain('DEADLINE_EXCEEDED');
  });

  it('an HTTP backend that never answers: every sample is counted when shutdown returns', async () => {
    const url = await startSilentHttpServer();
    const metrics = createExportMetrics();
    const logger = recordingLogger();
    const exporter = createOtlpExporter(
      readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_TIMEOUT: '60s' }),
      {},
      { logger, metrics, retry: { initialBackoffMs: 10, maxAttempts: 100 } },
    );
    const samples = onCpuProfile().samples.length;
    for (let i = 0; i < 3; i++) exporter.export([{ ...onCpuProfile(), startTimeNs: BigInt(i) }]);
    await exporter.shutdown(200);
    // One request in flight (no answer within its 60 s timeout), two queued: all three counted now.
    expect(metrics.drops()).toEqual({ 'otlp-http': { shutdown: 3 * samples } });
    await new Promise((r) => setTimeout(r, 200));
    expect(metrics.drops()).toEqual({ 'otlp-http': { shutdown: 3 * samples } });
    // The send cut off by shutdown says nothing about the backend: no "is failing" after the fact.
    expect(logger.lines.filter((l) => l.msg.includes('is failing'))).toEqual([]);
  });

  it('logs one warning when the backend starts failing and one when it recovers', async () => {
    let down = true;
    const server = await startHttpServer(() => ({ status: down ? 503 : 200 }));
    cleanup.push(() => server.close());
    const logger = recordingLogger();
    const metrics = createExportMetrics();
    const exporter = createOtlpExporter(
      readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: server.url }),
      {},
      { logger, metrics, retry: { initialBackoffMs: 5, maxBackoffMs: 5, maxAttempts: 1000, jitter: 0 } },
    );
    cleanup.push(() => exporter.shutdown(500));
    exporter.export([onCpuProfile()]);
    await expect.poll(() => server.requests.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
    down = false;
    await exporter.flush(20_000);
    exporter.export([onCpuProfile()]);
    await exporter.flush(20_000);
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe('exporter otlp-http is failing: retrying; requests wait in its queue (logged again when it recovers)');
    expect(warnings[1]).toMatch(/^exporter otlp-http recovered after \d+ failed attempts$/);
    expect(metrics.drops()).toEqual({});
  });

  it('health changes only at the edges, and a permanent refusal is not an outage', async () => {
    const script: SendResult[] = [
      { ok: false, retryable: true, reason: 'down' }, { ok: false, retryable: true, reason: 'down' }, { ok: true },
      { ok: false, retryable: false, reason: 'http 400' }, { ok: true },
    ];
    const inner: ExportTransport = { send: async () => script.shift() ?? { ok: true }, shutdown: async () => undefined };
    const transport = createRetryingTransport(inner, { initialBackoffMs: 1, jitter: 0 });
    const changes: HealthChange[] = [];
    transport.onHealthChange?.((c) => changes.push(c));
    await transport.send(new Uint8Array(), 100);
    await transport.send(new Uint8Array(), 100);
    await transport.send(new Uint8Array(), 100);
    expect(changes.map((c) => (c.healthy ? `healthy after ${c.failedAttempts}` : `failing: ${c.reason}`))).toEqual(['failing: down', 'healthy after 2']);
  });
});
