import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { BpfLink, BpfObject } from '../../src/kernel/index.js';
import { findAllocatorProbes } from '../../src/samplers/allocator-probes.js';
import { expQuantileTable, weightTable } from '../../src/samplers/memory-layout.js';
import { createMemorySampler, type MemoryProcessView } from '../../src/samplers/memory-sampler.js';
import { mergeBatches } from '../../src/samplers/merge-batches.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { fakeMap, type FakeMap } from '../helpers/fake-map.js';
import { fakeRingBuffer } from '../helpers/fake-ring-buffer.js';

const LIBC = execFileSync('gcc', ['-print-file-name=libc.so.6'], { encoding: 'utf8' }).trim();

interface Uprobe { program: string; pid: number; path: string; offset: number; retprobe: boolean; destroyed: boolean }

/** The memory program's maps, empty, and the uprobes the sampler attached. */
function fakeMemoryObject(): BpfObject & { maps: Map<string, FakeMap>; globals: Map<string, Buffer>; uprobes: Uprobe[] } {
  const maps = new Map<string, FakeMap>([
    ['control', fakeMap('control', 4, 8)],
    ['targets', fakeMap('targets', 4, 1)],
    ['counts0', fakeMap('counts0', 40, 32)],
    ['counts1', fakeMap('counts1', 40, 32)],
    ['ustacks0', fakeMap('ustacks0', 4, 1032)],
    ['ustacks1', fakeMap('ustacks1', 4, 1032)],
    ['pystacks0', fakeMap('pystacks0', 4, 528)],
    ['pystacks1', fakeMap('pystacks1', 4, 528)],
    ['live', fakeMap('live', 16, 48)],
    ['drops', fakeMap('drops', 4, 16)],
    ['unwind_drops', fakeMap('unwind_drops', 4, 16)],
  ]);
  const globals = new Map<string, Buffer>();
  const uprobes: Uprobe[] = [];
  return {
    name: 'memory', maps, globals, uprobes,
    setGlobal: (n, v) => void globals.set(n, v),
    resizeMap: () => undefined,
    setAutoload: () => undefined,
    reuseMap: () => undefined,
    load: () => undefined,
    map: (n) => {
      const m = maps.get(n);
      if (!m) throw new Error(`no map ${n}`);
      return m;
    },
    attachPerfEvent: () => { throw new Error('no perf events here'); },
    attach: () => { throw new Error('no tracepoints here'); },
    attachUprobe: (program, t): BpfLink => {
      const u = { program, pid: t.pid, path: t.binaryPath, offset: t.offset ?? -1, retprobe: t.retprobe ?? false, destroyed: false };
      uprobes.push(u);
      return { destroy: () => void (u.destroyed = true) };
    },
    ringBuffer: () => fakeRingBuffer(),
    destroy: () => undefined,
  };
}

/** struct memory_key: tgid, tid, user stack id, kernel stack id -1, comm, Python stack id (-1: none). */
function key(tgid: number, tid: number, stackId: number, comm = 'app', pyStackId = -1): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt32LE(tgid, 0);
  b.writeUInt32LE(tid, 4);
  b.writeInt32LE(stackId, 8);
  b.writeInt32LE(-1, 12);
  b.write(comm, 16);
  b.writeInt32LE(pyStackId, 32);
  return b;
}

/** struct python_stack: len, truncated, hash, packed frames. */
function pythonStack(frames: readonly bigint[]): Buffer {
  const b = Buffer.alloc(528);
  b.writeUInt32LE(frames.length, 0);
  frames.forEach((f, i) => b.writeBigUInt64LE(f, 16 + i * 8));
  return b;
}

/** struct memory_value with object counts given as (fractional) objects. */
function value(allocObjects: number, allocBytes: number, freeObjects = 0, freeBytes = 0): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigUInt64LE(BigInt(Math.round(allocObjects * 65536)), 0);
  b.writeBigUInt64LE(BigInt(allocBytes), 8);
  b.writeBigUInt64LE(BigInt(Math.round(freeObjects * 65536)), 16);
  b.writeBigUInt64LE(BigInt(freeBytes), 24);
  return b;
}

/** struct user_stack with these pcs. */
function userStack(pcs: bigint[]): Buffer {
  const b = Buffer.alloc(1032);
  b.writeUInt32LE(pcs.length, 0);
  pcs.forEach((pc, i) => b.writeBigUInt64LE(pc, 16 + i * 8));
  return b;
}

function liveKey(tgid: number, addr: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(tgid, 0);
  b.writeBigUInt64LE(addr, 8);
  return b;
}

function view(alive: Set<number>): MemoryProcessView {
  return {
    mappedFiles: (pid) => (alive.has(pid) ? [{ path: LIBC, key: 'libc' }] : []),
    pids: () => alive,
    alive: (pid) => alive.has(pid),
  };
}

/** The sampler over a fake object that the test fills between drains (the generation the program writes is the other one). */
function started(alive: Set<number>, targets: readonly number[] = [10]) {
  const obj = fakeMemoryObject();
  const sampler = createMemorySampler({ processes: view(alive), targets, settleMs: 0, rateBytes: 1024 }, () => obj);
  sampler.start();
  return { obj, sampler };
}

describe('allocator probes', () => {
  it("finds glibc's allocator functions by symbol, each entry with its return", () => {
    const probes = findAllocatorProbes(LIBC);
    const names = new Set(probes.map((p) => p.symbol));
    for (const fn of ['malloc', 'calloc', 'realloc', 'free', 'posix_memalign', 'munmap']) expect(names).toContain(fn);
    const malloc = probes.filter((p) => p.symbol === 'malloc');
    // the return probe first: attached in this order, no call the entry sees goes without its return
    expect(malloc.map((p) => [p.program, p.retprobe])).toEqual([['alloc_return', true], ['malloc_enter', false]]);
    // free has no return probe; aliases (mmap/mmap64, memalign/aligned_alloc) are probed once
    expect(probes.filter((p) => p.symbol === 'free').map((p) => p.retprobe)).toEqual([false]);
    expect(new Set(probes.map((p) => `${p.offset}/${p.retprobe}`)).size).toBe(probes.length);
  });

  it('finds tcmalloc-style names and their operator new in a library that is an allocator, none in one that is not', () => {
    const lib = compileFixture('fake-tcmalloc.c', { name: 'libfake-tcmalloc.so', flags: ['-shared', '-fPIC', '-O1'] });
    const probes = findAllocatorProbes(lib);
    // malloc is an alias of tc_malloc: one of the two names, probed once
    const entries = probes.filter((p) => !p.retprobe);
    const mallocs = entries.filter((p) => p.program === 'malloc_enter').map((p) => p.symbol);
    expect(mallocs).toHaveLength(2);
    expect(mallocs).toContain('_Znwm');
    expect(mallocs.find((n) => n !== '_Znwm')).toMatch(/^(tc_)?malloc$/);
    expect(entries.filter((p) => p.program === 'free_enter')).toHaveLength(1);
    const plain = compileFixture('sym-lib.c', { name: 'libsym-memtest.so', flags: ['-shared', '-fPIC', '-O1'] });
    expect(findAllocatorProbes(plain)).toEqual([]);
  });
});

describe('memory sampling tables', () => {
  it('draws intervals whose mean is the rate, and weighs a block by 1/p', () => {
    const q = expQuantileTable();
    let sum = 0;
    for (let i = 0; i < q.length; i += 4) sum += q.readUInt32LE(i);
    expect(sum / (q.length / 4) / 65536).toBeCloseTo(1, 4);
    const w = weightTable();
    const h = (i: number): number => w.readUInt32LE(i * 4) / 65536;
    expect(h(0)).toBe(1);
    // x = 1: a block of the rate's size is sampled with p = 1 - 1/e, so it stands for rate / p bytes
    expect(h(64)).toBeCloseTo(1 / (1 - Math.exp(-1)), 4);
    expect(h(1024)).toBeCloseTo(16, 3);
  });
});

describe('memory sampler drain (fake BPF object)', () => {
  it('probes every allocator function of the target, at the offsets of the symbol table', () => {
    const { obj } = started(new Set([10]));
    const want = findAllocatorProbes(LIBC);
    expect(obj.uprobes.map((u) => [u.program, u.offset, u.retprobe])).toEqual(want.map((p) => [p.program, p.offset, p.retprobe]));
    expect(obj.uprobes.every((u) => u.pid === 10 && u.path === LIBC)).toBe(true);
    expect(obj.globals.get('rate')?.readBigUInt64LE(0)).toBe(1024n);
  });

  it('reports allocations per window and in-use as a level that frees lower, across drains', () => {
    const { obj, sampler } = started(new Set([10]));
    // generation 0 is written until the first drain
    obj.maps.get('counts0')!.update(key(10, 11, 7), value(2.5, 5000));
    obj.maps.get('ustacks0')!.update(Buffer.from([7, 0, 0, 0]), userStack([0x1000n, 0x2000n]));
    const first = sampler.drain();
    expect(first.levels).toEqual([2, 3]);
    expect(first.samples).toHaveLength(1);
    expect(first.samples[0]!.userStack).toEqual([0x1000n, 0x2000n]);
    // 2.5 objects round to 3 now; the half carried makes the sum exact later
    expect(first.samples[0]!.values).toEqual([3, 5000, 3, 5000]);
    // the next window: half of it freed (by any thread: charged to the allocating key), one more half allocated
    obj.maps.get('counts1')!.update(key(10, 11, 7), value(0.5, 1000, 1.5, 3000));
    const second = sampler.drain();
    expect(second.samples[0]!.values).toEqual([0, 1000, 2, 3000]);
    // a quiet window still reports what is held
    const third = sampler.drain();
    expect(third.samples[0]!.values).toEqual([0, 0, 2, 3000]);
    const merged = mergeBatches([first, second, third]);
    expect(merged.samples[0]!.values).toEqual([3, 6000, 2, 3000]);
  });

  it('keeps two Python stacks under one native stack apart, within a drain and merged across drains', () => {
    const { obj, sampler } = started(new Set([10]));
    obj.maps.get('ustacks0')!.update(Buffer.from([7, 0, 0, 0]), userStack([0x1000n, 0x2000n]));
    obj.maps.get('pystacks0')!.update(Buffer.from([1, 0, 0, 0]), pythonStack([0x11n]));
    obj.maps.get('pystacks0')!.update(Buffer.from([2, 0, 0, 0]), pythonStack([0x22n]));
    obj.maps.get('counts0')!.update(key(10, 11, 7, 'python', 1), value(1, 1000));
    obj.maps.get('counts0')!.update(key(10, 11, 7, 'python', 2), value(2, 4000));
    const first = sampler.drain();
    expect(first.samples.map((x) => [x.pythonStack, x.values[1]])).toEqual([[[0x11n], 1000], [[0x22n], 4000]]);
    obj.maps.get('pystacks1')!.update(Buffer.from([2, 0, 0, 0]), pythonStack([0x22n]));
    obj.maps.get('counts1')!.update(key(10, 11, 7, 'python', 2), value(1, 2000));
    const merged = mergeBatches([first, sampler.drain()]);
    expect(merged.samples.map((x) => [x.pythonStack, x.values[1]])).toEqual([[[0x11n], 1000], [[0x22n], 6000]]);
  });

  it('drops a stack from the merged profile once everything it allocated was freed', () => {
    const { obj, sampler } = started(new Set([10]));
    obj.maps.get('counts0')!.update(key(10, 11, 7), value(1, 64));
    const a = sampler.drain();
    obj.maps.get('counts1')!.update(key(10, 11, 7), value(0, 0, 1, 64));
    const b = sampler.drain();
    expect(b.samples).toEqual([]);
    // allocated in the window, not held at its end
    expect(mergeBatches([a, b]).samples.map((s) => s.values)).toEqual([[1, 64, 0, 0]]);
  });

  it('forgets an exited process: its probes, its in-use and its blocks in the kernel', () => {
    const alive = new Set([10, 20]);
    const { obj, sampler } = started(alive, [10, 20]);
    obj.maps.get('counts0')!.update(key(10, 11, 7), value(1, 100));
    obj.maps.get('counts0')!.update(key(20, 20, 8), value(1, 200));
    obj.maps.get('live')!.update(liveKey(10, 0x5000n), Buffer.alloc(48));
    obj.maps.get('live')!.update(liveKey(20, 0x6000n), Buffer.alloc(48));
    sampler.drain();
    alive.delete(10);
    obj.maps.get('counts1')!.update(key(10, 11, 7), value(1, 100));
    const next = sampler.drain();
    // its last allocations stay, what it held goes with it
    expect(next.samples.map((s) => [s.tgid, ...s.values])).toEqual([[10, 1, 100, 0, 0], [20, 0, 0, 1, 200]]);
    expect(obj.uprobes.filter((u) => u.pid === 10).every((u) => u.destroyed)).toBe(true);
    expect(obj.uprobes.filter((u) => u.pid === 20).some((u) => u.destroyed)).toBe(false);
    expect([...obj.maps.get('live')!.entries.keys()].map((k) => Buffer.from(k, 'hex').readUInt32LE(0))).toEqual([20]);
  });

  it('forgets what an image held once its process exec\'ed away from it, keeping the new image\'s', () => {
    const formerStacks = new Set<bigint>();
    const obj = fakeMemoryObject();
    const processes: MemoryProcessView = { ...view(new Set([10])), formerImage: (_pid, stack) => formerStacks.has(stack[0]!) };
    const sampler = createMemorySampler({ processes, targets: [10], settleMs: 0, rateBytes: 1024 }, () => obj);
    sampler.start();
    // live values start with the allocating key
    const liveValue = (k: Buffer): Buffer => Buffer.concat([k, Buffer.alloc(8)]);
    obj.maps.get('ustacks0')!.update(Buffer.from([7, 0, 0, 0]), userStack([0x1000n]));
    obj.maps.get('counts0')!.update(key(10, 10, 7), value(1, 100));
    obj.maps.get('live')!.update(liveKey(10, 0x5000n), liveValue(key(10, 10, 7)));
    sampler.drain();
    // the exec: stack 7 is the old image's, stack 8 the new one's
    formerStacks.add(0x1000n);
    obj.maps.get('ustacks1')!.update(Buffer.from([8, 0, 0, 0]), userStack([0x9000n]));
    obj.maps.get('counts1')!.update(key(10, 10, 8), value(1, 300));
    obj.maps.get('live')!.update(liveKey(10, 0x7000n), liveValue(key(10, 10, 8)));
    const next = sampler.drain();
    expect(next.samples.map((s) => [s.userStack[0], ...s.values])).toEqual([[0x9000n, 1, 300, 1, 300]]);
    // the old image's block left the kernel map: a later block at its address is not charged to it
    expect([...obj.maps.get('live')!.entries.keys()].map((k) => Buffer.from(k, 'hex').readBigUInt64LE(8))).toEqual([0x7000n]);
    expect(sampler.drain().samples.map((s) => s.userStack[0])).toEqual([0x9000n]);
  });

  it('reads a named target\'s maps afresh each drain, and probes an allocator it dlopen()ed since', () => {
    const lib = compileFixture('fake-tcmalloc.c', { name: 'libfake-tcmalloc.so', flags: ['-shared', '-fPIC', '-O1'] });
    let loaded = false;
    const asked: boolean[] = [];
    const processes: MemoryProcessView = {
      ...view(new Set([10])),
      mappedFiles: (_pid, fresh) => {
        asked.push(fresh === true);
        return [{ path: LIBC, key: 'libc' }, ...(loaded && fresh === true ? [{ path: lib, key: 'tc' }] : [])];
      },
    };
    const obj = fakeMemoryObject();
    const sampler = createMemorySampler({ processes, targets: [10], settleMs: 0, rateBytes: 1024 }, () => obj);
    sampler.start();
    expect(obj.uprobes.some((u) => u.path === lib)).toBe(false);
    loaded = true;
    sampler.drain();
    expect(asked.every((f) => f)).toBe(true);
    expect(obj.uprobes.filter((u) => u.path === lib && u.pid === 10).map((u) => u.program)).toContain('malloc_enter');
  });

  it('follows setTargets: detaches from processes left, probes the new ones', () => {
    const { obj, sampler } = started(new Set([10, 30]), [10]);
    sampler.setTargets([30]);
    expect(obj.uprobes.filter((u) => u.pid === 10).every((u) => u.destroyed)).toBe(true);
    expect(obj.uprobes.some((u) => u.pid === 30 && !u.destroyed)).toBe(true);
    sampler.stop();
    expect(obj.uprobes.every((u) => u.destroyed)).toBe(true);
  });

  it("with 'all', probes each allocator file once for every process, and nothing with 'none'", () => {
    const { obj, sampler } = started(new Set([10, 20, 30]), []);
    expect(obj.uprobes).toEqual([]);
    sampler.setTargets('all');
    const entries = obj.uprobes.filter((u) => !u.destroyed);
    expect(entries.length).toBe(findAllocatorProbes(LIBC).length);
    expect(entries.every((u) => u.pid === -1)).toBe(true);
    // the kernel filter lets every process through
    expect(obj.maps.get('control')!.lookup(Buffer.alloc(4))!.readUInt32LE(4)).toBe(1);
    sampler.setTargets('none');
    expect(obj.uprobes.every((u) => u.destroyed)).toBe(true);
  });

  it('rejects a rate it cannot weigh with', () => {
    expect(() => createMemorySampler({ processes: view(new Set()), rateBytes: 0 })).toThrow(/rate 0 bytes out of range: use 1\.\./);
  });
});
