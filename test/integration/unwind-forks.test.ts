/**
 * Forked workers (real BPF, as root): with every process sampled, a child
 * forked after sampling started, that runs 250 ms and exits without exec,
 * is walked with the .eh_frame tables. The BPF program asks for the tables
 * of a process it samples without them (unwind_asks), and the agent
 * answers within a fraction of a second, long before the next drain.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector } from '../../src/agent/collector-factory.js';
import type { Profile } from '../../src/profile/model.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { startFixture } from '../helpers/start-fixture.js';

const CHAIN = ['leaf', 'w3', 'w2', 'w1', 'worker', 'spawn_worker', 'main'];

/** The children's samples: how many, and how many walk from leaf through spawn_worker to main. */
function children(profile: Profile, parent: number): { total: number; complete: number; pids: number } {
  let total = 0;
  let complete = 0;
  const pids = new Set<number>();
  for (const s of profile.samples) {
    if (s.pid === parent || s.threadName !== 'unwind-forks') continue;
    const v = s.values[0] ?? 0;
    total += v;
    pids.add(s.pid);
    const names = s.frames.filter((f) => f.kind !== 'kernel').map((f) => f.functionName);
    const at = names.indexOf('leaf');
    if (at >= 0 && CHAIN.every((n, i) => names[at + i] === n)) complete += v;
  }
  return { total, complete, pids: pids.size };
}

/** Samples 4 s of forks; drains every second, or (`drainOnce`) only at the collect, as the agent may. */
async function recordForks(binary: string, dwarfUnwind: boolean, drainOnce = false): Promise<{ profile: Profile; parent: number; drainEveryMs: number }> {
  const parent = await startFixture(binary, ['300', '250'], { settleMs: 100 });
  procs.push(parent);
  const collector = createCollector('oncpu', { targets: 'all', frequencyHz: 199, dwarfUnwind });
  await collector.start();
  try {
    parent.kill('SIGUSR1');
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      if (!drainOnce) collector.poll();
    }
    const drainEveryMs = collector.drainEveryMs;
    return { profile: await collector.collect(), parent: parent.pid, drainEveryMs };
  } finally {
    collector.stop();
    parent.kill('SIGKILL');
  }
}

const procs: ChildProcess[] = [];

describe('forked workers with every process sampled', () => {
  beforeAll(() => requirePrerequisites(bpfSkipReason()));
  let binary = '';
  beforeAll(() => {
    binary = compileFixture('unwind-forks.c', { flags: OMIT_FRAME_POINTER });
  });
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
  });

  it('walks children forked after sampling started from leaf to main, where frame pointers alone do not', async () => {
    const walked = await recordForks(binary, true);
    const w = children(walked.profile, walked.parent);
    console.log(`forks, .eh_frame walker: ${w.pids} children, ${w.total} samples, ${w.complete} complete (${(100 * w.complete / Math.max(1, w.total)).toFixed(1)}%); drops ${JSON.stringify(walked.profile.drops)}`);
    const fp = await recordForks(binary, false);
    const f = children(fp.profile, fp.parent);
    console.log(`forks, frame pointers only: ${f.pids} children, ${f.total} samples, ${f.complete} complete`);

    // about 13 children of 250 ms in 4 s; a loaded machine runs fewer of them
    expect(w.pids).toBeGreaterThanOrEqual(5);
    expect(w.total).toBeGreaterThan(200);
    // each child's first ~50-100 ms (the ask, its /proc read, its entry) go by frame pointers
    expect(w.complete).toBeGreaterThan(w.total * 0.5);
    expect(f.total).toBeGreaterThan(200);
    expect(f.complete).toBeLessThan(f.total * 0.05);
    // Without the walker nothing reads a forked child at its first sample: the agent drains (and scans /proc) every second.
    expect(fp.drainEveryMs).toBe(1000);
  }, 60_000);

  it('walks them as completely when the maps are drained only at the collect, 4 s later (the agent drains every few seconds)', async () => {
    const walked = await recordForks(binary, true, true);
    const w = children(walked.profile, walked.parent);
    console.log(`forks, one drain after 4 s: ${w.pids} children, ${w.total} samples, ${w.complete} complete (${(100 * w.complete / Math.max(1, w.total)).toFixed(1)}%)`);
    expect(w.pids).toBeGreaterThanOrEqual(5);
    expect(w.total).toBeGreaterThan(200);
    expect(w.complete).toBeGreaterThan(w.total * 0.5);
  }, 60_000);
});
