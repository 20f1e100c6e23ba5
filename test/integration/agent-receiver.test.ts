/**
 * `meshprof agent` as a profiles collector (real BPF, as root): a producer
 * sends OTLP profiles for a live process over gRPC and HTTP; the agent must
 * forward them to its OTLP backend with the process's executable added and
 * the producer's service.name kept, write them to its local files at the
 * interval's end, and count them in /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromBinary, toBinary, toJsonString } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { OTLP_PROFILES_EXPORT_PATH } from '../../src/receive/index.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { buildOtlpRequest, otlpStacks, resourcesOf } from '../helpers/build-otlp-request.js';
import { metricValue } from '../helpers/metric-value.js';
import { pprofStacksOf } from '../helpers/pprof-stacks.js';
import { startAgent, type AgentRun } from '../helpers/start-agent.js';
import { startGrpcServer, type GrpcTestServer } from '../helpers/test-servers.js';

const TOKEN = 'agent-receiver-token';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`waiting for ${what}`);
    await sleep(100);
  }
}

describe('meshprof agent receives, enriches and forwards profiles (real BPF, as root)', () => {
  let dir: string;
  let producer: ChildProcess;
  let backend: GrpcTestServer;
  let agent: AgentRun;

  beforeAll(async () => {
    requirePrerequisites(bpfSkipReason());
    dir = mkdtempSync(join(tmpdir(), 'meshprof-agent-receiver-'));
    producer = spawn('sleep', ['300'], { stdio: 'ignore' });
    backend = await startGrpcServer();
    agent = startAgent({
      MESHPROF_RECEIVER_GRPC_ENDPOINT: '127.0.0.1:0',
      MESHPROF_RECEIVER_HTTP_ENDPOINT: '127.0.0.1:0',
      MESHPROF_RECEIVER_AUTH_TOKEN: TOKEN,
      OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: `http://${backend.address}`,
      OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: 'grpc',
      MESHPROF_OUTPUT_DIR: dir,
      MESHPROF_LOCAL_FORMATS: 'pprof',
      MESHPROF_INTERVAL: '2s',
      MESHPROF_METRICS_ADDR: '127.0.0.1:0',
      MESHPROF_KUBERNETES: 'off',
    });
    await agent.waitFor('agent started', 60_000);
  });
  afterAll(async () => {
    await agent?.stop();
    producer?.kill();
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('forwards what a producer sends, with the node attributes, to OTLP, local files and /metrics', async () => {
    const listening = agent.logs().find((l) => l.msg === 'receiver listening')!;
    const started = agent.logs().find((l) => l.msg === 'agent started')!;
    const request = buildOtlpRequest([{
      attributes: { 'process.pid': producer.pid!, 'service.name': 'checkout' },
      stacks: [{ frames: ['crc32', 'handle', 'main'], value: 30_000_000 }, { frames: ['parse', 'handle', 'main'], value: 10_000_000 }],
    }]);
    const client = new grpc.Client(String(listening.grpc), grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const error = await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest(
      OTLP_PROFILES_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(toBinary(ExportProfilesServiceRequestSchema, request)), metadata, (err) => resolve(err)));
    client.close();
    expect(error).toBeNull();
    const http = await fetch(`http://${String(listening.http)}/v1development/profiles`, {
      method: 'POST', body: toJsonString(ExportProfilesServiceRequestSchema, request), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
    });
    expect(http.status).toBe(200);

    // The backend gets the agent's own intervals too: pick the producer's resources out.
    const received = await until('both requests at the backend', () => {
      const ours = resourcesOf(backend.requests.map((r) => fromBinary(ExportProfilesServiceRequestSchema, r.bytes)))
        .filter((r) => r.attributes['service.name'] === 'checkout');
      return ours.length >= 2 ? ours : undefined;
    });
    for (const r of received) {
      expect(r.stacks).toEqual(otlpStacks(request));
      expect(r.attributes).toMatchObject({
        'process.pid': String(producer.pid),
        'service.name': 'checkout',
        'process.executable.name': 'sleep',
        'process.executable.path': readlinkSync(`/proc/${producer.pid}/exe`),
        'process.command_line': 'sleep 300',
      });
    }

    // The two requests may fall into one interval or two: sum the interval files until both are in.
    const inFiles = (): Record<string, number> => {
      const sum: Record<string, number> = {};
      for (const f of readdirSync(dir).filter((n) => n.startsWith('received-process_cpu-') && n.endsWith('.pb.gz'))) {
        for (const [k, v] of Object.entries(pprofStacksOf(readFileSync(join(dir, f)), producer.pid!).stacks)) sum[k] = (sum[k] ?? 0) + v;
      }
      return sum;
    };
    await until('both requests in received-process_cpu pprof files', () => (Object.values(inFiles()).reduce((a, b) => a + b, 0) >= 80_000_000 ? true : undefined));
    expect(inFiles()).toEqual({
      'cpu/nanoseconds|crc32;handle;main': 60_000_000,
      'cpu/nanoseconds|parse;handle;main': 20_000_000,
    });

    const metrics = await (await fetch(`http://127.0.0.1:${String(started.metrics)}/metrics`)).text();
    expect(metricValue(metrics, 'meshprof_receiver_received_profiles_total')).toBe(2);
    expect(metricValue(metrics, 'meshprof_receiver_forwarded_samples_total', { sink: 'otlp-grpc' })).toBe(4);
    expect(metricValue(metrics, 'meshprof_receiver_rejected_total')).toBe(0);
  });
});
