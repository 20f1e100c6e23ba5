import { describe, expect, it } from 'vitest';
import type { BpfObjectFactory } from '../../src/kernel/index.js';
import { createOffCpuSampler } from '../../src/samplers/offcpu-sampler.js';
import { createOnCpuSampler } from '../../src/samplers/oncpu-sampler.js';
import { normalizeTargets, type TargetSelection } from '../../src/stacks/raw-stacks.js';
import { type StackSampler } from '../../src/samplers/stack-sampler.js';
import { fakeMap, type FakeMap } from '../helpers/fake-map.js';
import { fakeOnCpuObject, type FakeObject } from '../helpers/fake-oncpu-object.js';

/** The on-CPU fake plus off-CPU's `start` map (threads off the CPU now), so either sampler drains. */
function fakeSamplerObject(): FakeObject {
  const o = fakeOnCpuObject();
  o.maps.set('start', fakeMap('start', 4, 40));
  return o;
}

const u32 = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);

/** control[0].all_targets, as the BPF programs read it (an absent entry reads as 0 in off-CPU, skips in on-CPU). */
const allTargets = (o: FakeObject): number => o.maps.get('control')!.lookup(u32(0))?.readUInt32LE(4) ?? 0;
const targetKeys = (o: FakeObject): number[] =>
  [...o.maps.get('targets')!.entries.keys()].map((k) => Buffer.from(k, 'hex').readUInt32LE(0)).sort((a, b) => a - b);

/**
 * What the kernel filter lets through for `tgid` right now (filter_tgid is
 * always on): bpf/oncpu.bpf.c `!ctl->all_targets && !lookup(targets)` and
 * bpf/offcpu.bpf.c targeted().
 */
const kernelSamples = (o: FakeObject, tgid: number): boolean =>
  allTargets(o) === 1 || o.maps.get('targets')!.lookup(u32(tgid)) !== undefined;

const inSelection = (sel: TargetSelection, tgid: number): boolean =>
  sel === 'all' || (sel !== 'none' && sel.includes(tgid));

/** Calls `after` after every write to the control and targets maps. */
function observeWrites(o: FakeObject, after: () => void): void {
  for (const name of ['control', 'targets']) {
    const m: FakeMap = o.maps.get(name)!;
    const { update, delete: del, updateRun, deleteBatch } = m;
    m.update = (k, v) => { update(k, v); after(); };
    m.delete = (k) => { const r = del(k); after(); return r; };
    m.updateRun = (first, vs) => { updateRun(first, vs); after(); };
    m.deleteBatch = (ks) => { const r = deleteBatch(ks); after(); return r; };
  }
}

const samplers: [string, (targets: TargetSelection, open: BpfObjectFactory) => StackSampler][] = [
  ['on-CPU', (targets, open) => createOnCpuSampler({ cpus: [0], settleMs: 0, targets }, open)],
  ['off-CPU', (targets, open) => createOffCpuSampler({ attachMode: 'tp_btf', settleMs: 0, targets }, open)],
];

describe.each(samplers)('%s sampler target selection over a fake BPF object', (_name, create) => {
  it("starts with 'none' as an empty targets map and all_targets = 0, and an empty list is 'none' too", () => {
    for (const none of ['none', []] as const) {
      const o = fakeSamplerObject();
      const s = create(none, () => o);
      s.start();
      expect(targetKeys(o)).toEqual([]);
      expect(allTargets(o)).toBe(0);
      expect(kernelSamples(o, 1234)).toBe(false);
      // the generation flip of a drain rewrites control: it must stay "none"
      s.drain();
      expect(allTargets(o)).toBe(0);
      s.stop();
    }
  });

  it("switches none → list → all → none, and [] from a list means none, not all", () => {
    const o = fakeSamplerObject();
    const s = create('none', () => o);
    s.start();
    s.setTargets([5, 6, 6]);
    expect(targetKeys(o)).toEqual([5, 6]);
    expect(allTargets(o)).toBe(0);
    s.setTargets('all');
    expect(targetKeys(o)).toEqual([]);
    expect(allTargets(o)).toBe(1);
    s.setTargets('none');
    expect(targetKeys(o)).toEqual([]);
    expect(allTargets(o)).toBe(0);
    s.setTargets([7]);
    s.setTargets([]);
    expect(targetKeys(o)).toEqual([]);
    expect(allTargets(o)).toBe(0);
    // a selection set before start() is what start() writes
    const o2 = fakeSamplerObject();
    const s2 = create('all', () => o2);
    s2.setTargets('none');
    s2.start();
    expect(allTargets(o2)).toBe(0);
    s.stop();
    s2.stop();
  });

  it('never lets more through than the old or the new selection, nor drops a tgid in both, between writes', () => {
    const steps: TargetSelection[] = ['none', [5, 6], 'all', 'none', 'all', [6], [6, 7], [], [7], 'all', [5], 'none'];
    const probes = [5, 6, 7, 999];
    const o = fakeSamplerObject();
    const s = create(steps[0]!, () => o);
    s.start();
    let from: TargetSelection = steps[0]!;
    let to: TargetSelection = steps[0]!;
    let writes = 0;
    const violations: string[] = [];
    observeWrites(o, () => {
      writes++;
      for (const t of probes) {
        const now = kernelSamples(o, t);
        const mayBe = inSelection(from, t) || inSelection(to, t);
        const mustBe = inSelection(from, t) && inSelection(to, t);
        if (now && !mayBe) violations.push(`${JSON.stringify(from)} → ${JSON.stringify(to)}: samples ${t}`);
        if (!now && mustBe) violations.push(`${JSON.stringify(from)} → ${JSON.stringify(to)}: misses ${t}`);
      }
    });
    for (const next of steps.slice(1)) {
      to = next;
      s.setTargets(next);
      for (const t of probes) expect(kernelSamples(o, t), `${JSON.stringify(next)} ${t}`).toBe(inSelection(next, t));
      from = next;
    }
    expect(writes).toBeGreaterThan(steps.length);
    expect(violations).toEqual([]);
    s.stop();
  });
});

describe('normalizeTargets', () => {
  it("keeps 'all' and 'none', makes [] 'none', drops duplicates", () => {
    expect(normalizeTargets('all')).toBe('all');
    expect(normalizeTargets('none')).toBe('none');
    expect(normalizeTargets([])).toBe('none');
    expect(normalizeTargets([3, 1, 3])).toEqual([3, 1]);
  });

  it('refuses tgid 0 and other non-process ids: nothing is said with a fake pid', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 32]) {
      expect(() => normalizeTargets([4, bad])).toThrow(/is not a process id: pass positive tgids, or 'none'/);
    }
    expect(() => createOnCpuSampler({ targets: [0] })).toThrow(/0 is not a process id/);
    const s = createOffCpuSampler({}, () => fakeSamplerObject());
    expect(() => s.setTargets([0])).toThrow(/0 is not a process id/);
  });
});
