import { afterEach, describe, expect, it } from 'vitest';
import { startSelfTelemetry } from '../../src/export/self-telemetry.js';
import { startGrpcServer } from '../helpers/test-servers.js';

const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('self-telemetry', () => {
  it('is off by default and still runs the wrapped work', async () => {
    const t = startSelfTelemetry({});
    expect(t.enabled).toBe(false);
    expect(await t.span('collect', async () => 42)).toBe(42);
    await expect(t.span('collect', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(() => startSelfTelemetry({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow('reading OTEL_TRACES_EXPORTER');
  });

  it('sends spans over OTLP/gRPC when OTEL_TRACES_EXPORTER=otlp', async () => {
    const server = await startGrpcServer(() => ({}), TRACE_EXPORT);
    cleanup.push(() => server.close());
    // The SDK's trace exporter reads its endpoint from process.env.
    const saved = process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
    process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] = `http://${server.address}`;
    cleanup.push(async () => {
      if (saved === undefined) delete process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
      else process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] = saved;
    });
    const t = startSelfTelemetry({ OTEL_TRACES_EXPORTER: 'otlp' }, 'meshprof-test');
    expect(t.enabled).toBe(true);
    await t.span('export otlp-grpc', async () => ({ ok: false, reason: 'backend said no' }), { 'meshprof.samples': 4 });
    await t.span('collection cycle', async () => 'done');
    await t.shutdown();
    expect(server.requests.length).toBeGreaterThanOrEqual(1);
    // Span names, attribute keys and strings travel as plain UTF-8 inside the protobuf.
    const wire = Buffer.concat(server.requests.map((r) => r.bytes)).toString('latin1');
    for (const text of ['export otlp-grpc', 'collection cycle', 'meshprof.samples', 'backend said no', 'meshprof-test']) {
      expect(wire).toContain(text);
    }
  });
});
