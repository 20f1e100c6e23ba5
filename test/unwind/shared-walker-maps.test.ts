/**
 * One set of walker maps for both samplers (real BPF, as root): the on- and
 * off-CPU objects use the very maps the unwinder owns (same kernel map ids),
 * and both walk an FP-less program from its leaf through libc's start-up
 * with tables that were built and written once.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessUnwinder, type ProcessUnwinder } from '../../src/unwind/process-unwinder.js';
import { openBpfObject, type BpfObject } from '../../src/kernel/index.js';
import { createProcessTable } from '../../src/process/process-table.js';
import { createOffCpuSampler } from '../../src/samplers/offcpu-sampler.js';
import { createOnCpuSampler } from '../../src/samplers/oncpu-sampler.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';
import type { StackSampler } from '../../src/samplers/stack-sampler.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { startFixture, type StartedFixture } from '../helpers/start-fixture.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';

/** The kernel id of the map behind one of our fds. */
function mapId(fd: number): number {
  const m = /^map_id:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!m) throw new Error(`fd ${fd} is not a BPF map`);
  return Number(m[1]);
}

/** Share of `pid`'s first values whose user stack has at least `depth` frames. */
function deepShare(batch: RawStackBatch, pid: number, depth: number): { share: number; total: number } {
  let total = 0;
  let deep = 0;
  for (const s of batch.samples) {
    if (s.tgid !== pid) continue;
    const v = s.values[0] ?? 0;
    total += v;
    if (s.userStack.length >= depth) deep += v;
  }
  return { share: total > 0 ? deep / total : 0, total };
}

describe('walker maps shared by the on- and off-CPU samplers', () => {
  beforeAll(() => requirePrerequisites(bpfSkipReason()));
  const children: StartedFixture[] = [];
  let unwinder: ProcessUnwinder | undefined;
  const samplers: StackSampler[] = [];
  afterAll(() => {
    for (const s of samplers) s.stop();
    unwinder?.close();
    for (const c of children) c.kill('SIGKILL');
  });

  it('loads each table once and walks both kinds of stack with it', async () => {
    const bin = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    const spin = await startFixture(bin, ['spin', '20']);
    const nap = await startFixture(bin, ['sleep', '20']);
    children.push(spin, nap);
    await sleep(100);
    const processes = createProcessTable();
    for (const c of [spin, nap]) processes.observe(c.pid!);
    unwinder = createProcessUnwinder({ processes, targets: [spin.pid!, nap.pid!] });
    await unwinder.settled();
    // the binary, libc and ld.so, each once although two processes map them
    expect(unwinder.tables.stats()).toMatchObject({ filesLoaded: 3, tablesLive: 3, procsLive: 2 });

    const objects: BpfObject[] = [];
    const capture = (name: string): BpfObject => {
      const o = openBpfObject(name);
      objects.push(o);
      return o;
    };
    const on = createOnCpuSampler({ targets: [spin.pid!], unwindMaps: unwinder.maps }, capture);
    const off = createOffCpuSampler({ targets: [nap.pid!], unwindMaps: unwinder.maps }, capture);
    samplers.push(on, off);
    on.start();
    off.start();
    const want = [unwinder.maps.rows, unwinder.maps.tables, unwinder.maps.procs].map((m) => mapId(m.fd));
    for (const o of objects) {
      expect(['unwind_rows', 'unwind_tables', 'unwind_procs'].map((m) => mapId(o.map(m).fd))).toEqual(want);
    }

    await sleep(1500);
    // leaf, f20..f1, main, libc's two start frames, _start: 25
    const onCpu = deepShare(on.drain(), spin.pid!, 25);
    const offCpu = deepShare(off.drain(), nap.pid!, 25);
    console.log(`shared maps ${want.join(',')}: on-CPU ${onCpu.total} samples, ${(onCpu.share * 100).toFixed(1)}% >= 25 frames; ` +
      `off-CPU ${offCpu.total} switches, ${(offCpu.share * 100).toFixed(1)}% >= 25 frames`);
    expect(onCpu.total).toBeGreaterThan(50);
    expect(offCpu.total).toBeGreaterThan(50);
    expect(onCpu.share).toBeGreaterThan(0.95);
    expect(offCpu.share).toBeGreaterThan(0.95);
  });

  it('leaves the process table alone once closed: a later exit does not touch the closed maps', async () => {
    const bin = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    const child = await startFixture(bin, ['spin', '3']);
    children.push(child);
    await sleep(100);
    const processes = createProcessTable();
    processes.observe(child.pid!);
    const u = createProcessUnwinder({ processes, targets: [child.pid!] });
    await u.settled();
    expect(u.tables.stats().procsLive).toBe(1);
    // as when the walker failed to load and the collector fell back to frame pointers
    u.close();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // the exit reaches the table's listeners; a closed unwinder must not be one of them
    expect(() => processes.refresh()).not.toThrow();
    expect(processes.get(child.pid!)?.exited).toBe(true);
  });
});
