/**
 * A NETWORK task's data in Rover's shape: meters (names, labels, buckets) and
 * sampled requests from crafted sampler batches, and the task's whole path
 * through the exporter to a test OAP with a fake network collector.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRoverNetworkAggregate, roverBucket, samplingRuleFor, type RoverNetworkContext, type RoverProcess,
} from '../../../src/export/skywalking/rover-network.js';
import { parseNetworkSamplings } from '../../../src/export/skywalking/task-command.js';
import { createSkyWalkingExporter } from '../../../src/export/skywalking/skywalking-exporter.js';
import { createTaskRunner } from '../../../src/agent/skywalking-tasks.js';
import type { HttpExchange, RawNetworkBatch, TcpFlow } from '../../../src/stacks/network-records.js';
import type { MeterData } from '../../../src/gen/skywalking/language-agent/Meter_pb.js';
import type { ProcessMetadata } from '../../../src/profile/model.js';
import { startFakeOap, type FakeOap } from '../../helpers/start-fake-oap.js';
import { memoryLogger, until } from '../../helpers/fake-sampler-factory.js';

const exchange = (over: Partial<HttpExchange>): HttpExchange => ({
  tgid: 100, tid: 100, comm: 'srv', role: 'server', tls: false, method: 'GET', path: '/', pathTruncated: false, protocolVersion: '1.1',
  statusCode: 200, startTimeNs: 1n, durationNs: 3e6,
  local: { address: '10.0.0.5', port: 8080 }, peer: { address: '10.0.0.9', port: 40000 }, ...over,
});
const flow = (over: Partial<TcpFlow>): TcpFlow => ({
  tgid: 100, role: 'server', server: { address: '10.0.0.5', port: 8080 }, clientAddress: '10.0.0.9', protocol: undefined,
  bytesSent: 0, bytesReceived: 0, opened: 0, closed: 0, retransmits: 0, rttSumUs: 0, rttCount: 0, http2Streams: 0, ...over,
});
const batchOf = (exchanges: HttpExchange[], tcp: TcpFlow[] = [], drops: Record<string, number> = {}): RawNetworkBatch =>
  ({ startTimeNs: 0n, durationNs: 1n, exchanges, tcp, drops });

const entity = (serviceName: string, instanceName = 'host-1') => ({ layer: 'OS_LINUX', serviceName, instanceName, processName: serviceName, labels: [] });
const procs = new Map<number, RoverProcess>([
  [100, { processId: 'p-srv', entity: entity('shop') }],
  [200, { processId: 'p-cli', entity: entity('shop') }],
  [300, { processId: 'p-other', entity: entity('billing') }],
]);
const ctx: RoverNetworkContext = { prefix: 'rover_net_p', process: (pid) => procs.get(pid), localAddresses: new Set(['10.0.0.5']), nowMs: 1_700_000_000_000 };

const meters = (out: { meters: { meterData?: unknown[] }[] }): MeterData[] => out.meters.flatMap((c) => (c.meterData ?? []) as MeterData[]);
const named = (ms: MeterData[], name: string): MeterData[] => ms.filter((m) => m.metric.value?.name === name);
const labels = (m: MeterData | undefined): [string, string][] => (m?.metric.value?.labels ?? []).map((l) => [l.name, l.value]);
const value = (m: MeterData | undefined): number => (m?.metric.case === 'singleValue' ? m.metric.value.value : NaN);

describe('Rover network meters', () => {
  it('counts requests by status with Rover\'s names and labels, and L4 counters on the same traffic', () => {
    const agg = createRoverNetworkAggregate([]);
    agg.add(batchOf(
      [exchange({}), exchange({ statusCode: 404 }), exchange({ statusCode: 200, durationNs: 120e6 }), exchange({ statusCode: undefined })],
      [flow({ bytesReceived: 900, bytesSent: 1500, opened: 3, closed: 2, retransmits: 1, rttSumUs: 300, rttCount: 2 })],
    ));
    const ms = meters(agg.flush(ctx));
    const requests = named(ms, 'rover_net_p_http1_request_counter');
    expect(requests).toHaveLength(1);
    // the unanswered request is no metric, as in Rover
    expect(value(requests[0])).toBe(3);
    expect(labels(requests[0])).toEqual([['server_process_id', 'p-srv'], ['client_address', '10.0.0.9:40000'], ['side', 'server'], ['protocol', 'http'], ['is_ssl', 'false']]);
    const codes = named(ms, 'rover_net_p_http1_response_status_counter').map((m) => [labels(m).at(-1)?.[1], value(m)]);
    expect(codes.sort()).toEqual([['200', 2], ['404', 1]]);
    expect(value(named(ms, 'rover_net_p_http1_server_duration_avg')[0])).toBe((3 + 3 + 120) / 3);
    expect(value(named(ms, 'rover_net_p_server_read_bytes_counter')[0])).toBe(900);
    expect(value(named(ms, 'rover_net_p_server_write_bytes_counter')[0])).toBe(1500);
    expect(value(named(ms, 'rover_net_p_server_connect_counts_counter')[0])).toBe(3);
    expect(value(named(ms, 'rover_net_p_server_close_counts_counter')[0])).toBe(2);
    expect(value(named(ms, 'rover_net_p_server_retransmit_counts_counter')[0])).toBe(1);
    expect(value(named(ms, 'rover_net_p_server_write_rtt_exe_time_counter')[0])).toBe(150);
    // the L4 meters carry the traffic's protocol too
    expect(labels(named(ms, 'rover_net_p_server_read_bytes_counter')[0])).toContainEqual(['protocol', 'http']);
    const hist = named(ms, 'rover_net_p_http1_server_duration_histogram')[0];
    if (hist?.metric.case !== 'histogram') throw new Error('no histogram');
    const counts = Object.fromEntries(hist.metric.value.values.filter((v) => v.count > 0n).map((v) => [v.bucket, Number(v.count)]));
    expect(counts).toEqual({ 2: 2, 110: 1 });
    expect(hist.metric.value.values).toHaveLength(45);
    // the window restarts
    expect(meters(agg.flush(ctx))).toHaveLength(0);
  });

  it('puts values in Rover\'s buckets: below 2 ms in the first, 30 s and over in the last', () => {
    expect(roverBucket(0)).toBe(0);
    expect(roverBucket(1)).toBe(0);
    expect(roverBucket(2)).toBe(1);
    expect(roverBucket(149)).toBe(18);
    expect(roverBucket(150)).toBe(19);
    expect(roverBucket(31_000)).toBe(44);
  });

  it('names the peer process within the same service instance, a local peer, or its address', () => {
    const agg = createRoverNetworkAggregate([]);
    agg.add(batchOf([
      exchange({}),
      exchange({ tgid: 200, role: 'client', local: { address: '10.0.0.9', port: 40000 }, peer: { address: '10.0.0.5', port: 8080 } }),
      exchange({ tgid: 300, role: 'client', local: { address: '10.0.0.9', port: 40001 }, peer: { address: '10.0.0.5', port: 8080 } }),
      exchange({ tgid: 300, role: 'client', peer: { address: '127.0.0.1', port: 9000 } }),
      exchange({ tgid: 999, role: 'client', peer: { address: '10.0.0.5', port: 8080 } }),
    ]));
    const ms = named(meters(agg.flush(ctx)), 'rover_net_p_http1_request_counter');
    const remote = (pid: string): [string, string] | undefined => labels(ms.find((m) => labels(m)[0]?.[1] === pid))[1];
    expect(remote('p-cli')).toEqual(['server_process_id', 'p-srv']);
    // another service: Rover only names peers of the same instance and service, else the address, here a local one
    const billing = ms.filter((m) => labels(m)[0]?.[1] === 'p-other').map((m) => labels(m)[1]);
    expect(billing).toEqual([['server_local', 'true'], ['server_local', 'true']]);
    // pid 999 is not in the task
    expect(ms).toHaveLength(4);
  });

  it('groups meters per service instance, naming it on the first meter', () => {
    const agg = createRoverNetworkAggregate([]);
    agg.add(batchOf([exchange({}), exchange({ tgid: 300, role: 'client', peer: { address: '192.0.2.1', port: 443 }, tls: true })]));
    const out = agg.flush(ctx);
    expect(out.meters.map((c) => [c.meterData?.[0]?.service, c.meterData?.[0]?.serviceInstance, c.meterData?.[0]?.timestamp]).sort()).toEqual([
      ['billing', 'host-1', 1_700_000_000_000n], ['shop', 'host-1', 1_700_000_000_000n],
    ]);
    const billing = named(meters(out), 'rover_net_p_http1_request_counter').find((m) => labels(m)[0]?.[1] === 'p-other');
    expect(labels(billing)).toEqual([['client_process_id', 'p-other'], ['server_address', '192.0.2.1:443'], ['side', 'client'], ['protocol', 'http'], ['is_ssl', 'true']]);
  });

  it('samples by the task\'s rules: 5xx, then 4xx, then slow, the slowest 10 of each, as NET_PROFILING_SAMPLED_TRACE logs', () => {
    const rules = parseNetworkSamplings(JSON.stringify({
      NetworkSamplings: [
        { MinDuration: 100, When4xx: false, When5xx: true },
        { URIRegex: '^/api/', MinDuration: 10, When4xx: true, When5xx: true },
      ],
    }));
    expect(samplingRuleFor(rules, '/api/x')?.minDurationMs).toBe(10);
    expect(samplingRuleFor(rules, '/static')?.minDurationMs).toBe(100);
    const agg = createRoverNetworkAggregate(rules);
    const slow = Array.from({ length: 15 }, (_, i) => exchange({ path: '/static', durationNs: (100 + i) * 1e6 }));
    agg.add(batchOf([
      ...slow,
      exchange({ path: '/static', durationNs: 50e6 }),
      exchange({ path: '/static', statusCode: 404, durationNs: 500e6 }), // slow, not a sampled 4xx here
      exchange({ path: '/static', statusCode: 503 }),
      exchange({ path: '/api/a', statusCode: 404 }),
      exchange({ path: '/api/b', durationNs: 20e6, peer: { address: '10.0.0.7', port: 40000 } }),
    ], [], { events_ring_full: 2 }));
    const out = agg.flush(ctx);
    expect(out.drops).toEqual({ events_ring_full: 2 });
    const bodies = out.logs.map((l) => {
      expect(l.tags?.data).toEqual([{ key: 'LOG_KIND', value: 'NET_PROFILING_SAMPLED_TRACE' }]);
      expect([l.service, l.serviceInstance, l.layer]).toEqual(['shop', 'host-1', 'OS_LINUX']);
      return JSON.parse(l.body?.content?.case === 'json' ? (l.body.content.value.json ?? '') : '') as Record<string, unknown>;
    });
    const byReason = (r: string): Record<string, unknown>[] => bodies.filter((b) => b.reason === r);
    // one traffic's slowest 10; /api/b came from another client, so another traffic
    expect(byReason('slow').filter((b) => b.uri === '/static').map((b) => b.latency)).toEqual([500, 114, 113, 112, 111, 110, 109, 108, 107, 106]);
    expect(byReason('status_5xx').map((b) => b.uri)).toEqual(['/static']);
    expect(byReason('status_4xx').map((b) => b.uri)).toEqual(['/api/a']);
    expect(byReason('slow')).toHaveLength(11);
    expect(bodies.find((b) => b.uri === '/api/b')).toMatchObject({
      reason: 'slow', latency: 20, status: 200, detect_point: 'server', component: 'http', ssl: false,
      server_process: { process_id: 'p-srv', local: false, address: '' }, client_process: { process_id: '', local: false, address: '10.0.0.7:40000' },
    });
    // the request's trace: sw8 as Rover sends it, else the W3C trace id
    const traced = createRoverNetworkAggregate(rules);
    traced.add(batchOf([
      exchange({ path: '/api/sw', statusCode: 500, sw8: { sampled: true, traceId: 't.1.2', segmentId: 's.3.4', spanId: 2, service: 'a', instance: 'b', endpoint: 'c', address: 'd' } }),
      exchange({ path: '/api/w3c', statusCode: 500, traceparent: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true } }),
    ]));
    const tracedLogs = traced.flush(ctx).logs.map((l) => [(JSON.parse(l.body?.content?.case === 'json' ? (l.body.content.value.json ?? '') : '') as { uri: string }).uri,
      (JSON.parse(l.body?.content?.case === 'json' ? (l.body.content.value.json ?? '') : '') as { trace_provider: string }).trace_provider, l.traceContext]);
    expect(tracedLogs).toEqual([
      ['/api/sw', 'skywalking', { traceId: 't.1.2', traceSegmentId: 's.3.4', spanId: 2 }],
      ['/api/w3c', 'w3c', { traceId: '0af7651916cd43dd8448eb211c80319c' }],
    ]);
    // no rules, no samples
    const none = createRoverNetworkAggregate([]);
    none.add(batchOf([exchange({ statusCode: 500, durationNs: 900e6 })]));
    expect(none.flush(ctx).logs).toHaveLength(0);
  });

  it('rejects malformed sampling rules with their place', () => {
    expect(parseNetworkSamplings('{}')).toEqual([]);
    expect(parseNetworkSamplings(undefined)).toEqual([]);
    expect(() => parseNetworkSamplings('{')).toThrow(/ExtensionConfigJSON is not JSON/);
    expect(() => parseNetworkSamplings('{"NetworkSamplings":[{"URIRegex":"("}]}')).toThrow(/NetworkSamplings\[0\]\.URIRegex/);
    expect(() => parseNetworkSamplings('{"NetworkSamplings":[{"MinDuration":"x"}]}')).toThrow(/MinDuration/);
  });
});

describe('a NETWORK task through the exporter to a test OAP', () => {
  let oap: FakeOap | undefined;
  afterAll(async () => { await oap?.stop(); });

  it('runs a network collector over the task\'s pid, sends meters and sampled requests, and stops at the task\'s end', async () => {
    oap = await startFakeOap();
    const log = memoryLogger();
    const processes: ProcessMetadata[] = [{ pid: 4242, name: 'srv', executablePath: '/usr/bin/srv', attributes: { 'service.name': 'checkout' } }];
    const made: { pids: number[]; stopped: boolean }[] = [];
    const now = Date.now();
    oap.tasks = [{
      taskId: 'n1', processId: 'proc-4242', targetType: 'NETWORK', startTime: now, updateTime: 5, durationS: 2,
      extensionConfig: '{"NetworkSamplings":[{"When5xx":true}]}',
    }];
    const exporter = createSkyWalkingExporter({
      config: {
        addr: `127.0.0.1:${oap.port}`,
        periods: { heartbeatMs: 150, reportEveryBeats: 4, taskQueryMs: 100, flushMs: 300, networkReportMs: 200 },
      },
      source: { list: () => processes },
      tasks: (parts) => createTaskRunner({
        ...parts,
        collectors: () => { throw new Error('no profiling collectors here'); },
        networkPollMs: 50,
        networkCollectors: (pids, observe) => {
          const m = { pids, stopped: false };
          made.push(m);
          let polls = 0;
          return {
            start: () => undefined,
            poll: () => {
              polls++;
              if (polls <= 3) observe(batchOf([exchange({ tgid: 4242 }), exchange({ tgid: 4242, statusCode: 502 })]));
            },
            stop: () => { m.stopped = true; },
          };
        },
      }),
      logger: log,
      hostIp: '10.1.2.3',
      continuous: false,
    });
    exporter.start();
    try {
      await until(() => made[0]?.stopped === true, 10_000, 'the task to end');
      const ms = oap.record.meterBatches.flat().flatMap((c) => c.meterData);
      const requests = ms.filter((m) => m.metric.value?.name === 'rover_net_p_http1_request_counter').reduce((n, m) => n + value(m), 0);
      expect(made.map((m) => m.pids)).toEqual([[4242]]);
      expect(requests).toBe(6);
      expect(oap.record.meterBatches.flat()[0]?.meterData[0]?.service).toBe('checkout');
      expect(oap.record.logStreams.flat()).toHaveLength(3);
      expect(log.lines.some((l) => l.includes('network task n1 finished'))).toBe(true);
    } finally {
      await exporter.stop();
    }
  });
});
