import { gunzipSync } from 'node:zlib';
import { fromBinary } from '@bufbuild/protobuf';
import { Profile as PprofProfile } from 'pprof-format';
import { afterEach, describe, expect, it } from 'vitest';
import { readPyroscopeEnv } from '../../src/config/pyroscope-env.js';
import { createExportMetrics } from '../../src/export/export-metrics.js';
import { createPyroscopeExporter } from '../../src/export/pyroscope-exporter.js';
import { PushRequestSchema } from '../../src/gen/pyroscope/push/v1/push_pb.js';
import type { Profile } from '../../src/profile/model.js';
import { offCpuProfile, onCpuProfile } from '../helpers/on-cpu-profile.js';
import type { HttpReply, HttpRequestRecord } from '../helpers/test-servers.js';
import { startHttpServer } from '../helpers/test-servers.js';
import { silentLogger } from '../../src/log/logger.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Stack (leaf-first function names joined by ';') → summed values, from a gzipped pprof. */
function pprofStacks(gz: Uint8Array): { types: string[]; stacks: Record<string, number[]> } {
  const p = PprofProfile.decode(gunzipSync(gz));
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)]!;
  const fns = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locs = new Map(p.location.map((l) => [Number(l.id), l.line.map((ln) => fns.get(Number(ln.functionId))!)]));
  const stacks: Record<string, number[]> = {};
  for (const s of p.sample) {
    const key = s.locationId.flatMap((id) => locs.get(Number(id))!).join(';');
    const prev = stacks[key] ?? s.value.map(() => 0);
    stacks[key] = prev.map((v, i) => v + Number(s.value[i]));
  }
  return { types: p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`), stacks };
}

function expectedStacks(profile: Profile, pid: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of profile.samples.filter((x) => x.pid === pid)) {
    const key = s.frames.map((f) => f.functionName).join(';');
    out[key] = (out[key] ?? s.values.map(() => 0)).map((v, i) => v + s.values[i]!);
  }
  return out;
}

async function exporterFor(env: Record<string, string>, reply: (r: HttpRequestRecord, n: number) => HttpReply) {
  const server = await startHttpServer(reply);
  cleanup.push(() => server.close());
  const config = readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: server.url, ...env })!;
  const metrics = createExportMetrics();
  const exporter = createPyroscopeExporter(config, { serviceName: 'fallback' }, {
    logger: silentLogger,
    metrics,
    retry: { initialBackoffMs: 5, maxAttempts: 3 },
  });
  cleanup.push(() => exporter.shutdown(500));
  return { server, exporter, metrics };
}

describe('Pyroscope exporter', () => {
  it('pushes one series per process over Connect with labels, auth and tenant', async () => {
    const { server, exporter, metrics } = await exporterFor(
      { MESHPROF_PYROSCOPE_BEARER_TOKEN: 'tok', MESHPROF_PYROSCOPE_TENANT_ID: 'tenant-1' },
      () => ({ status: 200, headers: { 'Content-Type': 'application/proto' } }),
    );
    const on = onCpuProfile();
    const off = offCpuProfile();
    exporter.export([on, off]);
    await exporter.flush(5000);
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.path).toBe('/push.v1.PusherService/Push');
    expect(req.headers['content-type']).toBe('application/proto');
    expect(req.headers['connect-protocol-version']).toBe('1');
    expect(req.headers['authorization']).toBe('Bearer tok');
    expect(req.headers['x-scope-orgid']).toBe('tenant-1');
    const push = fromBinary(PushRequestSchema, req.body);
    const labelsOf = (i: number): Record<string, string> =>
      Object.fromEntries(push.series[i]!.labels.map((l) => [l.name, l.value]));
    expect(push.series.map((_, i) => labelsOf(i))).toEqual([
      { __name__: 'process_cpu', service_name: 'web', pod: 'web-7d9f', namespace: 'shop', container: 'nginx' },
      { __name__: 'off_cpu', service_name: 'web', pod: 'web-7d9f', namespace: 'shop', container: 'nginx' },
      { __name__: 'process_cpu', service_name: 'fallback' },
      { __name__: 'off_cpu', service_name: 'fallback' },
    ]);
    const nginxCpu = pprofStacks(push.series[0]!.samples[0]!.rawProfile);
    expect(nginxCpu.types).toEqual(['samples/count']);
    expect(nginxCpu.stacks).toEqual(expectedStacks(on, 4242));
    const appOff = pprofStacks(push.series[3]!.samples[0]!.rawProfile);
    expect(appOff.types).toEqual(['switches/count', 'off_cpu/nanoseconds']);
    expect(appOff.stacks).toEqual({ 'schedule;main.handle;main.main': [4, 2_000_000] });
    expect(metrics.drops()).toEqual({});
  });

  it('falls back to /ingest with a multipart pprof when push is missing', async () => {
    const { server, exporter } = await exporterFor(
      { MESHPROF_PYROSCOPE_BASIC_AUTH_USER: 'u', MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD: 'p' },
      (r) => ({ status: r.path === '/ingest' ? 200 : 404 }),
    );
    const on = onCpuProfile();
    exporter.export([on]);
    await exporter.flush(5000);
    exporter.export([on]);
    await exporter.flush(5000);
    // One failed push, then ingest only: 2 processes × 2 exports.
    expect(server.requests.map((r) => r.path)).toEqual(['/push.v1.PusherService/Push', ...Array(4).fill('/ingest')]);
    const ingest = server.requests[1]!;
    expect(ingest.headers['authorization']).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(ingest.query.get('name')).toBe('web{container=nginx,namespace=shop,pod=web-7d9f}');
    expect(ingest.query.get('from')).toBe('1700000000');
    expect(ingest.query.get('until')).toBe('1700000010');
    expect(ingest.query.get('sampleRate')).toBe('99');
    expect(ingest.query.has('format')).toBe(false);
    const type = ingest.headers['content-type']!;
    const boundary = /boundary=(.+)$/.exec(type)![1]!;
    expect(type.startsWith('multipart/form-data')).toBe(true);
    const body = ingest.body;
    const headerEnd = body.indexOf('\r\n\r\n') + 4;
    expect(body.subarray(0, headerEnd).toString()).toContain('Content-Disposition: form-data; name="profile"');
    const end = body.indexOf(`\r\n--${boundary}--`);
    expect(pprofStacks(body.subarray(headerEnd, end)).stacks).toEqual(expectedStacks(on, 4242));
    expect(server.requests[2]!.query.get('name')).toBe('fallback{}');
    exporter.export([offCpuProfile()]);
    await exporter.flush(5000);
    expect(server.requests[5]!.query.has('sampleRate')).toBe(false);
  });

  it('retries 429 from push and counts permanent 401s', async () => {
    const { server, exporter, metrics } = await exporterFor({}, (_, n) => ({ status: n === 1 ? 429 : 401 }));
    exporter.export([onCpuProfile()]);
    await exporter.flush(5000);
    expect(server.requests).toHaveLength(2);
    expect(metrics.drops()).toEqual({ pyroscope: { permanent_error: 4 } });
  });
});

describe('Pyroscope profile names', () => {
  it('names heap profiles memory and page-fault profiles page_faults, and pprof opens a heap on inuse_space', async () => {
    const { pyroscopeProfileName } = await import('../../src/export/pyroscope-serializer.js');
    const { buildPprofProfile } = await import('../../src/encode/pprof.js');
    const base = offCpuProfile();
    const heap: Profile = {
      ...base,
      sampleTypes: [
        { type: 'alloc_objects', unit: 'count' }, { type: 'alloc_space', unit: 'bytes' },
        { type: 'inuse_objects', unit: 'count' }, { type: 'inuse_space', unit: 'bytes' },
      ],
      periodType: { type: 'space', unit: 'bytes' },
      samples: base.samples.map((s) => ({ ...s, values: [1, 64, 1, 64] })),
    };
    expect(pyroscopeProfileName(heap)).toBe('memory');
    expect(pyroscopeProfileName({ ...base, sampleTypes: [{ type: 'page_faults', unit: 'count' }] })).toBe('page_faults');
    expect(pyroscopeProfileName(onCpuProfile())).toBe('process_cpu');
    const p = buildPprofProfile(heap);
    expect(p.stringTable.strings[Number(p.defaultSampleType)]).toBe('inuse_space');
  });
});
