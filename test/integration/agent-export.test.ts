/**
 * `meshprof agent` end to end (real BPF, as root): the split.c fixture runs
 * while the agent writes local pprof files and exports the same intervals
 * over OTLP/gRPC, OTLP/HTTP and Pyroscope push; every backend must get the
 * fixture's stacks with the same per-stack values as the local file of the
 * same interval.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushRequestSchema } from '../../src/gen/pyroscope/push/v1/push_pb.js';
import { pprofFileStacks, pprofStacksOf, type PprofStacks } from '../helpers/pprof-stacks.js';
import { startAgent } from '../helpers/start-agent.js';
import { resolveRequest } from '../helpers/resolve-request.js';
import { startGrpcServer, startHttpServer, type HttpTestServer } from '../helpers/test-servers.js';
import { compileFixture } from '../helpers/compile-fixture.js';

/** Per interval (keyed by start time in ns): the fixture's stacks as one OTLP request carries them. */
function otlpIntervals(requests: readonly Uint8Array[], pid: number): Map<bigint, Record<string, number>> {
  const out = new Map<bigint, Record<string, number>>();
  for (const bytes of requests) {
    const r = resolveRequest(bytes);
    const start = r.profiles[0]?.timeUnixNano;
    if (start === undefined) continue;
    const stacks = out.get(start) ?? {};
    for (const s of r.samples.filter((x) => x.pid === pid)) {
      const k = `${s.sampleType}|${s.functions.join(';')}`;
      stacks[k] = (stacks[k] ?? 0) + s.value;
    }
    out.set(start, stacks);
  }
  return out;
}

/** Per interval: the fixture's stacks from the Pyroscope push requests (one gzipped pprof per series). */
function pyroscopeIntervals(server: HttpTestServer, pid: number): Map<bigint, Record<string, number>> {
  const out = new Map<bigint, Record<string, number>>();
  for (const req of server.requests.filter((r) => r.path === '/push.v1.PusherService/Push')) {
    for (const series of fromBinary(PushRequestSchema, req.body).series) {
      for (const sample of series.samples) {
        const p = pprofStacksOf(sample.rawProfile, pid);
        if (Object.keys(p.stacks).length === 0) continue;
        const stacks = out.get(p.timeNanos) ?? {};
        for (const [k, v] of Object.entries(p.stacks)) stacks[k] = (stacks[k] ?? 0) + v;
        out.set(p.timeNanos, stacks);
      }
    }
  }
  return out;
}

/** The local pprof files of the run, with the fixture's stacks. */
function localIntervals(dir: string, pid: number): PprofStacks[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('oncpu-') && f.endsWith('.pb.gz'))
    .map((f) => pprofFileStacks(join(dir, f), pid))
    .filter((p) => Object.keys(p.stacks).length > 0);
}

const total = (stacks: Record<string, number>, prefix: string): number =>
  Object.entries(stacks).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

describe('meshprof agent exports what it writes locally (real BPF, as root)', () => {
  let dir: string;
  let split: string;
  let fixture: ChildProcess;
  let pid: number;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-agent-export-'));
    split = compileFixture('split.c', { name: 'split-O0', flags: ['-O0', '-fno-omit-frame-pointer', '-g'] });
    fixture = spawn(split, ['120'], { stdio: 'ignore' });
    pid = fixture.pid!;
  });
  afterAll(() => {
    fixture.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with no exporter configured (npm start), writes a pprof per interval, and an HTML flame graph when asked', async () => {
    const outDir = join(dir, 'npm-start');
    const agent = startAgent({ MESHPROF_INTERVAL: '2s', MESHPROF_OUTPUT_DIR: outDir, MESHPROF_LOCAL_FORMATS: 'pprof,html' });
    try {
      await agent.waitFor('wrote profile files', 60_000, 2);
    } finally {
      expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
    }
    const files = readdirSync(outDir);
    const pprofs = files.filter((f) => /^oncpu-\d{8}T\d{6}Z\.pb\.gz$/.test(f));
    const htmls = files.filter((f) => /^oncpu-\d{8}T\d{6}Z\.html$/.test(f));
    expect(pprofs.length).toBeGreaterThanOrEqual(2);
    expect(htmls.map((f) => f.replace('.html', ''))).toEqual(pprofs.map((f) => f.replace('.pb.gz', '')));
    const withFixture = pprofs.map((f) => pprofFileStacks(join(outDir, f), pid)).filter((p) => Object.keys(p.stacks).length > 0);
    expect(withFixture.length).toBeGreaterThan(0);
    expect(readFileSync(join(outDir, htmls[0]!), 'utf8')).toContain('<html');
  }, 120_000);

  /** Runs the agent for `intervals` intervals (plus the one SIGTERM flushes). */
  async function runAgentFor(intervals: number, outDir: string, env: Record<string, string>): Promise<string> {
    const agent = startAgent({ MESHPROF_INTERVAL: '2s', MESHPROF_OUTPUT_DIR: outDir, MESHPROF_LOCAL_FORMATS: 'pprof', ...env });
    try {
      await agent.waitFor('wrote profile files', 60_000, intervals);
    } finally {
      expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
    }
    return agent.output();
  }

  function expectSameAsLocal(label: string, local: PprofStacks[], remote: Map<bigint, Record<string, number>>): void {
    expect(local.length).toBeGreaterThanOrEqual(3);
    for (const interval of local) {
      const got = remote.get(interval.timeNanos);
      expect(got, `${label}: interval starting ${interval.timeNanos} missing`).toBeDefined();
      expect(got).toEqual(interval.stacks);
    }
    // The fixture's own shape: hot_a and hot_b under work under main, about 70/30.
    const all: Record<string, number> = {};
    for (const i of local) for (const [k, v] of Object.entries(i.stacks)) all[k] = (all[k] ?? 0) + v;
    const a = total(all, 'samples/count|hot_a;work;main');
    const b = total(all, 'samples/count|hot_b;work;main');
    const n = total(all, 'samples/count|');
    console.log(`${label}: ${local.length} intervals, fixture samples ${n}, hot_a ${a}, hot_b ${b} (${((100 * a) / n).toFixed(1)}% / ${((100 * b) / n).toFixed(1)}%)`);
    expect(a / n).toBeGreaterThan(0.55);
    expect(b / n).toBeGreaterThan(0.12);
    expect(a + b).toBeGreaterThan(0.9 * n);
  }

  it('sends OTLP/gRPC and Pyroscope push the same stacks and totals as the local pprof files', async () => {
    const grpc = await startGrpcServer();
    const pyro = await startHttpServer(() => ({ status: 200, headers: { 'Content-Type': 'application/proto' } }));
    try {
      const out = join(dir, 'grpc');
      await runAgentFor(3, out, {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://${grpc.address}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        MESHPROF_PYROSCOPE_URL: pyro.url,
      });
      const local = localIntervals(out, pid);
      expectSameAsLocal('otlp grpc', local, otlpIntervals(grpc.requests.map((r) => r.bytes), pid));
      expectSameAsLocal('pyroscope', local, pyroscopeIntervals(pyro, pid));
    } finally {
      await grpc.close();
      await pyro.close();
    }
  });

  it('sends OTLP/HTTP the same stacks and totals as the local pprof files', async () => {
    const http = await startHttpServer();
    try {
      const out = join(dir, 'http');
      await runAgentFor(3, out, { OTEL_EXPORTER_OTLP_ENDPOINT: http.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
      const requests = http.requests.filter((r) => r.path === '/v1development/profiles');
      expect(requests.length).toBeGreaterThanOrEqual(2);
      expect(requests[0]!.headers['content-type']).toBe('application/x-protobuf');
      expectSameAsLocal('otlp http', localIntervals(out, pid), otlpIntervals(requests.map((r) => r.body), pid));
    } finally {
      await http.close();
    }
  });

  it('exits 1 naming the variable when the configuration is wrong', async () => {
    for (const [env, text] of [
      [{ MESHPROF_INTERVAL: 'soon' }, 'MESHPROF_INTERVAL=soon'],
      [{ MESHPROF_EXPORT_QUEUE_MAX_BYTES: 'lots' }, 'MESHPROF_EXPORT_QUEUE_MAX_BYTES=lots'],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }, 'OTEL_EXPORTER_OTLP_PROTOCOL'],
      [{ MESHPROF_PYROSCOPE_URL: 'ftp://x' }, 'MESHPROF_PYROSCOPE_URL'],
      [{ MESHPROF_SKYWALKING_ADDR: 'oap' }, 'MESHPROF_SKYWALKING_ADDR'],
      [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER'],
    ] as const) {
      const agent = startAgent({ MESHPROF_OUTPUT_DIR: 'none', ...env });
      const code = await agent.done;
      expect(code, agent.output()).toBe(1);
      expect(agent.output()).toContain(text);
      expect(agent.output()).toMatch(/^meshprof: /m);
    }
  });
});
