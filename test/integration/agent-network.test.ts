/**
 * `meshprof agent` with MESHPROF_PROFILES=network: the nginx worker's HTTP
 * metrics reach an OTLP/gRPC MetricsService each interval, with the counts
 * curl produced, through the same queue and retry as profiles.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportMetricsServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { LOGS_EXPORT_METHOD, METRICS_EXPORT_METHOD } from '../../src/export/otlp-grpc-transport.js';
import { ExportLogsServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { startAgent } from '../helpers/start-agent.js';
import { startNginxStack, type NginxStack } from '../helpers/start-nginx-stack.js';
import { startGrpcServer, type GrpcTestServer } from '../helpers/test-servers.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/sbin/nginx', '/usr/bin/curl', '/usr/bin/openssl'], 'needs nginx, curl and openssl (apt)');

describe('agent exporting network metrics over OTLP/gRPC', () => {
  beforeAll(() => requirePrerequisites(skip));
  let stack: NginxStack;
  let collector: GrpcTestServer;
  let logs: GrpcTestServer;
  beforeAll(async () => {
    stack = await startNginxStack();
    collector = await startGrpcServer(() => ({}), METRICS_EXPORT_METHOD);
    logs = await startGrpcServer(() => ({}), LOGS_EXPORT_METHOD);
  });
  afterAll(async () => {
    await collector?.close();
    await logs?.close();
    await stack?.stop();
  });

  it('sends the worker\'s request counts by status to the MetricsService, and its slow requests to the LogsService', async () => {
    const agent = startAgent({
      MESHPROF_PROFILES: 'network', MESHPROF_INTERVAL: '2s', MESHPROF_OUTPUT_DIR: 'none', MESHPROF_TARGET_PIDS: String(stack.worker),
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://${collector.address}`, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `http://${logs.address}`, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc',
    });
    try {
      await agent.waitFor('network profiling started');
      await agent.waitFor('target selection changed');
      for (let i = 0; i < 25; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${stack.httpPort}/nope-${i}`]);
      for (let i = 0; i < 10; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${stack.httpPort}/local`]);
      // the slow requests carry their callers' trace context: W3C, then Zipkin's B3
      await run('curl', ['-s', '-o', '/dev/null', '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', `http://127.0.0.1:${stack.httpPort}/slow`]);
      await run('curl', ['-s', '-o', '/dev/null', '-H', 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1', `http://127.0.0.1:${stack.httpPort}/slow`]);
      const seen = (): number => agent.logs().filter((l) => l.msg === 'collected interval').length;
      const before = seen();
      await agent.waitFor('collected interval', 30_000, before + 2);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
    const byStatus = new Map<bigint, number>();
    for (const r of collector.requests) {
      const req = fromBinary(ExportMetricsServiceRequestSchema, r.bytes);
      for (const rm of req.resourceMetrics) {
        const pid = rm.resource?.attributes.find((a) => a.key === 'process.pid')?.value?.value.value;
        expect(pid).toBe(BigInt(stack.worker));
        for (const m of rm.scopeMetrics.flatMap((s) => s.metrics)) {
          if (m.name !== 'http.server.request.duration' || m.data.case !== 'histogram') continue;
          for (const p of m.data.value.dataPoints) {
            const status = p.attributes.find((a) => a.key === 'http.response.status_code')?.value?.value.value as bigint;
            byStatus.set(status, (byStatus.get(status) ?? 0) + Number(p.count));
          }
        }
      }
    }
    console.log(`${collector.requests.length} export requests; server requests by status ${JSON.stringify([...byStatus].map(([s, n]) => [String(s), n]))}`);
    expect(byStatus.get(404n)).toBe(25);
    expect(byStatus.get(200n)).toBe(12);
    const logRecords = logs.requests.flatMap((r) => fromBinary(ExportLogsServiceRequestSchema, r.bytes).resourceLogs)
      .flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords));
    const records = logRecords.map((l) => Object.fromEntries(l.attributes.map((a) => [a.key, a.value?.value.value])));
    const slowServer = records.filter((a) => a['meshprof.network.side'] === 'server' && a['url.path'] === '/slow');
    expect(slowServer).toHaveLength(2);
    // HTTP/1 heads of kept requests were read: each record has its caller's trace and span
    const ids = logRecords.filter((_, i) => records[i]!['meshprof.network.side'] === 'server' && records[i]!['url.path'] === '/slow')
      .map((l) => [Buffer.from(l.traceId).toString('hex'), Buffer.from(l.spanId).toString('hex')]);
    expect(ids).toEqual([['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'], ['80f198ee56343ba864fe8b2a57d3eff7', 'e457b5a2e4d86bd1']]);
    expect(slowServer[0]).toMatchObject({ 'meshprof.network.reason': 'slow', 'http.request.method': 'GET', 'http.response.status_code': 200n, 'server.port': BigInt(stack.httpPort) });
    expect(slowServer[0]!['meshprof.http.duration']).toBeGreaterThanOrEqual(0.149); // the backend's 150 ms Node timer may answer 1 ms early
  });
});
