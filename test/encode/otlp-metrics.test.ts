import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { encodeOtlpMetricsBinary, encodeOtlpMetricsJson } from '../../src/encode/otlp-metrics.js';
import { buildNetworkView, bucketQuantile, encodeNetworkJson } from '../../src/encode/network-view.js';
import { encodeNetworkHtml } from '../../src/encode/network-html.js';
import { encodeNotableLogsBinary, NOTABLE_REQUEST_EVENT } from '../../src/encode/otlp-logs.js';
import { ExportLogsServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { ExportMetricsServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { KeyValue } from '../../src/gen/opentelemetry/proto/common/v1/common_pb.js';
import { HTTP_DURATION_BUCKETS, type NetworkReport } from '../../src/profile/network-report.js';

function attrs(kvs: readonly KeyValue[]): Record<string, unknown> {
  return Object.fromEntries(kvs.map((kv) => [kv.key, kv.value?.value.value]));
}

function buckets(at: Record<number, number>): number[] {
  return Array.from({ length: HTTP_DURATION_BUCKETS.length + 1 }, (_, i) => at[i] ?? 0);
}

const report: NetworkReport = {
  startTimeNs: 1_700_000_000_000_000_000n,
  durationNs: 10_000_000_000n,
  http: [
    { pid: 100, role: 'server', method: 'GET', statusCode: 200, protocolVersion: '1.1', tls: true, server: { address: '10.0.0.1', port: 443 }, path: undefined,
      count: 3, sum: 0.16, min: 0.005, max: 0.15, bucketCounts: buckets({ 0: 2, 6: 1 }) },
    { pid: 100, role: 'client', method: 'POST', statusCode: undefined, protocolVersion: '1.1', tls: false, server: { address: '10.0.0.2', port: 8080 }, path: undefined,
      count: 1, sum: 2, min: 2, max: 2, bucketCounts: buckets({ 10: 1 }) },
  ],
  tcp: [{ tgid: 100, role: 'server', server: { address: '10.0.0.1', port: 443 }, clientAddress: '10.0.0.9', protocol: undefined, bytesSent: 5000, bytesReceived: 700, opened: 3, closed: 2, retransmits: 1, rttSumUs: 400, rttCount: 2, http2Streams: 0 }],
  notable: [{ reason: 'slow', pid: 100, tid: 101, role: 'server', tls: true, method: 'GET', path: '/slow', statusCode: 200, startTimeNs: 1_700_000_000_100_000_000n, durationNs: 150_000_000,
    local: { address: '10.0.0.1', port: 443 }, peer: { address: '10.0.0.9', port: 50123 },
    stacks: [{ frames: ['burn', 'handle', 'main'], samples: 12 }, { frames: ['do_syscall_64', 'burn', 'handle', 'main'], samples: 1 }] }],
  slowThresholdNs: 100_000_000,
  processes: new Map([[100, { pid: 100, name: 'nginx', executablePath: '/usr/sbin/nginx', attributes: { 'k8s.pod.name': 'web-1' } }]]),
  drops: { response_without_request: 4 },
};

describe('OTLP metrics', () => {
  it('decodes to semantic-convention histograms with the advised buckets, and TCP sums', () => {
    const req = fromBinary(ExportMetricsServiceRequestSchema, encodeOtlpMetricsBinary(report, { hostName: 'node-1' }));
    expect(req.resourceMetrics).toHaveLength(1);
    const rm = req.resourceMetrics[0]!;
    expect(attrs(rm.resource!.attributes)).toMatchObject({ 'process.pid': 100n, 'k8s.pod.name': 'web-1', 'host.name': 'node-1', 'process.executable.name': 'nginx' });
    const metrics = rm.scopeMetrics[0]!.metrics;
    expect(metrics.map((m) => m.name)).toEqual([
      'http.server.request.duration', 'http.client.request.duration', 'network.io',
      'meshprof.tcp.connection.opened', 'meshprof.tcp.connection.closed', 'meshprof.tcp.retransmits', 'meshprof.tcp.rtt',
    ]);
    const server = metrics[0]!;
    expect(server.unit).toBe('s');
    if (server.data.case !== 'histogram') throw new Error('not a histogram');
    expect(server.data.value.aggregationTemporality).toBe(1);
    const p = server.data.value.dataPoints[0]!;
    expect(p.explicitBounds).toContain(0.1);
    expect(p.explicitBounds).toContain(0.25);
    expect(p.count).toBe(3n);
    expect(p.bucketCounts[p.explicitBounds.indexOf(0.25)]).toBe(1n);
    expect(p.startTimeUnixNano).toBe(report.startTimeNs);
    expect(p.timeUnixNano).toBe(report.startTimeNs + report.durationNs);
    expect(attrs(p.attributes)).toEqual({
      'http.request.method': 'GET', 'http.response.status_code': 200n, 'server.address': '10.0.0.1', 'server.port': 443n,
      'network.protocol.name': 'http', 'network.protocol.version': '1.1', 'url.scheme': 'https',
    });
    const client = metrics[1]!;
    if (client.data.case !== 'histogram') throw new Error('not a histogram');
    expect(attrs(client.data.value.dataPoints[0]!.attributes)).toMatchObject({ 'error.type': 'no_response', 'server.address': '10.0.0.2', 'server.port': 8080n });
    const io = metrics[2]!;
    if (io.data.case !== 'sum') throw new Error('not a sum');
    expect(io.data.value.isMonotonic).toBe(true);
    expect(io.data.value.dataPoints.map((d) => [attrs(d.attributes)['network.io.direction'], d.value.value])).toEqual([['transmit', 5000n], ['receive', 700n]]);
    const rtt = metrics[6]!;
    if (rtt.data.case !== 'gauge') throw new Error('not a gauge');
    expect(rtt.data.value.dataPoints[0]!.value.value).toBeCloseTo(0.0002);
  });

  it('writes OTLP/JSON with integer enums and string int64s', () => {
    const json = JSON.parse(encodeOtlpMetricsJson(report)) as { resourceMetrics: { scopeMetrics: { metrics: { histogram?: { aggregationTemporality: unknown; dataPoints: { count: unknown }[] } }[] }[] }[] };
    const h = json.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.histogram!;
    expect(h.aggregationTemporality).toBe(1);
    expect(h.dataPoints[0]!.count).toBe('3');
  });
});

describe('OTLP logs of notable requests', () => {
  it('writes one WARN record per slow request with its method, path, status, duration and ends', () => {
    const req = fromBinary(ExportLogsServiceRequestSchema, encodeNotableLogsBinary(report, { hostName: 'node-1' })!);
    expect(req.resourceLogs).toHaveLength(1);
    const rec = req.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(rec.eventName).toBe(NOTABLE_REQUEST_EVENT);
    expect(rec.severityText).toBe('WARN');
    expect(rec.timeUnixNano).toBe(1_700_000_000_100_000_000n);
    expect(rec.body?.value).toEqual({ case: 'stringValue', value: 'slow GET /slow 200 150.0 ms' });
    expect(attrs(rec.attributes)).toEqual({
      'meshprof.network.reason': 'slow', 'meshprof.network.side': 'server', 'http.request.method': 'GET', 'url.path': '/slow', 'url.scheme': 'https',
      'http.response.status_code': 200n, 'meshprof.http.duration': 0.15, 'server.address': '10.0.0.1', 'server.port': 443n,
      'client.address': '10.0.0.9', 'client.port': 50123n, 'thread.id': 101n,
      'meshprof.http.stacks': 'main;handle;burn 12\nmain;handle;burn;do_syscall_64 1',
    });
    expect(encodeNotableLogsBinary({ ...report, notable: [] })).toBeUndefined();
  });

  it('carries the request\'s traceparent as the record\'s trace and span ids, and sw8\'s ids as attributes', () => {
    const traced: NetworkReport = { ...report, notable: [{ ...report.notable[0]!,
      traceparent: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true },
      sw8: { sampled: true, traceId: 't.1.2', segmentId: 's.3.4', spanId: 2, service: 'shop', instance: 'i', endpoint: '/e', address: 'a:1' } }] };
    const rec = fromBinary(ExportLogsServiceRequestSchema, encodeNotableLogsBinary(traced)!).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(Buffer.from(rec.traceId).toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(Buffer.from(rec.spanId).toString('hex')).toBe('b7ad6b7169203331');
    expect(rec.flags).toBe(1);
    expect(attrs(rec.attributes)).toMatchObject({ 'meshprof.sw8.trace_id': 't.1.2', 'meshprof.sw8.segment_id': 's.3.4', 'meshprof.sw8.span_id': 2n });
  });

  it('carries a B3 context as the record\'s ids, a 64-bit trace id left-padded to 16 bytes', () => {
    const traced: NetworkReport = { ...report, notable: [{ ...report.notable[0]!, zipkin: { traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312', sampled: true } }] };
    const rec = fromBinary(ExportLogsServiceRequestSchema, encodeNotableLogsBinary(traced)!).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(Buffer.from(rec.traceId).toString('hex')).toBe('0000000000000000463ac35c9f6413ad');
    expect(Buffer.from(rec.spanId).toString('hex')).toBe('a2fb4a1d1a96d312');
    expect(rec.flags).toBe(1);
    expect(attrs(rec.attributes)['meshprof.trace.provider']).toBe('zipkin');
    expect(buildNetworkView(traced).notable[0]?.zipkin).toEqual({ traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312' });
  });
});

describe('network view', () => {
  it('interpolates percentiles inside buckets, within min and max', () => {
    expect(bucketQuantile(buckets({ 6: 10 }), 0.5, 0.12, 0.2)).toBeCloseTo(0.175);
    expect(bucketQuantile(buckets({ 6: 10 }), 0.99, 0.12, 0.2)).toBe(0.2);
    expect(bucketQuantile(buckets({}), 0.5, 0, 0)).toBe(0);
  });

  it('draws edges to callees and from callers, with the slow request and the drops', () => {
    const v = buildNetworkView(report);
    expect(v.edges.map((e) => [e.from, e.to, e.seenBy, e.requests, e.errors])).toEqual([
      ['10.0.0.9', 'nginx (web-1, pid 100)', 'server', 3, 0],
      ['nginx (web-1, pid 100)', '10.0.0.2:8080', 'client', 1, 1],
    ]);
    expect(v.edges[0]!.bytes).toBe(5700);
    expect(v.notable[0]).toMatchObject({ reason: 'slow', path: '/slow', status: 200, durationSeconds: 0.15, peer: '10.0.0.9:50123' });
    expect(JSON.parse(encodeNetworkJson(report)).drops).toEqual({ response_without_request: 4 });
    const html = encodeNetworkHtml(report);
    expect(html).toContain('<svg');
    expect(html).toContain('/slow');
    expect(html).toContain('response_without_request=4');
    expect(html).not.toContain('<script');
  });
});
