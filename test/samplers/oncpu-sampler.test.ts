import { realpathSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOnCpuSampler, type OnCpuSampler } from '../../src/samplers/oncpu-sampler.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { cpuSeconds, execMapping, functionRanges } from './busy-oracles.js';
import { exited, startFixture } from '../helpers/start-fixture.js';

const skip = bpfSkipReason();

function total(batch: RawStackBatch, tgid?: number): number {
  return batch.samples.filter((s) => tgid === undefined || s.tgid === tgid).reduce((n, s) => n + (s.values[0] ?? 0), 0);
}

describe('on-CPU sampler on real BPF', () => {
  // A missing prerequisite fails the run instead of skipping it.
  beforeAll(() => requirePrerequisites(skip));
  let busy = '';
  let sampler: OnCpuSampler | undefined;
  beforeAll(() => {
    busy = realpathSync(compileFixture('busy.c', { flags: ['-O1', '-fno-omit-frame-pointer', '-g'] }));
  });
  afterEach(() => {
    sampler?.stop();
    sampler = undefined;
  });

  it('samples only the target at ~99 Hz with frame-pointer user stacks, as deltas', async () => {
    const child = await startFixture(busy, ['3'], { readyOn: 'ready' });
    const text = execMapping(child.pid, busy);
    const fns = functionRanges(busy, ['hot_a', 'hot_b', 'spin', 'main']);
    sampler = createOnCpuSampler({ frequencyHz: 99, targets: [child.pid] });
    sampler.start();
    const cpu0 = cpuSeconds(child.pid);
    await sleep(2000);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const batch = sampler.drain();

    expect(batch.valueTypes).toEqual([{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }]);
    expect(batch.periodType).toEqual({ type: 'cpu', unit: 'nanoseconds' });
    expect(batch.period).toBe(Math.round(1e9 / 99));
    expect(Number(batch.durationNs) / 1e9).toBeGreaterThan(1.9);
    expect(Number(batch.durationNs) / 1e9).toBeLessThan(2.6);
    expect(Math.abs(Number(batch.startTimeNs) / 1e6 - (Date.now() - 2000))).toBeLessThan(1000);

    expect(new Set(batch.samples.map((s) => s.tgid))).toEqual(new Set([child.pid]));
    expect(new Set(batch.samples.map((s) => s.comm))).toEqual(new Set(['busy']));
    const n = total(batch);
    console.log(`on-cpu: ${n} samples in ${Number(batch.durationNs) / 1e9}s for ${cpu}s of cpu, ${batch.samples.length} keys, drops ${JSON.stringify(batch.drops)}`);
    // 2 s x 99 Hz = 198 on an idle machine; when other work shares the
    // CPUs, the fixture's own CPU time x 99 Hz is what sampling should see
    expect(n).toBeLessThan(198 * 1.15);
    expect(n).toBeGreaterThan(cpu * 99 * 0.75);
    expect(n).toBeLessThan(cpu * 99 * 1.25 + 5);
    expect(cpu).toBeGreaterThan(0.3);
    for (const s of batch.samples) expect(s.values[1]).toBe((s.values[0] ?? 0) * batch.period);
    // stack-map collisions are possible but rare, and never silent
    expect((batch.drops.user_stack_lost ?? 0) + (batch.drops.kernel_stack_lost ?? 0)).toBeLessThan(n * 0.05);
    expect(batch.drops.counts_map_full).toBeUndefined();

    // user stacks: spin <- hot_x <- main, all inside busy's text mapping
    const inText = (a: bigint): boolean => a >= text.start && a < text.end;
    const fileAddr = (a: bigint): bigint => a - text.start + text.offset;
    const inFn = (a: bigint, name: string): boolean => {
      const r = fns.get(name)!;
      return fileAddr(a) >= r[0] && fileAddr(a) < r[1];
    };
    let deep = 0;
    let hotA = 0;
    let hotB = 0;
    let spinLeaf = 0;
    let spinChain = 0;
    for (const s of batch.samples) {
      const c = s.values[0] ?? 0;
      if (s.userStack.length >= 3 && s.userStack.slice(0, 3).every(inText)) deep += c;
      const caller = s.userStack.find((a, i) => i > 0 && inText(a) && !inFn(a, 'spin'));
      if (caller !== undefined && inFn(caller, 'hot_a')) hotA += c;
      if (caller !== undefined && inFn(caller, 'hot_b')) hotB += c;
      if (s.userStack.length >= 3 && inFn(s.userStack[0]!, 'spin')) {
        spinLeaf += c;
        if ((inFn(s.userStack[1]!, 'hot_a') || inFn(s.userStack[1]!, 'hot_b')) && inFn(s.userStack[2]!, 'main')) spinChain += c;
      }
    }
    console.log(`on-cpu: ${deep}/${n} with >=3 frames in text, hot_a ${hotA}, hot_b ${hotB}, spin->hot->main ${spinChain}/${spinLeaf}`);
    expect(deep / n).toBeGreaterThan(0.9);
    // spin <- hot_a|hot_b <- main, except a sample landing in spin's prologue
    expect(spinLeaf).toBeGreaterThan(n * 0.8);
    expect(spinChain / spinLeaf).toBeGreaterThan(0.95);
    // busy.c spends 70% of its loop in hot_a; allow 3.5 binomial sigmas
    const share = hotA / (hotA + hotB);
    const tolerance = Math.max(0.08, 3.5 * Math.sqrt((0.7 * 0.3) / (hotA + hotB)));
    expect(hotA + hotB).toBeGreaterThan(n * 0.9);
    expect(Math.abs(share - 0.7)).toBeLessThan(tolerance);

    await exited(child);
    sampler.drain(); // what ran between the first drain and the exit
    const after = sampler.drain();
    expect(after.samples).toEqual([]);
    expect(after.drops.counts_map_full).toBeUndefined();
  });

  it('switches targets at run time between a list and all', async () => {
    const a = await startFixture(busy, ['3'], { readyOn: 'ready' });
    const b = await startFixture(busy, ['3'], { readyOn: 'ready' });
    sampler = createOnCpuSampler({ targets: [a.pid] });
    sampler.start();
    await sleep(700);
    let batch = sampler.drain();
    expect(total(batch, a.pid)).toBeGreaterThan(2);
    expect(total(batch, b.pid)).toBe(0);

    sampler.setTargets([b.pid]);
    sampler.drain();
    await sleep(700);
    batch = sampler.drain();
    expect(total(batch, a.pid)).toBe(0);
    expect(total(batch, b.pid)).toBeGreaterThan(2);

    sampler.setTargets('all');
    await sleep(700);
    batch = sampler.drain();
    expect(total(batch, a.pid)).toBeGreaterThan(2);
    expect(total(batch, b.pid)).toBeGreaterThan(2);
    expect(batch.samples.some((s) => s.tgid === process.pid)).toBe(false); // selfTgid defaults to us
    a.kill();
    b.kill();
    await Promise.all([exited(a), exited(b)]);
  });

  it("samples nothing with 'none' while a target spins, then the pid it is switched to", async () => {
    const child = await startFixture(busy, ['4'], { readyOn: 'ready' });
    sampler = createOnCpuSampler({ targets: 'none' });
    sampler.start();
    let cpu0 = cpuSeconds(child.pid);
    await sleep(1000);
    let batch = sampler.drain();
    const spun = cpuSeconds(child.pid) - cpu0;
    console.log(`on-cpu none: ${total(batch)} samples in ${Number(batch.durationNs) / 1e9}s while the fixture used ${spun}s of cpu`);
    expect(spun).toBeGreaterThan(0.3); // there was something to sample
    expect(total(batch, child.pid)).toBe(0);
    expect(batch.samples).toEqual([]); // nor anything else: 'none' is not 'all'

    sampler.setTargets([child.pid]);
    cpu0 = cpuSeconds(child.pid);
    await sleep(1000);
    batch = sampler.drain();
    const cpu = cpuSeconds(child.pid) - cpu0;
    expect(cpu).toBeGreaterThan(0.3);
    expect(total(batch, child.pid)).toBeGreaterThan(cpu * 99 * 0.6);
    expect(new Set(batch.samples.map((s) => s.tgid))).toEqual(new Set([child.pid]));
    child.kill();
    await exited(child);
  });

  it('counts samples a full counts map refused instead of losing them silently', async () => {
    const a = await startFixture(busy, ['2'], { readyOn: 'ready' });
    const b = await startFixture(busy, ['2'], { readyOn: 'ready' });
    sampler = createOnCpuSampler({ targets: 'all', countsMaxEntries: 2, frequencyHz: 199 });
    sampler.start();
    await sleep(1000);
    const batch = sampler.drain();
    console.log(`on-cpu tiny map: ${batch.samples.length} keys, ${total(batch)} kept, drops ${JSON.stringify(batch.drops)}`);
    expect(batch.samples.length).toBeLessThanOrEqual(2);
    expect(batch.drops.counts_map_full).toBeGreaterThan(50);
    // every sample is either kept or counted: ~199 Hz x 2 CPUs busy for 1 s
    expect(total(batch) + (batch.drops.counts_map_full ?? 0)).toBeGreaterThan(199 * 2 * 0.7);
    a.kill();
    b.kill();
    await Promise.all([exited(a), exited(b)]);
  });
});
