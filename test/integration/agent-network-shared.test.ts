/**
 * Two network consumers of one agent at once (real BPF, as root): the OTLP
 * network export (MESHPROF_PROFILES=network) and a SkyWalking NETWORK task
 * on the same Node HTTP server. The agent loads the network programs once
 * (counted among its own BPF file descriptors), and each consumer gets
 * every request curl sent, exactly.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterData } from '../../src/gen/skywalking/language-agent/Meter_pb.js';
import { ExportMetricsServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { METRICS_EXPORT_METHOD } from '../../src/export/otlp-grpc-transport.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { startAgent, type AgentRun, untilAgent } from '../helpers/start-agent.js';
import { startFakeOap, type FakeOap } from '../helpers/start-fake-oap.js';
import { startGrpcServer, type GrpcTestServer } from '../helpers/test-servers.js';
import { freePort } from '../helpers/free-port.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/curl', '/usr/sbin/bpftool'], 'needs curl and bpftool (apt)');

/** /ok 200, /err 500, anything else 404. */
const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/ok') { res.end('ok'); return; }
  if (req.url === '/err') { res.statusCode = 500; res.end('boom'); return; }
  res.statusCode = 404; res.end('none');
}).listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));
`;

/** Names of the BPF programs process `pid` holds open (its fds on bpf-prog inodes, named by bpftool). */
function bpfProgramsOf(pid: number): string[] {
  const ids: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const id = /^prog_id:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
      if (id !== undefined) ids.push(Number(id));
    } catch { /* closed meanwhile */ }
  }
  const all = JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' })) as { id: number; name?: string }[];
  const names = new Map(all.map((p) => [p.id, p.name ?? '']));
  return [...new Set(ids)].map((id) => names.get(id) ?? '').sort();
}

const label = (m: MeterData, name: string): string | undefined => m.metric.value?.labels.find((l) => l.name === name)?.value;

describe('one network sampler for the OTLP export and a SkyWalking NETWORK task (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let oap: FakeOap;
  let metrics: GrpcTestServer;
  let server: ChildProcess;
  let agent: AgentRun;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = spawn(process.execPath, ['-e', SERVER, String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OTEL_SERVICE_NAME: 'net-shared-server' },
    });
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    oap = await startFakeOap();
    metrics = await startGrpcServer(() => ({}), METRICS_EXPORT_METHOD);
    agent = startAgent({
      MESHPROF_SKYWALKING_ADDR: `127.0.0.1:${oap.port}`,
      MESHPROF_SKYWALKING_HEARTBEAT_PERIOD: '1s',
      MESHPROF_SKYWALKING_TASK_QUERY_INTERVAL: '1s',
      MESHPROF_SKYWALKING_NETWORK_REPORT_INTERVAL: '1s',
      MESHPROF_OUTPUT_DIR: 'none',
      MESHPROF_PROFILES: 'network',
      MESHPROF_INTERVAL: '2s',
      MESHPROF_TARGET_PIDS: String(server.pid),
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://${metrics.address}`, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
    });
  }, 60_000);

  afterAll(async () => {
    if (agent !== undefined && agent.child.exitCode === null) await agent.stop();
    server?.kill();
    await oap?.stop();
    await metrics?.close();
  });

  it('loads the programs once and gives both consumers every request', async () => {
    const pid = server.pid!;
    const processId = `proc-${pid}`;
    await agent.waitFor('network profiling started', 60_000);
    await agent.waitFor('target selection changed', 60_000);
    await untilAgent(() => oap.record.reports.some((r) => r.processes.some((p) => p.metadata.value?.pid === pid)), 60_000, 'the server reported', agent);
    const now = Date.now();
    oap.tasks.push({
      taskId: 'net-shared', processId, targetType: 'NETWORK', startTime: now, updateTime: now, durationS: 120,
      extensionConfig: JSON.stringify({ NetworkSamplings: [] }),
    });
    await agent.waitFor('network task net-shared started', 60_000);

    // both consumers are on: one pair of syscall programs, one of each TCP program
    const programs = bpfProgramsOf(agent.child.pid!).filter((n) => /^(sys_enter|sys_exit|inet_sock_set_s|tcp_retransmit_)/.test(n));
    console.log(`the agent's network programs with both consumers on: ${programs.join(', ')}`);
    expect(programs.filter((n) => n.startsWith('sys_enter'))).toHaveLength(1);
    expect(programs.filter((n) => n.startsWith('sys_exit'))).toHaveLength(1);
    expect(programs.filter((n) => n.startsWith('inet_sock_set_s'))).toHaveLength(1);

    const sent = { 200: 20, 500: 5, 404: 7 };
    for (let i = 0; i < sent[200]; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/ok`]);
    for (let i = 0; i < sent[500]; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/err`]);
    for (let i = 0; i < sent[404]; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/missing-${i}`]);
    const total = sent[200] + sent[500] + sent[404];

    // SkyWalking: Rover's request counter by status, server side of this process
    const serverMeters = (): MeterData[] => oap.record.meterBatches.flat().flatMap((c) => c.meterData)
      .filter((m) => label(m, 'server_process_id') === processId && label(m, 'side') === 'server');
    const rover = (name: string, code?: string): number => serverMeters()
      .filter((m) => m.metric.value?.name === name && (code === undefined || label(m, 'code') === code))
      .reduce((n, m) => n + (m.metric.case === 'singleValue' ? m.metric.value.value : 0), 0);
    // OTLP: http.server.request.duration counts by status, this process only
    const otlp = (): Map<number, number> => {
      const byStatus = new Map<number, number>();
      for (const r of metrics.requests) {
        for (const rm of fromBinary(ExportMetricsServiceRequestSchema, r.bytes).resourceMetrics) {
          if (rm.resource?.attributes.find((a) => a.key === 'process.pid')?.value?.value.value !== BigInt(pid)) continue;
          for (const m of rm.scopeMetrics.flatMap((s) => s.metrics)) {
            if (m.name !== 'http.server.request.duration' || m.data.case !== 'histogram') continue;
            for (const p of m.data.value.dataPoints) {
              const status = Number(p.attributes.find((a) => a.key === 'http.response.status_code')?.value?.value.value);
              byStatus.set(status, (byStatus.get(status) ?? 0) + Number(p.count));
            }
          }
        }
      }
      return byStatus;
    };
    const otlpTotal = (): number => [...otlp().values()].reduce((a, b) => a + b, 0);
    await untilAgent(() => rover('rover_net_p_http1_request_counter') >= total && otlpTotal() >= total, 60_000, `${total} requests in both exports`, agent);
    // one more interval of each: nothing is counted twice
    const intervals = agent.logs().filter((l) => l.msg === 'collected interval').length;
    await agent.waitFor('collected interval', 30_000, intervals + 1);
    await sleep(1_500);

    const byStatus = otlp();
    console.log(`OTLP by status ${JSON.stringify([...byStatus])}; SkyWalking requests ${rover('rover_net_p_http1_request_counter')}, ` +
      `200: ${rover('rover_net_p_http1_response_status_counter', '200')}, 500: ${rover('rover_net_p_http1_response_status_counter', '500')}, ` +
      `404: ${rover('rover_net_p_http1_response_status_counter', '404')}`);
    expect(rover('rover_net_p_http1_request_counter')).toBe(total);
    for (const code of [200, 500, 404] as const) {
      expect(rover('rover_net_p_http1_response_status_counter', String(code))).toBe(sent[code]);
      expect(byStatus.get(code)).toBe(sent[code]);
    }
    expect(otlpTotal()).toBe(total);
    expect(await agent.stop()).toBe(0);
  }, 240_000);
});
