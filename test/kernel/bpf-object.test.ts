import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BpfError, errnoName, MapType, onlineCpus, openBpfObject, openOwnedMap, possibleCpus, UpdateFlags } from '../../src/kernel/index.js';
import type { BpfObject } from '../../src/kernel/index.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { createLogger } from '../../src/log/logger.js';
import { ONCPU_KEY_SIZE } from '../../src/samplers/oncpu-layout.js';

const skip = bpfSkipReason();

function key(tgid: number, pid: number, comm: string): Buffer {
  const k = Buffer.alloc(ONCPU_KEY_SIZE);
  k.writeUInt32LE(tgid, 0);
  k.writeUInt32LE(pid, 4);
  k.writeInt32LE(-1, 8);
  k.writeInt32LE(-1, 12);
  k.write(comm, 16, 'utf8');
  k.writeInt32LE(-1, 32); // no Python stack
  return k;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function withObject(fn: (o: BpfObject, log: string[]) => void, resize = 4): void {
  const log: string[] = [];
  const o = openBpfObject('oncpu', { log: createLogger((level, msg) => { log.push(`${level}: ${msg}`); }) });
  try {
    o.setGlobal('filter_tgid', Buffer.from([1]));
    o.setGlobal('self_tgid', u64(0).subarray(0, 4));
    o.resizeMap('counts0', resize);
    o.resizeMap('stacks0', 256);
    o.load();
    fn(o, log);
  } finally {
    o.destroy();
  }
}

describe('openBpfObject errors (no BPF needed)', () => {
  it('names the missing object file and the fix', () => {
    expect(() => openBpfObject('nosuch')).toThrow(/^opening bpf object nosuch: .*build\/nosuch\.bpf\.o not found: run `npm run build`$/);
  });

  it('rejects a file that is not an ELF object with errno', () => {
    try {
      openBpfObject('bad', { path: '/etc/hostname' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BpfError);
      expect((err as BpfError).message).toMatch(/^opening bpf object hostname: /);
      expect((err as BpfError).errno).toBeGreaterThan(0);
    }
  });
});

describe('bpf object lifecycle on oncpu.bpf.o', () => {
  // A missing prerequisite fails the run instead of skipping it.
  beforeAll(() => requirePrerequisites(skip));
  it('loads with resized maps and reports map geometry', () => {
    withObject((o, log) => {
      const counts = o.map('counts0');
      expect(counts).toMatchObject({ type: MapType.hash, keySize: ONCPU_KEY_SIZE, valueSize: 8, maxEntries: 4 });
      expect(counts.fd).toBeGreaterThan(0);
      expect(o.map('counts1').maxEntries).toBe(10240);
      expect(o.map('stacks0')).toMatchObject({ type: MapType.stackTrace, valueSize: 127 * 8, maxEntries: 256 });
      const drops = o.map('drops');
      expect(drops).toMatchObject({ type: MapType.perCpuArray, valueSize: 8, maxEntries: 3 });
      expect(drops.userValueSize).toBe(8 * possibleCpus());
      expect(drops.lookup(Buffer.alloc(4))).toEqual(Buffer.alloc(8 * possibleCpus()));
      // libbpf's output reached the sink instead of stderr
      expect(log.some((l) => l.includes('libbpf'))).toBe(true);
    });
  });

  it('round-trips a hash map through single and batch operations', () => {
    withObject((o) => {
      const m = o.map('counts0');
      const keys = [key(10, 11, 'a'), key(20, 21, 'bb'), key(30, 31, 'ccc')];
      keys.forEach((k, i) => m.update(k, u64(100 + i)));
      expect(m.lookup(keys[1]!)?.readBigUInt64LE(0)).toBe(101n);
      expect(m.lookup(key(99, 99, 'x'))).toBeUndefined();

      const seen = new Set<string>();
      for (let k = m.nextKey(undefined); k; k = m.nextKey(k)) seen.add(k.toString('hex'));
      expect(seen).toEqual(new Set(keys.map((k) => k.toString('hex'))));

      const all = m.lookupBatch();
      expect(all.keys.length).toBe(3);
      const byTgid = new Map(all.keys.map((k, i) => [k.readUInt32LE(0), all.values[i]!.readBigUInt64LE(0)]));
      expect(byTgid).toEqual(new Map([[10, 100n], [20, 101n], [30, 102n]]));

      expect(m.deleteBatch([keys[0]!])).toBe(1);
      expect(m.delete(keys[0]!)).toBe(false);
      const drained = m.lookupAndDeleteBatch();
      expect(drained.keys.map((k) => k.readUInt32LE(0)).sort()).toEqual([20, 30]);
      expect(m.lookupBatch().keys.length).toBe(0);
      expect(m.lookupAndDeleteBatch().keys.length).toBe(0);
    });
  });

  it('writes a run of array slots from one packed buffer, and refuses a partial value', () => {
    const m = openOwnedMap({ type: MapType.array, name: 'run_test', keySize: 4, valueSize: 16, maxEntries: 8 });
    try {
      const values = Buffer.alloc(3 * 16);
      for (let i = 0; i < 3; i++) values.fill(0xa0 + i, i * 16, (i + 1) * 16);
      m.updateRun(4, values);
      const slot = (i: number): Buffer => { const k = Buffer.alloc(4); k.writeUInt32LE(i); return m.lookup(k)!; };
      expect([3, 4, 5, 6, 7].map((i) => slot(i)[0])).toEqual([0, 0xa0, 0xa1, 0xa2, 0]);
      expect(slot(6)).toEqual(Buffer.alloc(16, 0xa2));
      expect(() => m.updateRun(0, Buffer.alloc(20))).toThrow(/20 bytes of values is not a whole number of 16-byte values/);
      // past the last slot: the kernel refuses it
      expect(() => m.updateRun(7, Buffer.alloc(32))).toThrow(BpfError);
    } finally {
      m.close();
    }
  });

  it('turns kernel refusals into BpfErrors with errno', () => {
    withObject((o) => {
      const m = o.map('counts0');
      m.update(key(1, 1, 'x'), u64(1));
      try {
        m.update(key(1, 1, 'x'), u64(2), UpdateFlags.noExist);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(BpfError);
        expect(errnoName((err as BpfError).errno)).toBe('EEXIST');
        expect((err as Error).message).toMatch(/^updating map oncpu\/counts0: file exists/);
      }
      for (let i = 2; i <= 4; i++) m.update(key(i, i, 'x'), u64(i));
      // resized to 4 entries: the fifth does not fit
      expect(() => m.update(key(5, 5, 'x'), u64(5))).toThrow(/^updating map oncpu\/counts0: argument list too long: lower the map sizes/);
      expect(() => m.update(Buffer.alloc(3), u64(1))).toThrow(new RegExp(`key is 3 bytes, map wants ${ONCPU_KEY_SIZE}`));
    });
  });

  it('refuses unknown globals, wrong sizes and maps before load', () => {
    const o = openBpfObject('oncpu');
    try {
      expect(() => o.setGlobal('no_such_var', Buffer.alloc(4))).toThrow(/^setting global no_such_var of bpf object oncpu: no such file or directory/);
      expect(() => o.setGlobal('self_tgid', Buffer.alloc(8))).toThrow(/size mismatch/);
      expect(() => o.resizeMap('no_such_map', 4)).toThrow(/^resizing map oncpu\/no_such_map to 4: no such file or directory/);
      expect(() => o.map('counts0')).toThrow(/not loaded yet: call load\(\) first/);
    } finally {
      o.destroy();
      o.destroy(); // idempotent
    }
  });

  it('attaches and detaches one cpu-clock perf event per CPU without leaking fds', () => {
    withObject((o) => {
      const fds = (): number => readdirSync('/proc/self/fd').length;
      const before = fds();
      const links = onlineCpus().map((cpu) => o.attachPerfEvent('do_sample', { cpu, frequencyHz: 99 }));
      // each link holds a perf event fd and a bpf link fd
      expect(fds()).toBeGreaterThanOrEqual(before + links.length);
      for (const l of links) l.destroy();
      links[0]!.destroy();
      expect(fds()).toBe(before);
      expect(() => o.attachPerfEvent('do_sample', { cpu: 4096, frequencyHz: 99 })).toThrow(/cpu 4096/);
    });
  });
});
