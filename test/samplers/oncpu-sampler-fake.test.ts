import { describe, expect, it } from 'vitest';
import { createOnCpuSampler, defaultOnCpuMapEntries, onCpuDrainEveryMs } from '../../src/samplers/oncpu-sampler.js';
import { fakeOnCpuObject, type FakeObject } from '../helpers/fake-oncpu-object.js';
import { withDrain } from '../../src/samplers/stack-sampler.js';

function key(tgid: number, pid: number, user: number, kern: number, comm: string): Buffer {
  const k = Buffer.alloc(32);
  k.writeUInt32LE(tgid, 0);
  k.writeUInt32LE(pid, 4);
  k.writeInt32LE(user, 8);
  k.writeInt32LE(kern, 12);
  k.write(comm, 16);
  return k;
}
const u32 = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);
const u64 = (n: number): Buffer => Buffer.from(new BigUint64Array([BigInt(n)]).buffer);
function stack(...addrs: bigint[]): Buffer {
  const b = Buffer.alloc(127 * 8);
  addrs.forEach((a, i) => b.writeBigUInt64LE(a, i * 8));
  return b;
}
/** drops[reason] on two CPUs. */
function setDrops(o: FakeObject, reason: number, cpu0: number, cpu1: number): void {
  o.maps.get('drops')!.update(u32(reason), Buffer.concat([u64(cpu0), u64(cpu1)]));
}
const control = (o: FakeObject): [number, number] => {
  const v = o.maps.get('control')!.lookup(u32(0))!;
  return [v.readUInt32LE(0), v.readUInt32LE(4)];
};

describe('on-CPU sampler over a fake BPF object', () => {
  it('loads apart from attaching: load() opens and loads once, start() then only attaches', () => {
    let opened = 0;
    let loads = 0;
    const o = fakeOnCpuObject();
    const load = o.load;
    o.load = () => { loads++; load(); };
    const s = createOnCpuSampler({ frequencyHz: 49, cpus: [0, 1] }, () => { opened++; return o; });
    s.load!();
    expect([opened, loads, o.attached.length]).toEqual([1, 1, 0]);
    // the targets and control written at load: the programs see a valid selection once attached
    expect(control(o)).toEqual([0, 1]);
    s.start();
    expect([opened, loads, o.attached.length]).toEqual([1, 1, 2]);
    expect(() => s.start()).toThrow(/already started/);
    expect(() => s.load!()).toThrow(/already loaded/);
    s.stop();
    expect(o.attached.every((a) => a.destroyed)).toBe(true);
    expect(o.destroyed).toBe(true);
  });

  it('configures, loads and attaches one perf event per CPU', () => {
    const o = fakeOnCpuObject();
    const s = createOnCpuSampler({ frequencyHz: 49, includeIdle: true, selfTgid: 77, targets: [5], cpus: [0, 1, 3],
      countsMaxEntries: 2, stacksMaxEntries: 64 }, () => o);
    s.start();
    expect([...o.globals]).toEqual([
      ['filter_tgid', Buffer.from([1])], ['include_idle', Buffer.from([1])], ['self_tgid', u32(77)], ['dwarf_unwind', Buffer.from([0])],
      ['python_frames', Buffer.from([0])],
    ]);
    // the unwinder is off by default: its maps shrink to one entry
    expect(Object.fromEntries(o.sizes)).toEqual({
      counts0: 2, counts1: 2, stacks0: 64, stacks1: 64, targets: 1024,
      unwind_rows: 1, unwind_tables: 1, unwind_procs: 1, unwind_asked: 1, unwind_asks: 4096, unwind_notices: 4096, ustacks0: 1, ustacks1: 1,
      python_procs: 1, pystacks0: 1, pystacks1: 1,
    });
    expect(o.attached.map((a) => [a.cpu, a.frequencyHz])).toEqual([[0, 49], [1, 49], [3, 49]]);
    expect(control(o)).toEqual([0, 0]);
    expect([...o.maps.get('targets')!.entries.keys()]).toEqual([u32(5).toString('hex')]);
    expect(() => s.start()).toThrow(/already started/);
    s.stop();
    expect(o.attached.every((a) => a.destroyed)).toBe(true);
    expect(o.destroyed).toBe(true);
  });

  it('flips the generation before draining and decodes deltas', () => {
    const o = fakeOnCpuObject();
    setDrops(o, 0, 1, 1); // drops before start are not this window's
    const s = createOnCpuSampler({ frequencyHz: 100, settleMs: 0, cpus: [0] }, () => o);
    s.start();
    o.maps.get('counts0')!.update(key(42, 43, 3, 9, 'worker'), u64(5));
    o.maps.get('counts0')!.update(key(42, 44, -1, 9, 'kworker'), u64(2));
    o.maps.get('stacks0')!.update(u32(3), stack(0x401000n, 0x402000n, 0x403000n));
    o.maps.get('stacks0')!.update(u32(9), stack(0xffffffff81000000n));
    o.maps.get('stacks0')!.update(u32(11), stack(0x999n)); // unreferenced: must be swept
    setDrops(o, 0, 3, 1);
    setDrops(o, 1, 0, 4);
    let genWhileDraining = -1;
    o.maps.get('counts0')!.onDrain = () => void (genWhileDraining = control(o)[0]);

    const b = s.drain();
    expect(genWhileDraining).toBe(1);
    expect(b.period).toBe(10_000_000);
    expect(b.samples).toEqual([
      { tgid: 42, tid: 43, comm: 'worker', userStack: [0x401000n, 0x402000n, 0x403000n],
        kernelStack: [0xffffffff81000000n], values: [5, 50_000_000] },
      { tgid: 42, tid: 44, comm: 'kworker', userStack: [], kernelStack: [0xffffffff81000000n],
        values: [2, 20_000_000] },
    ]);
    expect(b.drops).toEqual({ counts_map_full: 2, user_stack_lost: 4 });
    expect(o.maps.get('stacks0')!.entries.size).toBe(0);
    expect(o.maps.get('counts0')!.entries.size).toBe(0);
    expect(b.durationNs).toBeGreaterThanOrEqual(0n);

    // the next window reads generation 1 and flips back to 0
    o.maps.get('counts1')!.update(key(1, 1, -1, -1, 'x'), u64(1));
    o.maps.get('counts1')!.update(key(1, 2, 7, -1, 'y'), u64(1)); // stack 7 vanished
    const b2 = s.drain();
    expect(control(o)[0]).toBe(0);
    expect(b2.samples.map((x) => x.tid)).toEqual([1, 2]);
    expect(b2.drops).toEqual({ stack_missing: 1 });
    expect(b2.startTimeNs).toBe(b.startTimeNs + b.durationNs);
    s.stop();
  });

  it('switches the target filter between a list, all and none', () => {
    const o = fakeOnCpuObject();
    const s = createOnCpuSampler({ cpus: [0], targets: 'all' }, () => o);
    s.start();
    const targets = o.maps.get('targets')!;
    expect(control(o)[1]).toBe(1);
    s.setTargets([5, 6, 6]);
    expect([...targets.entries.keys()].sort()).toEqual([u32(5), u32(6)].map((b) => b.toString('hex')));
    expect(control(o)[1]).toBe(0);
    s.setTargets([6, 7]);
    expect([...targets.entries.keys()].sort()).toEqual([u32(6), u32(7)].map((b) => b.toString('hex')));
    s.setTargets('all');
    expect(control(o)[1]).toBe(1);
    expect(targets.entries.size).toBe(0);
    // an empty list selects no process: all_targets stays off over an empty map
    s.setTargets([6]);
    s.setTargets([]);
    expect(control(o)[1]).toBe(0);
    expect(targets.entries.size).toBe(0);
    s.stop();
  });

  it('cleans up when start fails, and refuses bad settings', () => {
    const o = fakeOnCpuObject();
    o.failLoad = new Error('loading bpf program oncpu: operation not permitted');
    const s = createOnCpuSampler({ cpus: [0] }, () => o);
    expect(() => s.start()).toThrow(/operation not permitted/);
    expect(o.destroyed).toBe(true);
    expect(() => s.drain()).toThrow(/not started: call start\(\) first/);
    expect(() => createOnCpuSampler({ frequencyHz: 0 })).toThrow(/frequency 0 Hz out of range/);
  });
});

describe('on-CPU map sizes', () => {
  it('hold two seconds of samples of every CPU, between 2k and 16k entries', () => {
    expect(defaultOnCpuMapEntries(99, 2)).toBe(2048);
    expect(defaultOnCpuMapEntries(99, 16)).toBe(4096);
    expect(defaultOnCpuMapEntries(99, 64)).toBe(16384);
    expect(defaultOnCpuMapEntries(999, 128)).toBe(16384);
  });

  it('lets the maps go undrained for half the time distinct stacks would take to fill them, 1 to 15 s', () => {
    // 2048 entries at 19 or 99 Hz on 2 CPUs: 54 s and 10.3 s to fill.
    expect(onCpuDrainEveryMs(19, 2, defaultOnCpuMapEntries(19, 2))).toBe(15_000);
    expect(onCpuDrainEveryMs(99, 2, defaultOnCpuMapEntries(99, 2))).toBe(5171);
    // 19 Hz on 8 CPUs: 2048 entries fill in 13.5 s.
    expect(onCpuDrainEveryMs(19, 8, defaultOnCpuMapEntries(19, 8))).toBe(6736);
    // 4096 entries at 99 Hz on 16 CPUs fill in 2.59 s.
    expect(onCpuDrainEveryMs(99, 16, defaultOnCpuMapEntries(99, 16))).toBe(1292);
    expect(onCpuDrainEveryMs(999, 128, defaultOnCpuMapEntries(999, 128))).toBe(1000);
    // What the sampler tells its collector, through the unwinder's and Python's wrappers too.
    const sampler = createOnCpuSampler({ frequencyHz: 99, cpus: [0, 1], countsMaxEntries: 1024 }, () => fakeOnCpuObject());
    expect(sampler.drainEveryMs).toBe(2585);
    expect(withDrain(sampler, (s) => s.drain()).drainEveryMs).toBe(2585);
  });
});
