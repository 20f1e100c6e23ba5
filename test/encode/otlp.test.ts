import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { encodeOtlp, encodeOtlpBinary } from '../../src/encode/otlp.js';
import { encodeOtlpFile } from '../../src/encode/otlp-file.js';
import { otlpRequestToJson } from '../../src/encode/otlp-json.js';
import { encodeOtlpRequests } from '../../src/encode/otlp-split.js';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { APP_PROC, manyProcessesProfile, offCpuProfile, onCpuProfile } from '../helpers/on-cpu-profile.js';
import { expectedRows, resolveRequest, sortRows } from '../helpers/resolve-request.js';

const opts = { hostName: 'node-1', serviceName: 'fallback-svc', resourceAttributes: { 'deployment.environment': 'prod', 'service.name': 'ignored' } };

describe('encodeOtlp', () => {
  it('round-trips every on-CPU stack, value and thread through the dictionary', () => {
    const profile = onCpuProfile();
    const got = resolveRequest(encodeOtlpBinary([profile], opts));
    expect(sortRows(got.samples)).toEqual(sortRows(expectedRows(profile)));
    expect(got.samples.find((s) => s.threadId === 4243)?.functions).toEqual([
      '__memmove_avx_unaligned_erms',
      'ngx_http_core_run_phases',
      'ngx_process_events_and_timers',
      'main',
    ]);
    expect(got.profiles).toEqual([
      { pid: 4242, sampleType: 'samples/count', periodType: 'cpu/nanoseconds', period: 10101010, timeUnixNano: profile.startTimeNs, durationNano: 10_000_000_000n },
      { pid: 777, sampleType: 'samples/count', periodType: 'cpu/nanoseconds', period: 10101010, timeUnixNano: profile.startTimeNs, durationNano: 10_000_000_000n },
    ]);
  });

  it('writes one resource per process with semantic-convention attributes', () => {
    const got = resolveRequest(encodeOtlpBinary([onCpuProfile()], opts));
    expect(got.resources).toEqual([
      {
        'deployment.environment': 'prod',
        'host.name': 'node-1',
        'container.id': 'b7e4c1f0a9d2',
        'k8s.pod.name': 'web-7d9f',
        'k8s.namespace.name': 'shop',
        'k8s.container.name': 'nginx',
        'service.name': 'web',
        'process.pid': 4242,
        'process.executable.name': 'nginx',
        'process.executable.path': '/usr/sbin/nginx',
      },
      {
        'deployment.environment': 'prod',
        'host.name': 'node-1',
        'service.name': 'fallback-svc',
        'process.pid': 777,
        'process.executable.name': 'server',
        'process.executable.path': '/app/server',
      },
    ]);
  });

  it('names unknown_service:<exe> when nothing gives a service name', () => {
    const got = resolveRequest(encodeOtlpBinary([onCpuProfile()], { hostName: 'h' }));
    expect(got.resources[1]?.['service.name']).toBe(`unknown_service:${APP_PROC.name}`);
  });

  it('keeps index 0 of every dictionary table the zero value and interns', () => {
    const d = encodeOtlp([onCpuProfile(), onCpuProfile()], opts).dictionary!;
    expect(d.stringTable[0]).toBe('');
    for (const table of [d.mappingTable, d.locationTable, d.functionTable, d.linkTable, d.attributeTable, d.stackTable]) {
      expect(table.length).toBeGreaterThan(0);
    }
    expect(d.mappingTable[0]!.filenameStrindex).toBe(0);
    expect(d.mappingTable[0]!.memoryLimit).toBe(0n);
    expect(d.locationTable[0]!.lines).toEqual([]);
    expect(d.functionTable[0]!.nameStrindex).toBe(0);
    expect(d.stackTable[0]!.locationIndices).toEqual([]);
    expect(d.attributeTable[0]!.keyStrindex).toBe(0);
    expect(d.linkTable[0]!.traceId.length).toBe(0);
    // 4 distinct stacks even though two identical profiles were encoded.
    expect(d.stackTable.length).toBe(1 + 4);
    expect(new Set(d.stringTable).size).toBe(d.stringTable.length);
    // 3 mappings (libc, nginx, app) plus the zero entry: kernel frames carry none.
    expect(d.mappingTable.length).toBe(4);
  });

  it('puts the GNU build id on mappings that have one', () => {
    const d = encodeOtlp([onCpuProfile()], opts).dictionary!;
    const byFile = new Map(d.mappingTable.slice(1).map((m) => [d.stringTable[m.filenameStrindex], m]));
    const libc = byFile.get('/usr/lib/x86_64-linux-gnu/libc.so.6')!;
    expect(libc.memoryStart).toBe(0x7f0000000000n);
    expect(libc.fileOffset).toBe(0x28000n);
    const attrs = libc.attributeIndices.map((i) => d.attributeTable[i]!);
    expect(attrs.map((a) => [d.stringTable[a.keyStrindex], a.value?.value.value])).toEqual([
      ['process.executable.build_id.gnu', 'c289da5071a3399de893d2af81d6a30c62646e1e'],
    ]);
    expect(byFile.get('/app/server')!.attributeIndices).toEqual([]);
  });

  it('emits off-CPU time first and switch counts as a second profile', () => {
    const profile = offCpuProfile();
    const got = resolveRequest(encodeOtlpBinary([profile], opts));
    expect(got.profiles.filter((p) => p.pid === 4242).map((p) => p.sampleType)).toEqual([
      'off_cpu/nanoseconds',
      'switches/count',
    ]);
    expect(sortRows(got.samples)).toEqual(sortRows(expectedRows(profile)));
    const nginxOff = got.samples.find((s) => s.pid === 4242 && s.sampleType === 'off_cpu/nanoseconds');
    expect(nginxOff?.value).toBe(9_500_000_000);
    expect(nginxOff?.kinds).toEqual(['kernel', 'kernel', 'native', 'native', 'native']);
  });

  it('writes protobuf JSON that parses back with hex profile ids', () => {
    const req = encodeOtlp([onCpuProfile()], { ...opts, profileId: () => new Uint8Array(16).fill(0xab) });
    const json = JSON.parse(otlpRequestToJson(req)) as {
      resourceProfiles: { scopeProfiles: { profiles: { profileId: string; samples: unknown[] }[] }[] }[];
      dictionary: { stringTable: string[] };
    };
    expect(json.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.profileId).toBe('ab'.repeat(16));
    expect(json.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples).toHaveLength(2);
    expect(json.dictionary.stringTable).toContain('ngx_http_core_run_phases');
  });
});

describe('encodeOtlpFile', () => {
  it('produces the binary request and its JSON form', () => {
    const profile = onCpuProfile();
    const bin = encodeOtlpFile([profile], 'binary', { hostName: 'h' });
    expect(bin).toBeInstanceOf(Uint8Array);
    expect(sortRows(resolveRequest(bin as Uint8Array).samples)).toEqual(sortRows(expectedRows(profile)));
    const json = JSON.parse(encodeOtlpFile([profile], 'json', { hostName: 'h' }) as string) as { resourceProfiles: unknown[] };
    expect(json.resourceProfiles).toHaveLength(2);
  });
});

describe('encodeOtlpRequests', () => {
  it('returns one request when it fits', () => {
    const { requests, tooLargeSamples } = encodeOtlpRequests([onCpuProfile()], 4 * 1024 * 1024, opts);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.samples).toBe(4);
    expect(tooLargeSamples).toBe(0);
  });

  it('splits by resource under the limit and loses no sample', () => {
    const profile = manyProcessesProfile(10, 12);
    const whole = encodeOtlpBinary([profile], opts).length;
    const limit = Math.floor(whole / 5);
    const { requests, tooLargeSamples } = encodeOtlpRequests([profile], limit, opts);
    expect(tooLargeSamples).toBe(0);
    expect(requests.length).toBeGreaterThanOrEqual(5);
    const rows = requests.flatMap((r) => {
      expect(r.bytes.length).toBeLessThanOrEqual(limit);
      const decoded = fromBinary(ExportProfilesServiceRequestSchema, r.bytes);
      expect(decoded.dictionary!.stringTable[0]).toBe('');
      return resolveRequest(r.bytes).samples;
    });
    expect(sortRows(rows)).toEqual(sortRows(expectedRows(profile)));
    expect(requests.reduce((n, r) => n + r.samples, 0)).toBe(10 * 12);
  });

  it('counts a single process over the limit as too large', () => {
    const profile = manyProcessesProfile(3, 20);
    const oneProcess = encodeOtlpRequests([{ ...profile, samples: profile.samples.filter((s) => s.pid === 1000) }], 1 << 30, opts);
    const limit = oneProcess.requests[0]!.bytes.length - 1;
    const { requests, tooLargeSamples } = encodeOtlpRequests([profile], limit, opts);
    expect(tooLargeSamples).toBe(60);
    expect(requests).toHaveLength(0);
  });
});
