/**
 * `meshprof agent` running a SkyWalking NETWORK task as Rover does (real BPF,
 * as root): the test OAP hands out a NETWORK task for a Node HTTP server,
 * curl sends it a known mix of requests, and OAP receives Rover's meters
 * (request and status counters, duration histogram, L4 bytes and
 * connections) with Rover's labels, and the sampled slow and 5xx requests
 * as NET_PROFILING_SAMPLED_TRACE logs; its HTTP/1 and HTTP/2 (h2c)
 * requests carrying sw8, traceparent or B3 headers are sampled with their
 * trace context.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterData } from '../../src/gen/skywalking/language-agent/Meter_pb.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { startAgent, type AgentRun, untilAgent } from '../helpers/start-agent.js';
import { startFakeOap, type FakeOap } from '../helpers/start-fake-oap.js';
import { freePort } from '../helpers/free-port.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/curl'], 'needs curl (apt)');

/** /ok 200, /err 500, /slow 200 after 150 ms, anything else 404; over HTTP/1 on argv[1], h2c on argv[2]. */
const SERVER = `
const handler = (req, res) => {
  if (req.url === '/ok') { res.end('ok'); return; }
  if (req.url === '/err') { res.statusCode = 500; res.end('boom'); return; }
  if (req.url === '/slow') { setTimeout(() => res.end('late'), 150); return; }
  res.statusCode = 404; res.end('none');
};
require('node:http').createServer(handler).listen(Number(process.argv[1]), '127.0.0.1', () =>
  require('node:http2').createServer(handler).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening')));
`;

const label = (m: MeterData, name: string): string | undefined => m.metric.value?.labels.find((l) => l.name === name)?.value;
const meterName = (m: MeterData): string => m.metric.value?.name ?? '';

describe('meshprof agent running a SkyWalking NETWORK task (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let oap: FakeOap;
  let server: ChildProcess;
  let agent: AgentRun;
  let port: number;
  let h2port: number;

  beforeAll(async () => {
    port = await freePort();
    h2port = await freePort();
    server = spawn(process.execPath, ['-e', SERVER, String(port), String(h2port)], {
      stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OTEL_SERVICE_NAME: 'net-task-server' },
    });
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    oap = await startFakeOap();
    agent = startAgent({
      MESHPROF_SKYWALKING_ADDR: `127.0.0.1:${oap.port}`,
      MESHPROF_SKYWALKING_HEARTBEAT_PERIOD: '1s',
      MESHPROF_SKYWALKING_TASK_QUERY_INTERVAL: '1s',
      MESHPROF_SKYWALKING_NETWORK_REPORT_INTERVAL: '1s',
      MESHPROF_OUTPUT_DIR: 'none',
      MESHPROF_PROFILES: 'oncpu',
    });
  }, 60_000);

  afterAll(async () => {
    if (agent !== undefined) expect(await agent.stop()).toBe(0);
    server?.kill();
    await oap?.stop();
  });

  it('sends Rover\'s meters with the curl counts by status and the sampled slow and 5xx requests', async () => {
    const pid = server.pid!;
    const processId = `proc-${pid}`;
    await untilAgent(() => oap.record.reports.some((r) => r.processes.some((p) => p.metadata.value?.pid === pid)), 60_000, 'the server reported', agent);
    const now = Date.now();
    oap.tasks.push({
      taskId: 'net-1', processId, targetType: 'NETWORK', startTime: now, updateTime: now, durationS: 120,
      extensionConfig: JSON.stringify({ NetworkSamplings: [{ URIRegex: null, MinDuration: 100, When4xx: false, When5xx: true }] }),
    });
    await agent.waitFor('network task net-1 started', 60_000);

    const sent = { 200: 0, 500: 0, 404: 0 };
    const curl = async (path: string, status: 200 | 500 | 404): Promise<void> => {
      await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}${path}`]);
      sent[status]++;
    };
    for (let i = 0; i < 20; i++) await curl('/ok', 200);
    for (let i = 0; i < 4; i++) await curl('/err', 500);
    for (let i = 0; i < 2; i++) await curl('/slow', 200);
    // HTTP/1 with trace context: a failed request with sw8, a slow one with B3
    const b64h1 = (s: string): string => Buffer.from(s).toString('base64');
    const sw8h1 = `1-${b64h1('trace.5.1700000000000')}-${b64h1('segment.6.1700000000001')}-3-${b64h1('gateway')}-${b64h1('gw-1')}-${b64h1('/pay')}-${b64h1(`127.0.0.1:${port}`)}`;
    await run('curl', ['-s', '-o', '/dev/null', '-H', `sw8: ${sw8h1}`, `http://127.0.0.1:${port}/err`]);
    sent[500]++;
    await run('curl', ['-s', '-o', '/dev/null', '-H', 'X-B3-TraceId: 463ac35c9f6413ad', '-H', 'X-B3-SpanId: a2fb4a1d1a96d312', `http://127.0.0.1:${port}/slow`]);
    sent[200]++;
    for (let i = 0; i < 7; i++) await curl(`/missing-${i}`, 404);
    // HTTP/2 with trace context: a failed request with sw8, a slow one with traceparent
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const sw8 = `1-${b64('trace.9.1700000000000')}-${b64('segment.8.1700000000001')}-5-${b64('gateway')}-${b64('gw-1')}-${b64('/buy')}-${b64(`127.0.0.1:${h2port}`)}`;
    await run('curl', ['-s', '--http2-prior-knowledge', '-o', '/dev/null', '-H', `sw8: ${sw8}`, `http://127.0.0.1:${h2port}/err`]);
    sent[500]++;
    await run('curl', ['-s', '--http2-prior-knowledge', '-o', '/dev/null', '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      `http://127.0.0.1:${h2port}/slow`]);
    sent[200]++;
    const total = sent[200] + sent[500] + sent[404];

    const meters = (): MeterData[] => oap.record.meterBatches.flat().flatMap((c) => c.meterData);
    const serverMeters = (): MeterData[] => meters().filter((m) => label(m, 'server_process_id') === processId && label(m, 'side') === 'server');
    const sum = (name: string, f: (m: MeterData) => boolean = () => true): number =>
      serverMeters().filter((m) => meterName(m) === name && f(m)).reduce((n, m) => n + (m.metric.case === 'singleValue' ? m.metric.value.value : 0), 0);
    await untilAgent(() => sum('rover_net_p_http1_request_counter') >= total, 60_000, `${total} requests in the meters`, agent);
    await sleep(2_500); // one more report: nothing is counted twice
    await untilAgent(() => oap.record.logStreams.flat().length >= 10, 30_000, '10 sampled requests', agent);

    const byCode = (code: string): number => sum('rover_net_p_http1_response_status_counter', (m) => label(m, 'code') === code);
    console.log(`requests ${sum('rover_net_p_http1_request_counter')}; 200: ${byCode('200')}, 500: ${byCode('500')}, 404: ${byCode('404')}; ` +
      `read ${sum('rover_net_p_server_read_bytes_counter')} B, written ${sum('rover_net_p_server_write_bytes_counter')} B, ` +
      `connects ${sum('rover_net_p_server_connect_counts_counter')}, closes ${sum('rover_net_p_server_close_counts_counter')}`);
    expect(sum('rover_net_p_http1_request_counter')).toBe(total);
    expect(byCode('200')).toBe(sent[200]);
    expect(byCode('500')).toBe(sent[500]);
    expect(byCode('404')).toBe(sent[404]);

    // Rover's labels: this process, a local client, the server side, HTTP in plaintext.
    const counter = serverMeters().find((m) => meterName(m) === 'rover_net_p_http1_request_counter')!;
    expect(counter.metric.value?.labels.map((l) => [l.name, l.value])).toEqual([
      ['server_process_id', processId], ['client_local', 'true'], ['side', 'server'], ['protocol', 'http'], ['is_ssl', 'false'],
    ]);
    // Each collection names its service instance on its first meter.
    for (const c of oap.record.meterBatches.flat()) {
      expect(c.meterData[0]?.service).not.toBe('');
      expect(c.meterData[0]?.timestamp).toBeGreaterThan(0n);
    }
    expect(oap.record.meterBatches.flat().some((c) => c.meterData[0]?.service === 'net-task-server')).toBe(true);

    // The duration histogram (Rover's ms buckets) holds every request; the 150 ms ones at ≥ 100 ms.
    const buckets = new Map<number, number>();
    for (const m of serverMeters()) {
      if (meterName(m) !== 'rover_net_p_http1_server_duration_histogram' || m.metric.case !== 'histogram') continue;
      for (const v of m.metric.value.values) buckets.set(v.bucket, (buckets.get(v.bucket) ?? 0) + Number(v.count));
    }
    expect([...buckets.values()].reduce((a, b) => a + b, 0)).toBe(total);
    expect([...buckets].filter(([b]) => b >= 100).reduce((n, [, c]) => n + c, 0)).toBeGreaterThanOrEqual(3);

    // L4: bytes both ways and one accepted connection per curl.
    expect(sum('rover_net_p_server_read_bytes_counter')).toBeGreaterThan(total * 50);
    expect(sum('rover_net_p_server_write_bytes_counter')).toBeGreaterThan(total * 50);
    expect(sum('rover_net_p_server_connect_counts_counter')).toBeGreaterThanOrEqual(total * 0.9);

    // Sampled requests: the 4 slow and the 6 failed ones, none of the 404s (When4xx is off).
    const logs = oap.record.logStreams.flat();
    const bodies = logs.map((l) => {
      expect(l.tags?.data).toContainEqual(expect.objectContaining({ key: 'LOG_KIND', value: 'NET_PROFILING_SAMPLED_TRACE' }));
      expect(l.service).toBe('net-task-server');
      expect(l.body?.type).toBe('json');
      return JSON.parse(l.body?.content.case === 'json' ? l.body.content.value.json : '{}') as Record<string, unknown>;
    });
    // a quick request slowed by a loaded host may be sampled too: the /slow ones are counted exactly
    const slow = bodies.filter((b) => b.reason === 'slow' && b.uri === '/slow');
    const failed = bodies.filter((b) => b.reason === 'status_5xx');
    expect(slow).toHaveLength(4);
    expect(failed).toHaveLength(6);
    expect(bodies.filter((b) => b.reason === 'status_4xx')).toHaveLength(0);
    for (const b of slow) {
      expect(b).toMatchObject({ uri: '/slow', status: 200, detect_point: 'server', component: 'http', ssl: false, server_process: { process_id: processId } });
      // a 150 ms Node timer can answer up to 1 ms early (loop clock): 149 seen in a run
      expect(b.latency).toBeGreaterThanOrEqual(149);
    }
    for (const b of failed) expect(b).toMatchObject({ uri: '/err', status: 500, client_process: { local: true } });
    // the trace context of the requests that carried one, HTTP/1 and h2, as Rover sends it
    const traced = logs.map((l, i) => [bodies[i]!.reason, bodies[i]!.trace_provider, l.traceContext?.traceId, l.traceContext?.traceSegmentId, l.traceContext?.spanId])
      .filter(([, provider]) => provider !== '');
    expect(traced.sort()).toEqual([
      ['slow', 'w3c', '0af7651916cd43dd8448eb211c80319c', '', 0],
      ['slow', 'zipkin', '463ac35c9f6413ad', '', 0],
      ['status_5xx', 'skywalking', 'trace.5.1700000000000', 'segment.6.1700000000001', 3],
      ['status_5xx', 'skywalking', 'trace.9.1700000000000', 'segment.8.1700000000001', 5],
    ]);
  }, 240_000);
});
