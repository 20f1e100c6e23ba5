import { onlineCpus, openBpfObject } from '../kernel/index.js';
import type { BpfLink, BpfObject, BpfObjectFactory } from '../kernel/index.js';
import { drainOnCpuGeneration } from './oncpu-drain.js';
import { encodeOnCpuControl, ONCPU_DROP_REASONS, u32Bytes } from './oncpu-layout.js';
import { createGenerationDrain } from './generation-drain.js';
import { normalizeTargets, type NormalizedTargets, type RawStackBatch, type TargetSelection } from '../stacks/raw-stacks.js';
import { type StackSampler } from './stack-sampler.js';
import { prepareWalkerMaps, applyTargets, syncTargetMap, type SharedWalkerMaps } from './sampler-maps.js';
import { type Logger } from '../log/logger.js';

/** Settings of the on-CPU sampler; every field has a default. */
export interface OnCpuSamplerOptions {
  /** Samples per second per CPU; default 99 (off the 100 Hz timer tick). */
  readonly frequencyHz?: number;
  /** Count the idle task (pid 0); default false. */
  readonly includeIdle?: boolean;
  /** Processes to sample; default 'all'. 'none' or an empty list: no process, until setTargets(). */
  readonly targets?: TargetSelection;
  /** A tgid never sampled, normally the agent's own; default process.pid, 0 = none. */
  readonly selfTgid?: number;
  /** Distinct (thread, stacks) keys per drain interval; default from frequency and CPUs (defaultOnCpuMapEntries). */
  readonly countsMaxEntries?: number;
  /** Distinct stacks per drain interval; default from frequency and CPUs (defaultOnCpuMapEntries). */
  readonly stacksMaxEntries?: number;
  /** Size of the target filter; default 1024. */
  readonly targetsMaxEntries?: number;
  /** How long a flip waits for programs still writing the old generation; default 5 ms. */
  readonly settleMs?: number;
  /** CPUs to sample; default every online CPU. */
  readonly cpus?: readonly number[];
  readonly log?: Logger;
  /**
   * Walk user stacks with the .eh_frame tables in these maps (bpf/unwinder.h,
   * Linux 5.17+); default none: frame pointers only.
   */
  readonly unwindMaps?: SharedWalkerMaps;
  /** With unwindMaps: also walk the Python frames of the processes in its python_procs; default true. */
  readonly pythonFrames?: boolean;
}

/** The on-CPU sampler: a StackSampler over bpf/oncpu.bpf.c. */
export interface OnCpuSampler extends StackSampler {
  readonly frequencyHz: number;
}

const valueTypes = [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }] as const;
const periodType = { type: 'cpu', unit: 'nanoseconds' } as const;

/**
 * Creates an on-CPU sampler (Linux 5.8+: BTF, batch map ops, CAP_BPF).
 * start() loads and attaches, drain() returns exact deltas since the last
 * drain, stop() detaches; `open` is replaceable for tests.
 */
export function createOnCpuSampler(
  opts: OnCpuSamplerOptions = {},
  open: BpfObjectFactory = (name) => openBpfObject(name, opts.log ? { log: opts.log } : {}),
): OnCpuSampler {
  const frequencyHz = opts.frequencyHz ?? 99;
  if (!Number.isInteger(frequencyHz) || frequencyHz < 1 || frequencyHz > 10_000) {
    throw new Error(`creating on-cpu sampler: frequency ${frequencyHz} Hz out of range: use 1..10000`);
  }
  const period = Math.round(1e9 / frequencyHz);
  const dwarf = opts.unwindMaps !== undefined;
  const window = createGenerationDrain({ valueTypes, periodType, period }, ONCPU_DROP_REASONS, dwarf, opts.settleMs);
  let obj: BpfObject | undefined;
  let links: BpfLink[] = [];
  let targets: NormalizedTargets = normalizeTargets(opts.targets ?? 'all');

  const writeControl = (o: BpfObject): void =>
    o.map('control').update(u32Bytes(0), encodeOnCpuControl(window.generation, targets === 'all'));

  const writeTargets = (o: BpfObject): void => syncTargetMap(o.map('targets'), targets);
  let cpuList: readonly number[] | undefined;
  const cpus = (): readonly number[] => (cpuList ??= opts.cpus ?? onlineCpus());

  const stop = (): void => {
    for (const l of links) l.destroy();
    links = [];
    obj?.destroy();
    obj = undefined;
  };

  const load = (): void => {
    if (obj) throw new Error('loading on-cpu sampler: already loaded');
    const o = open('oncpu');
    obj = o;
    try {
      // filter_tgid stays on so setTargets() can switch between a list,
      // 'none' (an empty list) and 'all' at run time through control.all_targets.
      o.setGlobal('filter_tgid', Buffer.from([1]));
      o.setGlobal('include_idle', Buffer.from([opts.includeIdle ? 1 : 0]));
      o.setGlobal('self_tgid', u32Bytes(opts.selfTgid ?? process.pid));
      const sized = defaultOnCpuMapEntries(frequencyHz, cpus().length);
      for (const m of ['counts0', 'counts1']) o.resizeMap(m, opts.countsMaxEntries ?? sized);
      // stack trace maps are direct-mapped (a colliding stack is dropped): 4x the room keeps that rare
      for (const m of ['stacks0', 'stacks1']) o.resizeMap(m, opts.stacksMaxEntries ?? Math.min(16384, sized * 4));
      o.resizeMap('targets', opts.targetsMaxEntries ?? 1024);
      prepareWalkerMaps(o, opts.unwindMaps, opts.stacksMaxEntries ?? sized, opts.pythonFrames ?? true);
      o.load();
      writeTargets(o);
      writeControl(o);
    } catch (err) {
      stop();
      throw err;
    }
  };

  return {
    frequencyHz,
    load,
    start() {
      if (links.length > 0) throw new Error('starting on-cpu sampler: already started');
      if (!obj) load();
      const o = obj!;
      try {
        window.begin(o);
        for (const cpu of cpus()) {
          links.push(o.attachPerfEvent('do_sample', { cpu, frequencyHz }));
        }
      } catch (err) {
        stop();
        throw err;
      }
    },
    get drainEveryMs() {
      const sized = defaultOnCpuMapEntries(frequencyHz, cpus().length);
      return onCpuDrainEveryMs(frequencyHz, cpus().length, Math.min(opts.countsMaxEntries ?? sized, opts.stacksMaxEntries ?? sized));
    },
    drain(): RawStackBatch {
      if (!obj) throw new Error('draining on-cpu sampler: not started: call start() first');
      const o = obj;
      return window.drain(o, () => writeControl(o), (old, drops) => drainOnCpuGeneration(o, old, period, drops, dwarf));
    },
    setTargets(next) {
      targets = normalizeTargets(next);
      if (!obj) return;
      applyTargets(obj, targets, writeControl);
    },
    stop,
  };
}

/**
 * Entries per generation of the counts map and the walked user stacks: a
 * drain a second (or two when late) holds at most frequency × CPUs × 2
 * distinct samples; on small hosts the 2,048 minimum holds far more, and
 * the agent drains less often there (onCpuDrainEveryMs). The stack maps
 * preallocate about 1 KiB per entry, twice (two generations), so on a
 * small node 16k entries each would hold
 * 130 MiB of kernel memory for a few hundred samples. Between 2,048 and
 * 16,384, a power of two. The kernel's stack trace maps get four times
 * as much (at most 16,384), since they drop a stack whose hash bucket is taken.
 */
export function defaultOnCpuMapEntries(frequencyHz: number, cpus: number): number {
  const want = 2 * frequencyHz * Math.max(1, cpus);
  let n = 2048;
  while (n < want && n < 16384) n *= 2;
  return n;
}

/**
 * How long the on-CPU maps may go undrained: half the time `entries` take to
 * fill at `frequencyHz` on `cpus` if every sample were a new stack, from 1 s
 * to the agent's default interval (15 s). The default sizes (2,048 entries
 * up to 10 CPUs at 99 Hz) give 5.2 s on 2 CPUs at 99 Hz, 2.6 s on 4 and
 * 1.3 s on 8; at 19 Hz on 2 CPUs, 15 s: the agent drains only at the
 * interval's end, where a drain and its /proc scan, 2-3 ms of cold code
 * each, were two in every three of them. A library dlopen()ed later than the
 * exec watcher's re-reads gets its tables at the next drain, so it waits
 * that long (it is sampled meanwhile, cut where it has no frame pointers,
 * and counted as `unwind_no_info`).
 */
export function onCpuDrainEveryMs(frequencyHz: number, cpus: number, entries: number): number {
  const fillMs = (entries / (frequencyHz * Math.max(1, cpus))) * 1000;
  return Math.max(1000, Math.min(MAX_ON_CPU_DRAIN_EVERY_MS, Math.floor(fillMs / 2)));
}

/** The longest the on-CPU maps wait for a drain: the agent's default interval. */
export const MAX_ON_CPU_DRAIN_EVERY_MS = 15_000;
