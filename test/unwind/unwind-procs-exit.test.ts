/**
 * A sampled process's unwind_procs slot is freed soon after its exit (real
 * BPF, as root): the exec watcher thread, given the walker's maps, is told of
 * the exits of the processes the walker knows and sends them with its next
 * message (here the next sampled program's), and the process table marks
 * them gone then, so the slot and its tables do not wait for the next drain's
 * scan (up to 15 s at 19 Hz). What its samples are named with stays until the
 * drain.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessUnwinder, type ProcessUnwinder } from '../../src/unwind/process-unwinder.js';
import { createProcessTable } from '../../src/process/process-table.js';
import { createProcessTracking, type ProcessTracking } from '../../src/process/process-tracking.js';
import { createOnCpuSampler } from '../../src/samplers/oncpu-sampler.js';
import { u32Bytes } from '../../src/samplers/oncpu-layout.js';
import type { StackSampler } from '../../src/samplers/stack-sampler.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { startFixture, type StartedFixture } from '../helpers/start-fixture.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { loadCreateExecWatcherThread } from '../helpers/exec-watcher-thread.js';

/** Polls `done` every 20 ms for up to `ms`; whether it came true. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

describe('the walker slot of a sampled process (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(bpfSkipReason()));
  const children: StartedFixture[] = [];
  const cleanups: (() => void)[] = [];
  afterAll(() => {
    for (const c of cleanups.reverse()) c();
    for (const c of children) c.kill('SIGKILL');
  });

  it('is freed after the process exits with the next message of the thread, before any scan of /proc, and its mappings stay for naming', async () => {
    const processes = createProcessTable();
    const unwinder: ProcessUnwinder = createProcessUnwinder({ processes, targets: [] });
    cleanups.push(() => unwinder.close());
    const createExecWatcherThread = await loadCreateExecWatcherThread();
    const tracking: ProcessTracking = createProcessTracking({
      events: createExecWatcherThread({ sampled: () => unwinder.maps }),
      processes,
      prepare: () => {},
      adoptWhenAsked: () => true,
    });
    tracking.start();
    cleanups.push(() => tracking.stop());
    await sleep(500); // the worker loads procevents

    const bin = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    const spin = await startFixture(bin, ['spin', '20']);
    children.push(spin);
    const sampler: StackSampler = createOnCpuSampler({ targets: [spin.pid], frequencyHz: 99, unwindMaps: unwinder.maps });
    sampler.start();
    cleanups.push(() => sampler.stop());
    // Its first sample asks for its tables; the slot is written once they are built.
    const slot = (): Buffer | undefined => unwinder.maps.procs.lookup(u32Bytes(spin.pid));
    expect(await until(() => slot() !== undefined, 5000)).toBe(true);
    expect(unwinder.tables.stats().procsLive).toBe(1);

    spin.kill('SIGKILL');
    await new Promise((r) => spin.once('exit', r));
    // The next program sampled: its first sample wakes the thread, whose message carries the exit.
    const next = await startFixture(bin, ['spin', '20']);
    children.push(next);
    sampler.stop();
    const nextSampler: StackSampler = createOnCpuSampler({ targets: [next.pid], frequencyHz: 99, unwindMaps: unwinder.maps });
    nextSampler.start();
    cleanups.push(() => nextSampler.stop());
    const startedAt = Date.now();
    expect(await until(() => slot() === undefined, 3000)).toBe(true);
    console.log(`unwind_procs slot of pid ${spin.pid} freed ${Date.now() - startedAt} ms after the next program's sampling began`);
    expect(unwinder.tables.has(spin.pid)).toBe(false);
    // No slot is left but the next program's.
    const slots: number[] = [];
    for (let k = unwinder.maps.procs.nextKey(undefined); k !== undefined; k = unwinder.maps.procs.nextKey(k)) slots.push(k.readUInt32LE(0));
    expect(slots.filter((pid) => pid !== next.pid)).toEqual([]);
    // Gone, and still known: its drained samples are named against these mappings.
    const gone = processes.get(spin.pid);
    expect(gone?.exited).toBe(true);
    expect(gone?.mappings.some((m) => m.path === bin)).toBe(true);
    expect(processes.exitedPids()).toContain(spin.pid);
  });
});
