import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readOtlpEnv } from '../../src/config/otlp-env.js';
import { createExportMetrics } from '../../src/export/export-metrics.js';
import { createOtlpExporter } from '../../src/export/otlp-exporter.js';
import { silentLogger } from '../../src/log/logger.js';
import { receivedProfiles } from '../../src/receive/received-profiles.js';
import { startGrpcServer } from '../helpers/test-servers.js';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { mergeOtlpRequests } from '../../src/export/otlp-merge.js';
import { validateOtlpRequest } from '../../src/receive/otlp-validation.js';
import { buildOtlpRequest, resourcesOf } from '../helpers/build-otlp-request.js';

describe('mergeOtlpRequests', () => {
  it('keeps every resource, stack and value over one deduplicated dictionary, leaving the inputs alone', () => {
    const a = buildOtlpRequest([{ attributes: { 'service.name': 'a', 'process.pid': 1 }, stacks: [{ frames: ['x', 'main'], value: 3, thread: 't1' }, { frames: ['y', 'main'], value: 4 }] }]);
    const b = buildOtlpRequest([
      { attributes: { 'service.name': 'b' }, stacks: [{ frames: ['main'], value: 5 }, { frames: ['y', 'main'], value: 6, thread: 't1' }] },
      { attributes: { 'service.name': 'c' }, sampleType: ['alloc_space', 'bytes'], stacks: [{ frames: ['malloc', 'y', 'main'], value: 7 }] },
    ]);
    const before = [toBinary(ExportProfilesServiceRequestSchema, a), toBinary(ExportProfilesServiceRequestSchema, b)];
    const merged = mergeOtlpRequests([a, b]);
    expect(resourcesOf([merged])).toEqual(resourcesOf([a, b]));
    // Valid by the receiver's own rules, and each function, stack and string once.
    expect(validateOtlpRequest(structuredClone(merged)).rejectedProfiles).toBe(0);
    const d = merged.dictionary!;
    expect(new Set(d.stringTable).size).toBe(d.stringTable.length);
    expect(d.functionTable.map((f) => d.stringTable[f.nameStrindex])).toEqual(['', 'x', 'main', 'y', 'malloc']);
    // b's y sits at another address than a's: another location, so another stack.
    expect(d.stackTable.map((s) => s.locationIndices.length)).toEqual([0, 2, 2, 1, 2, 3]);
    expect(d.attributeTable).toHaveLength(2);
    expect([toBinary(ExportProfilesServiceRequestSchema, a), toBinary(ExportProfilesServiceRequestSchema, b)]).toEqual(before);
  });
});

describe('forwarding received requests through the OTLP exporter', () => {
  it('sends 500 requests forwarded together as one merged request, every resource and sample intact', async () => {
    const server = await startGrpcServer();
    const registry = new Registry();
    const metrics = createExportMetrics(registry);
    const exporter = createOtlpExporter(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://${server.address}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), {}, { logger: silentLogger, metrics });
    try {
      const sent = Array.from({ length: 500 }, (_, i) => buildOtlpRequest([{ attributes: { 'service.name': `svc-${i % 7}`, 'process.pid': 1000 + i }, stacks: [{ frames: [`f${i % 13}`, 'main'], value: i + 1 }] }]));
      for (const r of sent) exporter.forward(receivedProfiles('otlp-grpc', 1, () => r, () => [], toBinary(ExportProfilesServiceRequestSchema, r).length));
      await exporter.flush(10_000);
      expect(server.requests).toHaveLength(1);
      const got = resourcesOf(server.requests.map((q) => fromBinary(ExportProfilesServiceRequestSchema, q.bytes)));
      expect(got).toEqual(resourcesOf(sent));
      expect(metrics.drops()).toEqual({});
    } finally {
      await exporter.shutdown(1000);
      await server.close();
    }
  });

  it('cuts what it merges at the size limit: every request under it, every resource and sample once, decoded requests folded in as they come', async () => {
    const server = await startGrpcServer();
    const registry = new Registry();
    const metrics = createExportMetrics(registry);
    const limit = 8 * 1024;
    const exporter = createOtlpExporter(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://${server.address}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), {}, { logger: silentLogger, metrics, maxRequestBytes: limit });
    try {
      const sent = Array.from({ length: 300 }, (_, i) => buildOtlpRequest([{ attributes: { 'service.name': `svc-${i}`, 'process.pid': 1000 + i }, stacks: [{ frames: [`f${i}`, `g${i % 17}`, 'main'], value: i + 1 }] }]));
      // No size hint: the serializer measures each request itself.
      for (const r of sent) exporter.forward(receivedProfiles('otlp-grpc', 1, () => r, () => []));
      await exporter.flush(10_000);
      expect(server.requests.length).toBeGreaterThan(1);
      expect(server.requests.length).toBeLessThan(300);
      for (const q of server.requests) expect(q.bytes.length).toBeLessThanOrEqual(limit);
      const got = resourcesOf(server.requests.map((q) => fromBinary(ExportProfilesServiceRequestSchema, q.bytes)));
      expect(got).toEqual(resourcesOf(sent));
      expect(metrics.drops()).toEqual({});
    } finally {
      await exporter.shutdown(1000);
      await server.close();
    }
  });
});
