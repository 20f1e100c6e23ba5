import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePprof } from '../../src/encode/pprof.js';
import { buildTestProfile } from '../helpers/build-test-profile.js';

const run = promisify(execFile);

function decode(bytes: Uint8Array): PprofProfile {
  return PprofProfile.decode(gunzipSync(bytes));
}

/** Readers that resolve ids and string indexes of a decoded profile. */
function view(p: PprofProfile) {
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? `<bad string ${i}>`;
  const location = (id: number | bigint) => {
    const found = p.location.find((l) => Number(l.id) === Number(id));
    if (found === undefined) throw new Error(`no location ${id}`);
    return found;
  };
  const mapping = (id: number | bigint) => p.mapping.find((m) => Number(m.id) === Number(id));
  const fn = (id: number | bigint) => p.function.find((f) => Number(f.id) === Number(id));
  /** Leaf-first names; an unsymbolized location shows as `?@<address>`. */
  const stack = (ids: readonly (number | bigint)[]): string[] =>
    ids.map((id) => {
      const loc = location(id);
      const line = loc.line[0];
      return line === undefined ? `?@0x${BigInt(loc.address).toString(16)}` : str(fn(line.functionId)?.name ?? 0);
    });
  const labels = (s: PprofProfile['sample'][number]): Record<string, string | number> =>
    Object.fromEntries(s.label.map((l) => [str(l.key), Number(l.str) !== 0 ? str(l.str) : Number(l.num)]));
  return { str, location, mapping, fn, stack, labels };
}

describe('encodePprof', () => {
  const profile = buildTestProfile();
  const bytes = encodePprof(profile);
  const decoded = decode(bytes);
  const v = view(decoded);

  it('is gzip-compressed', () => {
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
  });

  it('writes sample types, period, time, default type and drop comments', () => {
    expect(decoded.sampleType.map((t) => `${v.str(t.type)}/${v.str(t.unit)}`)).toEqual([
      'samples/count',
      'cpu/nanoseconds',
    ]);
    expect(`${v.str(decoded.periodType!.type)}/${v.str(decoded.periodType!.unit)}`).toBe('cpu/nanoseconds');
    expect(Number(decoded.period)).toBe(10_000_000);
    expect(BigInt(decoded.timeNanos)).toBe(1_700_000_000_000_000_000n);
    expect(BigInt(decoded.durationNanos)).toBe(10_000_000_000n);
    expect(v.str(decoded.defaultSampleType)).toBe('samples');
    expect(decoded.comment.map(v.str)).toEqual(['dropped: kernel_stack_lost=1', 'dropped: map_full=3']);
  });

  it('writes every sample with its leaf-first stack and values', () => {
    expect(decoded.sample.map((s) => [v.stack(s.locationId), s.value.map(Number)])).toEqual([
      [['hot_a', 'handle_request', 'main'], [5, 50_000_000]],
      [['hot_b', 'handle_request', 'main'], [3, 30_000_000]],
      [
        ['ksys_write', 'do_syscall_64', 'entry_SYSCALL_64', '__write', 'handle_request', 'main'],
        [2, 20_000_000],
      ],
      [['?@0x11234', 'hot_a', 'worker_main'], [4, 40_000_000]],
      [['idle_loop', 'worker_main'], [1, 0]],
      [['hot_a', 'handle_request', 'main'], [1, 10_000_000]],
    ]);
    // Identical frames share one location; functions are interned by name, system name and file.
    expect(decoded.location).toHaveLength(12);
    expect(decoded.function.map((f) => v.str(f.name))).toEqual([
      'hot_a',
      'handle_request',
      'main',
      'hot_b',
      'ksys_write',
      'do_syscall_64',
      'entry_SYSCALL_64',
      '__write',
      'hot_a',
      'worker_main',
      'idle_loop',
    ]);
    expect(decoded.function.map((f) => Number(f.id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('writes function details and line numbers', () => {
    const write = decoded.function.find((f) => v.str(f.name) === '__write')!;
    expect(v.str(write.systemName)).toBe('__GI___libc_write');
    const handleLoc = v.location(decoded.sample[0]!.locationId[1]!);
    expect(Number(handleLoc.address)).toBe(0x401100);
    expect(Number(handleLoc.line[0]!.line)).toBe(42);
    expect(v.str(v.fn(handleLoc.line[0]!.functionId)!.filename)).toBe('server.c');
  });

  it('writes labels for pid, tid, names and k8s/container/service attributes only', () => {
    expect(v.labels(decoded.sample[0]!)).toEqual({
      pid: 100,
      tid: 101,
      thread_name: 'api-http',
      process_name: 'api-server',
      container_id: 'c0ffee',
      k8s_namespace_name: 'shop',
      k8s_pod_name: 'checkout-7d9f',
      service_name: 'checkout',
    });
    // pid 200 is not in the process table: the thread name stands in.
    expect(v.labels(decoded.sample[3]!)).toEqual({
      pid: 200,
      tid: 200,
      thread_name: 'batch-job',
      process_name: 'batch-job',
    });
    // Samples of one thread share its labels; another thread of the process has its own.
    expect(v.labels(decoded.sample[2]!)).toEqual(v.labels(decoded.sample[0]!));
    expect(v.labels(decoded.sample[1]!)).toMatchObject({ pid: 100, tid: 102, thread_name: 'api-http' });
    expect(v.labels(decoded.sample[5]!)).toMatchObject({ pid: 100, tid: 103, thread_name: 'api-bg', process_name: 'api-server', service_name: 'checkout' });
    const pidLabel = decoded.sample[0]!.label.find((l) => v.str(l.key) === 'pid')!;
    expect(Number(pidLabel.str)).toBe(0);
  });

  it('writes one mapping per file with build ids, ranges and a kernel mapping', () => {
    const rows = decoded.mapping.map((m) => ({
      id: Number(m.id),
      file: v.str(m.filename),
      buildId: v.str(m.buildId),
      start: BigInt(m.memoryStart),
      limit: BigInt(m.memoryLimit),
      offset: BigInt(m.fileOffset),
      hasFunctions: m.hasFunctions,
    }));
    expect(rows).toEqual([
      {
        id: 1,
        file: '/usr/bin/api-server',
        buildId: 'aabbccddeeff00112233445566778899aabbccdd',
        start: 0x400000n,
        limit: 0x500000n,
        offset: 0n,
        hasFunctions: true,
      },
      {
        id: 2,
        file: '/usr/lib/x86_64-linux-gnu/libc.so.6',
        buildId: '0123456789abcdef0123456789abcdef01234567',
        start: 0x7f0000000000n,
        limit: 0x7f0000200000n,
        offset: 0x28000n,
        hasFunctions: true,
      },
      { id: 3, file: '/opt/worker', buildId: '', start: 0x10000n, limit: 0x20000n, offset: 0n, hasFunctions: true },
      {
        id: 4,
        file: '[kernel.kallsyms]',
        buildId: '',
        start: 0xffffffff81000100n,
        limit: 0xffffffff81000301n,
        offset: 0n,
        hasFunctions: true,
      },
    ]);
    const kernelLocs = decoded.location.filter((l) => Number(l.mappingId) === 4);
    expect(kernelLocs.map((l) => v.str(v.fn(l.line[0]!.functionId)!.name))).toEqual([
      'ksys_write',
      'do_syscall_64',
      'entry_SYSCALL_64',
    ]);
    const unknown = decoded.location.find((l) => BigInt(l.address) === 0x11234n)!;
    expect(unknown.line).toEqual([]);
    expect(Number(unknown.mappingId)).toBe(3);
  });

  it('numbers the executable of the first stack as mapping 1 even when a kernel-only stack comes first', () => {
    const p = buildTestProfile();
    const kernelOnly = { ...p.samples[2]!, frames: p.samples[2]!.frames.slice(0, 3) };
    const d = decode(encodePprof({ ...p, samples: [kernelOnly, ...p.samples] }));
    const dv = view(d);
    expect(d.mapping.map((m) => dv.str(m.filename))).toEqual([
      '/usr/bin/api-server',
      '/usr/lib/x86_64-linux-gnu/libc.so.6',
      '/opt/worker',
      '[kernel.kallsyms]',
    ]);
    expect(dv.stack(d.sample[0]!.locationId)).toEqual(['ksys_write', 'do_syscall_64', 'entry_SYSCALL_64']);
  });

  it('leaves hasFunctions unset on a mapping with no symbolized frame', () => {
    const p = buildTestProfile();
    const only = p.samples[3]!;
    const unsymbolizedOnly = buildTestProfile({ samples: [{ ...only, frames: [only.frames[0]!] }] });
    const d = decode(encodePprof(unsymbolizedOnly));
    expect(d.mapping).toHaveLength(1);
    expect(d.mapping[0]!.hasFunctions).toBe(false);
    expect(d.function).toHaveLength(0);
  });

  describe('go tool pprof', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-pprof-'));
    const file = join(dir, 'profile.pb.gz');
    writeFileSync(file, bytes);
    const env = {
      ...process.env,
      HOME: join(dir, 'home'),
      GOCACHE: join(dir, 'gocache'),
      GOPATH: join(dir, 'gopath'),
      GOTOOLCHAIN: 'local',
      PPROF_BINARY_PATH: join(dir, 'none'),
    };
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** `go tool pprof -top` rows as name → [flat, cum]. */
    async function top(...args: string[]): Promise<{ text: string; rows: Map<string, [string, string]> }> {
      const { stdout } = await run('go', ['tool', 'pprof', '-top', ...args, file], { env, timeout: 60_000 });
      const rows = new Map<string, [string, string]>();
      for (const line of stdout.split('\n')) {
        const m = /^\s*(\S+)\s+\S+%\s+\S+%\s+(\S+)\s+\S+%\s+(.+)$/.exec(line);
        if (m !== null) rows.set(m[3]!, [m[1]!, m[2]!]);
      }
      return { text: stdout, rows };
    }

    it('lists the functions with their flat and cumulative sample counts', async () => {
      const { text, rows } = await top();
      expect(text).toContain('Type: samples');
      expect(text).toContain('Build ID: aabbccddeeff00112233445566778899aabbccdd');
      expect(text).toContain('dropped: map_full=3');
      expect(Object.fromEntries(rows)).toEqual({
        hot_a: ['6', '10'],
        '[worker]': ['4', '4'],
        hot_b: ['3', '3'],
        ksys_write: ['2', '2'],
        idle_loop: ['1', '1'],
        __write: ['0', '2'],
        do_syscall_64: ['0', '2'],
        entry_SYSCALL_64: ['0', '2'],
        handle_request: ['0', '11'],
        main: ['0', '11'],
        worker_main: ['0', '5'],
      });
    });

    it('shows cpu time in milliseconds for the second sample type', async () => {
      const { text, rows } = await top('-sample_index=cpu');
      expect(text).toContain('Total samples = 150ms');
      expect(rows.get('hot_a')).toEqual(['60ms', '100ms']);
      expect(rows.get('ksys_write')).toEqual(['20ms', '20ms']);
      expect(rows.get('main')).toEqual(['0', '110ms']);
    });

    it('reads the labels as tags', async () => {
      const { stdout } = await run('go', ['tool', 'pprof', '-tags', file], { env, timeout: 60_000 });
      expect(stdout).toMatch(/service_name: Total 11\.0\s+11\.0 \(\s*100%\): checkout/);
      expect(stdout).toMatch(/process_name: Total 16\.0\s+11\.0 \(68\.75%\): api-server\s+5\.0 \(31\.25%\): batch-job/);
    });
  });
});
