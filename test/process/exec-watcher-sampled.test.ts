/**
 * The exec watcher thread with the .eh_frame walker's maps (real BPF, as
 * root): the kernel reports only the execs of processes the walker already
 * has in unwind_procs, and the thread reads a program when the walker first
 * samples it (its ask in unwind_notices), while it runs.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnwindMapSet, UNWIND_PROC_SIZE, type UnwindMapSet } from '../../src/unwind/unwind-maps.js';
import { createOnCpuSampler } from '../../src/samplers/oncpu-sampler.js';
import { u32Bytes } from '../../src/samplers/oncpu-layout.js';
import type { ProcessEventSource, TrackedEvent } from '../../src/process/process-tracking.js';
import type { StackSampler } from '../../src/samplers/stack-sampler.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { startFixture, type StartedFixture } from '../helpers/start-fixture.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { loadCreateExecWatcherThread } from '../helpers/exec-watcher-thread.js';

/** The compiled thread: the worker script exists only in dist. */
async function startThread(maps: UnwindMapSet): Promise<ProcessEventSource> {
  const createExecWatcherThread = await loadCreateExecWatcherThread();
  const thread = createExecWatcherThread({ sampled: () => maps });
  thread.start();
  // the worker loads procevents before it reports anything
  await sleep(500);
  thread.poll();
  return thread;
}

/** Events of the thread until `done` says so or `ms` pass. */
async function collect(thread: ProcessEventSource, ms: number, done: (events: readonly TrackedEvent[]) => boolean = () => false): Promise<TrackedEvent[]> {
  const out: TrackedEvent[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until && !done(out)) {
    await sleep(20);
    out.push(...thread.poll());
  }
  return out;
}

/** Puts `pid` in its unwind_asked slot, as the walker's ask does; the slot's key. */
function markAsked(maps: UnwindMapSet, pid: number): Buffer {
  const key = u32Bytes(pid % 4096);
  const slot = Buffer.alloc(16);
  slot.writeUInt32LE(pid, 0);
  maps.asked.update(key, slot);
  return key;
}

/** Runs /bin/true `n` times, one after another; their pids. */
async function runTrue(n: number): Promise<number[]> {
  const pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = spawn('/bin/true');
    pids.push(c.pid!);
    await new Promise((r) => c.once('exit', r));
  }
  return pids;
}

describe('exec watcher thread with the walker maps (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(bpfSkipReason()));
  const children: StartedFixture[] = [];
  const cleanups: (() => void)[] = [];
  afterAll(() => {
    for (const c of cleanups.reverse()) c();
    for (const c of children) c.kill('SIGKILL');
  });

  /** Fresh walker maps and the thread over them, both closed after the file. */
  async function mapsAndThread(): Promise<{ maps: UnwindMapSet; thread: ProcessEventSource }> {
    const maps = createUnwindMapSet({ rowChunks: 16, tables: 16, procs: 64 });
    cleanups.push(() => maps.close());
    const thread = await startThread(maps);
    cleanups.push(() => thread.stop());
    return { maps, thread };
  }

  it('reports the execs of processes the walker has tables for or asked for, and no other', async () => {
    const { maps, thread } = await mapsAndThread();
    // Two shells the walker knows, each exec'ing sleep a second from now: one has
    // tables, the other was asked for (its tables may still be loading).
    const withTables = await startFixture('/bin/sh', ['-c', 'sleep 1; exec sleep 3']);
    const askedFor = await startFixture('/bin/sh', ['-c', 'sleep 1; exec sleep 4']);
    children.push(withTables, askedFor);
    maps.procs.update(u32Bytes(withTables.pid), Buffer.alloc(UNWIND_PROC_SIZE));
    markAsked(maps, askedFor.pid);
    const unknown = await runTrue(20);
    const events = await collect(thread, 5000, (es) => [withTables.pid, askedFor.pid].every((pid) => es.some((e) => e.pid === pid)));
    expect(events.find((e) => e.pid === withTables.pid)).toMatchObject({ kind: 'exec', comm: 'sleep', snapshot: { cmdline: ['sleep', '3'] } });
    expect(events.find((e) => e.pid === askedFor.pid)).toMatchObject({ kind: 'exec', comm: 'sleep', snapshot: { cmdline: ['sleep', '4'] } });
    // Programs the walker never sampled are not read at all.
    expect(events.filter((e) => unknown.includes(e.pid))).toEqual([]);
  });

  it('reports the exits of processes the walker has tables for with its next message, and no other exits', async () => {
    const { maps, thread } = await mapsAndThread();
    // An exit neither wakes the thread nor costs the main thread a message of its own:
    // it goes with the next one, here a known program's exec 0.7 s later (before it would go alone, HOLD_EXITS_MS).
    const leaving = await startFixture('/bin/sh', ['-c', 'sleep 0.3']);
    const waker = await startFixture('/bin/sh', ['-c', 'sleep 1; exec sleep 1']);
    children.push(leaving, waker);
    for (const pid of [leaving.pid, waker.pid]) maps.procs.update(u32Bytes(pid), Buffer.alloc(UNWIND_PROC_SIZE));
    const unknown = await runTrue(10);
    const polls: TrackedEvent[][] = [];
    const until = Date.now() + 5000;
    while (Date.now() < until && !polls.flat().some((e) => e.pid === leaving.pid && e.kind === 'exit')) {
      await sleep(20);
      polls.push(thread.poll());
    }
    const withExit = polls.find((p) => p.some((e) => e.pid === leaving.pid && e.kind === 'exit'));
    expect(withExit?.filter((e) => e.pid === leaving.pid)).toEqual([{ pid: leaving.pid, kind: 'exit' }]);
    // It came in the waker's message, before its exec (a re-read's update of the waker may follow in the same poll).
    expect(withExit?.slice(0, 2).map((e) => `${e.pid} ${e.kind}${e.update === true ? ' update' : ''}`)).toEqual([`${leaving.pid} exit`, `${waker.pid} exec`]);
    expect(polls.flat().filter((e) => unknown.includes(e.pid))).toEqual([]);
  });

  it('empties an asked slot at its process\'s exit, so the next process under the pid is not reported', async () => {
    const { maps, thread } = await mapsAndThread();
    const leaving = await startFixture('/bin/sh', ['-c', 'sleep 0.5']);
    // An exit does not wake the thread: a known program's exec does, and the exit goes with it.
    const waker = await startFixture('/bin/sh', ['-c', 'sleep 1.5; exec sleep 1']);
    children.push(leaving, waker);
    maps.procs.update(u32Bytes(waker.pid), Buffer.alloc(UNWIND_PROC_SIZE));
    const key = markAsked(maps, leaving.pid);
    const events = await collect(thread, 5000, (es) => es.some((e) => e.pid === leaving.pid && e.kind === 'exit'));
    expect(events.filter((e) => e.pid === leaving.pid)).toEqual([{ pid: leaving.pid, kind: 'exit' }]);
    // Left there, the slot would report whatever process takes the pid when pids come round.
    expect(maps.asked.lookup(key)?.readUInt32LE(0)).toBe(0);
  });

  it('reads a program at its first sample, while it runs', async () => {
    const { maps, thread } = await mapsAndThread();
    const bin = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    const spin = await startFixture(bin, ['spin', '10']);
    children.push(spin);
    // Started before the sampler: its exec was not reported, its first sample asks for it.
    expect(await collect(thread, 300)).toEqual([]);
    const sampler: StackSampler = createOnCpuSampler({ targets: [spin.pid], frequencyHz: 99, unwindMaps: maps });
    sampler.start();
    cleanups.push(() => sampler.stop());
    const first = await collect(thread, 3000, (es) => es.some((e) => e.pid === spin.pid));
    // With no tables installed here the walker asks again each second: the thread reads it once.
    const later = await collect(thread, 2500);
    const read = [...first, ...later].filter((e) => e.pid === spin.pid && e.update !== true);
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({ kind: 'exec', sampled: true });
    expect(read[0]?.snapshot?.exePath).toBe(bin);
    expect(read[0]?.snapshot?.maps).toContain(bin);
  });
});
